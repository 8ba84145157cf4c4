"""One alert catalog, rendered per target.

The catalog is data: each rule says what it watches, when it fires and which runbook to follow.
Renderers turn it into Prometheus rule groups (docker) here; the aws target maps the same rules to
CloudWatch alarms. Keeping both renderers on one list is what stops dev and prod alerting on
different things.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


class Scope(StrEnum):
    """What one instance of a rule watches: each service, or the stack's database, or the stack."""

    SERVICE = "service"
    DATABASE = "database"
    STACK = "stack"


@dataclass(frozen=True)
class AlertRule:
    id: str
    summary: str
    severity: Severity
    threshold: float
    unit: str
    window_minutes: int
    scope: Scope
    runbook: str
    prometheus_expr: str | None
    """PromQL with `{threshold}`, `{window}` and, for service rules, `{service}` placeholders;
    SLO rules read `{record_window}` and `{record_short_window}` (the recorded error ratios of
    their two windows) against `{budget}`. None when docker has no signal for the rule: it is
    then AWS-only, and `aws_only` says why."""
    http_only: bool = False
    """Only for services that serve HTTP (error rate, latency, unhealthy targets)."""
    fires_below: bool = False
    """The rule fires when the value drops below the threshold (free storage, healthy targets)."""
    aws_only: str | None = None
    """Why docker renders no Prometheus rule for it (set exactly when `prometheus_expr` is None)."""
    short_window_minutes: int | None = None
    """Multi-window rules: a shorter window that must breach as well, so the alert clears soon
    after the cause stops (the SRE workbook's 1/12 of the long window)."""
    for_minutes: int | None = None
    """How long the condition holds before the alert fires; None = the rule's window."""
    slo: bool = False
    """A burn rate of a service's availability objective: only services with an objective get
    it, and the threshold is a multiple of the error budget (`1 - objective`)."""
    fixed_window: str | None = None
    """Why a stack may not change the window; None = `window_minutes` may be overridden."""

    @property
    def runbook_path(self) -> str:
        return f"docs/runbooks/{self.runbook}.md"

    def window_problem(self, window_minutes: int) -> str | None:
        """Why this rule's window cannot be `window_minutes`; else None."""
        if self.fixed_window is not None and window_minutes != self.window_minutes:
            return f"the window of {self.id} is fixed: {self.fixed_window}; remove window_minutes"
        return None

    def threshold_problem(self, threshold: float) -> str | None:
        """Why `threshold` could never fire, or would always fire, for this rule; else None."""
        if threshold != threshold or threshold in (float("inf"), float("-inf")):
            return f"{threshold} is not a number a {self.unit} threshold can take"
        ceiling = 100.0 if self.unit == "percent" else None
        if self.fires_below:
            if threshold <= 0:
                return f"below {threshold:g} {self.unit} can never happen, so it never fires"
            if ceiling is not None and threshold > ceiling:
                return f"the value is always below {threshold:g}%, so it always fires"
            return None
        if threshold < 0 or (threshold == 0 and self.unit != "count"):
            return f"the value is always above {threshold:g} {self.unit}, so it always fires"
        if ceiling is not None and threshold >= ceiling:
            return f"above {threshold:g}% can never happen, so it never fires"
        return None


_BURN_RATE_EXPR = (
    '{record_window}{{service="{service}"}} > {threshold} * {budget}'
    ' and {record_short_window}{{service="{service}"}} > {threshold} * {budget}'
)
"""Both windows' error ratio over the burn rate times the error budget (the SLO rules)."""

CATALOG: tuple[AlertRule, ...] = (
    AlertRule(
        id="high_error_rate",
        summary="More than {threshold}% of requests fail with 5xx",
        severity=Severity.CRITICAL,
        threshold=5.0,
        unit="percent",
        window_minutes=5,
        scope=Scope.SERVICE,
        runbook="alert-high-error-rate",
        http_only=True,
        prometheus_expr=(
            '100 * sum(rate(http_requests_total{{service="{service}",status=~"5.."}}[{window}]))'
            ' / clamp_min(sum(rate(http_requests_total{{service="{service}"}}[{window}])), 1e-9)'
            " > {threshold}"
        ),
    ),
    AlertRule(
        id="high_latency_p95",
        summary="p95 latency above {threshold} ms",
        severity=Severity.WARNING,
        threshold=800.0,
        unit="milliseconds",
        window_minutes=10,
        scope=Scope.SERVICE,
        runbook="alert-high-latency",
        http_only=True,
        prometheus_expr=(
            "1000 * histogram_quantile(0.95, sum by (le) ("
            'rate(http_request_duration_seconds_bucket{{service="{service}"}}[{window}])'
            ")) > {threshold}"
        ),
    ),
    AlertRule(
        id="high_cpu",
        summary="CPU above {threshold}% of the service's limit",
        severity=Severity.WARNING,
        threshold=85.0,
        unit="percent",
        window_minutes=15,
        scope=Scope.SERVICE,
        runbook="alert-high-cpu",
        # CPU seconds per second are cores; divide by the limit in cores (one core if the service
        # does not export it), or a 0.25-CPU service could never reach 85 and never fire.
        prometheus_expr=(
            '100 * avg(rate(process_cpu_seconds_total{{service="{service}"}}[{window}]))'
            ' / (max(platform_cpu_limit_cores{{service="{service}"}}) or vector(1)) > {threshold}'
        ),
    ),
    AlertRule(
        id="high_memory",
        summary="Memory above {threshold}% of the service's limit",
        severity=Severity.WARNING,
        threshold=90.0,
        unit="percent",
        window_minutes=15,
        scope=Scope.SERVICE,
        runbook="alert-high-memory",
        prometheus_expr=(
            '100 * max(process_resident_memory_bytes{{service="{service}"}})'
            ' / max(platform_memory_limit_bytes{{service="{service}"}}) > {threshold}'
        ),
    ),
    AlertRule(
        id="container_restarts",
        summary="Service restarted more than {threshold} times",
        severity=Severity.WARNING,
        threshold=3.0,
        unit="count",
        window_minutes=30,
        scope=Scope.SERVICE,
        runbook="alert-container-restarts",
        prometheus_expr=(
            'changes(process_start_time_seconds{{service="{service}"}}[{window}]) > {threshold}'
        ),
    ),
    AlertRule(
        id="unhealthy_targets",
        summary="Service has no healthy instance answering its readiness probe",
        severity=Severity.CRITICAL,
        threshold=1.0,
        unit="count",
        window_minutes=2,
        scope=Scope.SERVICE,
        fires_below=True,
        runbook="alert-unhealthy-targets",
        http_only=True,
        prometheus_expr='sum(up{{service="{service}"}}) < {threshold}',
    ),
    AlertRule(
        id="db_connections_high",
        summary="Database connections above {threshold}% of max_connections",
        severity=Severity.WARNING,
        threshold=80.0,
        unit="percent",
        window_minutes=10,
        scope=Scope.DATABASE,
        runbook="alert-db-connections",
        prometheus_expr=(
            "100 * sum(pg_stat_database_numbackends)"
            " / max(pg_settings_max_connections) > {threshold}"
        ),
    ),
    AlertRule(
        id="db_storage_low",
        summary="Database free storage below {threshold}%",
        severity=Severity.CRITICAL,
        threshold=15.0,
        unit="percent",
        window_minutes=15,
        scope=Scope.DATABASE,
        fires_below=True,
        runbook="alert-db-storage",
        prometheus_expr=(
            '100 * min(node_filesystem_avail_bytes{{mountpoint="/var/lib/postgresql/data"}})'
            ' / max(node_filesystem_size_bytes{{mountpoint="/var/lib/postgresql/data"}})'
            " < {threshold}"
        ),
    ),
    AlertRule(
        id="backup_too_old",
        summary="Newest database backup is older than {threshold} hours",
        severity=Severity.CRITICAL,
        threshold=26.0,
        unit="hours",
        window_minutes=30,
        scope=Scope.DATABASE,
        runbook="alert-backup-age",
        # No sample at all (the job never succeeded, or its Pushgateway lost it) fires too, as
        # missing data breaches the CloudWatch alarm: silence must not read as "backed up".
        prometheus_expr="(time() - max(platform_backup_last_success_timestamp_seconds)) / 3600"
        " > {threshold} or absent(platform_backup_last_success_timestamp_seconds)",
    ),
    AlertRule(
        id="certificate_expiry",
        summary="The TLS certificate expires in fewer than {threshold} days",
        severity=Severity.WARNING,
        threshold=30.0,
        unit="days",
        window_minutes=1440,
        scope=Scope.STACK,
        fires_below=True,
        runbook="alert-certificate-expiry",
        prometheus_expr=None,
        aws_only="dev serves plain HTTP on 127.0.0.1: there is no certificate to expire",
        fixed_window="ACM publishes DaysToExpiry once a day, so the alarm reads one daily value",
    ),
    AlertRule(
        id="uptime_check_failing",
        summary="Route 53 health checkers fail to get the readiness path over HTTPS",
        severity=Severity.CRITICAL,
        threshold=1.0,
        unit="health status",
        window_minutes=2,
        scope=Scope.SERVICE,
        fires_below=True,
        http_only=True,
        runbook="alert-uptime-check-failing",
        prometheus_expr=None,
        aws_only="dev has no public host name to probe from outside; unhealthy_targets watches "
        "its readiness from inside",
    ),
    # Availability SLOs, alerted in the SRE workbook's multi-window, multi-burn-rate manner: a burn
    # rate of 14.4 spends 2% of a 30-day error budget in one hour, 6 spends 5% in six hours. Each
    # alert needs the long window (enough budget spent to matter) and the short one (still
    # burning) over the threshold. The error ratios per window are recording rules on docker
    # (`SLO_RECORD`) and metric-math alarms joined by a composite alarm on AWS.
    AlertRule(
        id="slo_burn_fast",
        summary="Availability error budget burning over {threshold}x too fast in both 1h and 5m",
        severity=Severity.CRITICAL,
        threshold=14.4,
        unit="burn rate",
        window_minutes=60,
        short_window_minutes=5,
        for_minutes=0,
        scope=Scope.SERVICE,
        http_only=True,
        slo=True,
        runbook="alert-slo-burn-rate",
        prometheus_expr=_BURN_RATE_EXPR,
        fixed_window="its burn rate pairs with 1h and 5m for a 30-day objective",
    ),
    AlertRule(
        id="slo_burn_slow",
        summary="Availability error budget burning over {threshold}x too fast in both 6h and 30m",
        severity=Severity.CRITICAL,
        threshold=6.0,
        unit="burn rate",
        window_minutes=360,
        short_window_minutes=30,
        for_minutes=0,
        scope=Scope.SERVICE,
        http_only=True,
        slo=True,
        runbook="alert-slo-burn-rate",
        prometheus_expr=_BURN_RATE_EXPR,
        fixed_window="its burn rate pairs with 6h and 30m for a 30-day objective",
    ),
)

CATALOG_BY_ID: Mapping[str, AlertRule] = {rule.id: rule for rule in CATALOG}


@dataclass(frozen=True)
class RuleSetting:
    """A stack's choice for one catalog rule."""

    enabled: bool = True
    threshold: float | None = None
    window_minutes: int | None = None


def effective_rules(settings: Mapping[str, RuleSetting]) -> list[AlertRule]:
    """The catalog as one stack runs it: disabled rules dropped, overrides applied."""
    rules: list[AlertRule] = []
    for rule in CATALOG:
        setting = settings.get(rule.id, RuleSetting())
        if not setting.enabled:
            continue
        rules.append(
            replace(
                rule,
                threshold=rule.threshold if setting.threshold is None else setting.threshold,
                window_minutes=setting.window_minutes or rule.window_minutes,
            )
        )
    return rules


def _number(value: float) -> str:
    return f"{value:g}"


def duration(minutes: int) -> str:
    """A Prometheus duration for whole minutes, in hours when it divides (60 -> 1h, 30 -> 30m)."""
    return f"{minutes // 60}h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes}m"


SLO_RECORD = "service:http_request_errors:ratio_rate{window}"
"""The recorded share of a service's requests answered with 5xx over one window (docker)."""
SLO_GROUP = "platform-slo"


def error_budget(objective_percent: float) -> float:
    """The share of requests an availability objective lets fail (99.9 -> 0.001)."""
    return (100 - objective_percent) / 100


def slo_recording_rules(windows: Iterable[int]) -> list[dict[str, Any]]:
    """One recording rule per window: 5xx over all requests, by service. No 5xx series yet (the
    app creates a status's series on its first answer) records 0, not nothing."""
    recorded = []
    for minutes in sorted(set(windows)):
        window = duration(minutes)
        total = f"sum by (service) (rate(http_requests_total[{window}]))"
        errors = f'sum by (service) (rate(http_requests_total{{status=~"5.."}}[{window}]))'
        recorded.append(
            {
                "record": SLO_RECORD.format(window=window),
                "expr": f"({errors} or {total} * 0) / {total}",
            }
        )
    return recorded


def _targets(
    rule: AlertRule, services: Sequence[tuple[str, bool]], objectives: Mapping[str, float]
) -> list[str | None]:
    """The services a rule watches (None: the rule is about the database or the stack)."""
    if rule.scope is not Scope.SERVICE:
        return [None]
    return [
        name
        for name, http in services
        if (http or not rule.http_only) and (not rule.slo or name in objectives)
    ]


def _alert(
    stack: str,
    rule: AlertRule,
    service: str | None,
    runbook_base_url: str,
    objectives: Mapping[str, float],
) -> dict[str, Any]:
    if rule.prometheus_expr is None:
        raise ValueError(f"{rule.id} is AWS-only: {rule.aws_only}")
    short = rule.short_window_minutes or rule.window_minutes
    expr = rule.prometheus_expr.format(
        service=service or "",
        window=duration(rule.window_minutes),
        threshold=_number(rule.threshold),
        record_window=SLO_RECORD.format(window=duration(rule.window_minutes)),
        record_short_window=SLO_RECORD.format(window=duration(short)),
        budget=_number(error_budget(objectives[service])) if rule.slo and service else "",
    )
    labels = {"severity": str(rule.severity), "stack": stack, "rule": rule.id}
    name = "".join(part.capitalize() for part in rule.id.split("_"))
    if service is not None:
        labels["service"] = service
        name += "".join(part.capitalize() for part in service.split("-"))
    pending = rule.window_minutes if rule.for_minutes is None else rule.for_minutes
    return {
        "alert": name,
        "expr": expr,
        "for": f"{pending}m",
        "labels": labels,
        "annotations": {
            "summary": rule.summary.format(threshold=_number(rule.threshold)),
            "runbook_url": f"{runbook_base_url.rstrip('/')}/{rule.runbook}.md",
        },
    }


def render_prometheus_rules(
    stack: str,
    rules: Iterable[AlertRule],
    services: Iterable[tuple[str, bool]],
    runbook_base_url: str,
    objectives: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Prometheus rule file content: one group per scope, one alert per rule and service.

    `services` is (name, serves_http); HTTP-only rules skip services that serve no HTTP.
    `objectives` is service -> availability objective in percent: SLO rules render only for
    these, in their own group that first records the error ratio of every window they read.
    AWS-only rules (no `prometheus_expr`) render nothing.
    """
    services = list(services)
    objectives = dict(objectives or {})
    groups: dict[str, list[dict[str, Any]]] = {}
    rendered = [rule for rule in rules if rule.prometheus_expr is not None]
    slo_rules = [rule for rule in rendered if rule.slo and _targets(rule, services, objectives)]
    if slo_rules:
        windows = [r.window_minutes for r in slo_rules]
        windows += [r.short_window_minutes for r in slo_rules if r.short_window_minutes]
        groups[SLO_GROUP] = slo_recording_rules(windows)
    for rule in rendered:
        group = SLO_GROUP if rule.slo else f"platform-{rule.scope}"
        for service in _targets(rule, services, objectives):
            groups.setdefault(group, []).append(
                _alert(stack, rule, service, runbook_base_url, objectives)
            )
    return {"groups": [{"name": name, "rules": items} for name, items in groups.items()]}
