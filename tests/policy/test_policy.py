"""The policy pack (policy/): all three real stacks pass it; resources built or mutated to break
one rule each are caught by exactly that rule; the pack registers exactly these policies,
MANDATORY, the way the CLI starts it; and the analyzer pulumi-policy serves enforces them."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pulumi_policy
import pytest
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto, rpc
from pulumi.runtime.config import CONFIG
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from infra.offline import StackRun, run_stack
from policy import rules
from policy.pack import (
    ENFORCEMENT,
    PACK_NAME,
    build_policies,
    current_environment,
    pack_arguments,
    stack_environment,
)
from tests.paths import REPO_ROOT

POLICY_DIR = REPO_ROOT / "policy"
STACKS = ("dev", "staging", "prod")
RESOURCE_POLICIES = {
    "database-private-and-encrypted",
    "prod-database-durable",
    "containers-health-checked",
    "no-secrets-in-plain-env",
    "services-roll-back",
    "target-groups-health-checked",
}
STACK_POLICIES = {"no-world-open-ingress"}
WORLD = ("0.0.0.0/0", "::/0")
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

Violation = tuple[str, str, str]
"""(policy name, resource name, message)."""


def plain(value: Any) -> Any:
    """Inputs as the policy engine sees them: secrets unwrapped, however deep."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource(
    resource_type: str,
    props: Mapping[str, Any],
    name: str = "r",
    dependencies: list[PolicyResource] | None = None,
) -> PolicyResource:
    urn = f"urn:pulumi:test::platform::{resource_type}::{name}"
    return PolicyResource(
        resource_type, props, urn, name, _options(), None, None, dependencies or [], {}
    )


def policy_resources(run: StackRun) -> list[PolicyResource]:
    """A stack's registrations as the pack sees them: plain props, parents and dependencies."""
    by_urn = {
        r.urn: PolicyResource(
            r.type, plain(r.inputs), r.urn, r.name, _options(r.protect), None, None, [], {}
        )
        for r in run.resources
    }
    for registration in run.resources:
        current = by_urn[registration.urn]
        current.parent = by_urn.get(registration.parent)
        current.dependencies.extend(by_urn[u] for u in registration.dependencies if u in by_urn)
    return list(by_urn.values())


def run_pack(resources: list[PolicyResource]) -> list[Violation]:
    """Every policy of the pack over `resources`, through the callbacks the analyzer calls."""
    names = {r.urn: r.name for r in resources}
    found: list[Violation] = []
    for policy in build_policies():
        if isinstance(policy, StackValidationPolicy):

            def report(
                message: str, urn: str | None = None, policy_name: str = policy.name
            ) -> None:
                found.append((policy_name, names.get(urn or "", ""), message))

            policy.validate(StackValidationArgs(resources), report)
            continue
        assert isinstance(policy, ResourceValidationPolicy)
        for each in resources:
            args = ResourceValidationArgs(
                each.resource_type, each.props, each.urn, each.name, each.opts, None
            )

            def report_resource(
                message: str,
                urn: str | None = None,
                key: tuple[str, str] = (policy.name, each.name),
            ) -> None:
                found.append((*key, message))

            policy.validate(args, report_resource)
    return found


def caught(resources: list[PolicyResource]) -> set[tuple[str, str]]:
    return {(policy, name) for policy, name, _ in run_pack(resources)}


def find(resources: list[PolicyResource], resource_type: str, name: str) -> PolicyResource:
    (match,) = [r for r in resources if r.resource_type == resource_type and r.name == name]
    return match


def edit_containers(task: PolicyResource, change: Callable[[list[dict[str, Any]]], None]) -> None:
    props = dict(task.props)
    containers = json.loads(props["containerDefinitions"])
    change(containers)
    props["containerDefinitions"] = json.dumps(containers)
    task.props = props


@pytest.fixture(scope="module")
def stack_runs() -> dict[str, StackRun]:
    """The three real stacks, evaluated once for this module (results are plain data)."""
    return {stack: run_stack(REPO_ROOT, stack) for stack in STACKS}


@pytest.fixture
def as_stack(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Start-up environment as the CLI gives the pack: the stack's name and its config."""

    def set_stack(stack: str, environment: str) -> None:
        monkeypatch.setenv("PULUMI_STACK", stack)
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"platform:environment": environment}))

    return set_stack


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
    }
    assert governed <= types
    world_rules = [
        r
        for r in stack_runs[stack].by_type(rules.INGRESS_RULE)
        if r.inputs.get("cidrIpv4") in WORLD
    ]
    assert {int(r.inputs["fromPort"]) for r in world_rules} == {80, 443}


# 1. database-private-and-encrypted


def rds_instance() -> dict[str, Any]:
    return {
        "identifier": "platform-prod-db",
        "engine": "postgres",
        "publiclyAccessible": False,
        "storageEncrypted": True,
        "multiAz": True,
        "deletionProtection": True,
        "backupRetentionPeriod": 14,
    }


def test_a_private_encrypted_database_passes() -> None:
    assert rules.database_private_and_encrypted(rules.RDS_INSTANCE, rds_instance()) == []
    cluster = {"clusterIdentifier": "c", "storageEncrypted": True}
    assert rules.database_private_and_encrypted(rules.RDS_CLUSTER, cluster) == []


def test_a_public_database_is_refused() -> None:
    props = {**rds_instance(), "publiclyAccessible": True}
    (message,) = rules.database_private_and_encrypted(rules.RDS_INSTANCE, props)
    assert "platform-prod-db" in message and "publiclyAccessible" in message
    member = {"identifier": "c-1", "publiclyAccessible": True}
    assert rules.database_private_and_encrypted(rules.RDS_CLUSTER_INSTANCE, member)


@pytest.mark.parametrize("encrypted", [False, None])
def test_an_unencrypted_database_is_refused(encrypted: bool | None) -> None:
    props = {**rds_instance(), "storageEncrypted": encrypted}
    (message,) = rules.database_private_and_encrypted(rules.RDS_INSTANCE, props)
    assert "storageEncrypted" in message
    assert rules.database_private_and_encrypted(rules.RDS_CLUSTER, {"clusterIdentifier": "c"})


@pytest.mark.parametrize("change", [{"publiclyAccessible": True}, {"storageEncrypted": False}])
def test_the_real_prod_database_made_public_or_unencrypted_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None], change: dict[str, bool]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    database.props = {**database.props, **change}
    assert caught(resources) == {("database-private-and-encrypted", "db-instance")}


# 2. prod-database-durable


def test_a_durable_prod_database_passes() -> None:
    assert (
        rules.prod_database_durable(
            rules.RDS_INSTANCE, rds_instance(), environment="prod", protected=True
        )
        == []
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"multiAz": False}, "multiAz"),
        ({"deletionProtection": False}, "deletionProtection"),
        ({"backupRetentionPeriod": 3}, "3 days"),
        ({"backupRetentionPeriod": None}, "not set"),
    ],
)
def test_a_fragile_prod_database_is_refused(change: dict[str, Any], expected: str) -> None:
    props = {**rds_instance(), **change}
    (message,) = rules.prod_database_durable(
        rules.RDS_INSTANCE, props, environment="prod", protected=True
    )
    assert expected in message


def test_a_prod_cluster_needs_deletion_protection_and_backups() -> None:
    cluster = {"clusterIdentifier": "c", "storageEncrypted": True, "backupRetentionPeriod": 1}
    messages = rules.prod_database_durable(
        rules.RDS_CLUSTER, cluster, environment="prod", protected=True
    )
    assert len(messages) == 2


def test_the_real_prod_database_made_fragile_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    database.props = {**database.props, "multiAz": False, "backupRetentionPeriod": 3}
    violations = run_pack(resources)
    assert {(p, n) for p, n, _ in violations} == {("prod-database-durable", "db-instance")}
    assert len(violations) == 2


def test_the_real_prod_database_without_protect_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    assert database.opts.protect is True
    database.opts = _options(protect=False)
    (violation,) = run_pack(resources)
    assert violation[:2] == ("prod-database-durable", "db-instance")
    assert "protect=True" in violation[2]


def test_stagings_single_az_database_passes_only_because_staging_is_not_prod(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    resources = policy_resources(stack_runs["staging"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    assert database.props["multiAz"] is False
    as_stack("staging", "staging")
    assert caught(resources) == set()
    as_stack("staging", "prod")
    assert caught(resources) == {("prod-database-durable", "db-instance")}


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
    args = ResourceValidationArgs(fragile.resource_type, fragile.props, "u", "db", _options(), None)
    as_stack("staging", "staging")
    assert current_environment(args) == "staging"
    assert caught([fragile]) == set()
    as_stack("staging", "prod")
    assert current_environment(args) == "prod"
    assert caught([fragile]) == {("prod-database-durable", "r")}
    overridden = ResourceValidationArgs(
        fragile.resource_type, fragile.props, "u", "db", _options(), None, {"environment": "prod"}
    )
    as_stack("staging", "staging")
    assert current_environment(overridden) == "prod"


# 3. no-world-open-ingress


def lb_group() -> dict[str, Any]:
    return {
        "tags": {"Name": "network-lb"},
        "description": "Load balancer: HTTPS from the internet, HTTP only to redirect",
        "ingress": [
            {"protocol": "tcp", "fromPort": port, "toPort": port, "cidrBlocks": ["0.0.0.0/0"]}
            for port in (80, 443)
        ]
        + [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "ipv6CidrBlocks": ["::/0"]}],
    }


def services_group() -> dict[str, Any]:
    return {
        "tags": {"Name": "network-services"},
        "description": "Service tasks: reachable only from the load balancer",
        "ingress": [
            {"protocol": "tcp", "fromPort": 3000, "toPort": 3000, "securityGroups": ["sg-lb"]}
        ],
    }


def test_only_the_load_balancer_group_may_take_http_and_https_from_anywhere() -> None:
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP, lb_group()) == []
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP, services_group()) == []


@pytest.mark.parametrize(
    "rule",
    [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]},
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
        {"protocol": "tcp", "fromPort": 80, "toPort": 443, "ipv6CidrBlocks": ["::/0"]},
        {"protocol": "udp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]},
    ],
)
def test_the_load_balancer_group_opens_nothing_else_to_the_world(rule: dict[str, Any]) -> None:
    group = lb_group()
    group["ingress"].append(rule)
    (message,) = rules.no_world_open_ingress(rules.SECURITY_GROUP, group)
    assert "only tcp 80 and 443" in message


@pytest.mark.parametrize("cidr", WORLD)
def test_no_other_group_is_open_to_the_world_even_on_https(cidr: str) -> None:
    """The services group's description mentions the load balancer; that must not count."""
    group = services_group()
    key = "cidrBlocks" if "." in cidr else "ipv6CidrBlocks"
    group["ingress"].append({"protocol": "tcp", "fromPort": 443, "toPort": 443, key: [cidr]})
    (message,) = rules.no_world_open_ingress(rules.SECURITY_GROUP, group)
    assert cidr in message and "only the load balancer's group" in message


def test_standalone_rules_are_judged_by_the_group_they_belong_to() -> None:
    https = {"cidrIpv4": "0.0.0.0/0", "fromPort": 443, "toPort": 443, "ipProtocol": "tcp"}
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, https, group=lb_group()) == []
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, https, group=services_group())
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, https)
    postgres = {**https, "fromPort": 5432, "toPort": 5432}
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, postgres, group=lb_group())
    private = {**postgres, "cidrIpv4": "10.30.0.0/16"}
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, private) == []
    legacy = {"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22}
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP_RULE, {**legacy, "cidrBlocks": WORLD})
    egress = {**legacy, "type": "egress", "cidrBlocks": ["0.0.0.0/0"]}
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP_RULE, egress) == []


def test_the_real_load_balancer_rule_opened_on_ssh_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    https = find(resources, rules.INGRESS_RULE, "network-lb-443-in")
    https.props = {**https.props, "fromPort": 22, "toPort": 22}
    assert caught(resources) == {("no-world-open-ingress", "network-lb-443-in")}


def test_the_real_https_rule_moved_to_the_services_group_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    https = find(resources, rules.INGRESS_RULE, "network-lb-443-in")
    https.dependencies[:] = [find(resources, rules.SECURITY_GROUP, "network-services")]
    assert caught(resources) == {("no-world-open-ingress", "network-lb-443-in")}


# 4. containers-health-checked


def health() -> dict[str, Any]:
    return {"command": ["CMD", "node", "-e", "..."], "interval": 10, "retries": 3}


def task_definition(containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    default = [
        {
            "name": "migrate",
            "essential": False,
            "command": ["npx", "prisma", "migrate", "deploy"],
            "environment": [{"name": "NODE_ENV", "value": "production"}],
        },
        {
            "name": "web",
            "essential": True,
            "healthCheck": health(),
            "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}],
            "environment": [
                {"name": "NODE_ENV", "value": "production"},
                {"name": "DB_SECRET_ARN", "value": "arn:aws:secretsmanager:eu-west-1:1:secret:x"},
                {"name": "READONLY_URL", "value": "postgresql://reader@db/shop"},
            ],
            "secrets": [{"name": "PAYMENTS_API_KEY", "valueFrom": "arn:aws:secretsmanager:..."}],
        },
    ]
    return {
        "family": "platform-prod-web",
        "containerDefinitions": json.dumps(default if containers is None else containers),
    }


def containers_of(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = json.loads(props["containerDefinitions"])
    return containers


def test_health_checked_containers_and_an_awaited_migration_pass() -> None:
    assert rules.containers_health_checked(rules.TASK_DEFINITION, task_definition()) == []


def test_a_container_without_a_health_check_is_refused() -> None:
    containers = containers_of(task_definition())
    del containers[1]["healthCheck"]
    (message,) = rules.containers_health_checked(rules.TASK_DEFINITION, task_definition(containers))
    assert "'web'" in message and "platform-prod-web" in message


@pytest.mark.parametrize("tests", [None, [], ["NONE"]], ids=["absent", "empty", "NONE"])
def test_a_docker_container_without_a_healthcheck_is_refused(tests: list[str] | None) -> None:
    props: dict[str, Any] = {"name": "platform-dev-worker-1", "wait": True}
    if tests is not None:
        props["healthcheck"] = {"tests": tests}
    (message,) = rules.containers_health_checked(rules.DOCKER_CONTAINER, props)
    assert message == "docker container 'platform-dev-worker-1' has no healthcheck"


def test_a_docker_container_attached_until_it_exits_is_exempt() -> None:
    migration = {"name": "platform-dev-web-migrate", "attach": True, "mustRun": False}
    assert rules.containers_health_checked(rules.DOCKER_CONTAINER, migration) == []


def test_the_real_dev_containers_losing_a_healthcheck_are_caught(dev_run: StackRun) -> None:
    resources = policy_resources(dev_run)
    worker = find(resources, rules.DOCKER_CONTAINER, "worker-1")
    worker.props = {k: v for k, v in worker.props.items() if k != "healthcheck"}
    assert caught(resources) == {("containers-health-checked", "worker-1")}


@pytest.mark.parametrize("gap", ["essential", "nobody-waits"])
def test_only_a_non_essential_run_to_completion_container_is_exempt(gap: str) -> None:
    containers = containers_of(task_definition())
    if gap == "essential":
        containers[0]["essential"] = True
    else:
        containers[1]["dependsOn"][0]["condition"] = "START"
    (message,) = rules.containers_health_checked(rules.TASK_DEFINITION, task_definition(containers))
    assert "'migrate'" in message


def test_unreadable_container_definitions_are_refused() -> None:
    props = {"family": "f", "containerDefinitions": "[{"}
    assert "not valid JSON" in rules.containers_health_checked(rules.TASK_DEFINITION, props)[0]
    assert rules.no_secrets_in_plain_env(rules.TASK_DEFINITION, props)


@pytest.mark.parametrize(
    ("task", "break_it"),
    [
        ("web-task", lambda cs: cs[-1].pop("healthCheck")),
        ("web-task", lambda cs: cs[0].update(essential=True)),
        ("worker-task", lambda cs: cs[0].pop("healthCheck")),
    ],
    ids=["web-without-check", "migration-made-essential", "worker-without-check"],
)
def test_the_real_task_definitions_losing_a_health_check_are_caught(
    stack_runs: dict[str, StackRun],
    as_stack: Callable[[str, str], None],
    task: str,
    break_it: Callable[[list[dict[str, Any]]], None],
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    edit_containers(find(resources, rules.TASK_DEFINITION, task), break_it)
    assert caught(resources) == {("containers-health-checked", task)}


# 5. no-secrets-in-plain-env


def test_plain_env_without_secrets_passes() -> None:
    assert rules.no_secrets_in_plain_env(rules.TASK_DEFINITION, task_definition()) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASSWORD", "x"),
        ("SESSION_SECRET", "x"),
        ("GITHUB_TOKEN", "x"),
        ("PAYMENTS_API_KEY", "x"),
        ("TLS_PRIVATE_KEY", "x"),
        ("AWS_CREDENTIALS", "x"),
        ("PAYMENTS", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("AWS_KEY", "AKIAIOSFODNN7EXAMPLE"),
        ("DATABASE_URL", "postgresql://shop_app:hunter2hunter2@db:5432/shop"),
        ("LEGACY_DB", "postgres://admin:pw@10.0.0.5/app"),
    ],
)
def test_a_secret_in_plain_env_is_refused_without_echoing_it(name: str, value: str) -> None:
    containers = containers_of(task_definition())
    containers[1]["environment"].append({"name": name, "value": value})
    (message,) = rules.no_secrets_in_plain_env(rules.TASK_DEFINITION, task_definition(containers))
    assert name in message and "'web'" in message
    if value != "x":
        assert value not in message


def test_a_database_url_put_in_the_real_web_tasks_plain_env_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    url = {"name": "APP_DB", "value": "postgresql://shop_app:s3cret-pw@db:5432/shop"}
    edit_containers(
        find(resources, rules.TASK_DEFINITION, "web-task"),
        lambda cs: cs[-1]["environment"].append(url),
    )
    violations = run_pack(resources)
    assert {(p, n) for p, n, _ in violations} == {("no-secrets-in-plain-env", "web-task")}
    assert "s3cret-pw" not in violations[0][2]


# 6. services-roll-back


def test_a_service_with_the_circuit_breaker_and_rollback_passes() -> None:
    service = {"name": "web", "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    assert rules.services_roll_back(rules.ECS_SERVICE, service) == []


@pytest.mark.parametrize(
    "breaker", [None, {"enable": True, "rollback": False}, {"enable": False, "rollback": True}]
)
def test_a_service_that_cannot_roll_back_is_refused(breaker: dict[str, bool] | None) -> None:
    props = {"name": "web", "deploymentCircuitBreaker": breaker}
    (message,) = rules.services_roll_back(rules.ECS_SERVICE, props)
    assert "'web'" in message and "rollback" in message


def test_the_real_web_service_without_rollback_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    service = find(resources, rules.ECS_SERVICE, "web-service")
    service.props = {**service.props, "deploymentCircuitBreaker": {"enable": True}}
    assert caught(resources) == {("services-roll-back", "web-service")}


# 7. target-groups-health-checked


def target_group() -> dict[str, Any]:
    return {
        "name": "platform-prod-web",
        "protocol": "HTTP",
        "targetType": "ip",
        "healthCheck": {"enabled": True, "path": "/api/ready", "matcher": "200-299"},
    }


def test_a_target_group_checking_its_readiness_path_passes() -> None:
    assert rules.target_groups_health_checked(rules.TARGET_GROUPS[0], target_group()) == []
    tcp = {"protocol": "TCP", "healthCheck": {"enabled": True, "protocol": "TCP"}}
    assert rules.target_groups_health_checked(rules.TARGET_GROUPS[1], tcp) == []
    lambda_targets = {"targetType": "lambda"}
    assert rules.target_groups_health_checked(rules.TARGET_GROUPS[0], lambda_targets) == []


@pytest.mark.parametrize(
    ("health_check", "expected"),
    [
        (None, "no enabled health check"),
        ({"enabled": False, "path": "/api/ready"}, "no enabled health check"),
        ({"enabled": True}, "no path"),
        ({"enabled": True, "path": ""}, "no path"),
    ],
)
def test_a_target_group_without_a_real_health_check_is_refused(
    health_check: dict[str, Any] | None, expected: str
) -> None:
    props = {**target_group(), "healthCheck": health_check}
    (message,) = rules.target_groups_health_checked(rules.TARGET_GROUPS[0], props)
    assert expected in message and "platform-prod-web" in message


def test_the_real_target_group_without_a_path_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    targets = find(resources, rules.TARGET_GROUPS[0], "web-lb-targets")
    check = {k: v for k, v in targets.props["healthCheck"].items() if k != "path"}
    targets.props = {**targets.props, "healthCheck": check}
    assert caught(resources) == {("target-groups-health-checked", "web-lb-targets")}


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
    assert {d.policyName for d in response.diagnostics} == STACK_POLICIES
    assert all(d.enforcementLevel == proto.MANDATORY for d in response.diagnostics)


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
