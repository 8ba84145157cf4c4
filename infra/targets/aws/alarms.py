"""CloudWatch alarms for the catalog's rules as this stack runs them, notifying through SNS, and
the Route 53 health checks that watch the public services from outside (their alarms in
us-east-1, `components/aws/uptime.py`)."""

from __future__ import annotations

from collections.abc import Mapping

from components.alerts import AlertRule, effective_rules
from components.aws.alarms import (
    Alarms,
    AlarmsArgs,
    DatabaseFacts,
    DatabaseMetrics,
    ServiceMetrics,
)
from components.aws.cluster import Cluster
from components.aws.service import Service
from components.aws.uptime import UptimeChecks, UptimeChecksArgs, UptimeTarget
from infra.targets.aws.database import StackDatabase
from infra.targets.aws.provider import AwsTarget
from infra.targets.monitoring import rule_settings

UPTIME_RULE = "uptime_check_failing"


def build_alarms(
    target: AwsTarget, cluster: Cluster, services: Mapping[str, Service], database: StackDatabase
) -> Alarms:
    """One alarm per effective rule and scope: every service, the database and its backups, the
    certificate; SLO burn-rate alarms per public service; a health check per public service."""
    cfg = target.cfg
    rules = effective_rules(rule_settings(cfg))
    alarms = Alarms(
        "alarms",
        AlarmsArgs(
            alarm_prefix=target.prefix,
            rules=rules,
            services=[
                _service_metrics(target, name, component, cluster)
                for name, component in services.items()
            ],
            database=DatabaseMetrics(
                identifier=database.instance.identifier,
                facts=DatabaseFacts(
                    max_connections=cfg.database.max_connections,
                    allocated_storage_gb=cfg.database.allocated_storage_gb,
                ),
                backup_vault_name=database.backups.vault_name,
            ),
            runbook_base_url=cfg.alerts.runbook_base_url,
            notify_emails=cfg.alerts.notify_emails,
            certificate_arn=target.settings.certificate_arn,
        ),
        opts=target.on_aws,
    )
    uptime = next((rule for rule in rules if rule.id == UPTIME_RULE), None)
    if uptime is not None:
        build_uptime_checks(target, uptime, services, alarms)
    return alarms


def build_uptime_checks(
    target: AwsTarget, rule: AlertRule, services: Mapping[str, Service], alarms: Alarms
) -> UptimeChecks | None:
    """A Route 53 health check per public service on its host name and readiness path; None
    when the stack has no public service."""
    cfg, settings = target.cfg, target.settings
    targets = [
        UptimeTarget(name, settings.public_hostnames[name], service.readiness.path)
        for name, service in cfg.services.items()
        if service.public and service.readiness is not None
    ]
    if not targets:
        return None
    return UptimeChecks(
        "uptime",
        UptimeChecksArgs(
            alarm_prefix=target.prefix,
            rule=rule,
            targets=targets,
            runbook_base_url=cfg.alerts.runbook_base_url,
            stack_region=settings.region,
            stack_topic_arn=alarms.topic_arn,
            notify_emails=cfg.alerts.notify_emails,
            after=[services[t.service] for t in targets],
        ),
        opts=target.on_aws,
    )


def _service_metrics(
    target: AwsTarget, name: str, component: Service, cluster: Cluster
) -> ServiceMetrics:
    """A service without a load balancer has no ALB metrics to alarm on."""
    lb = component.load_balancer
    return ServiceMetrics(
        name=name,
        cluster_name=cluster.name,
        service_name=component.service_name,
        load_balancer_arn_suffix=lb.arn_suffix if lb else None,
        target_group_arn_suffix=lb.target_group_arn_suffix if lb else None,
        availability_objective=target.cfg.services[name].availability_objective,
    )
