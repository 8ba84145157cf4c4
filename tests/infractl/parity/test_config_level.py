"""The config level: key paths of two configs compared, and judged by the stack's allowance."""

from __future__ import annotations

import json

from infractl.parity.config_level import compare_config, walk_differences
from infractl.parity.difference import ABSENT
from infractl.pulumi.wire import SECRET_TEXT
from tests.infractl.parity.parity_stacks import config_of


def test_a_subtree_against_null_is_one_difference_at_its_own_path() -> None:
    reference = {"web": {"autoscaling": {"min_replicas": 2, "max_replicas": 4}, "cpu": 256}}
    other = {"web": {"autoscaling": None, "cpu": 256}, "cron": {"cpu": 256}}
    assert list(walk_differences(reference, other)) == [
        ("web.autoscaling", {"min_replicas": 2, "max_replicas": 4}, None),
        ("cron", ABSENT, {"cpu": 256}),
    ]


def test_an_env_var_only_staging_sets_is_not_allowed() -> None:
    staging = config_of("staging", services__web__env={"CHECKOUT_V2": "on"})
    found = [d for d in compare_config(config_of("prod"), staging) if not d.allowed]
    assert [(d.path, d.reference_value, d.value) for d in found] == [
        ("services.web.env.CHECKOUT_V2", ABSENT, "on")
    ]
    assert found[0].reason == "not in parity.allow of staging"


def test_a_value_under_a_secret_looking_or_sensitive_name_is_never_printed() -> None:
    """Config refuses such names in plain env; parity still masks them if one gets through
    (a config built without validation here), saying that the value differs, not what it is."""
    prod = config_of("prod")
    web = prod.services["web"]
    leaked = web.model_copy(
        update={"env": {**web.env, "DB_PASS": "hunter2-SENTINEL", "LICENCE": "lic-SENTINEL"}}
    )
    marked = leaked.model_copy(update={"sensitive_env": ["LICENCE"]})
    staging = prod.model_copy(
        update={"stack": "staging", "services": {**prod.services, "web": marked}}
    )
    found = {d.path: d for d in compare_config(prod, staging)}
    for path in ("services.web.env.DB_PASS", "services.web.env.LICENCE"):
        assert (found[path].reference_value, found[path].value) == (ABSENT, SECRET_TEXT)
    assert "SENTINEL" not in json.dumps([d.to_json() for d in found.values()])
