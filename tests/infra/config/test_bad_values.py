"""Values a stack file may hold but that make no sense, or that the engine would trip over only
mid-deploy: each is refused before any resource exists, naming the stack, the key and the fix."""

from __future__ import annotations

import math
from typing import Any

import pytest

from components.alerts import CATALOG, CATALOG_BY_ID
from infra.config.errors import ConfigError
from infra.config.layering import resolve_stack_config

DEV = {"environment": "dev"}
PROD = {
    "environment": "prod",
    "aws": {
        "region": "eu-west-1",
        "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/abc",
        "public_hostnames": {"web": "shop.acme.example"},
    },
}


def threshold(stack: dict[str, Any], rule: str, value: Any) -> dict[str, Any]:
    return {**stack, "alerts": {"rules": {rule: {"threshold": value}}}}


def web(stack: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {**stack, "services": {"web": settings}}


def docker(**settings: Any) -> dict[str, Any]:
    return {**DEV, "docker": settings}


BAD_VALUES: list[tuple[str, dict[str, Any], str, str]] = [
    ("NaN threshold", threshold(PROD, "high_cpu", math.nan), "high_cpu.threshold", "finite"),
    ("NaN as text", threshold(DEV, "high_cpu", "nan"), "high_cpu.threshold", "finite"),
    ("infinite", threshold(PROD, "backup_too_old", math.inf), "backup_too_old.threshold", "finite"),
    ("minus infinity", threshold(DEV, "high_cpu", -math.inf), "high_cpu.threshold", "finite"),
    ("negative percent", threshold(DEV, "high_error_rate", -5), "threshold", "always fires"),
    ("percent at 100", threshold(DEV, "high_memory", 100), "threshold", "never fires"),
    ("zero latency", threshold(DEV, "high_latency_p95", 0), "threshold", "always fires"),
    ("storage below 0", threshold(DEV, "db_storage_low", 0), "threshold", "never fires"),
    ("storage above 100", threshold(DEV, "db_storage_low", 150), "threshold", "always fires"),
    ("no healthy below 0", threshold(DEV, "unhealthy_targets", 0), "threshold", "never fires"),
    ("boolean threshold", threshold(DEV, "high_cpu", True), "high_cpu.threshold", "a boolean"),
    ("replicas: true", web(DEV, replicas=True), "services.web.replicas", "a boolean"),
    ("port: false", web(DEV, port=False), "services.web.port", "a boolean"),
    ("cpu: true", web(PROD, cpu=True), "services.web.cpu", "a boolean"),
    (
        "host port: true",
        docker(service_host_ports={"web": True}),
        "docker.service_host_ports",
        "a boolean",
    ),
    (
        "engine that does not exist",
        {**DEV, "database": {"engine_version": "99"}},
        "database.engine_version",
        "does not exist",
    ),
    (
        "service port on the database's",
        docker(service_host_ports={"web": 15432}),
        "docker.service_host_ports.web",
        "overlaps the database (host port 15432)",
    ),
    (
        "replicas run into prometheus",
        {**docker(service_host_ports={"web": 19089}), "services": {"web": {"replicas": 2}}},
        "docker.service_host_ports.web",
        "overlaps prometheus (host port 19090)",
    ),
    (
        "a host port for a service without a port",
        docker(service_host_ports={"worker": 18000}),
        "docker.service_host_ports.worker",
        "has no port",
    ),
    (
        "replicas past 65535",
        {**docker(service_host_ports={"web": 65535}), "services": {"web": {"replicas": 2}}},
        "docker.service_host_ports.web",
        "runs past 65535",
    ),
    ("privileged host port", web(DEV, port=80), "services.web.port", "below 1024"),
    (
        "database and prometheus on one port",
        docker(prometheus_host_port=15432),
        "docker.prometheus_host_port",
        "overlaps the database",
    ),
    (
        "unpinned infrastructure image",
        docker(prometheus_image="prom/prometheus:latest"),
        "docker.prometheus_image",
        "not pinned",
    ),
    (
        "infrastructure image without a tag",
        docker(postgres_image="postgres"),
        "docker.postgres_image",
        "not pinned",
    ),
    (
        "whitespace in an image",
        docker(node_exporter_image="quay.io/prometheus/node-exporter: v1.9.1"),
        "docker.node_exporter_image",
        "whitespace",
    ),
    (
        "malformed digest",
        web(DEV, image="ghcr.io/acme/shop-web@sha256:abc"),
        "services.web.image",
        "64 hex digits",
    ),
    ("DB_PASS in plain env", web(DEV, env={"DB_PASS": "x"}), "services.web.env.DB_PASS", "secret"),
    ("a *_KEY in plain env", web(DEV, env={"SIGNING_KEY": "x"}), "env.SIGNING_KEY", "secret"),
    ("a DSN in plain env", web(DEV, env={"SENTRY_DSN": "x"}), "env.SENTRY_DSN", "secret"),
    (
        "a name the product marks sensitive",
        web(DEV, env={"LICENCE": "x"}, sensitive_env=["LICENCE"]),
        "services.web.env.LICENCE",
        "marked sensitive",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [case[1:] for case in BAD_VALUES],
    ids=[case[0] for case in BAD_VALUES],
)
def test_a_bad_value_names_stack_key_and_fix(
    overrides: dict[str, Any], key: str, hint: str
) -> None:
    stack = str(overrides["environment"])
    with pytest.raises(ConfigError) as caught:
        resolve_stack_config(stack, overrides)
    message = str(caught.value)
    assert message.startswith(f"invalid config for stack '{stack}'")
    line = next((ln for ln in message.splitlines()[1:] if key in ln.split(": ", 1)[0]), None)
    assert line is not None, f"no line for {key} in:\n{message}"
    assert hint in line, line


@pytest.mark.parametrize("name", ["db", "prometheus", "pushgateway", "node-exporter"])
def test_a_service_may_not_take_an_infrastructure_name(name: str) -> None:
    for stack in (DEV, PROD):
        with pytest.raises(ConfigError, match=rf"platform:services\.{name}: '{name}' names"):
            resolve_stack_config(
                str(stack["environment"]),
                {**stack, "services": {name: {"image": "a/b:1", "liveness": {"command": ["x"]}}}},
            )


@pytest.mark.parametrize(
    "env", ["PASSENGER_LIMIT", "MONKEY_MODE", "PUBLIC_KEY", "KEYBOARD_LAYOUT", "LOG_LEVEL"]
)
def test_names_that_only_contain_a_short_secret_word_stay_plain(env: str) -> None:
    cfg = resolve_stack_config("dev", web(DEV, env={env: "x"}))
    assert cfg.services["web"].env[env] == "x"


def test_every_catalog_default_is_a_threshold_that_can_fire() -> None:
    assert {rule.id: rule.threshold_problem(rule.threshold) for rule in CATALOG} == {
        rule.id: None for rule in CATALOG
    }


def test_fires_below_matches_how_each_target_compares() -> None:
    """The threshold domain follows the direction the renderers compare in."""
    for rule in CATALOG:
        if rule.prometheus_expr is not None:
            below = rule.prometheus_expr.rstrip().split(" or ")[0].endswith("< {threshold}")
            assert below == rule.fires_below, rule.id
    assert CATALOG_BY_ID["db_storage_low"].fires_below
    assert not CATALOG_BY_ID["high_error_rate"].fires_below


def test_sensible_overrides_still_pass() -> None:
    cfg = resolve_stack_config(
        "dev",
        {
            **threshold(DEV, "container_restarts", 0),
            "docker": {"service_host_ports": {"web": 18080}},
            "services": {"web": {"replicas": 3}},
        },
    )
    assert cfg.alerts.rules["container_restarts"].threshold == 0
    assert cfg.services["web"].replicas == 3


def test_a_key_with_a_line_break_cannot_forge_a_line_of_the_report() -> None:
    """Found in review: a stack file key holding a newline printed a line of its own."""
    with pytest.raises(ConfigError) as caught:
        resolve_stack_config("dev", {**DEV, "bogus\ninfractl plan: all good": 1})
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("  platform:bogus\\ninfractl plan: all good: unknown key")
