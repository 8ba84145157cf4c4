"""Defaults per environment tier, in one place, and the layering that applies them.

A stack's config = PRODUCT, then its tier's defaults, then its `Pulumi.<stack>.yaml` overrides
(mappings merge key by key, lists and scalars replace). Target settings blocks (`docker:`,
`aws:`) from the defaults apply only to the target the stack ends up on.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError, Problem
from infra.config.loader import split_platform_config, stack_file_path, stack_file_runtime_config
from infra.config.models import StackConfig, validate_stack_config
from infra.product import PRODUCT

TARGET_BLOCKS = ("docker", "aws")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `override` replaces what `base` had."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# What staging and prod may differ in: sizes, counts and protections, plus each stack's own
# identity on the internet (certificate, host names, DNS zone); never shape.
SIZE_AND_PROTECTION = [
    "environment",
    "services.*.replicas",
    "services.*.autoscaling",
    "services.*.cpu",
    "services.*.memory_mb",
    "services.*.image",
    "database.instance_class",
    "database.allocated_storage_gb",
    "database.max_allocated_storage_gb",
    "database.backup_retention_days",
    "database.multi_az",
    "database.deletion_protection",
    "database.max_connections",
    "database.admin_endpoint",
    "aws.nat_gateways",
    "aws.certificate_arn",
    "aws.public_hostnames.*",
    "aws.route53_zone_id",
    "aws.log_retention_days",
    "aws.access_log_retention_days",
    "aws.vpc_cidr",
    "alerts.notify_emails",
    "alerts.rules.*.threshold",
]

# A review stack (`pr-<n>`, infra/config/review.py) is held to staging, the stack it is made
# from: what staging may differ from prod in, plus its zone count (the minimum an ALB takes),
# Performance Insights (off) and its expiry date.
REVIEW_ALLOWANCE = [
    *SIZE_AND_PROTECTION,
    "aws.availability_zones",
    "database.performance_insights",
    "expires_at",
]

TIER_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "dev": {
        "target": "docker",
        "database": {"backup_retention_days": 1, "multi_az": False, "deletion_protection": False},
        "alerts": {"notify_emails": []},
        "parity": {"reference": "prod", "allow": ["*"]},
        "docker": {},
    },
    "staging": {
        "target": "aws",
        "database": {
            "instance_class": "db.t4g.small",
            "allocated_storage_gb": 20,
            "max_allocated_storage_gb": 100,
            "backup_retention_days": 7,
            "multi_az": False,
            "deletion_protection": False,
            "performance_insights": True,
        },
        "parity": {"reference": "prod", "allow": SIZE_AND_PROTECTION},
        "aws": {
            "nat_gateways": "single",
            "log_retention_days": 30,
            "access_log_retention_days": 30,
        },
    },
    "prod": {
        "target": "aws",
        "database": {
            "instance_class": "db.m7g.large",
            "allocated_storage_gb": 100,
            "max_allocated_storage_gb": 500,
            "backup_retention_days": 14,
            "multi_az": True,
            "deletion_protection": True,
            "performance_insights": True,
            "max_connections": 400,
        },
        "parity": {"reference": "prod", "allow": SIZE_AND_PROTECTION},
        # A year of ALB access logs: how far back a payments dispute or an audit asks.
        "aws": {
            "nat_gateways": "per_az",
            "log_retention_days": 90,
            "access_log_retention_days": 365,
        },
    },
    # The smallest that still has staging's shape: one 256/512 task per service (the product's
    # size; the model refuses replicas, autoscaling or sizes above that guard), a micro database
    # in one zone with 20 GB and a day of backups, no protection, nobody paged. Two zones: an
    # ALB and an RDS subnet group both need subnets in at least two.
    "review": {
        "target": "aws",
        "database": {
            "instance_class": "db.t4g.micro",
            "allocated_storage_gb": 20,
            "backup_retention_days": 1,
            "multi_az": False,
            "deletion_protection": False,
            "performance_insights": False,
        },
        "alerts": {"notify_emails": []},
        "parity": {"reference": "staging", "allow": REVIEW_ALLOWANCE},
        "aws": {"availability_zones": 2, "nat_gateways": "single", "log_retention_days": 3},
    },
}


def layered_config(stack: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """PRODUCT <- tier defaults <- stack overrides, before validation."""
    environment = overrides.get("environment")
    if not isinstance(environment, str) or environment not in TIER_DEFAULTS:
        got = "not set" if environment is None else f"'{environment}'"
        raise ConfigError(
            stack,
            [Problem("environment", f"{got}; set it to one of {', '.join(TIER_DEFAULTS)}")],
        )
    tier = TIER_DEFAULTS[environment]
    target = overrides.get("target", tier["target"])
    tier_for_target = {
        key: value for key, value in tier.items() if key not in TARGET_BLOCKS or key == target
    }
    if target in TARGET_BLOCKS and target not in tier_for_target:
        tier_for_target[target] = {}
    return deep_merge(deep_merge(PRODUCT, tier_for_target), overrides)


def resolve_stack_config(stack: str, overrides: Mapping[str, Any]) -> StackConfig:
    return validate_stack_config(stack, layered_config(stack, overrides))


def stack_file_config(path: Path, stack: str) -> StackConfig:
    """A stack's validated config from its stack file, without evaluating the program."""
    runtime, secret_keys = stack_file_runtime_config(path)
    return resolve_stack_config(stack, split_platform_config(stack, runtime, secret_keys).values)


def load_stack_config(root: Path, stack: str) -> StackConfig:
    """`Pulumi.<stack>.yaml` of the project at `root`, validated."""
    return stack_file_config(stack_file_path(root, stack), stack)
