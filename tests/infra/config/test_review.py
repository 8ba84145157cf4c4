"""The review tier: a stack `pr-<n>` gets the smallest sizes from its tier's defaults, must expire,
and is refused anything prod-sized (the cost guard), a name that is not its own, or a host name
that could be staging's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.config.errors import ConfigError
from infra.config.layering import TIER_DEFAULTS, deep_merge, resolve_stack_config
from infra.config.models import StackConfig
from infra.config.project import STACK_NAME_PATTERN
from infra.config.review import (
    MAX_PR_NUMBER,
    REVIEW_STACK_PATTERN,
    is_review_stack,
    review_hostname,
    review_stack_name,
)
from tests.infra.config.pinned import pinned_services

STAGING_HOST = "staging.shop.acme.example"
REVIEW: dict[str, Any] = {
    "environment": "review",
    "expires_at": "2030-01-31",
    "services": pinned_services(),
    "aws": {
        "region": "eu-west-1",
        "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/wildcard",
        "public_hostnames": {"web": f"pr-7.{STAGING_HOST}"},
    },
}


def review(stack: str = "pr-7", **override: Any) -> StackConfig:
    return resolve_stack_config(stack, deep_merge(REVIEW, override))


def problem(stack: str = "pr-7", **override: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        review(stack, **override)
    lines = [ln.strip() for ln in str(caught.value).splitlines() if ln.startswith("  platform:")]
    assert len(lines) == 1, str(caught.value)
    return lines[0]


def test_the_review_tier_is_the_smallest_staging_shape() -> None:
    cfg = review()
    db = cfg.database
    assert (cfg.target, cfg.stack) == ("aws", "pr-7")
    assert (db.instance_class, db.allocated_storage_gb, db.max_allocated_storage_gb) == (
        "db.t4g.micro",
        20,
        None,
    )
    assert db.backup_retention_days == 1
    assert not db.multi_az and not db.deletion_protection and not db.performance_insights
    for service in cfg.services.values():
        assert (service.replicas, service.autoscaling, service.cpu, service.memory_mb) == (
            1,
            None,
            256,
            512,
        )
    assert cfg.aws is not None
    # An ALB and an RDS subnet group both need subnets in two zones: the fewest the model allows.
    assert (cfg.aws.availability_zones, cfg.aws.nat_gateways) == (2, "single")
    assert cfg.alerts.notify_emails == []
    assert cfg.parity.reference == "staging"
    assert cfg.expires_at is not None and cfg.expires_at.isoformat() == "2030-01-31"


def test_the_allowance_is_stagings_plus_what_only_a_review_stack_changes() -> None:
    allow = TIER_DEFAULTS["review"]["parity"]["allow"]
    assert set(TIER_DEFAULTS["staging"]["parity"]["allow"]) <= set(allow)
    assert set(allow) - set(TIER_DEFAULTS["staging"]["parity"]["allow"]) == {
        "aws.availability_zones",
        "database.performance_insights",
        "expires_at",
    }


@pytest.mark.parametrize(
    ("stack", "override", "key", "words"),
    [
        ("qa", {}, "platform:environment", "review stacks are named pr-<number>"),
        ("pr-7", {"environment": "staging", "expires_at": None}, "platform:environment", "review"),
        ("pr-7", {"expires_at": None}, "platform:expires_at", "needs an expiry date"),
        ("pr-7", {"expires_at": "31/01/2030"}, "platform:expires_at", "date"),
        ("pr-7", {"target": "docker", "aws": None}, "platform:target", "run on aws"),
        ("pr-7", {"services": {"web": {"replicas": 2}}}, "platform:services.web.replicas", "1"),
        (
            "pr-7",
            {"services": {"worker": {"autoscaling": {"min_replicas": 1, "max_replicas": 3}}}},
            "platform:services.worker.autoscaling",
            "does not scale",
        ),
        (
            "pr-7",
            {"services": {"web": {"cpu": 1024, "memory_mb": 2048}}},
            "platform:services.web.cpu",
            "at most 512 cpu",
        ),
        (
            "pr-7",
            {"database": {"instance_class": "db.m7g.large"}},
            "platform:database.instance_class",
            "micro or small",
        ),
        (
            "pr-7",
            {"database": {"allocated_storage_gb": 100}},
            "platform:database.allocated_storage_gb",
            "at most 50 GB",
        ),
        (
            "pr-7",
            {"database": {"max_allocated_storage_gb": 500}},
            "platform:database.allocated_storage_gb",
            "at most 50 GB",
        ),
        ("pr-7", {"database": {"multi_az": True}}, "platform:database.multi_az", "one zone"),
        (
            "pr-7",
            {"database": {"deletion_protection": True}},
            "platform:database.deletion_protection",
            "destroyable",
        ),
        ("pr-7", {"aws": {"nat_gateways": "per_az"}}, "platform:aws.nat_gateways", "single"),
        (
            "pr-7",
            {"aws": {"public_hostnames": {"web": STAGING_HOST}}},
            "platform:aws.public_hostnames.web",
            "pr-7.<base host name>",
        ),
        (
            "pr-7",
            {"aws": {"public_hostnames": {"web": f"pr-8.{STAGING_HOST}"}}},
            "platform:aws.public_hostnames.web",
            "another review stack's",
        ),
    ],
)
def test_a_review_stack_is_refused_what_is_not_its_own_or_too_big(
    stack: str, override: dict[str, Any], key: str, words: str
) -> None:
    line = problem(stack, **override)
    assert line.startswith(f"{key}:") and words in line, line


def test_only_review_stacks_expire() -> None:
    staging = {
        "environment": "staging",
        "expires_at": "2030-01-31",
        "services": pinned_services(),
        "aws": {**REVIEW["aws"], "public_hostnames": {"web": STAGING_HOST}},
    }
    with pytest.raises(ConfigError, match=r"platform:expires_at: only review stacks expire"):
        resolve_stack_config("staging", staging)


@pytest.mark.parametrize("pr", [1, 42, MAX_PR_NUMBER])
def test_every_supported_pr_number_names_a_valid_stack(pr: int) -> None:
    stack = review_stack_name(pr)
    assert is_review_stack(stack) and re.fullmatch(STACK_NAME_PATTERN, stack)
    assert review_hostname(stack, STAGING_HOST) == f"{stack}.{STAGING_HOST}"


@pytest.mark.parametrize("pr", [0, -1, MAX_PR_NUMBER + 1])
def test_pr_numbers_outside_the_supported_range_are_refused(pr: int) -> None:
    with pytest.raises(ValueError, match=r"outside 1\.\.999999"):
        review_stack_name(pr)


@pytest.mark.parametrize("name", ["pr-0", "pr-01", "pr-1000000", "pr-", "pr-1a", "xpr-1", "PR-1"])
def test_names_that_only_look_like_review_stacks_are_not(name: str) -> None:
    assert not is_review_stack(name)
    assert re.fullmatch(REVIEW_STACK_PATTERN, name) is None
