"""The config level: every key path of the validated config, judged by the stack's allowance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from infra.config.models import StackConfig
from infra.config.secret_names import looks_secret
from infractl.parity.allowance import Allowance
from infractl.parity.difference import ABSENT, Difference, Level
from infractl.pulumi.wire import SECRET_TEXT

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
        if is_sensitive(path, reference, cfg):
            ref_value, value = _masked(ref_value), _masked(value)
        differences.append(
            Difference(cfg.stack, Level.CONFIG, path, ref_value, value, allowed, reason)
        )
    return differences


def is_sensitive(path: str, *configs: StackConfig) -> bool:
    """A config path whose value parity must not print: a secret-looking key on the way, or an
    env var a service marks sensitive (`services.<svc>.sensitive_env`)."""
    segments = path.split(".")
    if any(looks_secret(segment) for segment in segments):
        return True
    if len(segments) >= 4 and segments[0] == "services" and segments[2] == "env":
        service, name = segments[1], segments[3]
        return any(
            name in cfg.services[service].sensitive_env
            for cfg in configs
            if service in cfg.services
        )
    return False


def _masked(value: Any) -> Any:
    return value if value is ABSENT else SECRET_TEXT
