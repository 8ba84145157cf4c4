"""The aws target: ECS Fargate behind ALBs, RDS PostgreSQL backed up by AWS Backup, Secrets
Manager, CloudWatch + SNS.

Every AWS resource goes through one explicit provider whose `default_tags` carry the stack-wide
tags (environment, managed-by); per-service resources add only their `service` tag. Components
get the provider once and their children inherit it through `parent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alerts import effective_rules
from components.aws.alarms import (
    Alarms,
    AlarmsArgs,
    DatabaseFacts,
    DatabaseMetrics,
    ServiceMetrics,
)
from components.aws.backup import DatabaseBackups, DatabaseBackupsArgs
from components.aws.cluster import Cluster, ClusterArgs
from components.aws.database import Database, DatabaseArgs
from components.aws.network import Network, NetworkArgs
from components.aws.secrets import SecretStore, SecretStoreArgs
from components.aws.service import PublicEndpoint, Scaling, Service, ServiceArgs
from components.postgres import AdminConnection
from infra.config.models import StackConfig
from infra.config.targets import AwsSettings
from infra.targets.common import DATABASE_URL_ENV, database_access, probe_spec, rule_settings

APP_URL = "app_url"
OWNER_URL = "owner_url"


def stack_tags(cfg: StackConfig) -> dict[str, str]:
    """The tags every taggable resource carries, set once on the provider."""
    return {"environment": cfg.environment, "stack": cfg.stack, "managed-by": "pulumi"}


def build_aws(cfg: StackConfig, secret_values: Mapping[str, pulumi.Output[str]]) -> dict[str, Any]:
    settings = _settings(cfg)
    prefix = f"platform-{cfg.stack}"
    prod = cfg.environment == "prod"
    provider = aws.Provider(
        "aws",
        region=settings.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=stack_tags(cfg)),
    )
    on_aws = pulumi.ResourceOptions(providers=[provider])
    network = Network(
        "network",
        NetworkArgs(
            vpc_cidr=settings.vpc_cidr,
            az_count=settings.availability_zones,
            nat_gateways=settings.nat_gateways,
            service_ports=[s.port for s in cfg.services.values() if s.public and s.port],
        ),
        opts=on_aws,
    )
    database = _database(cfg, network, prefix, on_aws)
    backups = DatabaseBackups(
        "db-backups",
        DatabaseBackupsArgs(
            vault_name=f"{prefix}-db-backups",
            database_arn=database.arn,
            retention_days=cfg.database.backup_retention_days,
            protect=prod,
        ),
        opts=on_aws,
    )
    roles = cfg.database.roles
    access = database_access(
        cfg,
        AdminConnection(
            host=database.admin_host,
            port=database.admin_port,
            username=database.master_username,
            password=database.master_password,
            sslmode="require",
            superuser=False,  # the RDS master is rds_superuser, not a superuser
        ),
        opts=pulumi.ResourceOptions(depends_on=[database]),
    )
    app_url = access.url(access.app, database.address, database.port, "sslmode=require")
    owner_url = access.url(access.owner, database.address, database.port, "sslmode=require")
    recovery_days = 30 if prod else 7
    named = sorted({secret for s in cfg.services.values() for secret in s.secrets.values()})
    app_secrets = SecretStore(
        "app-secrets",
        SecretStoreArgs(
            path=f"{prefix}/",
            values={name: secret_values[name] for name in named},
            descriptions={name: cfg.secrets[name].description for name in named},
            recovery_window_days=recovery_days,
        ),
        opts=on_aws,
    )
    db_values = {APP_URL: app_url}
    if any(s.migration for s in cfg.services.values()):
        db_values[OWNER_URL] = owner_url
    db_secrets = SecretStore(
        "db-secrets",
        SecretStoreArgs(
            path=f"{prefix}/database/",
            values=db_values,
            descriptions={
                APP_URL: f"DATABASE_URL of the services ({roles.app}: no DDL)",
                OWNER_URL: f"DATABASE_URL of the migrations ({roles.owner})",
            },
            recovery_window_days=recovery_days,
        ),
        opts=on_aws,
    )
    cluster = Cluster(
        "cluster",
        ClusterArgs(cluster_name=prefix, container_insights=settings.container_insights),
        opts=on_aws,
    )
    services: dict[str, Service] = {}
    for name, service in cfg.services.items():
        services[name] = Service(
            name,
            ServiceArgs(
                family=f"{prefix}-{name}",
                service_name=name,
                region=settings.region,
                cluster_arn=cluster.arn,
                cluster_name=cluster.name,
                image=service.image,
                probe=probe_spec(service),
                subnet_ids=network.private_subnet_ids,
                security_group_ids=[network.service_security_group_id],
                cpu=service.cpu,
                memory_mb=service.memory_mb,
                replicas=service.replicas,
                log_retention_days=settings.log_retention_days,
                command=service.command,
                port=service.port,
                env=service.env,
                secrets={
                    **{env: app_secrets.refs[secret] for env, secret in service.secrets.items()},
                    DATABASE_URL_ENV: db_secrets.refs[APP_URL],
                },
                migration_command=service.migration.command if service.migration else None,
                migration_secrets=(
                    {DATABASE_URL_ENV: db_secrets.refs[OWNER_URL]} if service.migration else {}
                ),
                scaling=(
                    Scaling(
                        min_replicas=service.autoscaling.min_replicas,
                        max_replicas=service.autoscaling.max_replicas,
                        cpu_target_percent=service.autoscaling.cpu_target_percent,
                    )
                    if service.autoscaling
                    else None
                ),
                public=(
                    PublicEndpoint(
                        vpc_id=network.vpc_id,
                        subnet_ids=network.public_subnet_ids,
                        security_group_id=network.lb_security_group_id,
                        certificate_arn=settings.certificate_arn or "",
                        hostname=settings.public_hostnames[name],
                        zone_id=settings.route53_zone_id,
                        deletion_protection=prod,
                    )
                    if service.public
                    else None
                ),
                health_check_grace_seconds=service.health_check_grace_seconds,
                tags={"service": name},
            ),
            # Tasks start only once their database roles and grants exist.
            opts=pulumi.ResourceOptions(providers=[provider], depends_on=[access]),
        )

    alarms = Alarms(
        "alarms",
        AlarmsArgs(
            alarm_prefix=prefix,
            rules=effective_rules(rule_settings(cfg)),
            services=[
                ServiceMetrics(
                    name=name,
                    cluster_name=cluster.name,
                    service_name=component.service_name,
                    load_balancer_arn_suffix=(
                        component.load_balancer.arn_suffix if component.load_balancer else None
                    ),
                    target_group_arn_suffix=(
                        component.load_balancer.target_group_arn_suffix
                        if component.load_balancer
                        else None
                    ),
                )
                for name, component in services.items()
            ],
            database=DatabaseMetrics(
                identifier=database.identifier,
                facts=DatabaseFacts(
                    max_connections=cfg.database.max_connections,
                    allocated_storage_gb=cfg.database.allocated_storage_gb,
                ),
                backup_vault_name=backups.vault_name,
            ),
            runbook_base_url=cfg.alerts.runbook_base_url,
            notify_emails=cfg.alerts.notify_emails,
        ),
        opts=on_aws,
    )
    return {
        "serviceUrls": {
            name: component.url for name, component in services.items() if component.url is not None
        },
        "loadBalancerDnsNames": {
            name: component.load_balancer.dns_name
            for name, component in services.items()
            if component.load_balancer is not None
        },
        "readinessPaths": {
            name: service.readiness.path
            for name, service in cfg.services.items()
            if service.public and service.readiness is not None
        },
        "clusterName": cluster.name,
        "serviceNames": {name: component.service_name for name, component in services.items()},
        "databaseEndpoint": database.endpoint,
        "databaseHost": database.address,
        "databasePort": database.port,
        "databaseName": access.database_name,
        "databaseUrl": app_url,
        "secretArns": {
            **app_secrets.arns,
            **{f"database/{key}": arn for key, arn in db_secrets.arns.items()},
        },
        "alarmTopicArn": alarms.topic_arn,
    }


def _settings(cfg: StackConfig) -> AwsSettings:
    if cfg.aws is None:
        raise ValueError("validated config guarantees aws settings for the aws target")
    return cfg.aws


def _database(
    cfg: StackConfig, network: Network, prefix: str, opts: pulumi.ResourceOptions
) -> Database:
    db = cfg.database
    return Database(
        "db",
        DatabaseArgs(
            identifier=f"{prefix}-db",
            engine_version=db.engine_version,
            major_version=db.major_version,
            instance_class=db.instance_class,
            allocated_storage_gb=db.allocated_storage_gb,
            max_allocated_storage_gb=db.max_allocated_storage_gb,
            backup_retention_days=db.backup_retention_days,
            multi_az=db.multi_az,
            deletion_protection=db.deletion_protection,
            performance_insights=db.performance_insights,
            max_connections=db.max_connections,
            subnet_ids=network.private_subnet_ids,
            security_group_id=network.database_security_group_id,
            protect=cfg.environment == "prod",
            admin_host=db.admin_endpoint.host if db.admin_endpoint else None,
            admin_port=db.admin_endpoint.port if db.admin_endpoint else None,
        ),
        opts=opts,
    )
