"""The config level: key paths of two configs compared, and judged by the stack's allowance."""

from __future__ import annotations

from infractl.parity.config_level import compare_config, walk_differences
from infractl.parity.difference import ABSENT
from tests.infractl.parity.parity_stacks import config_of


def test_a_subtree_against_null_is_one_difference_at_its_own_path() -> None:
    reference = {"web": {"autoscaling": {"min_replicas": 2, "max_replicas": 4}, "cpu": 256}}
    other = {"web": {"autoscaling": None, "cpu": 256}, "cron": {"cpu": 256}}
    assert list(walk_differences(reference, other)) == [
        ("web.autoscaling", {"min_replicas": 2, "max_replicas": 4}, None),
        ("cron", ABSENT, {"cpu": 256}),
    ]


def test_an_env_var_only_staging_sets_is_not_allowed() -> None:
    staging = config_of("staging", services__web__env={"FEATURE_CHECKOUT_V2": "on"})
    found = [d for d in compare_config(config_of("prod"), staging) if not d.allowed]
    assert [(d.path, d.reference_value, d.value) for d in found] == [
        ("services.web.env.FEATURE_CHECKOUT_V2", ABSENT, "on")
    ]
    assert found[0].reason == "not in parity.allow of staging"
