"""The aws target: ECS Fargate behind ALBs (their access logs in one S3 bucket), RDS PostgreSQL
backed up by AWS Backup, Secrets Manager, CloudWatch + SNS, and one ECR repository per service
for the images the deploy workflow pushes.

Every AWS resource goes through one explicit provider whose `default_tags` carry the stack-wide
tags (environment, managed-by); per-service resources add only their `service` tag. Components
get the provider once and their children inherit it through `parent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.config.models import StackConfig
from infra.targets.aws.access_logs import build_access_logs
from infra.targets.aws.alarms import build_alarms
from infra.targets.aws.database import build_database
from infra.targets.aws.network import build_network
from infra.targets.aws.outputs import stack_outputs
from infra.targets.aws.provider import aws_target
from infra.targets.aws.registry import build_registry
from infra.targets.aws.secrets import build_secrets
from infra.targets.aws.services import build_cluster, build_services

__all__ = ["build_aws"]


def build_aws(cfg: StackConfig, secret_values: Mapping[str, pulumi.Output[str]]) -> dict[str, Any]:
    """Create the stack's AWS resources in dependency order and return its outputs."""
    target = aws_target(cfg)
    network = build_network(target)
    database = build_database(target, network)
    secrets = build_secrets(target, secret_values, database)
    repositories = build_registry(target)
    cluster = build_cluster(target)
    access_logs = build_access_logs(target)
    services = build_services(
        target, network, cluster, secrets, database.access, repositories, access_logs
    )
    alarms = build_alarms(target, cluster, services, database)
    return stack_outputs(cfg, cluster, services, database, secrets, alarms, repositories)
