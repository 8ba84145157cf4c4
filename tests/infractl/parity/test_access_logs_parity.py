"""Parity and the access log bucket: aws only, private and encrypted alike in every account, its
expiry and `force_destroy` following the config, and a hand-made change to it caught."""

from __future__ import annotations

from components.type_tokens import AWS_ACCESS_LOGS
from infractl.parity.allowance import Allowance
from infractl.parity.difference import Level
from infractl.parity.key_inputs import departs, key_inputs
from infractl.parity.target_pieces import compare_components
from infractl.pulumi.resource import Resource
from tests.infractl.parity.test_target_pieces import AWS, DOCKER, components

PARENT = f"{AWS_ACCESS_LOGS}::access-logs"
FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def part(kind: str, role: str, inputs: dict[str, object] | None = None) -> Resource:
    return Resource(f"aws:s3/{kind}", f"access-logs-{role}", PARENT, inputs or {})


def test_the_access_log_bucket_is_aws_only_and_needs_no_docker_counterpart() -> None:
    aws = components(*AWS, (AWS_ACCESS_LOGS, "access-logs"))
    dev = Allowance("dev", ("*",))
    assert compare_components(Level.RESOURCE, dev, aws, components(*DOCKER)) == []


def test_its_protections_are_key_inputs_and_only_expiry_and_destroy_follow_config() -> None:
    assert key_inputs(part("bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access")) == (
        dict.fromkeys(FLAGS, ())
    )
    encryption = "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    assert key_inputs(part(encryption, "encryption")) == {"rules": ()}
    ownership = "bucketOwnershipControls:BucketOwnershipControls"
    assert key_inputs(part(ownership, "ownership")) == {"rule": ()}
    lifecycle = "bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    assert key_inputs(part(lifecycle, "lifecycle")) == {"rules": ("aws.access_log_retention_days",)}
    assert key_inputs(part("bucket:Bucket", "bucket")) == {"forceDestroy": ("environment",)}


def test_public_access_unblocked_by_hand_departs_from_the_plan() -> None:
    kind = "bucketPublicAccessBlock:BucketPublicAccessBlock"
    planned = part(kind, "public-access", dict.fromkeys(FLAGS, True))
    by_hand = part(kind, "public-access", {**planned.inputs, FLAGS[1]: False})
    assert departs(by_hand, planned, FLAGS[1])
    assert not departs(planned, planned, FLAGS[1])
