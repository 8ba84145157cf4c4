"""Assembles one stack: its secrets, then its target's components."""

from __future__ import annotations

from typing import Any

from components.secrets import SecretValues, SecretValuesArgs
from infra.config import StackConfig
from infra.secrets import SuppliedSecrets
from infra.targets.aws import build_aws
from infra.targets.common import generated_secret_lengths
from infra.targets.docker import build_docker


def build_platform(cfg: StackConfig, supplied: SuppliedSecrets) -> dict[str, Any]:
    """Create every resource of the stack and return its outputs, keyed as exported."""
    secrets = SecretValues(
        "secrets",
        SecretValuesArgs(generated=generated_secret_lengths(cfg), supplied=supplied.values),
    )
    outputs = {"stack": cfg.stack, "environment": cfg.environment, "target": cfg.target}
    if cfg.target == "docker":
        return {**outputs, **build_docker(cfg, secrets.values)}
    return {**outputs, **build_aws(cfg, secrets.values)}
