"""Parity and the image repositories: one per service on aws, none expected on docker, the same
settings in every account, and a hand-made change to them caught."""

from __future__ import annotations

from components.type_tokens import AWS_IMAGE_REPOSITORY
from infractl.parity.allowance import Allowance
from infractl.parity.difference import Difference, Level
from infractl.parity.graph_level import compare_graphs
from infractl.parity.key_inputs import departs, key_inputs
from infractl.parity.target_pieces import compare_components
from infractl.pulumi.resource import Resource
from tests.infractl.parity.test_target_pieces import AWS, DOCKER, components

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def registry(service: str) -> list[Resource]:
    parent = f"{AWS_IMAGE_REPOSITORY}::{service}-images"
    return [
        Resource(AWS_IMAGE_REPOSITORY, f"{service}-images", "(root)"),
        Resource(REPOSITORY, f"{service}-images-ecr", parent, {"imageTagMutability": "IMMUTABLE"}),
        Resource(LIFECYCLE, f"{service}-images-lifecycle", parent),
    ]


def test_the_repositories_are_aws_only_and_need_no_docker_counterpart() -> None:
    aws = components(*AWS, (AWS_IMAGE_REPOSITORY, "web-images"), (AWS_IMAGE_REPOSITORY, "w-images"))
    dev = Allowance("dev", ("*",))
    assert compare_components(Level.RESOURCE, dev, aws, components(*DOCKER)) == []


def test_a_services_repository_comes_and_goes_with_the_service() -> None:
    prod = registry("web")
    staging = registry("web") + registry("api")
    for allowed in (True, False):
        added = Difference("staging", Level.CONFIG, "services.api", None, {}, allowed, "why")
        found = compare_graphs(Level.RESOURCE, "staging", prod, staging, [added])
        assert {d.path: d.allowed for d in found} == {
            f"{AWS_IMAGE_REPOSITORY}::api-images": allowed,
            f"{REPOSITORY}::api-images-ecr": allowed,
            f"{LIFECYCLE}::api-images-lifecycle": allowed,
        }
    unexplained = compare_graphs(Level.RESOURCE, "staging", prod, staging, [])
    assert unexplained and not any(d.allowed for d in unexplained)
    assert "follows services.api, the same in both stacks" in unexplained[0].reason


def test_the_repository_settings_are_key_inputs_no_config_changes() -> None:
    repository = Resource(REPOSITORY, "web-images-ecr", f"{AWS_IMAGE_REPOSITORY}::web-images")
    assert key_inputs(repository) == {
        "imageTagMutability": (),
        "imageScanningConfiguration": (),
        "encryptionConfigurations": (),
        "forceDelete": ("environment",),
    }
    assert key_inputs(Resource(LIFECYCLE, "web-images-lifecycle", "(root)")) == {"policy": ()}
    planned = registry("web")[1]
    by_hand = Resource(REPOSITORY, planned.name, planned.parent, {"imageTagMutability": "MUTABLE"})
    assert departs(by_hand, planned, "imageTagMutability")
    assert not departs(planned, planned, "imageTagMutability")
