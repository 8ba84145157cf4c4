"""Shared alert test helpers: a stack's real config, and the catalog rendered for Prometheus."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from components.alerts import RuleSetting, effective_rules, render_prometheus_rules
from infra.config.layering import resolve_stack_config
from infra.config.models import StackConfig
from infra.product import PRODUCT
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
STACKS = ("dev", "staging", "prod")
BASE_URL = "https://example.test/runbooks"
PRODUCT_SERVICES = [(name, "port" in spec) for name, spec in PRODUCT["services"].items()]


def stack_config(stack: str) -> StackConfig:
    """A stack's validated config from its real Pulumi.<stack>.yaml (secret values left out)."""
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    overrides = {
        key.removeprefix("platform:"): value
        for key, value in raw.items()
        if key.startswith("platform:") and key != "platform:secretValues"
    }
    return resolve_stack_config(stack, overrides)


def render_stack(cfg: StackConfig) -> dict[str, Any]:
    """What the docker target hands Prometheus for this stack's config."""
    settings = {
        rule_id: RuleSetting(s.enabled, s.threshold, s.window_minutes)
        for rule_id, s in cfg.alerts.rules.items()
    }
    return render_prometheus_rules(
        cfg.stack,
        effective_rules(settings),
        [(name, service.port is not None) for name, service in cfg.services.items()],
        cfg.alerts.runbook_base_url,
    )


def render(
    settings: Mapping[str, RuleSetting] | None = None,
    services: list[tuple[str, bool]] | None = None,
) -> dict[str, Any]:
    return render_prometheus_rules(
        "dev", effective_rules(settings or {}), services or PRODUCT_SERVICES, BASE_URL
    )


def alerts(rendered: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for group in rendered["groups"]:
        yield from group["rules"]


def by_name(rendered: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {alert["alert"]: alert for alert in alerts(rendered)}
