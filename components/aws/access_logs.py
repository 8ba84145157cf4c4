"""The S3 bucket a stack's load balancers write their access logs to: one per stack, private,
encrypted, expiring its objects after the configured retention.

What AWS requires of it (Elastic Load Balancing, "Enable access logs for your Application Load
Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html):
- the bucket is in the load balancer's region (the stack's provider puts it there);
- its default encryption is SSE-S3 (AES256): "The only server-side encryption option that's
  supported is Amazon S3-managed keys (SSE-S3)", so never a KMS key here;
- a bucket policy lets Elastic Load Balancing put objects under `<prefix>/AWSLogs/<account id>/`
  (the account id in the path keeps other accounts' load balancers out). The principal is the
  service `logdelivery.elasticloadbalancing.amazonaws.com`, which the current guide recommends
  in every region. Regions opened before August 2022 (eu-west-1 among them) were documented with
  a regional ELB account as the principal instead, a policy AWS still supports; for those regions
  the policy grants that account as well, so delivery works whichever principal the region's ELB
  writes as. Regions outside that list only ever had the service principal.

Beyond that: all four public access block flags on, ACLs off (BucketOwnerEnforced: the bucket
owns every object, whoever wrote it), no access without TLS, and in prod `force_destroy` off so a
bucket holding logs is never emptied by a `pulumi destroy`.

The bucket is named `<stem>-alb-logs-<account id>`: bucket names are global across all accounts,
and a stack name is unique only inside its account. A stem of up to 32 characters keeps the name
within S3's 63; `bucket_name_problem` says what is wrong with any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.type_tokens import AWS_ACCESS_LOGS

LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
LEGACY_ELB_ACCOUNTS: Mapping[str, str] = {
    # The regional Elastic Load Balancing accounts of the regions opened before August 2022,
    # from the same guide; GovCloud's are left out (another partition than `aws`).
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
SSE_ALGORITHM = "AES256"
"""SSE-S3: the only default encryption ALB access log delivery supports."""
BUCKET_NAME_SUFFIX = "-alb-logs-"
ACCOUNT_ID_LENGTH = 12
BUCKET_NAME_MAX = 63
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$")


def bucket_name(stem: str, account_id: str) -> str:
    """The bucket's global name, e.g. `platform-prod-alb-logs-123456789012`."""
    return f"{stem}{BUCKET_NAME_SUFFIX}{account_id}"


def bucket_name_problem(stem: str) -> str | None:
    """Why `stem` cannot start a bucket name S3 accepts (any account id after it), or None."""
    longest = bucket_name(stem, "0" * ACCOUNT_ID_LENGTH)
    if len(longest) > BUCKET_NAME_MAX:
        room = BUCKET_NAME_MAX - len(BUCKET_NAME_SUFFIX) - ACCOUNT_ID_LENGTH
        return f"bucket name stem '{stem}' is longer than {room} characters"
    if not _BUCKET_NAME.fullmatch(longest) or stem.startswith(("xn--", "sthree-", "amzn-s3-")):
        return f"bucket name stem '{stem}' is not lowercase letters, digits and inner hyphens"
    return None


def delivery_principals(region: str) -> dict[str, dict[str, str]]:
    """Who writes a region's ALB access logs, by statement id: the log delivery service, and in
    the regions opened before August 2022 their Elastic Load Balancing account too."""
    principals = {"ElbLogDelivery": {"Service": LOG_DELIVERY_SERVICE}}
    legacy = LEGACY_ELB_ACCOUNTS.get(region)
    if legacy is not None:
        principals["ElbLogDeliveryRegionalAccount"] = {"AWS": f"arn:aws:iam::{legacy}:root"}
    return principals


@dataclass(frozen=True)
class AccessLogDestination:
    """Where one load balancer writes: enable its `access_logs` with these, and only after
    `ready` (the bucket policy) exists: ELB checks the bucket by writing a test object when
    logging is turned on, and fails the change with Access Denied without the policy."""

    bucket: pulumi.Output[str]
    prefix: str
    ready: pulumi.Resource


@dataclass(frozen=True)
class AccessLogsArgs:
    name_stem: str
    """The bucket is `<name_stem>-alb-logs-<account id>`, e.g. `platform-prod-alb-logs-...`."""
    region: str
    """The stack's region (the bucket's and its load balancers'): decides the ELB principal."""
    prefixes: Sequence[str]
    """One key prefix per load balancer writing here (e.g. the service name); only these may
    be written. Never containing `AWSLogs`: ELB appends that part itself."""
    retention_days: int
    """Objects expire this many days after they were written."""
    force_destroy: bool = False
    """True lets `pulumi destroy` delete the bucket with its logs; keep it False in prod."""
    protect: bool = False
    """Prod: `protect` and `retain_on_delete` on the bucket (decided by the caller)."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = bucket_name_problem(self.name_stem)
        if problem is not None:
            raise ValueError(problem)
        for prefix in self.prefixes:
            if not _PREFIX.fullmatch(prefix) or "AWSLogs" in prefix:
                raise ValueError(f"access log prefix '{prefix}' is not a plain key prefix")
        if self.retention_days < 1:
            raise ValueError("retention_days must be at least 1")


class AccessLogs(pulumi.ComponentResource):
    """Outputs: `bucket_name`, `bucket_arn`; `destination(prefix)` for each load balancer."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: AccessLogsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_ACCESS_LOGS, name, None, opts)
        self._name = name
        self._args = args
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=account.account_id.apply(
                lambda account_id: bucket_name(args.name_stem, account_id)
            ),
            force_destroy=args.force_destroy,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect
            ),
        )
        self._encryption(bucket)
        self._lifecycle(bucket)
        self._policy = self._access(bucket, account.account_id)
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})

    def destination(self, prefix: str) -> AccessLogDestination:
        """Where the load balancer granted `prefix` writes."""
        if prefix not in self._args.prefixes:
            raise ValueError(f"no access log prefix '{prefix}'; granted: {self._args.prefixes}")
        return AccessLogDestination(bucket=self.bucket_name, prefix=prefix, ready=self._policy)

    def _encryption(self, bucket: aws.s3.Bucket) -> None:
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm=SSE_ALGORITHM
                    )
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _lifecycle(self, bucket: aws.s3.Bucket) -> None:
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    # An empty filter: the rule covers every object in the bucket.
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=self._args.retention_days
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access(self, bucket: aws.s3.Bucket, account_id: pulumi.Output[str]) -> aws.s3.BucketPolicy:
        """ACLs off, then public access blocked, then the policy: S3 can refuse concurrent
        changes to one bucket's access settings (OperationAborted), so they go in turn."""
        ownership = aws.s3.BucketOwnershipControls(
            f"{self._name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{self._name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ownership]),
        )
        return aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                bucket_policy(bucket.arn, account_id, self._args.region, self._args.prefixes)
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )


def bucket_policy(
    bucket_arn: pulumi.Input[str],
    account_id: pulumi.Input[str],
    region: str,
    prefixes: Sequence[str],
) -> dict[str, Any]:
    """ELB may put objects under each prefix's `AWSLogs/<account id>/` and nothing else; nobody
    may reach the bucket without TLS."""
    objects = pulumi.Output.concat(bucket_arn, "/*")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    writable = [
        pulumi.Output.concat(bucket_arn, f"/{prefix}/AWSLogs/", account_id, "/*")
        for prefix in prefixes
    ]
    if writable:
        statements += [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": writable,
            }
            for sid, principal in delivery_principals(region).items()
        ]
    return {"Version": "2012-10-17", "Statement": statements}
