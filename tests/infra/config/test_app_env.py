"""`injected_variables` says what `infractl env` holds the app to; it must be what the targets
really inject. Each stack is evaluated and its containers' variables read back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime import rpc

from infra import offline
from infra.config.app_env import injected_by_service, injected_variables
from infra.config.layering import load_stack_config
from tests.paths import REPO_ROOT


def _name(entry: Any) -> str:
    text = rpc.unwrap_rpc_secret(entry) if rpc.is_rpc_secret(entry) else entry
    return str(text).partition("=")[0]


def docker_env(run: offline.StackRun) -> dict[str, set[str]]:
    """service -> names in the `envs` of its containers (the service's replicas and migration)."""
    found: dict[str, set[str]] = {}
    for container in run.by_type("docker:index/container:Container"):
        service = container.parent.split("::")[-1]
        if service in run.config.services:
            envs = container.inputs.get("envs", [])
            envs = rpc.unwrap_rpc_secret(envs) if rpc.is_rpc_secret(envs) else envs
            names = {_name(entry) for entry in envs}
            found.setdefault(service, set()).update(names)
    return found


def aws_env(run: offline.StackRun) -> dict[str, set[str]]:
    """service -> names in the environment and secrets of its task's containers."""
    found: dict[str, set[str]] = {}
    for task in run.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        service = task.name.removesuffix("-task")
        for container in json.loads(task.inputs["containerDefinitions"]):
            names = {v["name"] for v in container.get("environment", [])}
            names |= {s["name"] for s in container.get("secrets", [])}
            found.setdefault(service, set()).update(names)
    return found


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_what_the_config_says_is_what_the_containers_get(stack: str) -> None:
    run = offline.run_stack(REPO_ROOT, stack)
    seen = docker_env(run) if run.config.target == "docker" else aws_env(run)
    declared = injected_by_service(run.config)
    assert set(seen) == set(declared)
    for service, names in declared.items():
        assert seen[service] == set(names), service


def test_a_variable_of_several_services_is_plain_only_if_every_service_has_it_plain() -> None:
    cfg = load_stack_config(REPO_ROOT, "dev")
    web = cfg.services["web"].model_copy(update={"env": {"TOKEN_TTL": "60"}})
    worker = cfg.services["worker"].model_copy(update={"env": {"TOKEN_TTL": "90"}})
    merged = injected_variables(cfg.model_copy(update={"services": {"web": web, "worker": worker}}))
    assert merged["TOKEN_TTL"].services == ("web", "worker")
    assert merged["TOKEN_TTL"].value is None  # the two services disagree: no single value
    assert merged["DATABASE_URL"].kind == "secret"
    assert merged["PAYMENTS_API_KEY"].secret == "payments_api_key"
