"""Feature flags: declared once in the product, set per stack, injected as FEATURE_<NAME>; a bad
value fails naming the stack and the key; only per-environment flags may differ in parity."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import offline
from infra.config.errors import ConfigError
from infra.config.layering import resolve_stack_config
from infra.config.models import StackConfig
from infractl.parity.config_level import compare_config
from tests.infra.config.pinned import pinned_services
from tests.paths import REPO_ROOT


def dev(**extra: Any) -> StackConfig:
    return resolve_stack_config("dev", {"environment": "dev", **extra})


def error(**extra: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        dev(**extra)
    (line,) = [ln for ln in str(caught.value).splitlines() if ln.startswith("  platform:")]
    return line.strip()


def test_every_declared_flag_is_injected_with_the_stacks_value_or_the_default() -> None:
    cfg = dev(features={"new_checkout": True})
    assert cfg.feature_env() == {"FEATURE_NEW_CHECKOUT": "true", "FEATURE_ORDERS_PAGE_SIZE": "20"}


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            {"new_chekout": True},
            "platform:features.new_chekout: no flag named new_chekout; the product declares: "
            "new_checkout, orders_page_size",
        ),
        ({"new_checkout": "true"}, "a bool flag takes true or false, got 'true'"),
        ({"new_checkout": 1}, "a bool flag takes true or false, got 1"),
        ({"orders_page_size": True}, "an int flag"),
        ({"orders_page_size": "20"}, "takes a whole number such as 20, got '20'"),
    ],
)
def test_an_unknown_flag_or_a_wrong_type_names_the_key(
    features: dict[str, Any], message: str
) -> None:
    line = error(features=features)
    assert line.startswith("platform:features.")
    assert message in line


def test_a_flag_default_of_the_wrong_type_is_refused_in_the_product() -> None:
    flags = {"beta": {"type": "int", "default": "many", "description": "x"}}
    assert error(flags=flags).startswith("platform:flags.beta.default: an int flag takes")


def test_a_service_may_not_set_a_feature_variable_itself() -> None:
    line = error(services={"web": {"env": {"FEATURE_NEW_CHECKOUT": "true"}}})
    assert line.startswith("platform:services.web.env.FEATURE_NEW_CHECKOUT: FEATURE_* variables")


@pytest.mark.parametrize(
    ("stack", "value"), [("dev", "true"), ("staging", "true"), ("prod", "false")]
)
def test_the_containers_get_the_stacks_flags(stack: str, value: str) -> None:
    run = offline.run_stack(REPO_ROOT, stack)
    if run.config.target == "aws":
        task = next(t for t in run.by_type("aws:ecs/taskDefinition:TaskDefinition"))
        container = json.loads(task.inputs["containerDefinitions"])[-1]
        env = {v["name"]: v["value"] for v in container["environment"]}
    else:
        web = next(c for c in run.by_type("docker:index/container:Container") if c.name == "web-1")
        envs = web.inputs["envs"]
        envs = envs["value"] if isinstance(envs, dict) else envs
        env = dict(e.partition("=")[::2] for e in envs if isinstance(e, str))
    assert env["FEATURE_NEW_CHECKOUT"] == value
    assert env["FEATURE_ORDERS_PAGE_SIZE"] == "20"


def _aws(stack: str, features: dict[str, Any]) -> StackConfig:
    aws = {
        "region": "eu-west-1",
        "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/abc",
        "public_hostnames": {"web": f"{stack}.shop.acme.example"},
    }
    return resolve_stack_config(
        stack,
        {"environment": stack, "services": pinned_services(), "aws": aws, "features": features},
    )


def test_parity_allows_only_a_per_environment_flag_to_differ() -> None:
    prod = _aws("prod", {})
    staged = compare_config(prod, _aws("staging", {"new_checkout": True}))
    (flag,) = [d for d in staged if d.path == "features.new_checkout"]
    assert flag.allowed and "per_environment" in flag.reason
    shaped = compare_config(prod, _aws("staging", {"orders_page_size": 50}))
    (size,) = [d for d in shaped if d.path == "features.orders_page_size"]
    assert not size.allowed
