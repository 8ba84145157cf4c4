"""Config that only makes sense on AWS, rejected before any resource exists, naming the key.

Each case starts from the real `Pulumi.<stack>.yaml` (layered as the program layers it) and
changes one thing.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.errors import ConfigError
from infra.config.layering import deep_merge, resolve_stack_config
from infra.config.loader import split_platform_config, stack_file_runtime_config
from infra.config.models import StackConfig
from tests.infra.config.pinned import pinned_image
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def stack_file(stack: str) -> dict[str, Any]:
    """The `platform:` overrides of a real stack file, as the program reads them."""
    runtime, _ = stack_file_runtime_config(ROOT / f"Pulumi.{stack}.yaml")
    return dict(split_platform_config(stack, runtime).values)


def resolve(
    stack: str, change: dict[str, Any], drop_hostnames: tuple[str, ...] = ()
) -> StackConfig:
    """The stack file plus `change`, without the `aws.public_hostnames` of `drop_hostnames` (a
    merge can add or replace a key, never remove one)."""
    overrides = stack_file(stack)
    for service in drop_hostnames:
        del overrides["aws"]["public_hostnames"][service]
    return resolve_stack_config(stack, deep_merge(overrides, change))


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_real_aws_stack_files_are_valid(stack: str) -> None:
    cfg = resolve(stack, {})
    assert cfg.target == "aws" and cfg.aws is not None
    assert cfg.aws.certificate_arn is not None
    assert cfg.aws.container_insights is True
    assert set(cfg.aws.public_hostnames) == {n for n, s in cfg.services.items() if s.public}
    assert cfg.aws.route53_zone_id is not None


AWS_ONLY_ERRORS = [
    (
        "prod without multi-AZ",
        "prod",
        {"database": {"multi_az": False}},
        "database.multi_az",
        "prod requires multi_az: true",
    ),
    (
        "prod without deletion protection",
        "prod",
        {"database": {"deletion_protection": False}},
        "database.deletion_protection",
        "prod requires deletion_protection: true",
    ),
    (
        "public service without a certificate",
        "staging",
        {"aws": {"certificate_arn": None}},
        "aws.certificate_arn",
        "public service 'web' needs an ACM certificate ARN",
    ),
    (
        "replicas below the autoscaling minimum",
        "prod",
        {"services": {"web": {"replicas": 2}}},
        "services.web.replicas",
        "2 is outside autoscaling bounds 3..12",
    ),
    (
        "replicas above the autoscaling maximum",
        "staging",
        {"services": {"worker": {"replicas": 3}}},
        "services.worker.replicas",
        "3 is outside autoscaling bounds 1..2",
    ),
    (
        "cpu Fargate does not offer",
        "staging",
        {"services": {"web": {"cpu": 384}}},
        "services.web.cpu",
        "Fargate takes cpu in 256, 512, 1024",
    ),
    (
        "memory outside the Fargate range for its cpu",
        "prod",
        {"services": {"worker": {"memory_mb": 512}}},
        "services.worker.memory_mb",
        "Fargate with cpu 512 takes memory_mb from 1024 to 4096 in steps of 1024",
    ),
    (
        "memory off the Fargate step",
        "staging",
        {"services": {"web": {"cpu": 1024, "memory_mb": 3000}}},
        "services.web.memory_mb",
        "in steps of 1024",
    ),
    (
        "container insights off while the restarts alert reads it",
        "staging",
        {"aws": {"container_insights": False}},
        "aws.container_insights",
        "container_restarts alert reads ECS/ContainerInsights",
    ),
    (
        "no backups on aws",
        "staging",
        {"database": {"backup_retention_days": 0}},
        "database.backup_retention_days",
        "aws stacks keep at least 1 day of backups",
    ),
    (
        "backup alarm looking back more than CloudWatch allows",
        "prod",
        {"alerts": {"rules": {"backup_too_old": {"threshold": 168}}}},
        "alerts.rules.backup_too_old.threshold",
        "threshold + window (168.5 hours) in one CloudWatch period",
    ),
    (
        "a host name for a service that does not exist",
        "staging",
        {"aws": {"public_hostnames": {"admin": "admin.staging.shop.acme.example"}}},
        "aws.public_hostnames.admin",
        "no service 'admin'; services: web, worker",
    ),
    (
        "a host name for a service that is not public",
        "prod",
        {"aws": {"public_hostnames": {"worker": "worker.shop.acme.example"}}},
        "aws.public_hostnames.worker",
        "service 'worker' is not public",
    ),
    (
        "two public services under one host name",
        "staging",
        {
            "services": {
                "admin": {
                    "image": pinned_image("admin"),
                    "port": 3001,
                    "public": True,
                    "readiness": {"path": "/ready"},
                }
            },
            "aws": {"public_hostnames": {"admin": "staging.shop.acme.example"}},
        },
        "aws.public_hostnames.admin",
        "staging.shop.acme.example is already the host name of 'web'",
    ),
    (
        "a URL where a host name goes",
        "prod",
        {"aws": {"public_hostnames": {"web": "https://shop.acme.example"}}},
        "aws.public_hostnames.web",
        "'https://shop.acme.example' does not match",
    ),
    (
        "a Route 53 zone id that is a domain name",
        "staging",
        {"aws": {"route53_zone_id": "shop.acme.example"}},
        "aws.route53_zone_id",
        "'shop.acme.example' does not match",
    ),
    (
        "docker settings on an aws stack",
        "staging",
        {"docker": {}},
        "docker",
        "target is aws",
    ),
    (
        "access logs kept for less than a week",
        "staging",
        {"aws": {"access_log_retention_days": 3}},
        "aws.access_log_retention_days",
        "greater than or equal to 7",
    ),
    (
        "access logs kept for more than ten years",
        "prod",
        {"aws": {"access_log_retention_days": 4000}},
        "aws.access_log_retention_days",
        "less than or equal to 3650",
    ),
    (
        "access log retention as a boolean",
        "prod",
        {"aws": {"access_log_retention_days": True}},
        "aws.access_log_retention_days",
        "write the number",
    ),
]


def test_access_logs_are_kept_a_month_in_staging_and_a_year_in_prod() -> None:
    days = {}
    for stack in ("staging", "prod"):
        aws = resolve(stack, {}).aws
        assert aws is not None
        days[stack] = aws.access_log_retention_days
    assert days == {"staging": 30, "prod": 365}


@pytest.mark.parametrize(
    ("stack", "change", "key", "hint"),
    [case[1:] for case in AWS_ONLY_ERRORS],
    ids=[case[0] for case in AWS_ONLY_ERRORS],
)
def test_aws_only_rules_name_the_key_and_the_fix(
    stack: str, change: dict[str, Any], key: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(stack, change)
    message = str(caught.value)
    assert f"stack '{stack}'" in message
    lines = [ln for ln in message.splitlines() if ln.strip().startswith(f"platform:{key}:")]
    assert lines, f"no line for {key} in:\n{message}"
    line = lines[0]
    assert hint in line, message
    assert [problem.path for problem in caught.value.problems] == [key]


def test_container_insights_may_go_off_with_the_restarts_alert() -> None:
    cfg = resolve(
        "staging",
        {
            "aws": {"container_insights": False},
            "alerts": {"rules": {"container_restarts": {"enabled": False}}},
        },
    )
    assert cfg.aws is not None and cfg.aws.container_insights is False


def test_a_private_only_product_needs_no_certificate() -> None:
    cfg = resolve(
        "staging",
        {"aws": {"certificate_arn": None}, "services": {"web": {"public": False}}},
        drop_hostnames=("web",),
    )
    assert cfg.aws is not None and cfg.aws.certificate_arn is None
    assert cfg.aws.public_hostnames == {}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_public_service_without_a_host_name_is_refused_naming_the_key(stack: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(stack, {}, drop_hostnames=("web",))
    [problem] = caught.value.problems
    assert problem.path == "aws.public_hostnames.web"
    assert "certificate must cover" in problem.message
    assert f"set public_hostnames: {{web: <fqdn>}} under platform:aws in Pulumi.{stack}.yaml" in (
        problem.message
    )


def test_host_names_without_a_zone_are_valid_when_dns_is_managed_elsewhere() -> None:
    cfg = resolve("prod", {"aws": {"route53_zone_id": None}})
    assert cfg.aws is not None and cfg.aws.route53_zone_id is None
    assert cfg.aws.public_hostnames == {"web": "shop.acme.example"}


def test_each_public_service_gets_its_own_host_name() -> None:
    admin = {
        "image": pinned_image("admin"),
        "port": 3001,
        "public": True,
        "readiness": {"path": "/ready"},
    }
    cfg = resolve(
        "staging",
        {
            "services": {"admin": admin},
            "aws": {"public_hostnames": {"admin": "admin.staging.shop.acme.example"}},
        },
    )
    assert cfg.aws is not None
    assert cfg.aws.public_hostnames == {
        "web": "staging.shop.acme.example",
        "admin": "admin.staging.shop.acme.example",
    }
