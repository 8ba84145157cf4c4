"""Outside-in uptime for the public services: a Route 53 health check per service (HTTPS to its
public host name's readiness path, from Route 53's checkers in several regions), and the
catalog's `uptime_check_failing` alarm on each check's status.

Route 53 publishes health-check metrics in us-east-1 only, and a CloudWatch alarm notifies only
an SNS topic of its own region. So the alarms are created in us-east-1, beside a topic of their
own there subscribed by the same addresses (each confirms once more); a stack that already runs
in us-east-1 uses its own topic instead. The resources name the region themselves (`region=`,
resolved per resource by pulumi-aws 7 through the stack's one provider): no second provider,
with the same credentials and default tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.alerts import AlertRule
from components.aws.alarm_parts import Notify, Watched, catalog_alarm, email_topic
from components.aws.alarms import CLOUDWATCH
from components.type_tokens import AWS_UPTIME_CHECKS

ROUTE53_METRICS_REGION = "us-east-1"
REQUEST_INTERVAL_SECONDS = 30
FAILURE_THRESHOLD = 3
"""Three failed requests in a row (90 s at 30 s apart) make one checker call it unhealthy."""


@dataclass(frozen=True)
class UptimeTarget:
    """Where clients reach one public service, and the path that says it is ready."""

    service: str
    hostname: str
    path: str


@dataclass(frozen=True)
class UptimeChecksArgs:
    alarm_prefix: str
    """Alarm and topic names start with it, e.g. `platform-prod`."""
    rule: AlertRule
    """The stack's effective `uptime_check_failing` rule."""
    targets: Sequence[UptimeTarget]
    runbook_base_url: str
    stack_region: str
    stack_topic_arn: pulumi.Input[str]
    """The stack's alarm topic: notified directly when the stack runs in us-east-1."""
    notify_emails: Sequence[str] = field(default_factory=tuple)
    after: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist before checkers are sent (the services behind the host names)."""


class UptimeChecks(pulumi.ComponentResource):
    """Outputs: `topic_arn` (where the alarms notify), `health_check_ids` (service -> id) and
    `alarm_names`."""

    topic_arn: pulumi.Output[str]
    health_check_ids: dict[str, pulumi.Output[str]]
    alarm_names: list[str]

    def __init__(
        self, name: str, args: UptimeChecksArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_UPTIME_CHECKS, name, None, opts)
        self._name = name
        self._args = args
        self.topic_arn = self._topic()
        notify = Notify(
            args.alarm_prefix, self.topic_arn, args.runbook_base_url, ROUTE53_METRICS_REGION
        )
        (spec,) = CLOUDWATCH[args.rule.id]
        self.health_check_ids = {}
        self.alarm_names = []
        for target in args.targets:
            check = self._health_check(target)
            self.health_check_ids[target.service] = check.id
            watched = Watched(
                f"svc-{target.service}",
                f"{target.service} (https://{target.hostname}{target.path})",
                {"HealthCheckId": check.id},
                {"service": target.service},
            )
            self.alarm_names.append(
                catalog_alarm(self, name, args.rule, spec, watched, notify, args.rule.threshold)
            )
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "health_check_ids": self.health_check_ids,
                "alarm_names": self.alarm_names,
            }
        )

    def _topic(self) -> pulumi.Output[str]:
        """The stack's topic when it is in us-east-1; else one there with the same addresses."""
        args = self._args
        if args.stack_region == ROUTE53_METRICS_REGION:
            return pulumi.Output.from_input(args.stack_topic_arn)
        topic = email_topic(
            f"{self._name}-topic",
            f"{args.alarm_prefix}-uptime-alerts",
            args.notify_emails,
            self,
            region=ROUTE53_METRICS_REGION,
        )
        return topic.arn

    def _health_check(self, target: UptimeTarget) -> aws.route53.HealthCheck:
        """HTTPS with SNI to the host name on 443, as a client comes in (the certificate
        covers that name, not the ALB's), from Route 53's default checker regions."""
        return aws.route53.HealthCheck(
            f"{self._name}-{target.service}-check",
            type="HTTPS",
            fqdn=target.hostname,
            port=443,
            resource_path=target.path,
            request_interval=REQUEST_INTERVAL_SECONDS,
            failure_threshold=FAILURE_THRESHOLD,
            enable_sni=True,
            tags={"Name": f"{self._args.alarm_prefix}-{target.service}", "service": target.service},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self._args.after)),
        )
