"""The docker target: everything on the local Docker engine, published on 127.0.0.1 only, with
the database dumped on a schedule into a volume of its own and watched by exporters that
Prometheus scrapes for the catalog's database rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.alerts import effective_rules, render_prometheus_rules
from components.docker.backup import DatabaseBackup, DatabaseBackupArgs
from components.docker.database import DockerDatabase, DockerDatabaseArgs
from components.docker.exporters import DatabaseExporters, DatabaseExportersArgs
from components.docker.image import ImageSource
from components.docker.network import DockerNetwork, DockerNetworkArgs
from components.docker.prometheus import (
    Prometheus,
    PrometheusArgs,
    PushgatewaySpec,
    ScrapeTarget,
)
from components.docker.service import DockerService, DockerServiceArgs
from components.postgres import AdminConnection, DatabaseAccess
from infra.config.app_env import plain_env
from infra.config.models import ServiceSettings, StackConfig
from infra.config.targets import DATABASE_ALIAS, DockerSettings
from infra.targets.app_secrets import service_secret_env
from infra.targets.database_access import DATABASE_URL_ENV, database_access
from infra.targets.image_builds import build_spec
from infra.targets.monitoring import probe_spec, rule_settings, slo_objectives


@dataclass(frozen=True)
class DockerStack:
    """What every container after the database needs: the config, the name prefix, the network,
    and the database with its roles."""

    cfg: StackConfig
    settings: DockerSettings
    prefix: str
    network: DockerNetwork
    database: DockerDatabase
    access: DatabaseAccess


def build_docker(
    cfg: StackConfig, secret_values: Mapping[str, pulumi.Output[str]]
) -> dict[str, Any]:
    """Create the stack's containers in dependency order and return its outputs."""
    settings = cfg.docker or DockerSettings()
    prefix = f"platform-{cfg.stack}"
    network = DockerNetwork("network", DockerNetworkArgs(network_name=prefix))
    database = _database(cfg, settings, prefix, network)
    stack = DockerStack(
        cfg=cfg,
        settings=settings,
        prefix=prefix,
        network=network,
        database=database,
        access=_database_access(cfg, database),
    )
    services = _services(stack, secret_values)
    prometheus = _prometheus(stack, _exporters(stack))
    _backup(stack, prometheus)
    return {**_outputs(stack, services, prometheus), **_developer_outputs(secret_values)}


def _database(
    cfg: StackConfig, settings: DockerSettings, prefix: str, network: DockerNetwork
) -> DockerDatabase:
    return DockerDatabase(
        DATABASE_ALIAS,
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


def _database_access(cfg: StackConfig, database: DockerDatabase) -> DatabaseAccess:
    """The provider logs in as the container's superuser on the published port."""
    return database_access(
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


def _services(
    stack: DockerStack, secret_values: Mapping[str, pulumi.Output[str]]
) -> dict[str, DockerService]:
    """Services connect as the app role; migrations as the owner role."""
    access, database = stack.access, stack.database
    app_url = access.url(access.app, database.host, database.port)
    owner_url = access.url(access.owner, database.host, database.port)
    return {
        name: _service(stack, name, service, secret_values, app_url, owner_url)
        for name, service in stack.cfg.services.items()
    }


def _image_source(stack: DockerStack, name: str, service: ServiceSettings) -> ImageSource:
    """A pinned image wins (the stack file chose a registry build); otherwise dev builds it."""
    if service.image is not None:
        return service.image
    assert service.build is not None  # the model requires one of the two
    return build_spec(stack.cfg.stack, stack.prefix, name, service.build)


def _service(
    stack: DockerStack,
    name: str,
    service: ServiceSettings,
    secret_values: Mapping[str, pulumi.Output[str]],
    app_url: pulumi.Output[str],
    owner_url: pulumi.Output[str],
) -> DockerService:
    settings = stack.settings
    host_port = (
        settings.service_host_ports.get(name, service.port) if service.port is not None else None
    )
    return DockerService(
        name,
        DockerServiceArgs(
            container_prefix=f"{stack.prefix}-{name}",
            image=_image_source(stack, name, service),
            network_name=stack.network.name,
            probe=probe_spec(service),
            replicas=service.replicas,
            command=service.command,
            port=service.port,
            host_port=host_port,
            cpu=service.cpu,
            memory_mb=service.memory_mb,
            env=plain_env(stack.cfg, name),
            secret_env={
                **service_secret_env(service, secret_values),
                DATABASE_URL_ENV: app_url,
            },
            migration_command=service.migration.command if service.migration else None,
            migration_secret_env={DATABASE_URL_ENV: owner_url},
            after=[stack.database, stack.access],
            start_interval=settings.healthcheck_start_interval,
        ),
    )


def _exporters(stack: DockerStack) -> DatabaseExporters:
    settings, access, database = stack.settings, stack.access, stack.database
    return DatabaseExporters(
        "db-exporters",
        DatabaseExportersArgs(
            container_prefix=stack.prefix,
            postgres_exporter_image=settings.postgres_exporter_image,
            node_exporter_image=settings.node_exporter_image,
            network_name=stack.network.name,
            # the postgres image serves no TLS; the exporter reaches it on the private network
            data_source_name=access.url(
                access.readonly, database.host, database.port, "sslmode=disable"
            ),
            data_volume_name=database.volume_name,
            after=[database, access],
            start_interval=settings.healthcheck_start_interval,
        ),
    )


def _prometheus(stack: DockerStack, exporters: DatabaseExporters) -> Prometheus:
    """Prometheus evaluates the catalog's rules as this stack runs them."""
    cfg, settings = stack.cfg, stack.settings
    rules = render_prometheus_rules(
        cfg.stack,
        effective_rules(rule_settings(cfg)),
        [(name, service.port is not None) for name, service in cfg.services.items()],
        cfg.alerts.runbook_base_url,
        slo_objectives(cfg),
    )
    return Prometheus(
        "prometheus",
        PrometheusArgs(
            container_name=f"{stack.prefix}-prometheus",
            image=settings.prometheus_image,
            network_name=stack.network.name,
            host_port=settings.prometheus_host_port,
            rules=rules,
            targets=_scrape_targets(stack),
            exporters=exporters.scrape_jobs,
            stack=cfg.stack,
            pushgateway=PushgatewaySpec(
                container_name=f"{stack.prefix}-pushgateway", image=settings.pushgateway_image
            ),
        ),
    )


def _scrape_targets(stack: DockerStack) -> list[ScrapeTarget]:
    """Every replica of every service with a port (or a metrics port), by its container name on
    the network."""
    return [
        ScrapeTarget(
            service=name,
            addresses=[
                f"{stack.prefix}-{name}-{index}:{service.port or service.metrics_port}"
                for index in range(1, service.replicas + 1)
            ],
        )
        for name, service in stack.cfg.services.items()
        if (service.port or service.metrics_port) is not None
    ]


def _backup(stack: DockerStack, prometheus: Prometheus) -> DatabaseBackup:
    """Dumps as the owner role and reports each run to the pushgateway for the backup alert."""
    settings, access, database = stack.settings, stack.access, stack.database
    return DatabaseBackup(
        "db-backup",
        DatabaseBackupArgs(
            container_name=f"{stack.prefix}-db-backup",
            volume_name=f"{stack.prefix}-db-backups",
            image=settings.postgres_image,
            network_name=stack.network.name,
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


def _developer_outputs(secret_values: Mapping[str, pulumi.Output[str]]) -> dict[str, Any]:
    """What `infractl env --stack dev --secrets` needs to run the app outside Docker: the app's
    secrets by name, as one Pulumi secret (encrypted in the state, `[secret]` when shown). Only
    the docker target exports them: a developer's own machine, not a shared account."""
    return {"appSecrets": pulumi.Output.secret(pulumi.Output.all(**dict(secret_values)))}


def _outputs(
    stack: DockerStack, services: Mapping[str, DockerService], prometheus: Prometheus
) -> dict[str, Any]:
    """Only services with a URL and a readiness path are listed, so verification can probe them."""
    access, database = stack.access, stack.database
    service_urls: dict[str, pulumi.Output[str]] = {}
    readiness_paths: dict[str, str] = {}
    for name, service in stack.cfg.services.items():
        url = services[name].url
        if url is not None and service.readiness is not None:
            service_urls[name] = url
            readiness_paths[name] = service.readiness.path
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
