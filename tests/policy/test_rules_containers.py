"""Rules 4-6 of policy/rules.py: containers health-checked, no plain-env secrets, rollback."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from infra.offline import StackRun
from policy import rules
from tests.policy.policy_inputs import (
    caught,
    edit_containers,
    find,
    policy_resources,
    run_pack,
    task_definition,
)

# 4. containers-health-checked


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
