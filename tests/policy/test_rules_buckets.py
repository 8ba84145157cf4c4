"""Rule 9 (policy/buckets.py, wired in policy/pack.py): no S3 bucket is public or unencrypted.

The rule on its own first, then the real staging and prod access log buckets as the program
builds them, each broken one way at a time and caught on that bucket by exactly this policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import PolicyResource

from infra.offline import StackRun
from policy import buckets
from policy.pack import bucket_parts, unsafe_buckets
from tests.policy.policy_inputs import (
    bucket,
    caught,
    find,
    policy_resources,
    resource,
    run_pack,
)
from tests.policy.policy_inputs import bucket_parts as sound_parts

CHECK = buckets.bucket_private_and_encrypted
BUCKET = buckets.BUCKETS[0]
BLOCK = buckets.PUBLIC_ACCESS_BLOCK
ENCRYPTION = buckets.ENCRYPTION_CONFIGURATIONS[0]
POLICY = "buckets-private-and-encrypted"
REAL_BUCKET = "access-logs-bucket"


def without(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(t, p) for t, p in sound_parts() if t != kind]


def changed(kind: str, **props: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(t, {**p, **props} if t == kind else p) for t, p in sound_parts()]


# The rule, on props.


def test_a_private_encrypted_bucket_passes() -> None:
    assert CHECK(BUCKET, bucket(), parts=sound_parts()) == []
    assert CHECK(buckets.BUCKETS[1], bucket(), parts=sound_parts()) == []


def test_the_rule_governs_only_buckets() -> None:
    assert CHECK(BLOCK, {"blockPublicAcls": False}) == []
    assert CHECK("aws:ecr/repository:Repository", {"name": "r"}) == []


@pytest.mark.parametrize("flag", buckets.BLOCK_FLAGS)
@pytest.mark.parametrize("off", [False, "false", None], ids=["false", "false-as-text", "absent"])
def test_each_public_access_flag_that_is_not_on_is_named(flag: str, off: Any) -> None:
    (message,) = CHECK(BUCKET, bucket(), parts=changed(BLOCK, **{flag: off}))
    assert "'platform-prod-alb-logs-123456789012'" in message
    assert f"({flag} not true)" in message and "BucketPublicAccessBlock" in message


def test_a_bucket_without_a_public_access_block_is_refused() -> None:
    (message,) = CHECK(BUCKET, bucket(), parts=without(BLOCK))
    assert ", ".join(buckets.BLOCK_FLAGS) + " not true" in message


@pytest.mark.parametrize(
    ("props", "parts", "named"),
    [
        ({"acl": "public-read"}, [], "acl public-read"),
        ({"acl": "authenticated-read"}, [], "acl authenticated-read"),
        ({}, [(buckets.ACLS[0], {"acl": "public-read-write"})], "acl public-read-write"),
        ({}, [(buckets.ACLS[1], {"acl": "public-read"})], "acl public-read"),
        (
            {
                "grants": [
                    {
                        "type": "Group",
                        "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                        "permissions": ["READ"],
                    }
                ]
            },
            [],
            "a grant to AllUsers",
        ),
        (
            {},
            [
                (
                    buckets.ACLS[0],
                    {
                        "accessControlPolicy": {
                            "owner": {"id": "o"},
                            "grants": [
                                {
                                    "permission": "READ",
                                    "grantee": {
                                        "type": "Group",
                                        "uri": "http://acs.amazonaws.com/groups/global/"
                                        "AuthenticatedUsers",
                                    },
                                }
                            ],
                        }
                    },
                )
            ],
            "a grant to AuthenticatedUsers",
        ),
    ],
    ids=[
        "inline-public-read",
        "inline-authenticated-read",
        "acl-resource",
        "acl-v2-resource",
        "inline-grant",
        "acl-resource-grant",
    ],
)
def test_a_public_acl_anywhere_is_refused(
    props: dict[str, Any], parts: list[tuple[str, dict[str, Any]]], named: str
) -> None:
    (message,) = CHECK(BUCKET, {**bucket(), **props}, parts=[*sound_parts(), *parts])
    assert "public by ACL" in message and named in message


@pytest.mark.parametrize("acl", ["private", "log-delivery-write", "bucket-owner-full-control"])
def test_private_acls_pass(acl: str) -> None:
    parts = [*sound_parts(), (buckets.ACLS[0], {"acl": acl})]
    assert CHECK(BUCKET, {**bucket(), "acl": acl}, parts=parts) == []


@pytest.mark.parametrize(
    "parts",
    [
        without(ENCRYPTION),
        changed(ENCRYPTION, rules=[]),
        changed(ENCRYPTION, rules=[{"bucketKeyEnabled": True}]),
        changed(ENCRYPTION, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": ""}}]),
    ],
    ids=["no-configuration", "no-rules", "no-default", "no-algorithm"],
)
def test_a_bucket_without_default_encryption_is_refused(
    parts: list[tuple[str, dict[str, Any]]],
) -> None:
    (message,) = CHECK(BUCKET, bucket(), parts=parts)
    assert "no default encryption" in message and "AES256" in message


def test_kms_and_the_deprecated_inline_encryption_blocks_count() -> None:
    kms = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}
    assert CHECK(BUCKET, bucket(), parts=changed(ENCRYPTION, rules=[kms])) == []
    inline = {**bucket(), "serverSideEncryptionConfiguration": {"rule": kms}}
    assert CHECK(BUCKET, inline, parts=without(ENCRYPTION)) == []
    v2 = {**bucket(), "serverSideEncryptionConfigurations": [{"rules": [kms]}]}
    assert CHECK(buckets.BUCKETS[1], v2, parts=without(ENCRYPTION)) == []


def test_every_gap_is_reported() -> None:
    assert len(CHECK(BUCKET, {"acl": "public-read"})) == 3


# The pack: which resources are a bucket's parts.


def kinds(parts: list[tuple[str, Any]]) -> set[str]:
    return {kind for kind, _ in parts}


def graph(*owned_by: str) -> tuple[list[PolicyResource], dict[str, PolicyResource]]:
    """Buckets `a` and `b`, and the sound parts of each bucket named in `owned_by`."""
    found = {name: resource(BUCKET, {"bucket": f"logs-{name}"}, name) for name in ("a", "b")}
    parts = [
        resource(kind, props, f"{owner}-{kind.rsplit(':', 1)[-1]}", [found[owner]])
        for owner in owned_by
        for kind, props in sound_parts()
    ]
    return [*found.values(), *parts], found


def test_a_part_belongs_to_the_bucket_its_input_came_from_only() -> None:
    resources, found = graph("a")
    assert kinds(bucket_parts(found["a"], resources)) == {BLOCK, ENCRYPTION}
    assert bucket_parts(found["b"], resources) == []
    assert {urn.rsplit("::", 1)[-1] for _, urn in unsafe_buckets(resources)} == {"b"}


def test_the_engines_property_dependency_decides_over_other_dependencies() -> None:
    resources, found = graph("a")
    for part in resources[2:]:
        part.dependencies.append(found["b"])  # depends on both, its `bucket` came from b
        part.property_dependencies["bucket"] = [found["b"]]
    assert bucket_parts(found["a"], resources) == []
    assert kinds(bucket_parts(found["b"], resources)) == {BLOCK, ENCRYPTION}


def test_a_part_naming_its_bucket_literally_belongs_to_it() -> None:
    resources, found = graph()
    literal = [
        resource(kind, {**props, "bucket": "logs-a"}, f"literal-{index}")
        for index, (kind, props) in enumerate(sound_parts())
    ]
    assert kinds(bucket_parts(found["a"], [*resources, *literal])) == {BLOCK, ENCRYPTION}


# The real access log buckets, broken one way at a time.


def test_every_aws_stack_has_one_governed_bucket_with_its_parts(
    stack_runs: dict[str, StackRun],
) -> None:
    for stack in ("staging", "prod"):
        resources = policy_resources(stack_runs[stack])
        (real,) = [r for r in resources if r.resource_type in buckets.BUCKETS]
        assert real.name == REAL_BUCKET
        assert kinds(bucket_parts(real, resources)) == {BLOCK, ENCRYPTION}
    assert not [r for r in stack_runs["dev"].resources if r.type in buckets.BUCKETS]


def _set(name: str, **props: Any) -> Callable[[list[PolicyResource]], None]:
    def change(resources: list[PolicyResource]) -> None:
        (target,) = [r for r in resources if r.name == name]
        target.props = {**target.props, **props}

    return change


def _drop(name: str) -> Callable[[list[PolicyResource]], None]:
    def change(resources: list[PolicyResource]) -> None:
        (target,) = [r for r in resources if r.name == name]
        resources.remove(target)

    return change


def _add_public_acl(resources: list[PolicyResource]) -> None:
    real = find(resources, BUCKET, REAL_BUCKET)
    resources.append(resource(buckets.ACLS[0], {"acl": "public-read"}, "logs-acl", [real]))


BREAKS: dict[str, Callable[[list[PolicyResource]], None]] = {
    **{
        f"{flag}-off": _set("access-logs-public-access", **{flag: False})
        for flag in buckets.BLOCK_FLAGS
    },
    "public-access-block-dropped": _drop("access-logs-public-access"),
    "encryption-dropped": _drop("access-logs-encryption"),
    "encryption-rules-emptied": _set("access-logs-encryption", rules=[]),
    "bucket-acl-public-read": _set(REAL_BUCKET, acl="public-read"),
    "acl-resource-public-read": _add_public_acl,
}


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("break_it", BREAKS.values(), ids=BREAKS.keys())
def test_the_real_bucket_losing_a_protection_is_caught(
    stack_runs: dict[str, StackRun],
    as_stack: Callable[[str, str], None],
    stack: str,
    break_it: Callable[[list[PolicyResource]], None],
) -> None:
    """Each aws stack's access log bucket passes as built; one protection taken away is caught
    on exactly that bucket, by exactly this policy."""
    as_stack(stack, stack)
    resources = policy_resources(stack_runs[stack])
    assert run_pack(resources) == []
    break_it(resources)
    assert caught(resources) == {(POLICY, REAL_BUCKET)}
