"""policy/pack.py and __main__.py: real stacks pass, prod detection, MANDATORY wiring, analyzer."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pulumi_policy
import pytest
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.config import CONFIG
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from infra.offline import StackRun
from policy import buckets, rules
from policy.pack import (
    ENFORCEMENT,
    PACK_NAME,
    build_policies,
    current_environment,
    pack_arguments,
    stack_environment,
)
from tests.paths import REPO_ROOT
from tests.policy.policy_inputs import (
    POLICY_DIR,
    RESOURCE_POLICIES,
    STACK_POLICIES,
    STACKS,
    UNKNOWN,
    WORLD,
    bucket_parts,
    caught,
    ecr_repository,
    health,
    options,
    policy_resources,
    rds_instance,
    resource,
    run_pack,
    target_group,
    task_definition,
)

# All three stacks, as the program builds them from their real stack files.


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_every_policy(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None], stack: str
) -> None:
    run = stack_runs[stack]
    as_stack(stack, run.config.environment)
    assert run_pack(policy_resources(run)) == []


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_aws_stacks_give_every_policy_something_to_judge(
    stack_runs: dict[str, StackRun], stack: str
) -> None:
    """A pass means something only if each governed resource type is in the stack."""
    types = {r.type for r in stack_runs[stack].resources}
    governed = {
        rules.RDS_INSTANCE,
        rules.SECURITY_GROUP,
        rules.INGRESS_RULE,
        rules.TASK_DEFINITION,
        rules.ECS_SERVICE,
        rules.TARGET_GROUPS[0],
        rules.ECR_REPOSITORY,
        buckets.BUCKETS[0],
        buckets.PUBLIC_ACCESS_BLOCK,
        buckets.ENCRYPTION_CONFIGURATIONS[0],
    }
    assert governed <= types
    world_rules = [
        r
        for r in stack_runs[stack].by_type(rules.INGRESS_RULE)
        if r.inputs.get("cidrIpv4") in WORLD
    ]
    assert {int(r.inputs["fromPort"]) for r in world_rules} == {80, 443}


# The pack: exactly these policies, all mandatory, as the CLI starts it.


def test_the_pack_registers_exactly_the_platform_policies_as_mandatory() -> None:
    policies = build_policies()
    assert len(policies) == len(RESOURCE_POLICIES | STACK_POLICIES)
    kinds = {policy.name: type(policy) for policy in policies}
    assert kinds == {
        **dict.fromkeys(RESOURCE_POLICIES, ResourceValidationPolicy),
        **dict.fromkeys(STACK_POLICIES, StackValidationPolicy),
    }
    assert all(policy.enforcement_level is EnforcementLevel.MANDATORY for policy in policies)
    assert ENFORCEMENT is EnforcementLevel.MANDATORY


def test_the_cli_entry_point_builds_the_pack_mandatory(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.append(kwargs))
    runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    (kwargs,) = built
    assert kwargs["name"] == PACK_NAME == pack_arguments()["name"]
    assert kwargs["enforcement_level"] is EnforcementLevel.MANDATORY
    assert {p.name for p in kwargs["policies"]} == RESOURCE_POLICIES | STACK_POLICIES


def test_the_pack_runs_in_the_projects_virtualenv() -> None:
    manifest = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    pack_venv = (POLICY_DIR / manifest["runtime"]["options"]["virtualenv"]).resolve()
    project_venv = (REPO_ROOT / project["runtime"]["options"]["virtualenv"]).resolve()
    assert pack_venv == project_venv


# The environment the pack judges by: the CLI's, where any source saying prod wins.


@pytest.mark.parametrize(
    ("override", "configured", "stack", "expected"),
    [
        (None, "prod", "prod", "prod"),
        (None, "staging", "staging", "staging"),
        (None, "dev", "dev", "dev"),
        (None, "staging", None, "staging"),
        (None, None, "staging", "staging"),
        (None, "staging", "prod", "prod"),
        (None, "staging", "acme/platform/prod-eu", "prod"),
        ("staging", "prod", "prod", "prod"),
        ("prod", "staging", "staging", "prod"),
        (None, None, None, "prod"),
        (None, "qa", "sandbox", "prod"),
        # A review stack (pr-<n>) is its own tier: exempt from prod's database rules.
        (None, "review", "pr-42", "review"),
        (None, "review", "acme/platform/pr-42", "review"),
        (None, None, "pr-42", "prod"),
        (None, "review", "prod", "prod"),
    ],
)
def test_prod_is_decided_by_any_source_and_unknown_fails_closed(
    override: str | None, configured: str | None, stack: str | None, expected: str
) -> None:
    assert stack_environment(override, configured, stack) == expected


def test_the_pack_reads_the_environment_the_cli_passes(
    as_stack: Callable[[str, str], None],
) -> None:
    fragile = resource(rules.RDS_INSTANCE, {**rds_instance(), "multiAz": False})
    args = ResourceValidationArgs(fragile.resource_type, fragile.props, "u", "db", options(), None)
    as_stack("staging", "staging")
    assert current_environment(args) == "staging"
    assert caught([fragile]) == set()
    as_stack("staging", "prod")
    assert current_environment(args) == "prod"
    assert caught([fragile]) == {("prod-database-durable", "r")}
    overridden = ResourceValidationArgs(
        fragile.resource_type, fragile.props, "u", "db", options(), None, {"environment": "prod"}
    )
    as_stack("staging", "staging")
    assert current_environment(overridden) == "prod"


# The analyzer pulumi-policy serves to the engine, with this pack's policies.


@pytest.fixture
def analyzer(monkeypatch: pytest.MonkeyPatch) -> Iterator[_PolicyAnalyzerServicer]:
    """It copies PULUMI_CONFIG into the runtime's global config on every call; a fresh config
    map, reset afterwards, keeps that from leaking into other tests' stack evaluations."""
    for key in ("PULUMI_CONFIG", "PULUMI_STACK", "PULUMI_PROJECT", "PULUMI_DRY_RUN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"platform:environment": "prod"}))
    token = CONFIG.set({})
    yield _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", build_policies(), ENFORCEMENT)
    CONFIG.reset(token)


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def analyze(
    analyzer: _PolicyAnalyzerServicer,
    resource_type: str,
    props: Mapping[str, Any],
    protect: bool = True,
) -> list[Any]:
    """As the engine asks: props and the resource's options (prod's database is `protect`ed)."""
    request = proto.AnalyzeRequest(
        type=resource_type,
        properties=_struct(props),
        urn=f"urn:pulumi:prod::platform::{resource_type}::r",
        name="r",
        options=proto.AnalyzerResourceOptions(protect=protect),
    )
    return list(analyzer.Analyze(request, None).diagnostics)


BROKEN: list[tuple[str, str, dict[str, Any]]] = [
    (
        "database-private-and-encrypted",
        rules.RDS_INSTANCE,
        {**rds_instance(), "publiclyAccessible": True},
    ),
    ("prod-database-durable", rules.RDS_INSTANCE, {**rds_instance(), "multiAz": False}),
    ("containers-health-checked", rules.TASK_DEFINITION, task_definition([{"name": "web"}])),
    (
        "no-secrets-in-plain-env",
        rules.TASK_DEFINITION,
        task_definition(
            [
                {
                    "name": "web",
                    "healthCheck": health(),
                    "environment": [{"name": "API_TOKEN", "value": "t"}],
                }
            ]
        ),
    ),
    ("services-roll-back", rules.ECS_SERVICE, {"name": "web"}),
    ("target-groups-health-checked", rules.TARGET_GROUPS[0], {"name": "tg", "protocol": "HTTP"}),
    (
        "image-repositories-immutable-and-scanned",
        rules.ECR_REPOSITORY,
        {**ecr_repository(), "imageTagMutability": "MUTABLE"},
    ),
]


@pytest.mark.parametrize(
    ("policy_name", "resource_type", "props"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_the_analyzer_blocks_each_broken_resource(
    analyzer: _PolicyAnalyzerServicer, policy_name: str, resource_type: str, props: dict[str, Any]
) -> None:
    """The engine's path: props through protobuf (numbers become floats) behind read-only
    proxies, reported as mandatory diagnostics of exactly the one policy."""
    diagnostics = analyze(analyzer, resource_type, props)
    assert {d.policyName for d in diagnostics} == {policy_name}
    assert all(d.enforcementLevel == proto.MANDATORY for d in diagnostics)
    assert all(d.policyPackName == PACK_NAME for d in diagnostics)


def test_the_analyzer_sees_an_unprotected_prod_database(
    analyzer: _PolicyAnalyzerServicer,
) -> None:
    (diagnostic,) = analyze(analyzer, rules.RDS_INSTANCE, rds_instance(), protect=False)
    assert diagnostic.policyName == "prod-database-durable"
    assert "protect=True" in diagnostic.message


def test_the_analyzer_passes_sound_resources(analyzer: _PolicyAnalyzerServicer) -> None:
    for resource_type, props in [
        (rules.RDS_INSTANCE, rds_instance()),
        (rules.TASK_DEFINITION, task_definition()),
        (
            rules.ECS_SERVICE,
            {"name": "web", "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        ),
        (rules.TARGET_GROUPS[0], target_group()),
        (rules.ECR_REPOSITORY, ecr_repository()),
    ]:
        assert analyze(analyzer, resource_type, props) == [], resource_type


def test_the_analyzer_judges_standalone_rules_by_the_group_their_id_comes_from(
    analyzer: _PolicyAnalyzerServicer,
) -> None:
    """Stack analysis links a rule to its group through the engine's property dependencies."""

    def group(name: str, props: dict[str, Any]) -> Any:
        urn = f"urn:pulumi:prod::platform::{rules.SECURITY_GROUP}::{name}"
        return proto.AnalyzerResource(
            type=rules.SECURITY_GROUP, properties=_struct(props), urn=urn, name=name
        )

    def rule(name: str, port: int, owner: Any) -> Any:
        props = {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": port, "toPort": port}
        return proto.AnalyzerResource(
            type=rules.INGRESS_RULE,
            properties=_struct({**props, "securityGroupId": "sg-0123"}),
            urn=f"urn:pulumi:prod::platform::{rules.INGRESS_RULE}::{name}",
            name=name,
            dependencies=[owner.urn],
            propertyDependencies={
                "securityGroupId": proto.AnalyzerPropertyDependencies(urns=[owner.urn])
            },
        )

    lb = group("network-lb", {"name": "network-lb-5d1c2e3", "tags": {"Name": "network-lb"}})
    services = group("network-services", {"tags": {"Name": "network-services"}})
    resources = [
        lb,
        services,
        rule("lb-https", 443, lb),
        rule("lb-ssh", 22, lb),
        rule("services-https", 443, services),
    ]
    response = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    flagged = {d.urn.rsplit("::", 1)[-1] for d in response.diagnostics}
    assert flagged == {"lb-ssh", "services-https"}
    assert {d.policyName for d in response.diagnostics} == {"no-world-open-ingress"}
    assert all(d.enforcementLevel == proto.MANDATORY for d in response.diagnostics)


def test_the_analyzer_judges_a_bucket_with_the_parts_its_bucket_input_comes_from(
    analyzer: _PolicyAnalyzerServicer,
) -> None:
    """The engine hands the stack's resources with property dependencies: a part counts for
    the bucket its `bucket` input came from; one still unknown in a preview leaves its bucket
    out (judged again when known)."""

    def bucket(name: str) -> Any:
        return proto.AnalyzerResource(
            type=buckets.BUCKETS[0],
            properties=_struct({"bucket": f"logs-{name}"}),
            urn=f"urn:pulumi:prod::platform::{buckets.BUCKETS[0]}::{name}",
            name=name,
        )

    def part(kind: str, props: Mapping[str, Any], owner: Any, name: str) -> Any:
        return proto.AnalyzerResource(
            type=kind,
            properties=_struct({**props, "bucket": UNKNOWN}),
            urn=f"urn:pulumi:prod::platform::{kind}::{name}",
            name=name,
            dependencies=[owner.urn],
            propertyDependencies={"bucket": proto.AnalyzerPropertyDependencies(urns=[owner.urn])},
        )

    sound, bare, pending = bucket("sound"), bucket("bare"), bucket("pending")
    resources = [sound, bare, pending]
    for index, (kind, props) in enumerate(bucket_parts()):
        resources.append(part(kind, props, sound, f"sound-{index}"))
        unknown = {key: UNKNOWN for key in props} if kind == buckets.PUBLIC_ACCESS_BLOCK else props
        resources.append(part(kind, unknown, pending, f"pending-{index}"))
    response = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    mandatory = [d for d in response.diagnostics if d.enforcementLevel == proto.MANDATORY]
    assert {d.urn.rsplit("::", 1)[-1] for d in mandatory} == {"bare"}
    assert {d.policyName for d in mandatory} == {"buckets-private-and-encrypted"}
    assert len(mandatory) == 2  # no public access block, no encryption


def test_a_value_unknown_during_preview_is_not_a_violation(
    analyzer: _PolicyAnalyzerServicer,
) -> None:
    """pulumi-policy skips a check that touches an unknown with an advisory note; `up` checks
    the resource again with the value known, before creating it."""
    props = {"family": "f", "containerDefinitions": UNKNOWN}
    diagnostics = analyze(analyzer, rules.TASK_DEFINITION, props)
    assert diagnostics and all(d.enforcementLevel == proto.ADVISORY for d in diagnostics)
    assert all("during preview" in d.message for d in diagnostics)
    fresh_group = proto.AnalyzerResource(
        type=rules.SECURITY_GROUP,
        properties=_struct({"tags": {"Name": "network-services"}, "ingress": UNKNOWN}),
        urn=f"urn:pulumi:prod::platform::{rules.SECURITY_GROUP}::network-services",
        name="network-services",
    )
    response = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=[fresh_group]), None)
    assert list(response.diagnostics) == []
