"""The logical level: the shape every stack is held to, whatever its target or its wildcards."""

from __future__ import annotations

import re
from typing import Any

from components.alerts import CATALOG
from infra.config.models import StackConfig
from infractl.parity.allowance import Allowance
from infractl.parity.config_level import walk_differences
from infractl.parity.difference import Difference, Level

_MAJOR = re.compile(r"^(\d+)")


def engine_major(cfg: StackConfig) -> int | None:
    """The PostgreSQL major version the stack really runs: docker runs its image's tag, not
    `database.engine_version`, so a stale image would otherwise pass unnoticed."""
    if cfg.target == "docker" and cfg.docker is not None:
        tag = cfg.docker.postgres_image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
        match = _MAJOR.match(tag)
        return int(match.group(1)) if match else None
    return cfg.database.major_version


def logical_tree(cfg: StackConfig) -> dict[str, Any]:
    """The target-independent shape, keyed by the config paths that set it."""
    enabled = {
        rule.id: cfg.alerts.rules[rule.id].enabled if rule.id in cfg.alerts.rules else True
        for rule in CATALOG
    }
    return {
        "services": {
            name: {
                "port": service.port,
                "public": service.public,
                "readiness": {"path": service.readiness.path} if service.readiness else None,
                "liveness": {"command": service.liveness.command} if service.liveness else None,
                "migration": {"command": service.migration.command} if service.migration else None,
                "secrets": dict(service.secrets),
            }
            for name, service in cfg.services.items()
        },
        "secrets": dict.fromkeys(cfg.secrets, "declared"),
        "alerts": {"rules": {rule_id: {"enabled": on} for rule_id, on in enabled.items()}},
        "database": {
            "name": cfg.database.name,
            "engine_version": engine_major(cfg),
            "roles": cfg.database.roles.model_dump(),
        },
    }


def judge_logical(allowance: Allowance, path: str) -> tuple[bool, str]:
    """Only a literal allowance waives a logical difference: a wildcard is never a decision."""
    pattern = allowance.literal_covering(path)
    if pattern is None:
        return False, (
            f"not in parity.allow of {allowance.stack} as a literal path "
            "(wildcards never waive a logical difference)"
        )
    return (
        True,
        f"logical, accepted by a literal allowance in parity.allow of {allowance.stack}: {pattern}",
    )


def compare_logical(reference: StackConfig, cfg: StackConfig) -> list[Difference]:
    """Every path of the logical shape where `cfg` differs from the reference."""
    allowance = Allowance.of(cfg)
    differences = []
    for path, ref_value, value in walk_differences(logical_tree(reference), logical_tree(cfg)):
        allowed, reason = judge_logical(allowance, path)
        differences.append(
            Difference(cfg.stack, Level.LOGICAL, path, ref_value, value, allowed, reason)
        )
    return differences
