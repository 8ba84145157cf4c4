"""The config level: every key path of the validated config, judged by the stack's allowance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from infra.config.models import StackConfig
from infractl.parity.allowance import Allowance
from infractl.parity.difference import ABSENT, Difference, Level

NEVER_COMPARED = ("stack", "parity")
TARGET_KEYS = ("target", "docker", "aws")


def walk_differences(
    reference: Any, value: Any, prefix: str = ""
) -> Iterator[tuple[str, Any, Any]]:
    """Flatten two config trees together into dotted key paths (`services.web.replicas`),
    yielding each path whose values differ.

    Mappings are descended; anything else (scalars, lists, null) is a leaf. A subtree facing a
    leaf or nothing is one difference at its own path, not one per key below it.
    """
    if isinstance(reference, Mapping) and isinstance(value, Mapping):
        keys = list(reference) + [key for key in value if key not in reference]
        for key in keys:
            path = f"{prefix}.{key}" if prefix else str(key)
            yield from walk_differences(reference.get(key, ABSENT), value.get(key, ABSENT), path)
    elif reference != value:
        yield prefix, reference, value


def config_tree(cfg: StackConfig, same_target: bool) -> dict[str, Any]:
    """What the config level compares: everything but identity and the allowance itself."""
    skipped = NEVER_COMPARED if same_target else NEVER_COMPARED + TARGET_KEYS
    return {k: v for k, v in cfg.model_dump(mode="json").items() if k not in skipped}


def compare_config(reference: StackConfig, cfg: StackConfig) -> list[Difference]:
    """Every config path where `cfg` differs from the reference, judged by its allowance."""
    same_target = reference.target == cfg.target
    allowance = Allowance.of(cfg)
    differences = []
    for path, ref_value, value in walk_differences(
        config_tree(reference, same_target), config_tree(cfg, same_target)
    ):
        allowed, reason = allowance.judge(path)
        differences.append(
            Difference(cfg.stack, Level.CONFIG, path, ref_value, value, allowed, reason)
        )
    return differences
