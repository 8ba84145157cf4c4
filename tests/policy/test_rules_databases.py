"""Rules 1 and 2 of policy/rules.py: databases private and encrypted; prod databases durable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.offline import StackRun
from policy import rules
from tests.policy.policy_inputs import (
    caught,
    find,
    options,
    policy_resources,
    rds_instance,
    run_pack,
)

# 1. database-private-and-encrypted


def test_a_private_encrypted_database_passes() -> None:
    assert rules.database_private_and_encrypted(rules.RDS_INSTANCE, rds_instance()) == []
    cluster = {"clusterIdentifier": "c", "storageEncrypted": True}
    assert rules.database_private_and_encrypted(rules.RDS_CLUSTER, cluster) == []


def test_a_public_database_is_refused() -> None:
    props = {**rds_instance(), "publiclyAccessible": True}
    (message,) = rules.database_private_and_encrypted(rules.RDS_INSTANCE, props)
    assert "platform-prod-db" in message and "publiclyAccessible" in message
    member = {"identifier": "c-1", "publiclyAccessible": True}
    assert rules.database_private_and_encrypted(rules.RDS_CLUSTER_INSTANCE, member)


@pytest.mark.parametrize("encrypted", [False, None])
def test_an_unencrypted_database_is_refused(encrypted: bool | None) -> None:
    props = {**rds_instance(), "storageEncrypted": encrypted}
    (message,) = rules.database_private_and_encrypted(rules.RDS_INSTANCE, props)
    assert "storageEncrypted" in message
    assert rules.database_private_and_encrypted(rules.RDS_CLUSTER, {"clusterIdentifier": "c"})


@pytest.mark.parametrize("change", [{"publiclyAccessible": True}, {"storageEncrypted": False}])
def test_the_real_prod_database_made_public_or_unencrypted_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None], change: dict[str, bool]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    database.props = {**database.props, **change}
    assert caught(resources) == {("database-private-and-encrypted", "db-instance")}


# 2. prod-database-durable


def test_a_durable_prod_database_passes() -> None:
    assert (
        rules.prod_database_durable(
            rules.RDS_INSTANCE, rds_instance(), environment="prod", protected=True
        )
        == []
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"multiAz": False}, "multiAz"),
        ({"deletionProtection": False}, "deletionProtection"),
        ({"backupRetentionPeriod": 3}, "3 days"),
        ({"backupRetentionPeriod": None}, "not set"),
    ],
)
def test_a_fragile_prod_database_is_refused(change: dict[str, Any], expected: str) -> None:
    props = {**rds_instance(), **change}
    (message,) = rules.prod_database_durable(
        rules.RDS_INSTANCE, props, environment="prod", protected=True
    )
    assert expected in message


def test_a_prod_cluster_needs_deletion_protection_and_backups() -> None:
    cluster = {"clusterIdentifier": "c", "storageEncrypted": True, "backupRetentionPeriod": 1}
    messages = rules.prod_database_durable(
        rules.RDS_CLUSTER, cluster, environment="prod", protected=True
    )
    assert len(messages) == 2


def test_the_real_prod_database_made_fragile_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    database.props = {**database.props, "multiAz": False, "backupRetentionPeriod": 3}
    violations = run_pack(resources)
    assert {(p, n) for p, n, _ in violations} == {("prod-database-durable", "db-instance")}
    assert len(violations) == 2


def test_the_real_prod_database_without_protect_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    assert database.opts.protect is True
    database.opts = options(protect=False)
    (violation,) = run_pack(resources)
    assert violation[:2] == ("prod-database-durable", "db-instance")
    assert "protect=True" in violation[2]


def test_stagings_single_az_database_passes_only_because_staging_is_not_prod(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    resources = policy_resources(stack_runs["staging"])
    database = find(resources, rules.RDS_INSTANCE, "db-instance")
    assert database.props["multiAz"] is False
    as_stack("staging", "staging")
    assert caught(resources) == set()
    as_stack("staging", "prod")
    assert caught(resources) == {("prod-database-durable", "db-instance")}
