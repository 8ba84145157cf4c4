"""The docker target: everything on the local Docker engine, published on 127.0.0.1 only, with
the database dumped on a schedule into a volume of its own and watched by exporters that
Prometheus scrapes for the catalog's database rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.alerts import effective_rules, render_prometheus_rules
from components.docker.backup import DatabaseBackup, DatabaseBackupArgs
from components.docker.database import DockerDatabase, DockerDatabaseArgs
from components.docker.exporters import DatabaseExporters, DatabaseExportersArgs
from components.docker.network import DockerNetwork, DockerNetworkArgs
from components.docker.prometheus import (
    Prometheus,
    PrometheusArgs,
    PushgatewaySpec,
    ScrapeTarget,
)
from components.docker.service import DockerService, DockerServiceArgs
from components.postgres import AdminConnection
from infra.config.models import StackConfig
from infra.config.targets import DockerSettings
from infra.targets.common import (
    DATABASE_URL_ENV,
    database_access,
    probe_spec,
    rule_settings,
    service_secret_env,
)


def build_docker(
    cfg: StackConfig, secret_values: Mapping[str, pulumi.Output[str]]
) -> dict[str, Any]:
    settings = cfg.docker or DockerSettings()
    prefix = f"platform-{cfg.stack}"
    network = DockerNetwork("network", DockerNetworkArgs(network_name=prefix))
    database = DockerDatabase(
        "db",
        DockerDatabaseArgs(
            container_name=f"{prefix}-db",
            volume_name=f"{prefix}-db-data",
            image=settings.postgres_image,
            network_name=network.name,
            host_port=settings.database_host_port,
            max_connections=cfg.database.max_connections,
            start_interval=settings.healthcheck_start_interval,
        ),
    )
    access = database_access(
        cfg,
        AdminConnection(
            host=database.admin_host,
            port=database.admin_port,
            username=database.superuser,
            password=database.superuser_password,
            sslmode="disable",
            superuser=True,
        ),
    )
    app_url = access.url(access.app, database.host, database.port)
    owner_url = access.url(access.owner, database.host, database.port)

    service_urls: dict[str, pulumi.Output[str]] = {}
    readiness_paths: dict[str, str] = {}
    targets: list[ScrapeTarget] = []
    for name, service in cfg.services.items():
        host_port = (
            settings.service_host_ports.get(name, service.port)
            if service.port is not None
            else None
        )
        component = DockerService(
            name,
            DockerServiceArgs(
                container_prefix=f"{prefix}-{name}",
                image=service.image,
                network_name=network.name,
                probe=probe_spec(service),
                replicas=service.replicas,
                command=service.command,
                port=service.port,
                host_port=host_port,
                cpu=service.cpu,
                memory_mb=service.memory_mb,
                env=service.env,
                secret_env={
                    **service_secret_env(service, secret_values),
                    DATABASE_URL_ENV: app_url,
                },
                migration_command=service.migration.command if service.migration else None,
                migration_secret_env={DATABASE_URL_ENV: owner_url},
                after=[database, access],
                start_interval=settings.healthcheck_start_interval,
            ),
        )
        if component.url is not None and service.readiness is not None:
            service_urls[name] = component.url
            readiness_paths[name] = service.readiness.path
        if service.port is not None:
            targets.append(
                ScrapeTarget(
                    service=name,
                    addresses=[
                        f"{prefix}-{name}-{index}:{service.port}"
                        for index in range(1, service.replicas + 1)
                    ],
                )
            )

    exporters = DatabaseExporters(
        "db-exporters",
        DatabaseExportersArgs(
            container_prefix=prefix,
            postgres_exporter_image=settings.postgres_exporter_image,
            node_exporter_image=settings.node_exporter_image,
            network_name=network.name,
            # the postgres image serves no TLS; the exporter reaches it on the private network
            data_source_name=access.url(
                access.readonly, database.host, database.port, "sslmode=disable"
            ),
            data_volume_name=database.volume_name,
            after=[database, access],
            start_interval=settings.healthcheck_start_interval,
        ),
    )
    rules = render_prometheus_rules(
        cfg.stack,
        effective_rules(rule_settings(cfg)),
        [(name, service.port is not None) for name, service in cfg.services.items()],
        cfg.alerts.runbook_base_url,
    )
    prometheus = Prometheus(
        "prometheus",
        PrometheusArgs(
            container_name=f"{prefix}-prometheus",
            image=settings.prometheus_image,
            network_name=network.name,
            host_port=settings.prometheus_host_port,
            rules=rules,
            targets=targets,
            exporters=exporters.scrape_jobs,
            stack=cfg.stack,
            pushgateway=PushgatewaySpec(
                container_name=f"{prefix}-pushgateway", image=settings.pushgateway_image
            ),
        ),
    )
    DatabaseBackup(
        "db-backup",
        DatabaseBackupArgs(
            container_name=f"{prefix}-db-backup",
            volume_name=f"{prefix}-db-backups",
            image=settings.postgres_image,
            network_name=network.name,
            host=database.host,
            port=database.port,
            database=access.database_name,
            username=access.owner.name,
            password=access.owner.password,
            pushgateway_url=prometheus.pushgateway_url,
            interval_hours=settings.backup_interval_hours,
            keep=settings.backup_keep,
            after=[access],
            start_interval=settings.healthcheck_start_interval,
        ),
    )
    return {
        "serviceUrls": service_urls,
        "readinessPaths": readiness_paths,
        "prometheusUrl": prometheus.url,
        "alertRuleGroups": prometheus.rule_groups,
        "databaseHost": database.admin_host,
        "databasePort": database.admin_port,
        "databaseName": access.database_name,
        "databaseUrl": access.url(access.app, database.admin_host, database.admin_port),
    }
