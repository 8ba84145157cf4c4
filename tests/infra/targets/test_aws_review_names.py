"""Review stacks on the aws target, evaluated under mocks from stack files generated the way
`infractl review up` writes them (from the real Pulumi.staging.yaml): every physical name fits
AWS's limits up to the longest PR number supported, none is staging's or another review stack's,
everything carries the expiry tag, and nothing stops `pulumi destroy` or a second `pr-<n>`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from components.aws.registry import REPOSITORY_NAME
from infra import offline
from infra.config.review import MAX_PR_NUMBER, review_stack_name
from infra.offline import StackRun
from tests.infra.targets.aws_stack import PROVIDER_TYPE, plain
from tests.infractl.review.review_files import write_review_stack
from tests.paths import REPO_ROOT

LONGEST = review_stack_name(MAX_PR_NUMBER)
REVIEW_STACKS = ("pr-1", "pr-12", LONGEST)

_DNS = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
LIMITS: dict[tuple[str, str], tuple[int, str]] = {
    # (type, input) -> (max length, what AWS accepts), from each service's API reference.
    ("aws:secretsmanager/secret:Secret", "name"): (512, r"[A-Za-z0-9/_+=.@-]+"),
    # RDS: a letter first, letters, digits and single hyphens, no hyphen last.
    ("aws:rds/instance:Instance", "identifier"): (63, r"[a-z](-?[a-z0-9])*"),
    ("aws:cloudwatch/logGroup:LogGroup", "name"): (512, r"[.\-_/#A-Za-z0-9]+"),
    ("aws:ecr/repository:Repository", "name"): (256, REPOSITORY_NAME.pattern),
    ("aws:s3/bucket:Bucket", "bucket"): (63, r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"),
    ("aws:backup/vault:Vault", "name"): (50, r"[A-Za-z0-9_-]{2,50}"),
    ("aws:backup/plan:Plan", "name"): (50, r"[A-Za-z0-9_.-]+"),
    ("aws:backup/selection:Selection", "name"): (50, r"[A-Za-z0-9_.-]+"),
    ("aws:ecs/cluster:Cluster", "name"): (255, r"[A-Za-z0-9_-]+"),
    ("aws:ecs/service:Service", "name"): (255, r"[A-Za-z0-9_-]+"),
    ("aws:ecs/taskDefinition:TaskDefinition", "family"): (255, r"[A-Za-z0-9_-]+"),
    ("aws:sns/topic:Topic", "name"): (256, r"[A-Za-z0-9_-]+"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"): (255, r"[ -~]+"),
    ("aws:route53/record:Record", "name"): (253, rf"({_DNS}\.)+{_DNS}"),
}
AUTONAMED: dict[str, int] = {
    # Types the program leaves to Pulumi's auto-naming (`<logical name>-<7 hex>`), whose random
    # suffix keeps them apart across stacks; the logical name must leave room for the suffix.
    "aws:lb/loadBalancer:LoadBalancer": 32,
    "aws:lb/targetGroup:TargetGroup": 32,
    "aws:iam/role:Role": 64,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:ec2/securityGroup:SecurityGroup": 255,
    "aws:rds/subnetGroup:SubnetGroup": 255,
    "aws:rds/parameterGroup:ParameterGroup": 255,
}
NAME_INPUTS = ("name", "identifier", "namePrefix", "bucket", "family")
"""Inputs that hold a physical name (on the types above; elsewhere `bucket` or `family` names
something else: a bucket's id, an RDS parameter family)."""
CLUSTER_SCOPED = {"aws:ecs/service:Service"}
"""Names unique only inside their ECS cluster, which is the stack's own."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StackRun]:
    root = tmp_path_factory.mktemp("review-project")
    for stack in REVIEW_STACKS:
        write_review_stack(root, stack)
    evaluated = {stack: offline.run_stack(root, stack) for stack in REVIEW_STACKS}
    return {**evaluated, "staging": offline.run_stack(REPO_ROOT, "staging")}


def physical_names(run: StackRun) -> Iterator[tuple[str, str, str]]:
    """(type, input, name) for every name the program sets on an AWS resource."""
    for resource in run.resources:
        if not resource.type.startswith("aws:"):
            continue
        for key in NAME_INPUTS:
            value = plain(resource.inputs.get(key))
            if isinstance(value, str) and (resource.type, key) in LIMITS:
                yield resource.type, key, value
            elif isinstance(value, str) and key in ("name", "identifier", "namePrefix"):
                raise AssertionError(f"{resource.type}.{key} = {value}: add its limit to LIMITS")


def account_names(run: StackRun) -> set[tuple[str, str]]:
    """Names that must be unique in the account (or globally, for buckets)."""
    return {(kind, name) for kind, _, name in physical_names(run) if kind not in CLUSTER_SCOPED}


@pytest.mark.parametrize("stack", REVIEW_STACKS)
def test_every_physical_name_fits_aws_limits(runs: dict[str, StackRun], stack: str) -> None:
    names = list(physical_names(runs[stack]))
    assert len({kind for kind, _, _ in names}) >= 12, names
    for kind, key, name in names:
        limit, allowed = LIMITS[(kind, key)]
        assert len(name) <= limit, f"{kind}.{key} '{name}' is over {limit} characters"
        assert re.fullmatch(allowed, name), f"{kind}.{key} '{name}' is not {allowed}"
    identifiers = [name for kind, key, name in names if key == "identifier"]
    assert identifiers == [f"platform-{stack}-db"]
    assert all("--" not in name and not name.endswith("-") for name in identifiers)


@pytest.mark.parametrize("stack", REVIEW_STACKS)
def test_auto_named_resources_leave_room_for_pulumis_suffix(
    runs: dict[str, StackRun], stack: str
) -> None:
    """ALB and target group names are not built from the stack name: Pulumi names them
    `<logical>-<7 hex>`, the same logical names in every stack, so a longer stack name cannot
    push them past 32."""
    seen = 0
    for resource in runs[stack].resources:
        limit = AUTONAMED.get(resource.type)
        if limit is None:
            continue
        assert "name" not in resource.inputs and "namePrefix" not in resource.inputs
        assert len(resource.name) + 8 <= limit, (resource.type, resource.name)
        seen += 1
    assert seen >= 10
    logical = {(r.type, r.name) for r in runs[stack].resources if r.type in AUTONAMED}
    assert logical <= {(r.type, r.name) for r in runs["staging"].resources}


def test_no_review_name_is_stagings_or_another_review_stacks(runs: dict[str, StackRun]) -> None:
    staging = account_names(runs["staging"])
    review = {stack: account_names(runs[stack]) for stack in REVIEW_STACKS}
    for stack, names in review.items():
        assert not names & staging, (stack, names & staging)
        for other, theirs in review.items():
            if other != stack:
                assert not names & theirs, (stack, other, names & theirs)
    urls = {stack: runs[stack].outputs["serviceUrls"][0]["web"] for stack in REVIEW_STACKS}
    assert urls["pr-12"] == "https://pr-12.staging.shop.acme.example"
    assert len(set(urls.values())) == len(urls)
    assert runs["staging"].outputs["serviceUrls"][0]["web"] not in urls.values()


def test_the_expiry_is_a_tag_on_everything_and_an_output(runs: dict[str, StackRun]) -> None:
    run = runs["pr-12"]
    (provider,) = run.by_type(PROVIDER_TYPE)
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags == {
        "environment": "review",
        "stack": "pr-12",
        "managed-by": "pulumi",
        "platform:expires_at": "2030-01-31",
    }
    for resource in run.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider.startswith(f"{provider.urn}::"), resource.name
    assert run.outputs["expiresAt"] == ("2030-01-31", False)
    assert "expiresAt" not in runs["staging"].outputs
    (staging_provider,) = runs["staging"].by_type(PROVIDER_TYPE)
    assert "platform:expires_at" not in json.loads(staging_provider.inputs["defaultTags"])["tags"]


def one(run: StackRun, type_: str, name: str) -> dict[str, Any]:
    (match,) = [r for r in run.resources if r.type == type_ and r.name == name]
    return dict(match.inputs)


def test_a_review_stack_is_small_and_destroys_without_leftovers(
    runs: dict[str, StackRun],
) -> None:
    run, staging = runs["pr-1"], runs["staging"]
    db = one(run, "aws:rds/instance:Instance", "db-instance")
    assert (db["instanceClass"], db["allocatedStorage"], db["backupRetentionPeriod"]) == (
        "db.t4g.micro",
        20,
        1,
    )
    assert db["multiAz"] is False and db["deletionProtection"] is False
    # A final snapshot named after the instance would block the next pr-1's destroy.
    assert db["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in db
    assert db["deleteAutomatedBackups"] is True
    assert one(run, "aws:backup/vault:Vault", "db-backups-vault")["forceDestroy"] is True
    for repository in run.by_type("aws:ecr/repository:Repository"):
        assert repository.inputs["forceDelete"] is True
    # A secret pending deletion keeps its name for 7 days: the same pr-<n> could not be remade.
    for secret in run.by_type("aws:secretsmanager/secret:Secret"):
        assert secret.inputs["recoveryWindowInDays"] == 0
    for service in run.by_type("aws:ecs/service:Service"):
        assert service.inputs["desiredCount"] == 1
    for task in run.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        assert (task.inputs["cpu"], task.inputs["memory"]) == ("256", "512")
    assert not run.by_type("aws:appautoscaling/target:Target")
    assert len(run.by_type("aws:ec2/subnet:Subnet")) == 4  # two zones, public and private
    assert len(run.by_type("aws:ec2/natGateway:NatGateway")) == 1
    assert not [r for r in run.resources if r.protect or r.retain_on_delete]
    # staging keeps what a review stack gives up.
    staging_db = one(staging, "aws:rds/instance:Instance", "db-instance")
    assert staging_db["skipFinalSnapshot"] is False
    assert one(staging, "aws:backup/vault:Vault", "db-backups-vault").get("forceDestroy") is False
    for secret in staging.by_type("aws:secretsmanager/secret:Secret"):
        assert secret.inputs["recoveryWindowInDays"] == 7
