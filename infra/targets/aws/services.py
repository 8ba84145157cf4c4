"""The ECS cluster and one Fargate service per configured service, each public one behind its own
ALB with an HTTPS listener."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.aws.access_logs import AccessLogs
from components.aws.cluster import Cluster, ClusterArgs
from components.aws.network import Network
from components.aws.registry import ImageRepository
from components.aws.service import PublicEndpoint, Scaling, Service, ServiceArgs
from components.postgres import DatabaseAccess
from infra.config.app_env import plain_env
from infra.config.models import ServiceSettings
from infra.targets.aws.provider import AwsTarget
from infra.targets.aws.secrets import SecretStores
from infra.targets.monitoring import probe_spec


def build_cluster(target: AwsTarget) -> Cluster:
    """One cluster per stack; container insights feed the container_restarts alarm."""
    return Cluster(
        "cluster",
        ClusterArgs(
            cluster_name=target.prefix, container_insights=target.settings.container_insights
        ),
        opts=target.on_aws,
    )


def build_services(
    target: AwsTarget,
    network: Network,
    cluster: Cluster,
    secrets: SecretStores,
    access: DatabaseAccess,
    repositories: Mapping[str, ImageRepository],
    access_logs: AccessLogs,
) -> dict[str, Service]:
    """One Fargate service per configured service, keyed by its config name."""
    return {
        name: Service(
            name,
            _service_args(target, network, cluster, secrets, access_logs, name, service),
            # Tasks start only once their database roles and grants exist, and the repository
            # they pull from does.
            opts=pulumi.ResourceOptions(
                providers=[target.provider], depends_on=[access, repositories[name]]
            ),
        )
        for name, service in target.cfg.services.items()
    }


def _service_args(
    target: AwsTarget,
    network: Network,
    cluster: Cluster,
    secrets: SecretStores,
    access_logs: AccessLogs,
    name: str,
    service: ServiceSettings,
) -> ServiceArgs:
    settings = target.settings
    return ServiceArgs(
        family=f"{target.prefix}-{name}",
        service_name=name,
        region=settings.region,
        cluster_arn=cluster.arn,
        cluster_name=cluster.name,
        image=_image(name, service),
        probe=probe_spec(service),
        subnet_ids=network.private_subnet_ids,
        security_group_ids=[network.service_security_group_id],
        cpu=service.cpu,
        memory_mb=service.memory_mb,
        replicas=service.replicas,
        log_retention_days=settings.log_retention_days,
        command=service.command,
        port=service.port,
        env=plain_env(target.cfg, name),
        secrets=secrets.service_secrets(service),
        migration_command=service.migration.command if service.migration else None,
        migration_secrets=secrets.migration_secrets(service),
        scaling=_scaling(service),
        public=_public_endpoint(target, network, access_logs, name) if service.public else None,
        health_check_grace_seconds=service.health_check_grace_seconds,
        tags={"service": name},
    )


def _image(name: str, service: ServiceSettings) -> str:
    """The image pinned by digest in this stack's registry (aws stacks never build)."""
    if service.image is None:
        raise ValueError(f"validated config guarantees an image for aws service '{name}'")
    return service.image


def _scaling(service: ServiceSettings) -> Scaling | None:
    """CPU target tracking when configured; otherwise Pulumi owns the desired count."""
    if not service.autoscaling:
        return None
    return Scaling(
        min_replicas=service.autoscaling.min_replicas,
        max_replicas=service.autoscaling.max_replicas,
        cpu_target_percent=service.autoscaling.cpu_target_percent,
    )


def _public_endpoint(
    target: AwsTarget, network: Network, access_logs: AccessLogs, name: str
) -> PublicEndpoint:
    """The ALB in the public subnets, serving the certificate for the service's host name and
    writing its access logs under the service's name in the stack's bucket."""
    settings = target.settings
    return PublicEndpoint(
        vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids,
        security_group_id=network.lb_security_group_id,
        certificate_arn=settings.certificate_arn or "",
        hostname=settings.public_hostnames[name],
        zone_id=settings.route53_zone_id,
        deletion_protection=target.prod,
        access_logs=access_logs.destination(name),
    )
