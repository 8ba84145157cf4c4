"""What a stack may say about its target: the local Docker engine or an AWS account."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from infra.config.fields import (
    CLOUDWATCH_RETENTION_DAYS,
    DNS_LABEL,
    FQDN,
    ROUTE53_ZONE_ID,
    Model,
    pinned_image,
)

DATABASE_ALIAS = "db"
"""The database's name on a docker stack's network: services reach it as `db:5432`."""
DOCKER_INFRASTRUCTURE_NAMES = (
    DATABASE_ALIAS,
    "prometheus",
    "pushgateway",
    "postgres-exporter",
    "node-exporter",
    "db-backup",
)
"""What the stack's own containers are called on its network; no service may share a name."""
LOWEST_HOST_PORT = 1024
HIGHEST_PORT = 65535
ACCESS_LOG_RETENTION_DAYS = (7, 3650)
"""Bounds on how long access logs are kept: a week, so an incident found after a long weekend
still has its requests; ten years at most."""


class DockerSettings(Model):
    postgres_image: str = "postgres:16.4-alpine"
    prometheus_image: str = "prom/prometheus:v2.53.2"
    pushgateway_image: str = "prom/pushgateway:v1.9.0"
    postgres_exporter_image: str = "quay.io/prometheuscommunity/postgres-exporter:v0.15.0"
    node_exporter_image: Annotated[
        str, Field(description="1.9.0 or newer: it runs with a mount-points-include filter")
    ] = "quay.io/prometheus/node-exporter:v1.9.1"
    backup_interval_hours: Annotated[
        int, Field(ge=1, le=168, description="hours between two pg_dump runs of the database")
    ] = 24
    backup_keep: Annotated[
        int, Field(ge=1, le=100, description="how many dumps the backups volume keeps")
    ] = 7
    database_host_port: Annotated[int, Field(ge=1024, le=65535)] = 15432
    prometheus_host_port: Annotated[int, Field(ge=1024, le=65535)] = 19090
    service_host_ports: dict[str, Annotated[int, Field(ge=1024, le=65535)]] = Field(
        default_factory=dict,
        description="host port per service; replicas take the following ports",
    )
    _pinned_images = field_validator(
        "postgres_image",
        "prometheus_image",
        "pushgateway_image",
        "postgres_exporter_image",
        "node_exporter_image",
    )(pinned_image)
    healthcheck_start_interval: bool = Field(
        default=True,
        description="probe every second or two while a container starts, so `up` sees it "
        "healthy sooner; needs Docker Engine 25+ (API 1.44): set false on older engines "
        "(Debian 12's docker.io 20.10), which refuse containers that ask for it",
    )


class AwsSettings(Model):
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
    vpc_cidr: str = "10.0.0.0/16"
    availability_zones: Annotated[int, Field(ge=2, le=6)] = 2
    nat_gateways: Literal["single", "per_az"] = "single"
    certificate_arn: (
        Annotated[str, Field(pattern=r"^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/.+$")] | None
    ) = None
    public_hostnames: dict[
        Annotated[str, Field(pattern=DNS_LABEL)],
        Annotated[str, Field(pattern=FQDN, max_length=253)],
    ] = Field(
        default_factory=dict,
        description="public service -> the host name clients use; certificate_arn must cover it "
        "and it is the URL `infractl verify` checks",
    )
    route53_zone_id: Annotated[str, Field(pattern=ROUTE53_ZONE_ID)] | None = Field(
        default=None,
        description="the Route 53 hosted zone holding public_hostnames: set, the program keeps "
        "an alias A record per hostname pointing at its ALB; unset, DNS is managed elsewhere",
    )
    log_retention_days: int = 30
    access_log_retention_days: Annotated[
        int,
        Field(
            ge=ACCESS_LOG_RETENTION_DAYS[0],
            le=ACCESS_LOG_RETENTION_DAYS[1],
            description="days the load balancers' access logs stay in their S3 bucket before "
            "they expire (tier defaults in infra/config/layering.py)",
        ),
    ] = 30
    container_insights: bool = True

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, cidr: str) -> str:
        try:
            network = ipaddress.IPv4Network(cidr)
        except ValueError as exc:
            raise PydanticCustomError(
                "cidr", "'{cidr}' is not an IPv4 network like 10.0.0.0/16", {"cidr": cidr}
            ) from exc
        if not 16 <= network.prefixlen <= 20:
            raise PydanticCustomError(
                "cidr", "use a /16 to /20 network so every AZ gets two subnets", {}
            )
        return cidr

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in CLOUDWATCH_RETENTION_DAYS:
            raise PydanticCustomError(
                "retention",
                "CloudWatch keeps logs for one of {allowed} days",
                {"allowed": ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))},
            )
        return days
