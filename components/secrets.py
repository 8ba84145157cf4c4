"""The stack's secret values, generated or supplied, all as secret Outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_random as random

from components.type_tokens import SECRET_VALUES


@dataclass(frozen=True)
class SecretValuesArgs:
    generated: Mapping[str, int] = field(default_factory=dict)
    """Secret name -> length, for secrets the stack generates (pulumi-random)."""
    supplied: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Secret name -> value from stack config, already a secret Output."""


class SecretValues(pulumi.ComponentResource):
    values: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: SecretValuesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(SECRET_VALUES, name, None, opts)
        values: dict[str, pulumi.Output[str]] = {
            key: pulumi.Output.secret(value) for key, value in args.supplied.items()
        }
        for key, length in args.generated.items():
            password = random.RandomPassword(
                f"{name}-{key.replace('_', '-')}",
                length=length,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            values[key] = pulumi.Output.secret(password.result)
        self.values = values
        self.register_outputs({"names": sorted(values)})
