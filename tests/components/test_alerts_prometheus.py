"""The catalog rendered as Prometheus rules: their shape, the real promtool's checks, and firing.

promtool is a hard requirement here, not an optional extra: a rule file Prometheus refuses to
load would leave dev without alerting, and only promtool knows what Prometheus accepts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.alerts import CATALOG, RuleSetting, Severity
from tests.components.alert_rendering import (
    STACKS,
    alerts,
    by_name,
    promtool_test,
    render,
    render_stack,
    rules,
    run_promtool,
    stack_config,
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
        count = len(list(rules(yaml.safe_load(path.read_text()))))  # alerting and recording
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
    next(alerts(rendered))[field] = value
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
        docker_rules = {rule.id for rule in CATALOG if rule.prometheus_expr is not None}
        slo_rules = {rule.id for rule in CATALOG if rule.slo}  # test_alerts_slo.py
        assert covered == docker_rules - slo_rules, f"cases with fires={fires} miss a rule"
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
