"""The alert catalog (`components/alerts.py`) rendered to CloudWatch alarms, all notifying one SNS
topic with an e-mail subscription per address.

`CLOUDWATCH` maps each catalog rule to the alarms that implement it on AWS, as data;
`DOCKER_ONLY` lists the rules AWS has no metric for, with the reason. A test holds that every
catalog rule is in exactly one of the two. Thresholds stay in the catalog's units; each mapping
says how to convert them to the metric's (ms -> s, % of max_connections -> connections, ...).
Every alarm evaluates one-minute periods over the rule's window and fires when all of them breach
(the catalog's `for:`), unless the mapping says how many must or sets its own period.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from components.alerts import AlertRule
from components.type_tokens import AWS_ALARMS

PERIOD_SECONDS = 60
GIB = 1024**3


class Source(StrEnum):
    """Which resource's dimensions a metric takes."""

    ECS = "ecs"
    """ClusterName + ServiceName (AWS/ECS and ECS/ContainerInsights)."""
    ALB = "alb"
    """LoadBalancer + TargetGroup; only services behind a load balancer have these."""
    RDS = "rds"
    """DBInstanceIdentifier."""
    BACKUP = "backup"
    """BackupVaultName (AWS/Backup): the database's AWS Backup vault."""


@dataclass(frozen=True)
class Metric:
    id: str
    namespace: str
    metric_name: str
    stat: str
    """Sum, Average, Minimum, Maximum or a percentile such as p95."""


@dataclass(frozen=True)
class DatabaseFacts:
    max_connections: int
    allocated_storage_gb: int


def _same(threshold: float, _: DatabaseFacts) -> float:
    return threshold


@dataclass(frozen=True)
class CloudWatchAlarm:
    """One alarm per service (ECS/ALB sources) or one for the database (RDS)."""

    source: Source
    metrics: tuple[Metric, ...]
    comparison: str
    expression: str | None = None
    """Metric math over the metrics' ids; None when the single metric is the alarm's value."""
    threshold: Callable[[float, DatabaseFacts], float] = _same
    """The catalog threshold (in the rule's unit) -> the value the alarm compares with."""
    datapoints: Callable[[AlertRule], int] | None = None
    """How many of the window's one-minute periods must breach; None = all of them."""
    treat_missing_data: str = "notBreaching"
    period: Callable[[AlertRule], int] | None = None
    """Seconds of one period evaluated alone (one datapoint decides); None = one-minute periods
    over the rule's window."""


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


def runbook_url(base_url: str, rule: AlertRule) -> str:
    return f"{base_url.rstrip('/')}/{rule.runbook}.md"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Alarms(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    alarm_names: list[str]

    def __init__(
        self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_ALARMS, name, None, opts)
        self._name = name
        self._args = args
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=f"{args.alarm_prefix}-alerts",
            # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed key.
            opts=pulumi.ResourceOptions(parent=self),
        )
        for email in args.notify_emails:
            aws.sns.TopicSubscription(
                f"{name}-email-{_slug(email)}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.topic_arn = topic.arn
        self.alarm_names = []
        for rule in args.rules:
            for spec in CLOUDWATCH.get(rule.id, ()):
                self._render(rule, spec)
        self.register_outputs({"topic_arn": self.topic_arn, "alarm_names": self.alarm_names})

    def _render(self, rule: AlertRule, spec: CloudWatchAlarm) -> None:
        args = self._args
        if spec.source is Source.RDS:
            dimensions = {"DBInstanceIdentifier": args.database.identifier}
            self._alarm(rule, spec, "db", "database", dimensions, {})
            return
        if spec.source is Source.BACKUP:
            vault = {"BackupVaultName": args.database.backup_vault_name}
            self._alarm(rule, spec, "db", "database", vault, {})
            return
        for service in args.services:
            if spec.source is Source.ECS:
                dims: dict[str, pulumi.Input[str]] = {
                    "ClusterName": service.cluster_name,
                    "ServiceName": service.service_name,
                }
            elif (
                service.load_balancer_arn_suffix is not None
                and service.target_group_arn_suffix is not None
            ):
                dims = {
                    "LoadBalancer": service.load_balancer_arn_suffix,
                    "TargetGroup": service.target_group_arn_suffix,
                }
            else:
                continue  # ALB metrics exist only for services behind a load balancer
            self._alarm(
                rule, spec, f"svc-{service.name}", service.name, dims, {"service": service.name}
            )

    def _alarm(
        self,
        rule: AlertRule,
        spec: CloudWatchAlarm,
        role: str,
        target: str,
        dimensions: Mapping[str, pulumi.Input[str]],
        tags: Mapping[str, str],
    ) -> None:
        args = self._args
        alarm_name = f"{args.alarm_prefix}-{role}-{rule.id}"
        summary = rule.summary.format(threshold=f"{rule.threshold:g}")
        if spec.period is None:
            period, periods = PERIOD_SECONDS, rule.window_minutes
        else:
            period, periods = spec.period(rule), 1
        queries = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=metric.id,
                return_data=spec.expression is None,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=metric.namespace,
                    metric_name=metric.metric_name,
                    stat=metric.stat,
                    period=period,
                    dimensions=dict(dimensions),
                ),
            )
            for metric in spec.metrics
        ]
        if spec.expression is not None:
            queries.append(
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="value", expression=spec.expression, label=rule.id, return_data=True
                )
            )
        aws.cloudwatch.MetricAlarm(
            f"{self._name}-{role}-{_slug(rule.id)}",
            name=alarm_name,
            alarm_description=(
                f"[{rule.severity}] {target}: {summary}. "
                f"Runbook: {runbook_url(args.runbook_base_url, rule)}"
            ),
            comparison_operator=spec.comparison,
            threshold=spec.threshold(rule.threshold, args.database.facts),
            evaluation_periods=periods,
            datapoints_to_alarm=spec.datapoints(rule) if spec.datapoints is not None else periods,
            metric_queries=queries,
            treat_missing_data=spec.treat_missing_data,
            alarm_actions=[self.topic_arn],
            ok_actions=[self.topic_arn],
            tags=dict(tags) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm_names.append(alarm_name)
