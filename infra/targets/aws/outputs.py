"""The aws stack's outputs, keyed as exported; the keys it shares with docker mean the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.aws.alarms import Alarms
from components.aws.cluster import Cluster
from components.aws.registry import ImageRepository
from components.aws.service import Service
from infra.config.models import StackConfig
from infra.targets.aws.database import StackDatabase
from infra.targets.aws.secrets import SecretStores


def stack_outputs(
    cfg: StackConfig,
    cluster: Cluster,
    services: Mapping[str, Service],
    database: StackDatabase,
    secrets: SecretStores,
    alarms: Alarms,
    repositories: Mapping[str, ImageRepository],
) -> dict[str, Any]:
    """What `infractl verify` and operators read; only `databaseUrl` is secret.

    `imageRepositories` (service -> repository URL) is where this stack's images live; an
    image the stack runs is `<url>@sha256:<digest>`."""
    instance = database.instance
    return {
        **_service_outputs(cfg, cluster, services),
        "databaseEndpoint": instance.endpoint,
        "databaseHost": instance.address,
        "databasePort": instance.port,
        "databaseName": database.access.database_name,
        "databaseUrl": database.app_url,
        "secretArns": secrets.arns,
        "alarmTopicArn": alarms.topic_arn,
        "imageRepositories": {name: repository.url for name, repository in repositories.items()},
    }


def _service_outputs(
    cfg: StackConfig, cluster: Cluster, services: Mapping[str, Service]
) -> dict[str, Any]:
    """Where each service answers and what verification reads to find it."""
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
    }
