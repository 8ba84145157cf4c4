"""staging and prod (the aws target): the ALB's access logs in the stack's own S3 bucket
(`infra/targets/aws/access_logs.py`, `components/aws/access_logs.py`), read from the
registrations recorded under mocks (fixtures in conftest.py)."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from components.aws.access_logs import bucket_name, bucket_name_problem
from infra.config.loader import stack_file_runtime_config
from infra.config.project import STACK_NAME_PATTERN
from infra.offline import MOCK_ACCOUNT
from tests.infra.targets.aws_stack import ALB, ROOT, Evaluated, evaluate

COMPONENT = "platform:aws:AccessLogs"
BUCKET = "aws:s3/bucket:Bucket"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
S3_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""S3's general purpose bucket naming rules, independently of the component's own check."""
RETENTION = {"staging": 30, "prod": 365}
"""The tier defaults (infra/config/layering.py): the stack files set none."""


def name_of(stack: Evaluated) -> str:
    return str(stack.one(BUCKET, "access-logs-bucket").inputs["bucket"])


def test_one_bucket_per_stack_named_for_the_stack_and_its_account(stack: Evaluated) -> None:
    cfg = stack.run.config
    (component,) = stack.all(COMPONENT)
    (bucket,) = stack.all(BUCKET)
    assert component.name == "access-logs" and bucket.parent == component.urn
    assert name_of(stack) == f"platform-{cfg.stack}-alb-logs-{MOCK_ACCOUNT}"
    for part in (POLICY, BLOCK, ENCRYPTION, LIFECYCLE, OWNERSHIP):
        (resource,) = stack.all(part)
        assert resource.parent == component.urn, part
        assert bucket.urn in resource.dependencies, part


def test_the_bucket_is_encrypted_with_sse_s3_and_blocks_all_public_access(
    stack: Evaluated,
) -> None:
    (encryption,) = stack.all(ENCRYPTION)
    assert encryption.inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}  # never KMS: ALB
    ]
    (block,) = stack.all(BLOCK)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {flag: block.inputs[flag] for flag in flags} == dict.fromkeys(flags, True)
    (ownership,) = stack.all(OWNERSHIP)
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert "acl" not in stack.one(BUCKET, "access-logs-bucket").inputs


def test_objects_expire_after_the_configured_retention(stack: Evaluated) -> None:
    cfg = stack.run.config
    assert cfg.aws is not None
    assert cfg.aws.access_log_retention_days == RETENTION[cfg.stack]
    (lifecycle,) = stack.all(LIFECYCLE)
    (rule,) = lifecycle.inputs["rules"]
    assert (rule["status"], rule["filter"]) == ("Enabled", {})  # every object in the bucket
    assert rule["expiration"] == {"days": RETENTION[cfg.stack]}


def test_a_stack_file_sets_the_retention_over_the_tier_default() -> None:
    runtime, _ = stack_file_runtime_config(ROOT / "Pulumi.staging.yaml")
    aws = {**json.loads(runtime["platform:aws"]), "access_log_retention_days": 90}
    (lifecycle,) = evaluate("staging", {"platform:aws": json.dumps(aws)}).all(LIFECYCLE)
    assert lifecycle.inputs["rules"][0]["expiration"] == {"days": 90}


def test_prod_keeps_its_logs_through_a_destroy_and_staging_does_not(stack: Evaluated) -> None:
    prod = stack.run.config.environment == "prod"
    bucket = stack.one(BUCKET, "access-logs-bucket")
    assert bucket.inputs["forceDestroy"] is (not prod)
    assert (bucket.protect, bucket.retain_on_delete) == (prod, prod)


def test_elb_may_write_under_the_alb_prefix_and_nobody_without_tls(stack: Evaluated) -> None:
    (policy,) = stack.all(POLICY)
    document = json.loads(policy.inputs["policy"])
    found = {statement["Sid"]: statement for statement in document["Statement"]}
    arn = f"arn:aws:s3:::{name_of(stack)}"
    writable = [f"{arn}/web/AWSLogs/{MOCK_ACCOUNT}/*"]
    # eu-west-1 opened before August 2022: its ELB account as well as the delivery service.
    assert found["ElbLogDelivery"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    assert found["ElbLogDeliveryRegionalAccount"]["Principal"] == {
        "AWS": "arn:aws:iam::156460612806:root"
    }
    for sid in ("ElbLogDelivery", "ElbLogDeliveryRegionalAccount"):
        assert (found[sid]["Action"], found[sid]["Resource"]) == ("s3:PutObject", writable)
    deny = found["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Resource"] == [arn, f"{arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The policy goes on after public access is blocked (S3 serialises the two).
    assert stack.one(BLOCK, "access-logs-public-access").urn in policy.dependencies


def test_the_alb_logs_into_the_bucket_only_once_the_policy_lets_it(stack: Evaluated) -> None:
    alb = stack.one(ALB, "web-lb-alb")
    assert alb.inputs["accessLogs"] == {
        "enabled": True,
        "bucket": name_of(stack),
        "prefix": "web",
    }
    assert stack.one(POLICY, "access-logs-policy").urn in alb.dependencies


def test_the_bucket_name_is_one_s3_accepts(stack: Evaluated) -> None:
    assert_valid_bucket_name(name_of(stack))


@given(st.from_regex(STACK_NAME_PATTERN, fullmatch=True))
def test_every_valid_stack_name_makes_a_valid_bucket_name(stack_name: str) -> None:
    """The longest stack name (32 characters) makes a 63-character name: S3's maximum."""
    stem = f"platform-{stack_name}"
    assert bucket_name_problem(stem) is None
    assert_valid_bucket_name(bucket_name(stem, MOCK_ACCOUNT))


def assert_valid_bucket_name(name: Any) -> None:
    assert isinstance(name, str) and len(name) <= 63 and S3_BUCKET_NAME.fullmatch(name), name
    assert ".." not in name and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
    assert not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return
    raise AssertionError(f"{name} is formatted as an IP address")
