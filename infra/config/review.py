"""Review stacks: one short-lived stack per pull request, `pr-<number>`, made from staging's
placement (account, region, certificate, zone) and sized like nothing else.

What a review stack is lives here, beside the models that validate it: its name and the largest
PR number it supports, the host name it is served at, how long it may live and its cost guard
(the sizes it may not exceed). Its tier's defaults are in `infra/config/layering.py`;
`infractl review` writes its stack file. Runbook: docs/runbooks/review-stacks.md
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Protocol

from infra.config.services import ServiceSettings
from infra.config.targets import AwsSettings

REVIEW = "review"
"""The environment tier of every review stack."""
REVIEW_BASE = "staging"
"""The stack a review stack is made from and held to in parity: same account, same shape."""
MAX_PR_NUMBER = 999_999
REVIEW_STACK_PATTERN = r"^pr-[1-9][0-9]{0,5}$"
"""`pr-1` to `pr-999999`: the longest, `pr-999999`, still fits every AWS name the program builds
from it (tests/infra/targets/test_aws_review_names.py)."""
DEFAULT_TTL_DAYS = 7
MAX_TTL_DAYS = 30
MAX_CPU = 512
MAX_MEMORY_MB = 1024
MAX_STORAGE_GB = 50
INSTANCE_CLASSES = r"^db\.(t3|t4g)\.(micro|small)$"
"""Burstable and small: a review database holds a pull request's test data, never load."""

_REVIEW_STACK = re.compile(REVIEW_STACK_PATTERN)
_INSTANCE_CLASS = re.compile(INSTANCE_CLASSES)


def is_review_stack(stack: str) -> bool:
    return _REVIEW_STACK.fullmatch(stack) is not None


def review_stack_name(pr: int) -> str:
    """`pr-<pr>`; a ValueError outside 1..MAX_PR_NUMBER."""
    if not 1 <= pr <= MAX_PR_NUMBER:
        raise ValueError(f"pull request number {pr} is outside 1..{MAX_PR_NUMBER}")
    return f"pr-{pr}"


def review_hostname(stack: str, base_hostname: str) -> str:
    """`pr-7.staging.shop.acme.example`: one label under the base stack's name, so one wildcard
    certificate (`*.staging.shop.acme.example`) covers every review stack."""
    return f"{stack}.{base_hostname}"


class SizedDatabase(Protocol):
    """What the cost guard reads of `infra.config.models.DatabaseSettings`."""

    @property
    def instance_class(self) -> str: ...
    @property
    def allocated_storage_gb(self) -> int: ...
    @property
    def max_allocated_storage_gb(self) -> int | None: ...
    @property
    def multi_az(self) -> bool: ...
    @property
    def deletion_protection(self) -> bool: ...


Problems = list[tuple[str, str]]
"""(key path, message) pairs, as `rule_error` reports them."""


def identity_problems(
    stack: str, environment: str, target: str, expires_at: date | None
) -> Problems:
    """The name `pr-<n>` and the tier `review` go together, review stacks run on aws (in the
    staging account), and only review stacks expire."""
    named = is_review_stack(stack)
    if environment == REVIEW and not named:
        return [
            (
                "environment",
                f"review stacks are named pr-<number> (1 to {MAX_PR_NUMBER}); '{stack}' is not",
            )
        ]
    if named and environment != REVIEW:
        return [
            (
                "environment",
                f"'{stack}' names a review stack, so its environment is review "
                "(`infractl review up` writes its stack file)",
            )
        ]
    if environment == REVIEW and target != "aws":
        return [("target", "review stacks run on aws, in the staging account")]
    if environment == REVIEW and expires_at is None:
        return [
            (
                "expires_at",
                "a review stack needs an expiry date (YYYY-MM-DD): the nightly cleanup destroys "
                "it after that day; `infractl review up` sets it",
            )
        ]
    if environment != REVIEW and expires_at is not None:
        return [("expires_at", "only review stacks expire; remove it")]
    return []


def cost_problems(
    stack: str,
    services: Mapping[str, ServiceSettings],
    database: SizedDatabase,
    aws: AwsSettings | None,
) -> Problems:
    """A review stack is never sized like prod: one small task per service, one small
    database in one zone, one NAT gateway, and its own host names."""
    return [
        *_service_problems(services),
        *_database_problems(database),
        *_aws_problems(stack, aws),
    ]


def _service_problems(services: Mapping[str, ServiceSettings]) -> Problems:
    problems: Problems = []
    for name, service in services.items():
        if service.replicas != 1:
            problems.append((f"services.{name}.replicas", "a review stack runs 1 replica"))
        if service.autoscaling is not None:
            problems.append((f"services.{name}.autoscaling", "a review stack does not scale"))
        if service.cpu > MAX_CPU or service.memory_mb > MAX_MEMORY_MB:
            problems.append(
                (
                    f"services.{name}.cpu",
                    f"a review task takes at most {MAX_CPU} cpu and {MAX_MEMORY_MB} MiB "
                    f"(got {service.cpu} and {service.memory_mb})",
                )
            )
    return problems


def _database_problems(database: SizedDatabase) -> Problems:
    problems: Problems = []
    if _INSTANCE_CLASS.fullmatch(database.instance_class) is None:
        problems.append(
            (
                "database.instance_class",
                f"a review database is a micro or small t3/t4g, not {database.instance_class}",
            )
        )
    sizes = [database.allocated_storage_gb, database.max_allocated_storage_gb or 0]
    if max(sizes) > MAX_STORAGE_GB:
        problems.append(
            ("database.allocated_storage_gb", f"a review database has at most {MAX_STORAGE_GB} GB")
        )
    if database.multi_az:
        problems.append(("database.multi_az", "a review database runs in one zone"))
    if database.deletion_protection:
        problems.append(
            ("database.deletion_protection", "a review stack must be destroyable by its cleanup")
        )
    return problems


def _aws_problems(stack: str, aws: AwsSettings | None) -> Problems:
    if aws is None:
        return []  # the aws rules say what is missing
    problems: Problems = []
    if aws.nat_gateways != "single":
        problems.append(("aws.nat_gateways", "a review stack has one NAT gateway (single)"))
    for name, hostname in aws.public_hostnames.items():
        if not hostname.startswith(f"{stack}."):
            problems.append(
                (
                    f"aws.public_hostnames.{name}",
                    f"a review stack is served under its own name, {stack}.<base host name> "
                    f"(got {hostname}); any other could be staging's or another review stack's",
                )
            )
    return problems
