"""components/aws/access_logs.py: the access log bucket, its protections, the policy that lets
Elastic Load Balancing write in each region, and the name rules S3 enforces; checked under a
fresh mock runtime per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.runtime
import pytest
from pulumi.runtime import settings

from components.aws.access_logs import (
    LEGACY_ELB_ACCOUNTS,
    LOG_DELIVERY_SERVICE,
    AccessLogs,
    AccessLogsArgs,
    bucket_name,
    bucket_name_problem,
    delivery_principals,
)
from components.type_tokens import AWS_ACCESS_LOGS

ACCOUNT = "210987654321"
BUCKET = "aws:s3/bucket:Bucket"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Every registration by name; the caller's account for `get_caller_identity`."""

    created: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created[args.name] = (args.typ, dict(args.inputs))
        state = dict(args.inputs)
        if args.typ == BUCKET:
            state["arn"] = f"arn:aws:s3:::{args.inputs['bucket']}"
        return f"{args.name}-id", state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci"}, []
        return {}, []


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    recorded = RecordingMocks()
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(recorded, project="platform", stack="test", preview=False)
    yield recorded


def build(mocks: RecordingMocks, **overrides: Any) -> tuple[AccessLogs, dict[str, Any]]:
    """The component with `overrides`, evaluated; its bucket policy as a document."""
    args = {"name_stem": "platform-test", "region": "eu-west-1", "prefixes": ["web"]}
    built: list[AccessLogs] = []

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def check() -> pulumi.Output[str]:
        logs = AccessLogs("logs", AccessLogsArgs(**{"retention_days": 30, **args, **overrides}))
        built.append(logs)
        return logs.bucket_name

    check()
    return built[0], json.loads(mocks.created["logs-policy"][1]["policy"])


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_the_bucket_is_named_for_the_account_encrypted_private_and_expiring(
    mocks: RecordingMocks,
) -> None:
    build(mocks, retention_days=45, force_destroy=True, tags={"team": "platform"})
    name = f"platform-test-alb-logs-{ACCOUNT}"
    assert mocks.created["logs"][0] == AWS_ACCESS_LOGS
    assert mocks.created["logs-bucket"] == (
        BUCKET,
        {"bucket": name, "forceDestroy": True, "tags": {"team": "platform"}},
    )
    kind, sse = mocks.created["logs-encryption"]
    assert kind.endswith("BucketServerSideEncryptionConfiguration")
    assert sse["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    _, block = mocks.created["logs-public-access"]
    assert all(
        block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls")
    )
    assert block["restrictPublicBuckets"] is True
    _, ownership = mocks.created["logs-ownership"]
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    _, lifecycle = mocks.created["logs-lifecycle"]
    (rule,) = lifecycle["rules"]
    assert rule == {
        "id": "expire-access-logs",
        "status": "Enabled",
        "filter": {},
        "expiration": {"days": 45},
    }
    assert {sse["bucket"], block["bucket"], ownership["bucket"], lifecycle["bucket"]} == {
        "logs-bucket-id"
    }


def test_an_old_region_grants_the_service_and_its_elb_account(mocks: RecordingMocks) -> None:
    _, policy = build(mocks, region="eu-west-1", prefixes=["web", "admin"])
    found = statements(policy)
    objects = [
        f"arn:aws:s3:::platform-test-alb-logs-{ACCOUNT}/{prefix}/AWSLogs/{ACCOUNT}/*"
        for prefix in ("web", "admin")
    ]
    assert found["ElbLogDelivery"]["Principal"] == {"Service": LOG_DELIVERY_SERVICE}
    assert found["ElbLogDeliveryRegionalAccount"]["Principal"] == {
        "AWS": "arn:aws:iam::156460612806:root"
    }
    for sid in ("ElbLogDelivery", "ElbLogDeliveryRegionalAccount"):
        assert found[sid]["Effect"] == "Allow" and found[sid]["Action"] == "s3:PutObject"
        assert found[sid]["Resource"] == objects


def test_a_newer_region_grants_only_the_service(mocks: RecordingMocks) -> None:
    _, policy = build(mocks, region="eu-south-2")  # Spain, opened in November 2022
    assert set(statements(policy)) == {"DenyInsecureTransport", "ElbLogDelivery"}


def test_nobody_reaches_the_bucket_without_tls(mocks: RecordingMocks) -> None:
    _, policy = build(mocks, prefixes=[])
    (deny,) = policy["Statement"]  # no writer, no grant
    arn = f"arn:aws:s3:::platform-test-alb-logs-{ACCOUNT}"
    assert deny == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_a_destination_exists_only_for_a_granted_prefix(mocks: RecordingMocks) -> None:
    logs, _ = build(mocks)
    assert logs.destination("web").prefix == "web"
    with pytest.raises(ValueError, match="no access log prefix 'api'"):
        logs.destination("api")


def test_the_elb_accounts_are_account_ids_and_ireland_is_the_documented_one() -> None:
    assert all(len(a) == 12 and a.isdigit() for a in LEGACY_ELB_ACCOUNTS.values())
    assert LEGACY_ELB_ACCOUNTS["eu-west-1"] == "156460612806"
    assert list(delivery_principals("me-central-1")) == ["ElbLogDelivery"]


@pytest.mark.parametrize("stem", ["platform-prod", "platform-" + "a" * 32, "p1"])
def test_stems_that_make_a_valid_bucket_name(stem: str) -> None:
    assert bucket_name_problem(stem) is None
    assert len(bucket_name(stem, ACCOUNT)) <= 63


@pytest.mark.parametrize(
    "stem",
    ["platform-" + "a" * 33, "Platform-prod", "platform_prod", "-platform", "xn--platform", "a.b"],
)
def test_stems_s3_would_refuse_are_refused_before_any_resource(stem: str) -> None:
    assert bucket_name_problem(stem) is not None
    with pytest.raises(ValueError, match="bucket name stem"):
        AccessLogsArgs(name_stem=stem, region="eu-west-1", prefixes=[], retention_days=30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prefixes": ["web/AWSLogs"]}, "not a plain key prefix"),
        ({"prefixes": ["/web"]}, "not a plain key prefix"),
        ({"prefixes": ["Web"]}, "not a plain key prefix"),
        ({"retention_days": 0}, "at least 1"),
    ],
)
def test_prefixes_and_retention_are_checked(change: dict[str, Any], message: str) -> None:
    args = {"name_stem": "platform-prod", "region": "eu-west-1", "prefixes": ["web"]}
    with pytest.raises(ValueError, match=message):
        AccessLogsArgs(**{"retention_days": 30, **args, **change})
