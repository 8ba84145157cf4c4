"""CloudWatch alarms for the catalog's rules as this stack runs them, notifying through SNS."""

from __future__ import annotations

from collections.abc import Mapping

from components.alerts import effective_rules
from components.aws.alarms import (
    Alarms,
    AlarmsArgs,
    DatabaseFacts,
    DatabaseMetrics,
    ServiceMetrics,
)
from components.aws.cluster import Cluster
from components.aws.service import Service
from infra.targets.aws.database import StackDatabase
from infra.targets.aws.provider import AwsTarget
from infra.targets.monitoring import rule_settings


def build_alarms(
    target: AwsTarget, cluster: Cluster, services: Mapping[str, Service], database: StackDatabase
) -> Alarms:
    """One alarm per effective rule and scope: every service, the database and its backups."""
    cfg = target.cfg
    return Alarms(
        "alarms",
        AlarmsArgs(
            alarm_prefix=target.prefix,
            rules=effective_rules(rule_settings(cfg)),
            services=[
                _service_metrics(name, component, cluster) for name, component in services.items()
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
        ),
        opts=target.on_aws,
    )


def _service_metrics(name: str, component: Service, cluster: Cluster) -> ServiceMetrics:
    """A service without a load balancer has no ALB metrics to alarm on."""
    lb = component.load_balancer
    return ServiceMetrics(
        name=name,
        cluster_name=cluster.name,
        service_name=component.service_name,
        load_balancer_arn_suffix=lb.arn_suffix if lb else None,
        target_group_arn_suffix=lb.target_group_arn_suffix if lb else None,
    )
