"""The alert catalog's Prometheus rules query only metrics the app exposes.

Every metric name (and label matcher) in a rendered service rule, for every stack, is checked
against what `node src/web.js` serves on /metrics after answering a request (the worker serves
no HTTP and is not scraped on Docker; its rules query the same process metrics). A rule that
queries a metric the app does not expose would never fire; this makes that a failing test
instead of a silent gap, whichever side changes.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.app import node_app
from tests.components.alert_rendering import (
    STACKS,
    alerts,
    recordings,
    render_stack,
    stack_config,
)

# Series Prometheus records itself for every scrape target, not read from the target.
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
# Added by Prometheus's scrape config (components/docker/prometheus.py), never by the app.
SCRAPE_LABELS = frozenset({"service", "instance", "job"})
PROMQL_WORDS = frozenset(
    {
        *("sum", "min", "max", "avg", "count", "stddev", "stdvar", "group"),
        *("topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio"),
        *("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"),
        *("group_left", "group_right", "inf", "nan"),
    }
)
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?")
SELECTOR = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions (followed
    by a parenthesis), operators, keywords, label names or strings."""
    text = STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    text = LABEL_LISTS.sub(" ", text)
    return {
        match.group(1)
        for match in IDENTIFIER.finditer(text)
        if not match.group(2) and match.group(1) not in PROMQL_WORDS
    }


def selector_labels(expr: str) -> dict[str, set[str]]:
    """Metric name -> the label names its selectors match on."""
    found: dict[str, set[str]] = {}
    for name, matchers in SELECTOR.findall(STRING.sub('""', expr)):
        found.setdefault(name, set()).update(MATCHER.findall(matchers))
    return found


def exposition_labels(text: str) -> dict[str, set[str]]:
    """Prometheus text format -> sample name -> every label name seen on it."""
    series: dict[str, set[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s", line)
        assert match, f"not a sample line: {line!r}"
        labels = set(re.findall(r'([a-zA-Z_]\w*)="', match.group(2) or ""))
        series.setdefault(match.group(1), set()).update(labels)
    return series


def contract_gaps(exprs: Iterable[str], exposed: Mapping[str, set[str]]) -> list[str]:
    """What the rules query that the app does not expose: metric names, then label names."""
    gaps = []
    for expr in exprs:
        for name in sorted(metric_names(expr) - SCRAPE_SERIES):
            if name not in exposed:
                gaps.append(f"metric {name} (in {expr})")
        for name, labels in sorted(selector_labels(expr).items()):
            missing = labels - SCRAPE_LABELS - exposed.get(name, set())
            if name in exposed and missing:
                gaps.append(f"label(s) {sorted(missing)} of {name} (in {expr})")
    return gaps


def service_rule_exprs() -> list[str]:
    """Every rendered service rule of every stack (a service label means per-service), and every
    recording rule (the SLO error ratios, by service)."""
    rendered = [render_stack(stack_config(stack)) for stack in STACKS]
    return sorted(
        {alert["expr"] for r in rendered for alert in alerts(r) if "service" in alert["labels"]}
        | {expr for r in rendered for expr in recordings(r).values()}
    )


def recorded_series() -> dict[str, set[str]]:
    """What the rule files record themselves, as series the alerts may read: by `service`."""
    return {
        name: {"service"}
        for stack in STACKS
        for name in recordings(render_stack(stack_config(stack)))
    }


@pytest.fixture(scope="module")
def exposition(node: str, app_node_modules: Path) -> Iterator[str]:
    """/metrics of the real web server, started with .env.example's placeholders (and no
    database: metrics must not need one), after it has answered one request."""
    web = node_app.start(
        node, "src/web.js", {"PORT": "0", "DATABASE_URL": node_app.UNREACHABLE_DATABASE_URL}
    )
    try:
        base = f"http://127.0.0.1:{node_app.wait_for_log(web, 'listening')['port']}"
        with urllib.request.urlopen(f"{base}/api/health", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
            yield response.read().decode()
    finally:
        node_app.stop(web)


def test_every_metric_and_label_a_service_rule_queries_is_exposed(exposition: str) -> None:
    exprs = service_rule_exprs()
    assert exprs, "no service rule rendered"
    gaps = contract_gaps(exprs, {**exposition_labels(exposition), **recorded_series()})
    assert not gaps, "the rules query what the app does not expose:\n" + "\n".join(gaps)


def test_every_service_rule_reads_some_metric() -> None:
    """Guards the parser: a rule it found nothing in would pass the contract vacuously."""
    for expr in service_rule_exprs():
        assert metric_names(expr), expr


def test_the_parser_reads_names_and_labels_and_skips_functions_and_keywords() -> None:
    expr = (
        '1000 * histogram_quantile(0.95, sum by (le) (rate(req_bucket{service="web",'
        'code=~"5.."}[5m]))) / (max(limit_cores) or vector(1)) > 1e-9 and on(job) up'
    )
    assert metric_names(expr) == {"req_bucket", "limit_cores", "up"}
    assert selector_labels(expr) == {"req_bucket": {"service", "code"}}


def test_a_rule_on_a_metric_or_label_the_app_lacks_is_a_gap() -> None:
    exposed = {
        "http_requests_total": {"route", "method", "status"},
        "process_cpu_seconds_total": set(),
    }
    assert (
        contract_gaps(
            [
                'sum(rate(http_requests_total{service="web",status=~"5.."}[5m]))',
                'rate(process_cpu_seconds_total{service="web"}[5m]) > 0 and up{service="web"}',
            ],
            exposed,
        )
        == []
    )
    gaps = contract_gaps(
        [
            'rate(http_requests_total{service="web",code=~"5.."}[5m])',
            'max(platform_heap_limit_bytes{service="web"}) > 1',
        ],
        exposed,
    )
    assert len(gaps) == 2, gaps
    assert gaps[0].startswith("label(s) ['code'] of http_requests_total")
    assert gaps[1].startswith("metric platform_heap_limit_bytes")
