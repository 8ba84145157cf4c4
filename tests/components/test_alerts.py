"""The alert catalog (components/alerts.py): complete runbooks, and per-stack rule settings."""

from __future__ import annotations

import re

import pytest

from components.alerts import CATALOG, CATALOG_BY_ID, AlertRule, RuleSetting, effective_rules
from infra.config.layering import resolve_stack_config
from tests.components.alert_rendering import (
    ROOT,
    STACKS,
    alerts,
    by_name,
    render,
    render_stack,
    stack_config,
)

RUNBOOKS = ROOT / "docs" / "runbooks"
ALERT_SECTIONS = (
    "## Meaning",
    "## Confirm",
    "### Docker",
    "### AWS",
    "## Causes",
    "## Act",
    "## Escalate",
)
COMMAND_SECTIONS = ("### Docker", "### AWS")
OPERATIONS = ("deploy", "rollback", "restore-database", "drift", "rotate-secret", "incident")


# ---------------------------------------------------------------- helpers


def section_body(text: str, heading: str) -> str:
    """The lines under `heading`, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    body = text.split(f"\n{heading}\n", 1)[1]
    return re.split(rf"^#{{1,{level}}} ", body, maxsplit=1, flags=re.MULTILINE)[0]


# ---------------------------------------------------------------- runbooks


@pytest.mark.parametrize("rule", CATALOG, ids=[rule.id for rule in CATALOG])
def test_every_catalog_rule_has_a_complete_runbook(rule: AlertRule) -> None:
    path = ROOT / rule.runbook_path
    assert path.is_file(), f"{rule.id}: runbook {rule.runbook_path} is missing"
    text = path.read_text()
    assert text.strip(), f"{rule.runbook_path} is empty"
    lines = text.splitlines()
    missing = [section for section in ALERT_SECTIONS if section not in lines]
    assert not missing, f"{rule.runbook_path} lacks sections {missing}"
    assert f"`{rule.id}`" in text, f"{rule.runbook_path} does not name its rule `{rule.id}`"
    for section in ALERT_SECTIONS:
        body = section_body(text, section)
        assert body.strip(), f"{rule.runbook_path}: section {section!r} is empty"
        if section in COMMAND_SECTIONS:
            assert "```bash" in body, f"{rule.runbook_path}: {section!r} has no commands"


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_runbooks_exist(name: str) -> None:
    path = RUNBOOKS / f"{name}.md"
    assert path.is_file() and path.read_text().strip(), f"docs/runbooks/{name}.md is missing"


def test_readme_indexes_every_runbook_and_every_relative_link_resolves() -> None:
    readme = (RUNBOOKS / "README.md").read_text()
    for path in sorted(RUNBOOKS.glob("*.md")):
        if path.name != "README.md":
            assert f"]({path.name})" in readme, f"README.md does not list {path.name}"
    for path in sorted(RUNBOOKS.glob("*.md")):
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", path.read_text()):
            if "://" not in target:
                assert (RUNBOOKS / target).is_file(), f"{path.name} links to missing {target}"


def test_no_runbook_for_a_rule_that_does_not_exist() -> None:
    documented = {path.stem for path in RUNBOOKS.glob("alert-*.md")}
    assert documented == {rule.runbook for rule in CATALOG}


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_runbook_urls_resolve_to_files(stack: str) -> None:
    cfg = stack_config(stack)
    base = cfg.alerts.runbook_base_url.rstrip("/") + "/"
    for alert in alerts(render_stack(cfg)):
        url = alert["annotations"]["runbook_url"]
        assert url.startswith(base), f"{alert['alert']}: {url} is not under {base}"
        relative = url.removeprefix(base)
        assert "/" not in relative and (RUNBOOKS / relative).is_file(), (
            f"{stack}: {alert['alert']} links {url}, which is not a file in docs/runbooks"
        )


# ---------------------------------------------------------------- effective_rules


def test_disabling_a_rule_removes_it() -> None:
    rules = effective_rules({"high_cpu": RuleSetting(enabled=False)})
    assert "high_cpu" not in {rule.id for rule in rules}
    assert len(rules) == len(CATALOG) - 1
    rendered = render({"high_cpu": RuleSetting(enabled=False)})
    assert not [a for a in alerts(rendered) if a["labels"]["rule"] == "high_cpu"]


def test_threshold_and_window_overrides_reach_the_expression() -> None:
    settings = {"high_error_rate": RuleSetting(threshold=2.5, window_minutes=7)}
    (rule,) = [rule for rule in effective_rules(settings) if rule.id == "high_error_rate"]
    assert (rule.threshold, rule.window_minutes) == (2.5, 7)
    alert = by_name(render(settings))["HighErrorRateWeb"]
    assert alert["expr"].endswith("> 2.5")
    assert "[7m]" in alert["expr"] and "[5m]" not in alert["expr"]
    assert alert["for"] == "7m"
    assert alert["annotations"]["summary"] == "More than 2.5% of requests fail with 5xx"
    default = by_name(render())["HighErrorRateWeb"]
    assert default["expr"].endswith(f"> {CATALOG_BY_ID['high_error_rate'].threshold:g}")


def test_a_zero_threshold_override_is_kept() -> None:
    rules = {r.id: r for r in effective_rules({"db_storage_low": RuleSetting(threshold=0)})}
    assert rules["db_storage_low"].threshold == 0


def test_http_only_rules_skip_services_without_http() -> None:
    names = set(by_name(render(services=[("web", True), ("worker", False)])))
    for rule in CATALOG:
        if rule.prometheus_expr is None:
            continue  # AWS-only: test_aws_only_rules_say_why_and_render_nothing_on_docker
        camel = "".join(part.capitalize() for part in rule.id.split("_"))
        if rule.scope != "service":
            assert camel in names
            continue
        assert f"{camel}Web" in names
        assert (f"{camel}Worker" in names) is not rule.http_only, rule.id


def test_stack_config_overrides_flow_into_the_rules() -> None:
    cfg = resolve_stack_config(
        "dev",
        {
            "environment": "dev",
            "alerts": {
                "rules": {
                    "backup_too_old": {"enabled": False},
                    "high_latency_p95": {"threshold": 1500, "window_minutes": 20},
                }
            },
        },
    )
    rendered = by_name(render_stack(cfg))
    assert "BackupTooOld" not in rendered
    assert rendered["HighLatencyP95Web"]["expr"].endswith("> 1500")
    assert rendered["HighLatencyP95Web"]["for"] == "20m"
