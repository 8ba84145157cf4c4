"""components/aws/registry.py: one service's ECR repository, its lifecycle policy and the name
rules ECR enforces, checked under a fresh mock runtime per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.runtime
import pytest
from pulumi.runtime import settings

from components.aws.registry import (
    KEEP_IMAGES,
    UNTAGGED_EXPIRY_DAYS,
    ImageRepository,
    ImageRepositoryArgs,
    lifecycle_policy,
    repository_name_problem,
)
from components.type_tokens import AWS_IMAGE_REPOSITORY

ACCOUNT = "123456789012"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Every registration by name, with what AWS computes for a repository (its URL)."""

    created: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created[args.name] = (args.typ, dict(args.inputs))
        state = dict(args.inputs)
        if args.typ == REPOSITORY:
            name = args.inputs["name"]
            state["arn"] = f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{name}"
            state["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{name}"
        return f"{args.name}-id", state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return {}, []


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    recorded = RecordingMocks()
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(recorded, project="platform", stack="test", preview=False)
    yield recorded


def test_the_repository_is_immutable_scanned_encrypted_and_never_force_deleted(
    mocks: RecordingMocks,
) -> None:
    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def check() -> pulumi.Output[None]:
        repository = ImageRepository(
            "web-images",
            ImageRepositoryArgs(repository_name="platform-prod-web", tags={"service": "web"}),
        )

        def verify(values: list[Any]) -> None:
            name, url, arn = values
            assert name == "platform-prod-web"
            assert url == f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/platform-prod-web"
            assert arn.endswith(":repository/platform-prod-web")

        return pulumi.Output.all(repository.repository_name, repository.url, repository.arn).apply(
            verify
        )

    check()  # returns once every registration has been made
    kind, inputs = mocks.created["web-images-ecr"]
    assert kind == REPOSITORY
    assert inputs == {
        "name": "platform-prod-web",
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "AES256"}],
        "forceDelete": False,
        "tags": {"service": "web"},
    }
    assert mocks.created["web-images"][0] == AWS_IMAGE_REPOSITORY
    kind, policy = mocks.created["web-images-lifecycle"]
    assert kind == LIFECYCLE and policy["repository"] == "platform-prod-web"
    assert json.loads(policy["policy"]) == lifecycle_policy(UNTAGGED_EXPIRY_DAYS, KEEP_IMAGES)


def test_a_kms_key_encrypts_with_kms(mocks: RecordingMocks) -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def check() -> pulumi.Output[str]:
        repository = ImageRepository(
            "worker-images", ImageRepositoryArgs(repository_name="w1", kms_key_arn=key)
        )

        return repository.url

    check()
    inputs = mocks.created["worker-images-ecr"][1]
    assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key}]


def test_the_lifecycle_expires_untagged_pushes_then_keeps_the_newest_images() -> None:
    first, last = lifecycle_policy(7, 200)["rules"]
    assert first["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 7,
    }
    assert last["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 200,
    }
    # ECR requires the `any` rule to be evaluated last: the highest priority number.
    assert first["rulePriority"] < last["rulePriority"]
    assert {rule["action"]["type"] for rule in (first, last)} == {"expire"}
    # Enough images that a lagging prod and a rollback still find theirs (see KEEP_IMAGES).
    assert KEEP_IMAGES >= 100 and 1 <= UNTAGGED_EXPIRY_DAYS <= 30


@pytest.mark.parametrize(
    "name",
    ["platform-prod-web", "platform-staging-worker", "acme/shop.web_v2", "ab", "a" * 256],
)
def test_names_ecr_accepts(name: str) -> None:
    assert repository_name_problem(name) is None
    assert ImageRepositoryArgs(repository_name=name).repository_name == name


@pytest.mark.parametrize(
    "name",
    ["Platform-Prod-Web", "a", "a" * 257, "web--api", "-web", "web-", "web/", "/web", "a b", "a:b"],
)
def test_names_ecr_refuses_are_refused_before_any_resource(name: str) -> None:
    assert repository_name_problem(name) is not None
    with pytest.raises(ValueError, match="ECR repository name"):
        ImageRepositoryArgs(repository_name=name)


@pytest.mark.parametrize(("days", "keep"), [(0, 200), (7, 0)])
def test_the_lifecycle_needs_positive_counts(days: int, keep: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ImageRepositoryArgs(repository_name="r1", untagged_expiry_days=days, keep_images=keep)
