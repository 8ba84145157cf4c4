"""Shared alert test helpers: a stack's real config, the catalog rendered for Prometheus, and
promtool's unit tests over what was rendered."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.alerts import RuleSetting, effective_rules, render_prometheus_rules
from infra.config.layering import resolve_stack_config
from infra.config.models import StackConfig
from infra.product import PRODUCT
from infra.targets.monitoring import slo_objectives
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
STACKS = ("dev", "staging", "prod")
BASE_URL = "https://example.test/runbooks"
PRODUCT_SERVICES = [(name, "port" in spec) for name, spec in PRODUCT["services"].items()]
PRODUCT_OBJECTIVES = {
    name: 99.9 for name, spec in PRODUCT["services"].items() if spec.get("public")
}
"""The product's public services at the default availability objective."""


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
        slo_objectives(cfg),
    )


def render(
    settings: Mapping[str, RuleSetting] | None = None,
    services: list[tuple[str, bool]] | None = None,
    objectives: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    return render_prometheus_rules(
        "dev",
        effective_rules(settings or {}),
        services or PRODUCT_SERVICES,
        BASE_URL,
        PRODUCT_OBJECTIVES if objectives is None else objectives,
    )


def rules(rendered: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every rule of the file: alerting and recording."""
    for group in rendered["groups"]:
        yield from group["rules"]


def alerts(rendered: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    return (rule for rule in rules(rendered) if "alert" in rule)


def recordings(rendered: Mapping[str, Any]) -> dict[str, str]:
    """Recorded series name -> its expression."""
    return {rule["record"]: rule["expr"] for rule in rules(rendered) if "record" in rule}


def by_name(rendered: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {alert["alert"]: alert for alert in alerts(rendered)}


# ---------------------------------------------------------------- promtool


def run_promtool(promtool: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def expected_alert(rule: Mapping[str, Any], case: Mapping[str, Any]) -> dict[str, Any]:
    """The firing alert promtool must see: the rule's labels over the labels the expression keeps
    from its input series (only non-aggregating expressions keep any), and its annotations."""
    return {
        "exp_labels": {**case.get("kept_labels", {}), **rule["labels"]},
        "exp_annotations": rule["annotations"],
    }


def checks(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A case's checks: its own `eval`/`alert`/`fires`, or a list of them under `checks`."""
    return list(case.get("checks", [case]))


def promtool_test(
    promtool: str, tmp_path: Path, rendered: Mapping[str, Any], cases: Mapping[str, Any]
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` over `rendered`, one test group per case, evaluated every minute.

    A case has `series` (promtool's expanding notation, one sample a minute) and one check or
    several (`checks`), each an alert that must or must not be firing at an `eval` time."""
    by_alert = by_name(rendered)
    tests = [
        {
            "name": name,
            "interval": "1m",
            "input_series": [
                {"series": series, "values": values} for series, values in case["series"].items()
            ],
            "alert_rule_test": [
                {
                    "eval_time": check["eval"],
                    "alertname": check["alert"],
                    "exp_alerts": [expected_alert(by_alert[check["alert"]], case)]
                    if check["fires"]
                    else [],
                }
                for check in checks(case)
            ],
        }
        for name, case in cases.items()
    ]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(dict(rendered)))
    unit = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "unit.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    return run_promtool(promtool, "test", "rules", "unit.yml", cwd=tmp_path)
