"""The alert catalog (`components/alerts.py`) rendered to CloudWatch alarms, all notifying one SNS
topic with an e-mail subscription per address.

`CLOUDWATCH` maps each catalog rule to the alarms that implement it on AWS, as data;
`DOCKER_ONLY` lists the rules AWS has no metric for, with the reason. A test holds that every
catalog rule is in exactly one of the two. Thresholds stay in the catalog's units; each mapping
says how to convert them to the metric's (ms -> s, % of max_connections -> connections, ...).
Every alarm evaluates one-minute periods over the rule's window and fires when all of them breach
(the catalog's `for:`), unless the mapping says how many must or sets its own period. The SLO
rules are burn-rate alarm pairs (`burn_rate.py`); the uptime rule's alarms live in us-east-1 with
their health checks (`uptime.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components.alerts import AlertRule
from components.aws.alarm_parts import (
    PERIOD_SECONDS,
    CloudWatchAlarm,
    DatabaseFacts,
    Metric,
    Notify,
    Source,
    Watched,
    catalog_alarm,
    email_topic,
)
from components.aws.burn_rate import SLO_ALARM, burn_rate_alarms
from components.type_tokens import AWS_ALARMS

__all__ = [
    "CLOUDWATCH",
    "DOCKER_ONLY",
    "Alarms",
    "AlarmsArgs",
    "CloudWatchAlarm",
    "DatabaseFacts",
    "DatabaseMetrics",
    "Metric",
    "ServiceMetrics",
    "Source",
]

GIB = 1024**3
DAY_SECONDS = 24 * 3600


def _alb(metric_name: str, stat: str, id_: str = "m") -> Metric:
    return Metric(id_, "AWS/ApplicationELB", metric_name, stat)


def _ecs(metric_name: str, stat: str = "Average") -> Metric:
    return Metric("m", "AWS/ECS", metric_name, stat)


def _rds(metric_name: str, stat: str) -> Metric:
    return Metric("m", "AWS/RDS", metric_name, stat)


CLOUDWATCH_MAX_ALARM_SECONDS = 7 * 24 * 3600
"""Period x evaluation periods for periods of an hour or more (one day below an hour)."""


def _backup_age_period(rule: AlertRule) -> int:
    """The threshold (hours) plus the window (minutes) as one period, in whole minutes."""
    seconds = math.ceil((rule.threshold * 3600 + rule.window_minutes * 60) / 60) * 60
    return min(max(seconds, PERIOD_SECONDS), CLOUDWATCH_MAX_ALARM_SECONDS)


CLOUDWATCH: Mapping[str, tuple[CloudWatchAlarm, ...]] = {
    # 5xx answered by the targets as a percentage of requests; no requests is no error rate.
    "high_error_rate": (
        CloudWatchAlarm(
            Source.ALB,
            (
                _alb("HTTPCode_Target_5XX_Count", "Sum", "errors"),
                _alb("RequestCount", "Sum", "requests"),
            ),
            "GreaterThanThreshold",
            expression="IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)",
        ),
    ),
    "high_latency_p95": (
        CloudWatchAlarm(
            Source.ALB,
            (_alb("TargetResponseTime", "p95"),),
            "GreaterThanThreshold",
            threshold=lambda ms, _: ms / 1000,  # TargetResponseTime is in seconds
        ),
    ),
    # ECS utilisation is already a percentage of the task's reserved cpu/memory, as the rule means.
    # The database has the same rule: RDS CPU against the instance.
    "high_cpu": (
        CloudWatchAlarm(Source.ECS, (_ecs("CPUUtilization"),), "GreaterThanThreshold"),
        CloudWatchAlarm(Source.RDS, (_rds("CPUUtilization", "Average"),), "GreaterThanThreshold"),
    ),
    "high_memory": (
        CloudWatchAlarm(Source.ECS, (_ecs("MemoryUtilization"),), "GreaterThanThreshold"),
    ),
    # Fargate has no restart counter: a task that dies leaves the service short of its desired
    # count until ECS replaces it. "More than N restarts in the window" becomes "short of tasks in
    # more than N of the window's minutes" (Container Insights, which the config requires).
    "container_restarts": (
        CloudWatchAlarm(
            Source.ECS,
            (
                Metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Maximum"),
                Metric("running", "ECS/ContainerInsights", "RunningTaskCount", "Minimum"),
            ),
            "GreaterThanThreshold",
            expression="desired - running",
            threshold=lambda _count, _facts: 0,
            datapoints=lambda rule: min(int(rule.threshold) + 1, rule.window_minutes),
        ),
    ),
    # The target group's view of the readiness probe; no data means no targets reporting at all.
    "unhealthy_targets": (
        CloudWatchAlarm(
            Source.ALB,
            (_alb("HealthyHostCount", "Minimum"),),
            "LessThanThreshold",
            treat_missing_data="breaching",
        ),
    ),
    "db_connections_high": (
        CloudWatchAlarm(
            Source.RDS,
            (_rds("DatabaseConnections", "Maximum"),),
            "GreaterThanThreshold",
            threshold=lambda percent, db: percent / 100 * db.max_connections,
        ),
    ),
    # FreeStorageSpace is bytes; the percentage is of the allocated size, which storage
    # autoscaling only grows, so the alarm errs on the side of firing early.
    "db_storage_low": (
        CloudWatchAlarm(
            Source.RDS,
            (_rds("FreeStorageSpace", "Minimum"),),
            "LessThanThreshold",
            threshold=lambda percent, db: percent / 100 * db.allocated_storage_gb * GIB,
        ),
    ),
    # RDS publishes no backup age; AWS Backup counts the jobs it completes per vault (AWS/Backup,
    # emitted every 5 minutes, dimension BackupVaultName; the vault holds only this database).
    # "Newest backup older than 26 h" is "no job completed in the last 26 h": one Sum over a
    # single period < 1, with no data at all breaching. The catalog's 30-minute `for:` is added
    # to the period (26 h + 30 min = 95,400 s), which is when the Prometheus rule (age > 26 h
    # held for 30 min) fires. CloudWatch allows one period that long: for periods of an hour or
    # more, period x evaluation periods may reach 7 days (604,800 s); below an hour only one day.
    # The config refuses a threshold + window beyond 7 days on aws.
    "backup_too_old": (
        CloudWatchAlarm(
            Source.BACKUP,
            (Metric("m", "AWS/Backup", "NumberOfBackupJobsCompleted", "Sum"),),
            "LessThanThreshold",
            threshold=lambda _hours, _facts: 1,
            treat_missing_data="breaching",
            period=_backup_age_period,
        ),
    ),
    # ACM publishes DaysToExpiry once a day per certificate (Minimum over one day is that day's
    # value) and stops after the certificate expires. Missing data keeps the alarm's state: a late
    # publication does not flap it, an expired certificate stays in ALARM.
    "certificate_expiry": (
        CloudWatchAlarm(
            Source.CERTIFICATE,
            (Metric("m", "AWS/CertificateManager", "DaysToExpiry", "Minimum"),),
            "LessThanThreshold",
            treat_missing_data="ignore",
            period=lambda _rule: DAY_SECONDS,
        ),
    ),
    # Route 53's checkers, from outside AWS's network, each minute: 1 while the check is healthy.
    # No data is no checker reporting at all, which counts as down. Rendered in us-east-1 by
    # `uptime.py` (the only region with Route 53's metrics), beside the health checks.
    "uptime_check_failing": (
        CloudWatchAlarm(
            Source.HEALTH_CHECK,
            (Metric("m", "AWS/Route53", "HealthCheckStatus", "Minimum"),),
            "LessThanThreshold",
            treat_missing_data="breaching",
        ),
    ),
    # The burn rate of an availability objective over one window (`burn_rate.py` renders one
    # alarm per window and a composite alarm of the pair). Errors are the 5xx users get: the
    # targets' and the load balancer's own (502 when a task drops the connection, 503 with no
    # target, 504 on a timeout). RequestCount counts only requests that reached a target, so
    # when the balancer answers alone the errors outnumber the requests: the ratio is then 1.
    "slo_burn_fast": (SLO_ALARM,),
    "slo_burn_slow": (SLO_ALARM,),
}

DOCKER_ONLY: Mapping[str, str] = {}


@dataclass(frozen=True)
class ServiceMetrics:
    """Where one service's metrics live. ALB dimensions only for services behind a load balancer."""

    name: str
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    target_group_arn_suffix: pulumi.Input[str] | None = None
    availability_objective: float | None = None
    """Percent of requests answered without a 5xx over 30 days; None = no SLO (not public)."""


@dataclass(frozen=True)
class DatabaseMetrics:
    identifier: pulumi.Input[str]
    facts: DatabaseFacts
    backup_vault_name: pulumi.Input[str]
    """The AWS Backup vault holding the database's recovery points."""


@dataclass(frozen=True)
class AlarmsArgs:
    alarm_prefix: str
    """Alarm names start with it, e.g. `platform-prod`."""
    rules: Sequence[AlertRule]
    """The stack's effective rules (`components.alerts.effective_rules`)."""
    services: Sequence[ServiceMetrics]
    database: DatabaseMetrics
    runbook_base_url: str
    notify_emails: Sequence[str] = field(default_factory=tuple)
    certificate_arn: pulumi.Input[str] | None = None
    """The ACM certificate the public listeners serve; None = no certificate to watch."""


class Alarms(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    alarm_names: list[str]

    def __init__(
        self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_ALARMS, name, None, opts)
        self._name = name
        self._args = args
        topic = email_topic(
            f"{name}-topic", f"{args.alarm_prefix}-alerts", args.notify_emails, self
        )
        self.topic_arn = topic.arn
        self._notify = Notify(args.alarm_prefix, topic.arn, args.runbook_base_url)
        self.alarm_names = []
        for rule in args.rules:
            for spec in CLOUDWATCH.get(rule.id, ()):
                self._render(rule, spec)
        self.register_outputs({"topic_arn": self.topic_arn, "alarm_names": self.alarm_names})

    def _render(self, rule: AlertRule, spec: CloudWatchAlarm) -> None:
        for watched, service in self._watched(spec):
            if not rule.slo:
                threshold = spec.threshold(rule.threshold, self._args.database.facts)
                self.alarm_names.append(
                    catalog_alarm(self, self._name, rule, spec, watched, self._notify, threshold)
                )
            elif service is not None and service.availability_objective is not None:
                self.alarm_names += burn_rate_alarms(
                    self, self._name, rule, watched, self._notify, service.availability_objective
                )

    def _watched(self, spec: CloudWatchAlarm) -> list[tuple[Watched, ServiceMetrics | None]]:
        """What alarms of `spec` watch in this stack, with the service each one is about."""
        args = self._args
        if spec.source is Source.RDS:
            dimensions = {"DBInstanceIdentifier": args.database.identifier}
            return [(Watched("db", "database", dimensions), None)]
        if spec.source is Source.BACKUP:
            vault = {"BackupVaultName": args.database.backup_vault_name}
            return [(Watched("db", "database", vault), None)]
        if spec.source is Source.CERTIFICATE:
            if args.certificate_arn is None:
                return []  # no public listener, no certificate
            arn = {"CertificateArn": args.certificate_arn}
            return [(Watched("stack", "TLS certificate", arn), None)]
        if spec.source is Source.HEALTH_CHECK:
            return []  # `uptime.py` renders these in us-east-1, beside the health checks
        return [
            (watched, service)
            for service in args.services
            if (watched := _service_watched(spec.source, service)) is not None
        ]


def _service_watched(source: Source, service: ServiceMetrics) -> Watched | None:
    """A service's ECS dimensions, or its ALB's; None when it has no load balancer for ALB
    metrics."""
    tags = {"service": service.name}
    if source is Source.ECS:
        dims: dict[str, pulumi.Input[str]] = {
            "ClusterName": service.cluster_name,
            "ServiceName": service.service_name,
        }
        return Watched(f"svc-{service.name}", service.name, dims, tags)
    if service.load_balancer_arn_suffix is None or service.target_group_arn_suffix is None:
        return None
    dims = {
        "LoadBalancer": service.load_balancer_arn_suffix,
        "TargetGroup": service.target_group_arn_suffix,
    }
    return Watched(f"svc-{service.name}", service.name, dims, tags)
