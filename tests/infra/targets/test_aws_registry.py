"""staging and prod (the aws target): one ECR repository per service in the stack's own account,
the images the stack runs pulled from it by digest, and its URL exported
(`infra/targets/aws/registry.py`, `components/aws/registry.py`), read from the registrations
recorded under mocks (fixtures in conftest.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from components.aws.registry import KEEP_IMAGES, UNTAGGED_EXPIRY_DAYS, lifecycle_policy
from components.aws.service import ECR_IMAGE
from components.type_tokens import AWS_IMAGE_REPOSITORY, AWS_SERVICE
from infra.offline import MOCK_ACCOUNT, PlatformMocks, StackRun, run_stack
from tests.infra.targets.aws_stack import PROVIDER_TYPE, ROLE_POLICY, ROOT, Evaluated

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
ACCOUNT_IN_ARN = re.compile(r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(?P<account>\d{12}):")
PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
]


def test_one_repository_per_service_named_for_the_stack(stack: Evaluated) -> None:
    cfg = stack.run.config
    (provider,) = [r for r in stack.run.resources if r.type == PROVIDER_TYPE]
    assert {r.name for r in stack.all(AWS_IMAGE_REPOSITORY)} == {
        f"{name}-images" for name in cfg.services
    }
    prod = cfg.environment == "prod"
    for name in cfg.services:
        component = stack.one(AWS_IMAGE_REPOSITORY, f"{name}-images")
        repository = stack.one(REPOSITORY, f"{name}-images-ecr")
        assert repository.parent == component.urn
        assert repository.provider.startswith(provider.urn)
        assert dict(repository.inputs) == {
            "name": f"platform-{cfg.stack}-{name}",
            "imageTagMutability": "IMMUTABLE",
            "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfigurations": [{"encryptionType": "AES256"}],
            "forceDelete": False,
            "tags": {"service": name},
        }
        # Prod's repositories hold what prod runs and what a rollback needs.
        assert (repository.protect, repository.retain_on_delete) == (prod, prod)
        lifecycle = stack.one(LIFECYCLE, f"{name}-images-lifecycle")
        assert lifecycle.parent == component.urn
        assert lifecycle.inputs["repository"] == repository.inputs["name"]
        assert repository.urn in lifecycle.dependencies
        assert json.loads(lifecycle.inputs["policy"]) == lifecycle_policy(
            UNTAGGED_EXPIRY_DAYS, KEEP_IMAGES
        )


def test_staging_and_prod_build_the_same_repositories(evaluated: dict[str, Evaluated]) -> None:
    """Same shape in both accounts: only the stack's name in the repository name differs."""

    def shape(stack: Evaluated) -> list[dict[str, Any]]:
        prefix = f"platform-{stack.run.config.stack}-"
        return sorted(
            (
                {**dict(r.inputs), "name": r.inputs["name"].removeprefix(prefix)}
                for r in stack.all(REPOSITORY)
            ),
            key=lambda inputs: inputs["name"],
        )

    assert shape(evaluated["staging"]) == shape(evaluated["prod"])


def test_each_service_starts_only_once_its_repository_exists(stack: Evaluated) -> None:
    for name in stack.run.config.services:
        service = stack.one(AWS_SERVICE, name)
        # A dependency on a component is one on each resource inside it.
        assert stack.one(REPOSITORY, f"{name}-images-ecr").urn in service.dependencies


def _account_of_stack(stack: Evaluated) -> str:
    """The account the stack deploys to, as its certificate (issued in that account) names it."""
    aws = stack.run.config.aws
    assert aws is not None and aws.certificate_arn is not None
    match = ACCOUNT_IN_ARN.match(aws.certificate_arn)
    assert match is not None, aws.certificate_arn
    return match["account"]


def test_each_service_runs_by_digest_from_its_own_stacks_repository(stack: Evaluated) -> None:
    """The image in the stack file (set by the deploy workflow) names this stack's repository
    for the service, in the stack's own account and region, pinned by digest; the execution role
    may pull from exactly that repository and from no other."""
    cfg = stack.run.config
    assert cfg.aws is not None
    policies = {r.name: json.loads(r.inputs["policy"]) for r in stack.all(ROLE_POLICY)}
    for name, service in cfg.services.items():
        image = service.image or ""
        assert DIGEST.search(image), f"{name}: {image} is not pinned by digest"
        ecr = ECR_IMAGE.match(image)
        assert ecr is not None, f"{name}: {image} is not in ECR"
        repository = stack.one(REPOSITORY, f"{name}-images-ecr").inputs["name"]
        assert (ecr["account"], ecr["region"], ecr["repo"]) == (
            _account_of_stack(stack),
            cfg.aws.region,
            repository,
        )
        statements = {s["Sid"]: s for s in policies[f"{name}-execution"]["Statement"]}
        assert statements["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"
        assert statements["EcrPull"] == {
            "Sid": "EcrPull",
            "Effect": "Allow",
            "Action": PULL_ACTIONS,
            "Resource": f"arn:aws:ecr:{cfg.aws.region}:{ecr['account']}:repository/{repository}",
        }


def test_staging_and_prod_pull_from_registries_in_their_own_accounts(
    evaluated: dict[str, Evaluated],
) -> None:
    registries = {
        stack: {str(s.image).split("/", 1)[0] for s in run.run.config.services.values()}
        for stack, run in evaluated.items()
    }
    assert all(len(hosts) == 1 for hosts in registries.values()), registries
    assert registries["staging"] != registries["prod"]


class EcrMocks(PlatformMocks):
    """The platform's mocks, answering a repository's URL the way ECR computes it."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == REPOSITORY:
            name = args.inputs["name"]
            state["repositoryUrl"] = f"{MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{name}"
        return resource_id, state


@pytest.fixture(scope="module")
def prod_with_urls() -> StackRun:
    return run_stack(ROOT, "prod", mocks=EcrMocks())


def test_the_repository_urls_are_exported_and_an_image_set_on_them_is_pullable(
    prod_with_urls: StackRun,
) -> None:
    """The exported URL is the repository's, and an image the deploy workflow sets on it,
    `<url>@sha256:<digest>`, names the repository the execution role may pull from."""
    urls, secret = prod_with_urls.outputs["imageRepositories"]
    assert not secret
    assert urls == {
        name: f"{MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/platform-prod-{name}"
        for name in prod_with_urls.config.services
    }
    for name, url in urls.items():
        ecr = ECR_IMAGE.match(f"{url}@sha256:{'0' * 64}")
        assert ecr is not None and ecr["repo"] == f"platform-prod-{name}"
