"""The Pulumi program as a function: read and validate config, then build the platform.

`infra/__main__.py` calls it under the CLI; `infractl plan` and the tests call it under mocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.assembly import build_platform
from infra.config.layering import resolve_stack_config
from infra.config.loader import read_platform_config
from infra.config.models import StackConfig
from infra.config.secrets import OnMissing, supplied_secrets


@dataclass(frozen=True)
class ProgramResult:
    config: StackConfig
    outputs: dict[str, Any]
    placeholders: tuple[str, ...]


def run(on_missing_secrets: OnMissing = "error") -> ProgramResult:
    stack = pulumi.get_stack()
    raw = read_platform_config(stack)
    cfg = resolve_stack_config(stack, raw.values)
    supplied = supplied_secrets(cfg, raw.secret_values, on_missing_secrets)
    outputs = build_platform(cfg, supplied)
    return ProgramResult(config=cfg, outputs=outputs, placeholders=supplied.placeholders)
