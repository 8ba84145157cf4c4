"""One alert catalog, rendered per target.

The catalog is data: each rule says what it watches, when it fires and which runbook to follow.
Renderers turn it into Prometheus rule groups (docker) here; the aws target maps the same rules to
CloudWatch alarms. Keeping both renderers on one list is what stops dev and prod alerting on
different things.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    """PromQL with `{threshold}`, `{window}` and, for service rules, `{service}` placeholders.
    None when docker has no signal for the rule (it is then AWS-only, and says so)."""
    http_only: bool = False
    """Only for services that serve HTTP (error rate, latency, unhealthy targets)."""
    fires_below: bool = False
    """The rule fires when the value drops below the threshold (free storage, healthy targets)."""

    @property
    def runbook_path(self) -> str:
        return f"docs/runbooks/{self.runbook}.md"

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


def render_prometheus_rules(
    stack: str,
    rules: Iterable[AlertRule],
    services: Iterable[tuple[str, bool]],
    runbook_base_url: str,
) -> dict[str, Any]:
    """Prometheus rule file content: one group per scope, one alert per rule and service.

    `services` is (name, serves_http); HTTP-only rules skip services that serve no HTTP.
    """
    services = list(services)
    groups: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        if rule.prometheus_expr is None:
            continue
        targets: list[str | None]
        if rule.scope is Scope.SERVICE:
            targets = [name for name, http in services if http or not rule.http_only]
        else:
            targets = [None]
        for service in targets:
            expr = rule.prometheus_expr.format(
                service=service or "",
                window=f"{rule.window_minutes}m",
                threshold=_number(rule.threshold),
            )
            labels = {"severity": str(rule.severity), "stack": stack, "rule": rule.id}
            if service is not None:
                labels["service"] = service
            name = "".join(part.capitalize() for part in rule.id.split("_"))
            if service is not None:
                name += "".join(part.capitalize() for part in service.split("-"))
            groups.setdefault(f"platform-{rule.scope}", []).append(
                {
                    "alert": name,
                    "expr": expr,
                    "for": f"{rule.window_minutes}m",
                    "labels": labels,
                    "annotations": {
                        "summary": rule.summary.format(threshold=_number(rule.threshold)),
                        "runbook_url": f"{runbook_base_url.rstrip('/')}/{rule.runbook}.md",
                    },
                }
            )
    return {"groups": [{"name": name, "rules": items} for name, items in groups.items()]}
