"""Secret values supplied through stack config: present, missing, or planned with placeholders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi

from infra.config.errors import ConfigError, Problem
from infra.config.loader import SECRET_VALUES_KEY
from infra.config.models import StackConfig

OnMissing = Literal["error", "placeholder"]


def placeholder(name: str) -> str:
    return f"[placeholder: secret '{name}' is not set for this stack]"


def set_command(stack: str, name: str) -> str:
    return (
        f"pulumi config set --stack {stack} --secret --path "
        f"'platform:{SECRET_VALUES_KEY}.{name}' <value>"
    )


class MissingSecretsError(Exception):
    def __init__(self, stack: str, names: list[str]) -> None:
        self.stack = stack
        self.names = names
        lines = [f"stack '{stack}' needs {len(names)} secret(s) that are not set; set each with:"]
        lines += [f"  {set_command(stack, name)}" for name in names]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class SuppliedSecrets:
    values: Mapping[str, pulumi.Output[str]]
    placeholders: tuple[str, ...]
    """Names planned with a placeholder because the stack has not set them (plan mode only)."""


def supplied_secrets(
    cfg: StackConfig, secret_values: Mapping[str, str], on_missing: OnMissing
) -> SuppliedSecrets:
    """Every config-sourced secret as a secret Output; unknown or missing ones are errors."""
    wanted = sorted(name for name, spec in cfg.secrets.items() if spec.source == "config")
    unknown = sorted(set(secret_values) - set(wanted))
    if unknown:
        raise ConfigError(
            cfg.stack,
            [
                Problem(
                    f"{SECRET_VALUES_KEY}.{name}",
                    "no secret of that name takes its value from config; config-sourced "
                    f"secrets: {', '.join(wanted) or 'none'}",
                )
                for name in unknown
            ],
        )
    missing = [name for name in wanted if name not in secret_values]
    if missing and on_missing == "error":
        raise MissingSecretsError(cfg.stack, missing)
    values = {
        name: pulumi.Output.secret(secret_values.get(name, placeholder(name))) for name in wanted
    }
    return SuppliedSecrets(values=values, placeholders=tuple(missing))
