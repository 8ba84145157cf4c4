"""A public service's availability SLO on AWS, alerted the SRE workbook's multi-window way.

Per SLO rule and service: one metric-math alarm per window, whose value is the burn rate of the
service's error budget over that window (the share of requests its load balancer answered with
a 5xx, divided by the budget, 1 - objective), and a composite alarm that is in ALARM while both
windows are over the rule's burn rate. Only the composite notifies: the long window says enough
of the budget went to matter, the short one that it is still going.

Each window alarm is one period as long as its window (period 3600 for 1h), so every evaluation
reads the whole window's counts at once, as the Prometheus recording rules do with `rate()`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.alerts import AlertRule, duration, error_budget
from components.aws.alarm_parts import (
    AlarmSettings,
    CloudWatchAlarm,
    Metric,
    Notify,
    Source,
    Watched,
    describe,
    metric_alarm,
    slug,
)

SLO_ALARM = CloudWatchAlarm(
    Source.ALB,
    (
        Metric("requests", "AWS/ApplicationELB", "RequestCount", "Sum"),
        Metric("target_5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum"),
        Metric("elb_5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum"),
    ),
    "GreaterThanThreshold",
    steps=(
        ("served", "FILL(requests, 0)"),
        ("errors", "FILL(target_5xx, 0) + FILL(elb_5xx, 0)"),
    ),
    expression="IF(errors > served, 1, IF(served > 0, errors / served, 0)) / {budget}",
)
"""The burn rate over one period; `{budget}` is the service's error budget (0.001 for 99.9%).
No requests and no errors is no burn (0); no data at all is not breaching."""


def burn_rate_alarms(
    parent: pulumi.Resource,
    resource_prefix: str,
    rule: AlertRule,
    watched: Watched,
    notify: Notify,
    objective: float,
) -> list[str]:
    """The window alarms and their composite for one SLO rule and service; returns the alarm
    names, the composite (which notifies) first."""
    expression = SLO_ALARM.expression or ""
    windows = {"long": rule.window_minutes, "short": rule.short_window_minutes}
    composite_name = f"{notify.alarm_prefix}-{watched.role}-{rule.id}"
    alarms = []
    names = [composite_name]
    for role, minutes in windows.items():
        if minutes is None:
            raise ValueError(f"{rule.id} is an SLO rule without a short window")
        window = duration(minutes)
        settings = AlarmSettings(
            name=f"{composite_name}-{window}",
            label=f"{rule.id} burn rate over {window}",
            description=(
                f"{watched.label}: burn rate of its {objective:g}% availability objective over "
                f"{window}, above {rule.threshold:g}; half of {composite_name}, which notifies"
            ),
            threshold=rule.threshold,
            period=minutes * 60,
            periods=1,
            datapoints=1,
            actions=(),
            region=notify.region,
            expression=expression.format(budget=f"{error_budget(objective):g}"),
        )
        resource_name = f"{resource_prefix}-{watched.role}-{slug(rule.id)}-{role}"
        alarms.append(metric_alarm(parent, resource_name, SLO_ALARM, watched, settings))
        names.append(settings.name)
    long, short = alarms
    aws.cloudwatch.CompositeAlarm(
        f"{resource_prefix}-{watched.role}-{slug(rule.id)}",
        alarm_name=composite_name,
        alarm_rule=pulumi.Output.format('ALARM("{0}") AND ALARM("{1}")', long.name, short.name),
        alarm_description=describe(rule, f"{watched.label} ({objective:g}% objective)", notify),
        alarm_actions=[notify.topic_arn],
        ok_actions=[notify.topic_arn],
        tags=dict(watched.tags) or None,
        region=notify.region,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return names
