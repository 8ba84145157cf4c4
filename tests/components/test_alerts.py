"""The alert catalog: runbooks exist, rendered rules pass the real promtool, expressions fire.

promtool is a hard requirement here, not an optional extra: a rule file Prometheus refuses to
load would leave dev without alerting, and only promtool knows what Prometheus accepts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.alerts import (
    CATALOG,
    CATALOG_BY_ID,
    AlertRule,
    RuleSetting,
    Severity,
    effective_rules,
    render_prometheus_rules,
)
from infra.config.layering import resolve_stack_config
from infra.config.models import StackConfig
from infra.product import PRODUCT
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
RUNBOOKS = ROOT / "docs" / "runbooks"
STACKS = ("dev", "staging", "prod")
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
BASE_URL = "https://example.test/runbooks"
PRODUCT_SERVICES = [(name, "port" in spec) for name, spec in PRODUCT["services"].items()]


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH; install it with `apt-get install prometheus` "
            "(Debian's package ships /usr/bin/promtool)"
        )
    return path


def run_promtool(promtool: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=30
    )


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


def section_body(text: str, heading: str) -> str:
    """The lines under `heading`, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    body = text.split(f"\n{heading}\n", 1)[1]
    return re.split(rf"^#{{1,{level}}} ", body, maxsplit=1, flags=re.MULTILINE)[0]


def alerts(rendered: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for group in rendered["groups"]:
        yield from group["rules"]


def by_name(rendered: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {alert["alert"]: alert for alert in alerts(rendered)}


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


# ---------------------------------------------------------------- shape of the rendered rules


@pytest.mark.parametrize("stack", STACKS)
def test_names_are_unique_and_every_alert_is_complete(stack: str) -> None:
    rendered = render_stack(stack_config(stack))
    names = [alert["alert"] for alert in alerts(rendered)]
    assert len(names) == len(set(names)), f"duplicate alert names: {names}"
    severities = {str(severity) for severity in Severity}
    for alert in alerts(rendered):
        assert alert["labels"]["severity"] in severities, alert["alert"]
        assert alert["labels"]["stack"] == stack
        assert alert["annotations"]["runbook_url"].endswith(".md"), alert["alert"]
        summary = alert["annotations"]["summary"]
        assert summary and "{" not in summary, f"{alert['alert']}: summary {summary!r}"
        assert re.fullmatch(r"\d+m", alert["for"]), alert["alert"]


def test_every_catalog_rule_renders_for_the_product() -> None:
    rendered_rules = {alert["labels"]["rule"] for alert in alerts(render())}
    assert rendered_rules == {rule.id for rule in CATALOG if rule.prometheus_expr is not None}


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


# ---------------------------------------------------------------- promtool


def test_rendered_rules_of_every_stack_pass_promtool_check(promtool: str, tmp_path: Path) -> None:
    files = []
    for stack in STACKS:
        path = tmp_path / f"{stack}.yml"
        path.write_text(yaml.safe_dump(render_stack(stack_config(stack))))
        files.append(path)
    done = run_promtool(promtool, "check", "rules", *files, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for path, stack in zip(files, STACKS, strict=True):
        count = len(list(alerts(yaml.safe_load(path.read_text()))))
        assert f"SUCCESS: {count} rules found" in done.stdout, (stack, done.stdout)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("expr", "sum(rate(http_requests_total[5m]) > 5", "parse error"),
        ("for", "five minutes", "not a valid duration"),
    ],
)
def test_promtool_rejects_a_broken_rule(
    promtool: str, tmp_path: Path, field: str, value: str, error: str
) -> None:
    rendered = render()
    rendered["groups"][0]["rules"][0][field] = value
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(rendered))
    done = run_promtool(promtool, "check", "rules", path, cwd=tmp_path)
    assert done.returncode != 0, done.stdout
    assert error in (done.stdout + done.stderr).lower()


# Each case: input series over time, and the alert that must (or must not) be firing at eval_time.
# `series` values use promtool's expanding notation: "a+bxN" = a, a+b, ... (N+1 samples, 1m apart).
# Rendered with the catalog defaults, except that the backup age threshold is 1 hour instead of 26
# so that case needs two simulated hours, not two days (the expression is the same).
UNIT_SETTINGS = {"backup_too_old": RuleSetting(threshold=1)}
UNIT_CASES: dict[str, dict[str, Any]] = {
    "high_error_rate fires at 10% 5xx": {
        "series": {
            'http_requests_total{service="web",status="200",instance="a"}': "0+540x30",
            'http_requests_total{service="web",status="500",instance="a"}': "0+60x30",
        },
        "eval": "15m",
        "alert": "HighErrorRateWeb",
        "fires": True,
    },
    "high_error_rate quiet at 2% 5xx": {
        "series": {
            'http_requests_total{service="web",status="200",instance="a"}': "0+588x30",
            'http_requests_total{service="web",status="500",instance="a"}': "0+12x30",
        },
        "eval": "15m",
        "alert": "HighErrorRateWeb",
        "fires": False,
    },
    "high_error_rate waits for its window": {
        "series": {
            'http_requests_total{service="web",status="200",instance="a"}': "0+540x30",
            'http_requests_total{service="web",status="500",instance="a"}': "0+60x30",
        },
        "eval": "3m",
        "alert": "HighErrorRateWeb",
        "fires": False,
    },
    "unhealthy_targets fires when no replica is up": {
        "series": {
            'up{service="web",instance="web-1"}': "0x10",
            'up{service="web",instance="web-2"}': "0x10",
        },
        "eval": "5m",
        "alert": "UnhealthyTargetsWeb",
        "fires": True,
    },
    "unhealthy_targets quiet while one replica is up": {
        "series": {
            'up{service="web",instance="web-1"}': "0x10",
            'up{service="web",instance="web-2"}': "1x10",
        },
        "eval": "5m",
        "alert": "UnhealthyTargetsWeb",
        "fires": False,
    },
    "high_latency_p95 fires when most requests take ~1s": {
        "series": {
            'http_request_duration_seconds_bucket{service="web",le="0.1"}': "0+1x30",
            'http_request_duration_seconds_bucket{service="web",le="1"}': "0+100x30",
            'http_request_duration_seconds_bucket{service="web",le="+Inf"}': "0+100x30",
        },
        "eval": "25m",
        "alert": "HighLatencyP95Web",
        "fires": True,
    },
    "high_latency_p95 quiet when requests are fast": {
        "series": {
            'http_request_duration_seconds_bucket{service="web",le="0.1"}': "0+100x30",
            'http_request_duration_seconds_bucket{service="web",le="1"}': "0+100x30",
            'http_request_duration_seconds_bucket{service="web",le="+Inf"}': "0+100x30",
        },
        "eval": "25m",
        "alert": "HighLatencyP95Web",
        "fires": False,
    },
    "high_cpu fires at 96% of a quarter-CPU limit": {
        "series": {
            'process_cpu_seconds_total{service="web",instance="a"}': "0+14.4x40",
            'platform_cpu_limit_cores{service="web",instance="a"}': "0.25x40",
        },
        "eval": "35m",
        "alert": "HighCpuWeb",
        "fires": True,
    },
    "high_cpu quiet at 40% of a quarter-CPU limit": {
        "series": {
            'process_cpu_seconds_total{service="web",instance="a"}': "0+6x40",
            'platform_cpu_limit_cores{service="web",instance="a"}': "0.25x40",
        },
        "eval": "35m",
        "alert": "HighCpuWeb",
        "fires": False,
    },
    "high_cpu without a limit gauge counts one core": {
        "series": {'process_cpu_seconds_total{service="worker",instance="a"}': "0+54x40"},
        "eval": "35m",
        "alert": "HighCpuWorker",
        "fires": True,
    },
    "high_memory fires near the limit": {
        "series": {
            'process_resident_memory_bytes{service="web",instance="a"}': "500000000x40",
            'platform_memory_limit_bytes{service="web",instance="a"}': "536870912x40",
        },
        "eval": "20m",
        "alert": "HighMemoryWeb",
        "fires": True,
    },
    "high_memory quiet at half the limit": {
        "series": {
            'process_resident_memory_bytes{service="web",instance="a"}': "268435456x40",
            'platform_memory_limit_bytes{service="web",instance="a"}': "536870912x40",
        },
        "eval": "20m",
        "alert": "HighMemoryWeb",
        "fires": False,
    },
    "container_restarts fires on a crash loop": {
        "series": {'process_start_time_seconds{service="web",instance="a"}': "0+60x70"},
        "eval": "65m",
        "alert": "ContainerRestartsWeb",
        "fires": True,
        "kept_labels": {"instance": "a", "service": "web"},
    },
    "container_restarts quiet for a stable process": {
        "series": {'process_start_time_seconds{service="web",instance="a"}': "1000x70"},
        "eval": "65m",
        "alert": "ContainerRestartsWeb",
        "fires": False,
    },
    "db_connections_high fires at 90 of 100": {
        "series": {
            'pg_stat_database_numbackends{datname="shop"}': "85x20",
            'pg_stat_database_numbackends{datname="postgres"}': "5x20",
            "pg_settings_max_connections": "100x20",
        },
        "eval": "15m",
        "alert": "DbConnectionsHigh",
        "fires": True,
    },
    "db_connections_high quiet at 20 of 100": {
        "series": {
            'pg_stat_database_numbackends{datname="shop"}': "20x20",
            "pg_settings_max_connections": "100x20",
        },
        "eval": "15m",
        "alert": "DbConnectionsHigh",
        "fires": False,
    },
    "db_storage_low fires at 10% free": {
        "series": {
            'node_filesystem_avail_bytes{mountpoint="/var/lib/postgresql/data"}': "10x30",
            'node_filesystem_size_bytes{mountpoint="/var/lib/postgresql/data"}': "100x30",
        },
        "eval": "20m",
        "alert": "DbStorageLow",
        "fires": True,
    },
    "db_storage_low quiet at 50% free": {
        "series": {
            'node_filesystem_avail_bytes{mountpoint="/var/lib/postgresql/data"}': "50x30",
            'node_filesystem_size_bytes{mountpoint="/var/lib/postgresql/data"}': "100x30",
        },
        "eval": "20m",
        "alert": "DbStorageLow",
        "fires": False,
    },
    "backup_too_old fires when the last backup is too old": {
        "series": {"platform_backup_last_success_timestamp_seconds": "0x120"},
        "eval": "100m",
        "alert": "BackupTooOld",
        "fires": True,
    },
    "backup_too_old fires when no backup was ever recorded": {
        "series": {'up{job="pushgateway"}': "1x120"},
        "eval": "100m",
        "alert": "BackupTooOld",
        "fires": True,
    },
    "backup_too_old quiet while the last backup is half an hour old": {
        # the timestamp trails the sample time by 1800 s: 0.5 h, under the 1 h threshold
        "series": {"platform_backup_last_success_timestamp_seconds": "-1800+60x120"},
        "eval": "100m",
        "alert": "BackupTooOld",
        "fires": False,
    },
}


def expected_alert(rule: Mapping[str, Any], case: Mapping[str, Any]) -> dict[str, Any]:
    """The firing alert promtool must see: the rule's labels over the labels the expression keeps
    from its input series (only non-aggregating expressions keep any), and its annotations."""
    return {
        "exp_labels": {**case.get("kept_labels", {}), **rule["labels"]},
        "exp_annotations": rule["annotations"],
    }


def promtool_test(
    promtool: str, tmp_path: Path, rendered: Mapping[str, Any], cases: Mapping[str, Any]
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` over `rendered`, one test group per case."""
    rules = by_name(rendered)
    tests = [
        {
            "name": name,
            "interval": "1m",
            "input_series": [
                {"series": series, "values": values} for series, values in case["series"].items()
            ],
            "alert_rule_test": [
                {
                    "eval_time": case["eval"],
                    "alertname": case["alert"],
                    "exp_alerts": [expected_alert(rules[case["alert"]], case)]
                    if case["fires"]
                    else [],
                }
            ],
        }
        for name, case in cases.items()
    ]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(dict(rendered)))
    unit = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "unit.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    return run_promtool(promtool, "test", "rules", "unit.yml", cwd=tmp_path)


def test_expressions_fire_above_threshold_and_stay_quiet_below(
    promtool: str, tmp_path: Path
) -> None:
    rendered = render(UNIT_SETTINGS)
    rules = by_name(rendered)
    for fires in (True, False):
        covered = {
            rules[case["alert"]]["labels"]["rule"]
            for case in UNIT_CASES.values()
            if case["fires"] is fires
        }
        assert covered == {rule.id for rule in CATALOG}, f"cases with fires={fires} miss a rule"
    done = promtool_test(promtool, tmp_path, rendered, UNIT_CASES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_unit_tests_catch_a_rule_that_never_fires(promtool: str, tmp_path: Path) -> None:
    """The harness itself: a rule whose threshold can never be crossed fails its firing case."""
    rendered = render({"unhealthy_targets": RuleSetting(threshold=0)})  # sum(up) < 0: never
    name = "unhealthy_targets fires when no replica is up"
    done = promtool_test(promtool, tmp_path, rendered, {name: UNIT_CASES[name]})
    assert done.returncode != 0, done.stdout
    assert "UnhealthyTargetsWeb" in done.stdout + done.stderr
