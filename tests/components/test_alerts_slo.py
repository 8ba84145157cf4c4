"""The SLO burn-rate alerts and the AWS-only rules of the catalog (components/alerts.py): their
structure, their Prometheus rendering, and promtool's verdict on traffic written so that each
window and each threshold of the expressions decides some check.

For a 99.9 % objective the budget is 0.1 % of requests: `slo_burn_fast` fires above 1.44 % of
errors over both 1h and 5m, `slo_burn_slow` above 0.6 % over both 6h and 30m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.alerts import (
    CATALOG,
    CATALOG_BY_ID,
    SLO_GROUP,
    Scope,
    duration,
    error_budget,
)
from tests.components.alert_rendering import (
    alerts,
    by_name,
    promtool_test,
    recordings,
    render,
    run_promtool,
)

OK = 'http_requests_total{service="web",status="200",route="/api/orders",instance="a"}'
ERRORS = 'http_requests_total{service="web",status="500",route="/api/orders",instance="a"}'
WORKER_OK = 'http_requests_total{service="worker",status="200",instance="b"}'
THIRTY_DAYS_HOURS = 30 * 24


def counter(*steps: tuple[int, int]) -> str:
    """A counter in promtool's notation, one sample a minute from 0: each step is (increase per
    minute, minutes)."""
    parts, value = ["0"], 0
    for per_minute, minutes in steps:
        parts.append(f"{value + per_minute}+{per_minute}x{minutes - 1}")
        value += per_minute * minutes
    return " ".join(parts)


def traffic(*segments: tuple[int, int, int]) -> dict[str, str]:
    """web's requests: each segment is (answered fine per minute, 5xx per minute, minutes)."""
    return {
        OK: counter(*((good, minutes) for good, _, minutes in segments)),
        ERRORS: counter(*((bad, minutes) for _, bad, minutes in segments)),
    }


def check(at: int, alert: str, fires: bool) -> dict[str, Any]:
    return {"eval": f"{at}m", "alert": alert, "fires": fires}


FAST, SLOW = "SloBurnFastWeb", "SloBurnSlowWeb"
# 1000 requests a minute throughout.
SLO_CASES: dict[str, dict[str, Any]] = {
    # Six clean hours, a 30-minute burst of 10 % errors from minute 361, then clean again.
    "a burst pages fast, then clears when it stops": {
        "series": traffic((1000, 0, 360), (900, 100, 30), (1000, 0, 60)),
        "checks": [
            # 5 minutes in: the 5m window is at 10 %, the 1h one at 0.83 %: not yet.
            check(365, FAST, False),
            # 12 minutes in: 1h at 2 % and 5m at 10 %: page. 6h is only at 0.33 %.
            check(372, FAST, True),
            check(372, SLOW, False),
            # 10 minutes after: 1h still at 5 %, but the 5m window is clean: cleared.
            check(400, FAST, False),
            # The whole burst is 0.83 % of 6h and the last 30m hold 20 of its minutes.
            check(400, SLOW, True),
            # 40 minutes after: 6h still at 0.83 %, the 30m window clean: cleared.
            check(430, SLOW, False),
        ],
    },
    # A clean hour, then 1 % errors for seven hours: under the fast rate, over the slow one.
    "a slow leak pages slow, never fast": {
        "series": traffic((1000, 0, 60), (990, 10, 420)),
        "checks": [
            # an hour in, 6h (all 2 h of data) is at 0.5 %: the long window holds it back.
            check(120, SLOW, False),
            check(120, FAST, False),
            check(300, SLOW, True),  # 6h at 0.8 %, 30m at 1 %
            check(300, FAST, False),  # 1h at 1 % < 1.44 %
            check(480, SLOW, True),
            check(480, FAST, False),
        ],
    },
    "a 0.4 % leak stays under both": {
        "series": traffic((996, 4, 480)),
        "checks": [check(480, SLOW, False), check(480, FAST, False)],
    },
    "2 % errors for an hour and more pages fast": {
        "series": traffic((980, 20, 120)),
        "checks": [check(90, FAST, True)],
    },
    "another service's traffic never fires web's alerts": {
        "series": {WORKER_OK: counter((1000, 120))},
        "checks": [check(90, FAST, False), check(90, SLOW, False)],
    },
}


@pytest.fixture
def rendered() -> dict[str, Any]:
    return render(objectives={"web": 99.9})


# ---------------------------------------------------------------- the catalog


def test_aws_only_rules_say_why_and_render_nothing_on_docker() -> None:
    for rule in CATALOG:
        assert (rule.prometheus_expr is None) == (rule.aws_only is not None), rule.id
        if rule.aws_only is not None:
            assert len(rule.aws_only) > 40, f"{rule.id}: say why docker has no rule for it"
    assert {rule.id for rule in CATALOG if rule.aws_only} == {
        "certificate_expiry",
        "uptime_check_failing",
    }
    rendered_ids = {alert["labels"]["rule"] for alert in alerts(render())}
    assert not rendered_ids & {"certificate_expiry", "uptime_check_failing"}


def test_certificate_and_uptime_rules_fire_below_their_thresholds() -> None:
    cert, uptime = CATALOG_BY_ID["certificate_expiry"], CATALOG_BY_ID["uptime_check_failing"]
    assert (cert.scope, cert.threshold, cert.unit, cert.fires_below) == (
        Scope.STACK,
        30,
        "days",
        True,
    )
    assert (uptime.scope, uptime.threshold, uptime.fires_below) == (Scope.SERVICE, 1, True)
    assert cert.window_problem(60) is not None and cert.window_problem(1440) is None
    assert uptime.window_problem(5) is None  # its window may change


@pytest.mark.parametrize(
    ("rule_id", "long", "short", "burn", "budget_share"),
    [("slo_burn_fast", 60, 5, 14.4, 0.02), ("slo_burn_slow", 360, 30, 6.0, 0.05)],
)
def test_burn_rate_rules_are_the_workbook_pairs(
    rule_id: str, long: int, short: int, burn: float, budget_share: float
) -> None:
    rule = CATALOG_BY_ID[rule_id]
    assert rule.slo and rule.http_only and rule.scope is Scope.SERVICE
    assert (rule.window_minutes, rule.short_window_minutes, rule.threshold) == (long, short, burn)
    assert rule.short_window_minutes * 12 == rule.window_minutes
    # the burn rate that spends `budget_share` of a 30-day budget in the long window
    assert rule.threshold == pytest.approx(budget_share * THIRTY_DAYS_HOURS / (long / 60))
    assert rule.for_minutes == 0 and rule.fixed_window
    assert rule.window_problem(long) is None and rule.window_problem(long * 2) is not None


# ---------------------------------------------------------------- rendering


def test_slo_group_records_every_window_before_its_alerts(rendered: dict[str, Any]) -> None:
    (group,) = [g for g in rendered["groups"] if g["name"] == SLO_GROUP]
    kinds = ["record" if "record" in rule else "alert" for rule in group["rules"]]
    assert kinds == ["record"] * 4 + ["alert"] * 2, kinds  # recorded before they are read
    recorded = recordings(rendered)
    windows = ("5m", "30m", "1h", "6h")
    assert set(recorded) == {f"service:http_request_errors:ratio_rate{w}" for w in windows}
    for window in windows:
        expr = recorded[f"service:http_request_errors:ratio_rate{window}"]
        assert f'http_requests_total{{status=~"5.."}}[{window}]' in expr
        assert expr.count(f"[{window}]") == 3 and "by (service)" in expr
    fast, slow = by_name(rendered)[FAST], by_name(rendered)[SLOW]
    assert fast["expr"] == (
        'service:http_request_errors:ratio_rate1h{service="web"} > 14.4 * 0.001'
        ' and service:http_request_errors:ratio_rate5m{service="web"} > 14.4 * 0.001'
    )
    assert "ratio_rate6h" in slow["expr"] and "ratio_rate30m" in slow["expr"]
    assert "> 6 * 0.001" in slow["expr"]
    assert fast["for"] == slow["for"] == "0m"
    assert fast["labels"] == {
        "severity": "critical",
        "stack": "dev",
        "rule": "slo_burn_fast",
        "service": "web",
    }
    assert fast["annotations"]["runbook_url"].endswith("/alert-slo-burn-rate.md")


def test_only_services_with_an_objective_get_slo_alerts_at_their_budget() -> None:
    services = [("web", True), ("api", True), ("worker", False)]
    names = by_name(render(services=services, objectives={"api": 99.5}))
    assert {"SloBurnFastApi", "SloBurnSlowApi"} <= set(names)
    assert not {n for n in names if n.startswith("Slo") and not n.endswith("Api")}
    assert "> 14.4 * 0.005" in names["SloBurnFastApi"]["expr"]
    assert error_budget(99.5) == pytest.approx(0.005)
    without = render(objectives={})
    assert SLO_GROUP not in {g["name"] for g in without["groups"]}
    assert not recordings(without)


def test_duration_reads_like_prometheus() -> None:
    assert [duration(m) for m in (5, 30, 60, 90, 360, 1440)] == [
        "5m",
        "30m",
        "1h",
        "90m",
        "6h",
        "24h",
    ]


# ---------------------------------------------------------------- promtool


def test_burn_rate_alerts_fire_on_bursts_and_leaks_as_designed(
    promtool: str, tmp_path: Path, rendered: dict[str, Any]
) -> None:
    done = promtool_test(promtool, tmp_path, rendered, SLO_CASES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_no_errors_records_a_zero_ratio_not_nothing(
    promtool: str, tmp_path: Path, rendered: dict[str, Any]
) -> None:
    """The app creates a status's series on its first answer: before any 5xx the ratio is 0."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rendered))
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": OK, "values": counter((1000, 20))}],
                "promql_expr_test": [
                    {
                        "expr": "service:http_request_errors:ratio_rate5m",
                        "eval_time": "10m",
                        "exp_samples": [
                            {
                                "labels": 'service:http_request_errors:ratio_rate5m{service="web"}',
                                "value": 0,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "unit.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    done = run_promtool(promtool, "test", "rules", "unit.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("alert", "broken", "case"),
    [
        # without its short window the fast alert would keep paging after the burst stopped
        (
            FAST,
            lambda expr: expr.split(" and ")[0],
            "a burst pages fast, then clears when it stops",
        ),
        # without its long window it would page 5 minutes into a burst
        (
            FAST,
            lambda expr: expr.split(" and ")[1],
            "a burst pages fast, then clears when it stops",
        ),
        # the slow one without its long window pages on a leak an hour old
        (SLOW, lambda expr: expr.split(" and ")[1], "a slow leak pages slow, never fast"),
        # a budget 10 times too large (99 % instead of 99.9 %) misses the 2 % page
        (
            FAST,
            lambda expr: expr.replace("* 0.001", "* 0.01"),
            "2 % errors for an hour and more pages fast",
        ),
        # a threshold without the budget (a ratio against 6, not 0.6 %) misses the leak
        (SLOW, lambda expr: expr.replace(" * 0.001", ""), "a slow leak pages slow, never fast"),
        # the burn rate against the wrong objective side (6 x 0.999) never fires either
        (SLOW, lambda expr: expr.replace("0.001", "0.999"), "a slow leak pages slow, never fast"),
    ],
)
def test_the_cases_catch_a_wrong_expression(
    promtool: str,
    tmp_path: Path,
    rendered: dict[str, Any],
    alert: str,
    broken: Any,
    case: str,
) -> None:
    """The harness itself: each window and the budget decide at least one check."""
    rule = by_name(rendered)[alert]
    rule["expr"] = broken(rule["expr"])
    done = promtool_test(promtool, tmp_path, rendered, {case: SLO_CASES[case]})
    assert done.returncode != 0, f"{alert} with {rule['expr']!r} still passes {case!r}"
    assert alert in done.stdout + done.stderr
