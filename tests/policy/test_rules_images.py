"""Rule 8 of policy/rules.py: ECR repositories keep their tags immutable and scan every push."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.offline import StackRun
from policy import rules
from tests.policy.policy_inputs import caught, ecr_repository, find, policy_resources, run_pack

CHECK = rules.image_repositories_immutable_and_scanned


def test_an_immutable_repository_that_scans_on_push_passes() -> None:
    assert CHECK(rules.ECR_REPOSITORY, ecr_repository()) == []


def test_the_rule_governs_only_ecr_repositories() -> None:
    assert CHECK(rules.ECS_SERVICE, {"imageTagMutability": "MUTABLE"}) == []


@pytest.mark.parametrize(
    "mutability",
    ["MUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION", None],
    ids=["mutable", "immutable-with-exclusion", "mutable-with-exclusion", "absent"],
)
def test_a_repository_whose_tags_can_be_pushed_again_is_refused(mutability: str | None) -> None:
    props = {**ecr_repository(), "imageTagMutability": mutability}
    if mutability is None:
        del props["imageTagMutability"]
    (message,) = CHECK(rules.ECR_REPOSITORY, props)
    assert "'platform-prod-web'" in message and "imageTagMutability: IMMUTABLE" in message
    assert ("MUTABLE (the default)" in message) == (mutability is None)


@pytest.mark.parametrize(
    "scanning",
    [None, {}, {"scanOnPush": False}, {"scanOnPush": "false"}],
    ids=["absent", "empty", "off", "off-as-text"],
)
def test_a_repository_that_does_not_scan_on_push_is_refused(
    scanning: dict[str, Any] | None,
) -> None:
    props = {**ecr_repository(), "imageScanningConfiguration": scanning}
    (message,) = CHECK(rules.ECR_REPOSITORY, props)
    assert "'platform-prod-web'" in message and "scanOnPush: true" in message


def test_both_gaps_are_reported_and_booleans_may_come_as_text() -> None:
    assert len(CHECK(rules.ECR_REPOSITORY, {"name": "r"})) == 2
    as_text = {**ecr_repository(), "imageScanningConfiguration": {"scanOnPush": "true"}}
    assert CHECK(rules.ECR_REPOSITORY, {**as_text, "imageTagMutability": "immutable"}) == []


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize(
    ("repository", "break_it"),
    [
        ("web-images-ecr", lambda props: props.update(imageTagMutability="MUTABLE")),
        ("worker-images-ecr", lambda props: props.pop("imageTagMutability")),
        ("web-images-ecr", lambda props: props.update(imageScanningConfiguration=None)),
        (
            "worker-images-ecr",
            lambda props: props.update(imageScanningConfiguration={"scanOnPush": False}),
        ),
    ],
    ids=["web-mutable", "worker-mutability-dropped", "web-unscanned", "worker-scan-off"],
)
def test_the_real_repositories_losing_a_guarantee_are_caught(
    stack_runs: dict[str, StackRun],
    as_stack: Callable[[str, str], None],
    stack: str,
    repository: str,
    break_it: Callable[[dict[str, Any]], None],
) -> None:
    """Each aws stack's own repositories pass as built; one broken setting is caught on exactly
    that repository, by exactly this policy."""
    as_stack(stack, stack)
    resources = policy_resources(stack_runs[stack])
    assert run_pack(resources) == []
    target = find(resources, rules.ECR_REPOSITORY, repository)
    props = dict(target.props)
    break_it(props)
    target.props = props
    assert caught(resources) == {("image-repositories-immutable-and-scanned", repository)}


def test_every_aws_stack_has_one_governed_repository_per_service(
    stack_runs: dict[str, StackRun],
) -> None:
    for stack in ("staging", "prod"):
        run = stack_runs[stack]
        names = {r.inputs["name"] for r in run.by_type(rules.ECR_REPOSITORY)}
        assert names == {f"platform-{stack}-{service}" for service in run.config.services}
    assert stack_runs["dev"].by_type(rules.ECR_REPOSITORY) == []
