"""Whatever a stack file holds, reading and validating it ends in a config error or a config:
never another exception, and never an error that quotes a secret value planted where secrets go
(secret values, and the env of a name that looks secret). Errors may quote plain settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.config.errors import ConfigError
from infra.config.layering import deep_merge, resolve_stack_config
from infra.config.loader import StackFileError, split_platform_config, stack_file_runtime_config

SENTINEL = "sk_live_FUZZ_SENTINEL_7731"
KEYS = [
    "environment", "target", "services", "web", "worker", "replicas", "port", "image", "env",
    "secrets", "database", "engine_version", "alerts", "rules", "high_cpu", "threshold",
    "docker", "service_host_ports", "aws", "region", "parity", "allow", "readiness", "path",
    "DB_PASS", "API_TOKEN", "LOG_LEVEL", "autoscaling", "migration", "command", "liveness",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["dev", "prod", "aws", "docker", "16", "nan", "inf", "a:1"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    environment=st.sampled_from(["dev", "staging", "prod", "qa"]),
    overrides=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6),
    plant=st.booleans(),
)
def test_any_config_validates_or_fails_as_a_config_error(
    environment: str, overrides: dict[str, Any], plant: bool
) -> None:
    """Half the examples plant a secret (always refused, never quoted); the other half reach
    every rule, and a config that validates is a real one."""
    stack = environment if environment != "qa" else "dev"
    planted = {"services": {"web": {"env": {"DB_PASS": SENTINEL, "API_TOKEN": SENTINEL}}}}
    config = {"environment": environment, **overrides}
    try:
        cfg = resolve_stack_config(stack, deep_merge(config, planted) if plant else config)
    except ConfigError as exc:
        assert str(exc).startswith(f"invalid config for stack '{stack}'")
        assert SENTINEL not in str(exc)
    else:
        assert not plant, "a plain env var named like a secret was accepted"
        assert cfg.stack == stack and cfg.environment == environment and cfg.services


@SETTINGS
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_in_a_stack_file_read_or_fail_as_a_stack_file_error(
    tmp_path_factory: Any, raw: bytes
) -> None:
    path: Path = tmp_path_factory.mktemp("stack") / "Pulumi.dev.yaml"
    path.write_bytes(raw)
    try:
        stack_file_runtime_config(path)
    except StackFileError as exc:
        assert "Pulumi.dev.yaml" in str(exc)


@SETTINGS
@given(document=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_any_yaml_document_as_a_stack_file_ends_in_one_of_our_errors(
    tmp_path_factory: Any, document: dict[str, Any]
) -> None:
    config = {f"platform:{key}": value for key, value in document.items()}
    config["platform:secretValues"] = {"payments_api_key": SENTINEL}
    path: Path = tmp_path_factory.mktemp("stack") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    try:
        runtime, secret_keys = stack_file_runtime_config(path)
        values = split_platform_config("dev", runtime, secret_keys).values
        resolve_stack_config("dev", {key: json.loads(json.dumps(v)) for key, v in values.items()})
    except (StackFileError, ConfigError) as exc:
        assert SENTINEL not in str(exc)
