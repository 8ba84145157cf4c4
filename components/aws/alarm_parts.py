"""The parts every CloudWatch alarm of the catalog is made of: which metrics it reads (`Metric`,
`CloudWatchAlarm`), what it watches (`Watched`), where it notifies (`Notify`), and the one
function that turns those into a `MetricAlarm`.

Shared by `alarms.py` (the stack's alarms), `burn_rate.py` (the SLO alarms) and `uptime.py` (the
Route 53 health checks' alarms, in us-east-1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from components.alerts import AlertRule

PERIOD_SECONDS = 60


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
    CERTIFICATE = "certificate"
    """CertificateArn (AWS/CertificateManager): the certificate the public listeners serve."""
    HEALTH_CHECK = "health-check"
    """HealthCheckId (AWS/Route53): a public service's Route 53 health check. Route 53 publishes
    these metrics in us-east-1 only; `uptime.py` renders their alarms there."""


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
    steps: tuple[tuple[str, str], ...] = ()
    """(id, metric math) computed before `expression`, which may use their ids."""


@dataclass(frozen=True)
class Watched:
    """What one alarm watches: its part of the alarm's name (`svc-web`, `db`, `stack`), how its
    description names it, the dimensions its metrics take, and its tags."""

    role: str
    label: str
    dimensions: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Notify:
    """Where the alarms of one topic notify, and what their names and descriptions start from."""

    alarm_prefix: str
    topic_arn: pulumi.Input[str]
    runbook_base_url: str
    region: str | None = None
    """The alarms' region when not the provider's (the topic must be in the same one)."""


@dataclass(frozen=True)
class AlarmSettings:
    """Everything one `MetricAlarm` decides beyond its metrics."""

    name: str
    label: str
    """The value's label in the console's graph."""
    description: str
    threshold: float
    period: int
    periods: int
    datapoints: int
    actions: Sequence[pulumi.Input[str]]
    region: str | None = None
    expression: str | None = None
    """The value's metric math when it differs from the spec's (an SLO's, with its budget)."""


def runbook_url(base_url: str, rule: AlertRule) -> str:
    return f"{base_url.rstrip('/')}/{rule.runbook}.md"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def email_topic(
    resource_name: str,
    topic_name: str,
    emails: Sequence[str],
    parent: pulumi.Resource,
    region: str | None = None,
) -> aws.sns.Topic:
    """An SNS topic the alarms notify, with one e-mail subscription per address. Not
    KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed key. `region`: an
    alarm can only notify a topic in its own region (None: the provider's)."""
    topic = aws.sns.Topic(
        resource_name,
        name=topic_name,
        region=region,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for email in emails:
        aws.sns.TopicSubscription(
            f"{resource_name.removesuffix('-topic')}-email-{slug(email)}",
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            region=region,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return topic


def describe(rule: AlertRule, label: str, notify: Notify) -> str:
    summary = rule.summary.format(threshold=f"{rule.threshold:g}")
    runbook = runbook_url(notify.runbook_base_url, rule)
    return f"[{rule.severity}] {label}: {summary}. Runbook: {runbook}"


def metric_alarm(
    parent: pulumi.Resource,
    resource_name: str,
    spec: CloudWatchAlarm,
    watched: Watched,
    alarm: AlarmSettings,
) -> aws.cloudwatch.MetricAlarm:
    """One alarm reading `spec`'s metrics with `watched`'s dimensions, as `alarm` decides."""
    expression = alarm.expression or spec.expression
    queries = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=metric.id,
            return_data=expression is None,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=metric.namespace,
                metric_name=metric.metric_name,
                stat=metric.stat,
                period=alarm.period,
                dimensions=dict(watched.dimensions),
            ),
        )
        for metric in spec.metrics
    ]
    queries += [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(id=id_, expression=step, return_data=False)
        for id_, step in spec.steps
    ]
    if expression is not None:
        queries.append(
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="value", expression=expression, label=alarm.label, return_data=True
            )
        )
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        name=alarm.name,
        alarm_description=alarm.description,
        comparison_operator=spec.comparison,
        threshold=alarm.threshold,
        evaluation_periods=alarm.periods,
        datapoints_to_alarm=alarm.datapoints,
        metric_queries=queries,
        treat_missing_data=spec.treat_missing_data,
        alarm_actions=list(alarm.actions) or None,
        ok_actions=list(alarm.actions) or None,
        tags=dict(watched.tags) or None,
        region=alarm.region,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def catalog_alarm(
    parent: pulumi.Resource,
    resource_prefix: str,
    rule: AlertRule,
    spec: CloudWatchAlarm,
    watched: Watched,
    notify: Notify,
    threshold: float,
) -> str:
    """The alarm a catalog rule is on AWS for what `watched` names; returns the alarm's name.

    One-minute periods over the rule's window, all breaching (the catalog's `for:`), unless the
    spec says how many must or sets its own period."""
    if spec.period is None:
        period, periods = PERIOD_SECONDS, rule.window_minutes
    else:
        period, periods = spec.period(rule), 1
    settings = AlarmSettings(
        name=f"{notify.alarm_prefix}-{watched.role}-{rule.id}",
        label=rule.id,
        description=describe(rule, watched.label, notify),
        threshold=threshold,
        period=period,
        periods=periods,
        datapoints=spec.datapoints(rule) if spec.datapoints is not None else periods,
        actions=[notify.topic_arn],
        region=notify.region,
    )
    metric_alarm(
        parent, f"{resource_prefix}-{watched.role}-{slug(rule.id)}", spec, watched, settings
    )
    return settings.name
