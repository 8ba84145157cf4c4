"""The product's secrets on every target: which ones the stack generates, and which env var of a
service receives which secret."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.config.models import ServiceSettings, StackConfig


def generated_secret_lengths(cfg: StackConfig) -> dict[str, int]:
    """The secrets the stack generates itself (name -> length); the rest are supplied."""
    return {name: spec.length for name, spec in cfg.secrets.items() if spec.source == "generated"}


def service_secret_env(
    service: ServiceSettings, secret_values: Mapping[str, pulumi.Output[str]]
) -> dict[str, pulumi.Output[str]]:
    """The service's env var -> secret value mapping (values stay secret Outputs)."""
    return {env: secret_values[secret] for env, secret in service.secrets.items()}
