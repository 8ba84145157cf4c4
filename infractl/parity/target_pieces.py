"""The resource level across targets: the same logical pieces, each built by its component."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from components.type_tokens import (
    AWS_ACCESS_LOGS,
    AWS_ALARMS,
    AWS_CLUSTER,
    AWS_DATABASE,
    AWS_DATABASE_BACKUPS,
    AWS_IMAGE_REPOSITORY,
    AWS_LOAD_BALANCER,
    AWS_NETWORK,
    AWS_SECRET_STORE,
    AWS_SERVICE,
    AWS_UPTIME_CHECKS,
    DOCKER_DATABASE,
    DOCKER_DATABASE_BACKUP,
    DOCKER_DATABASE_EXPORTERS,
    DOCKER_NETWORK,
    DOCKER_PROMETHEUS,
    DOCKER_SERVICE,
    POSTGRES_DATABASE_ACCESS,
    SECRET_VALUES,
)
from infractl.parity.allowance import Allowance
from infractl.parity.difference import ABSENT, Difference, Level
from infractl.parity.logical_level import judge_logical
from infractl.pulumi.resource import Resource


class Piece(StrEnum):
    """A logical part of the platform that every target builds, each with its own component."""

    NETWORK = "network"
    SERVICE = "service"
    DATABASE = "database"
    DATABASE_ACCESS = "database-access"
    SECRETS = "secrets"
    MONITORING = "monitoring"
    BACKUPS = "backups"


COMPONENT_PIECES: Mapping[str, Piece | None] = {
    # docker <-> aws: the component that builds each logical piece on each target. `None` marks
    # a component that only one target needs (no counterpart is expected).
    DOCKER_NETWORK: Piece.NETWORK,
    AWS_NETWORK: Piece.NETWORK,
    DOCKER_SERVICE: Piece.SERVICE,
    AWS_SERVICE: Piece.SERVICE,
    DOCKER_DATABASE: Piece.DATABASE,
    AWS_DATABASE: Piece.DATABASE,
    POSTGRES_DATABASE_ACCESS: Piece.DATABASE_ACCESS,
    SECRET_VALUES: Piece.SECRETS,
    DOCKER_PROMETHEUS: Piece.MONITORING,
    DOCKER_DATABASE_EXPORTERS: Piece.MONITORING,  # aws: RDS metrics in CloudWatch
    AWS_ALARMS: Piece.MONITORING,
    DOCKER_DATABASE_BACKUP: Piece.BACKUPS,
    AWS_DATABASE_BACKUPS: Piece.BACKUPS,
    AWS_ACCESS_LOGS: None,  # docker has no load balancer: its services answer on host ports
    AWS_CLUSTER: None,
    AWS_IMAGE_REPOSITORY: None,  # docker builds or pulls on the engine itself: no registry
    AWS_LOAD_BALANCER: None,
    AWS_SECRET_STORE: None,
    AWS_UPTIME_CHECKS: None,  # Route 53 probes public host names; dev has none (its
    # readiness is watched from inside, like aws's, by the unhealthy_targets rule)
}
PER_NAME = frozenset({Piece.SERVICE})
"""Pieces matched one per component name (each service); the others are one per stack."""


def _pieces(resources: Sequence[Resource]) -> tuple[dict[str, list[str]], list[str]]:
    """Piece path -> the components building it, and the `platform:` types nobody mapped."""
    pieces: dict[str, list[str]] = {}
    unmapped: list[str] = []
    for r in resources:
        if not r.type.startswith("platform:"):
            continue
        if r.type not in COMPONENT_PIECES:
            unmapped.append(r.type)
            continue
        piece = COMPONENT_PIECES[r.type]
        if piece is None:
            continue
        path = f"components.{piece}.{r.name}" if piece in PER_NAME else f"components.{piece}"
        pieces.setdefault(path, []).append(r.key)
    return pieces, unmapped


def compare_components(
    level: Level,
    allowance: Allowance,
    reference: Sequence[Resource],
    resources: Sequence[Resource],
) -> list[Difference]:
    """Across targets: every logical piece of the reference built on this stack, and no other.

    A service piece follows the logical path `services.<name>`, so only a literal allowance
    accepts one missing or extra; the other pieces are never optional.
    """
    ref_pieces, ref_unmapped = _pieces(reference)
    my_pieces, my_unmapped = _pieces(resources)
    differences: list[Difference] = []
    # An unmapped type both sides build stands for itself; one side only has no counterpart.
    for type_ in dict.fromkeys(ref_unmapped + my_unmapped):
        if (type_ in ref_unmapped) == (type_ in my_unmapped):
            continue
        differences.append(
            Difference(
                allowance.stack,
                level,
                f"components.{type_}",
                type_ if type_ in ref_unmapped else ABSENT,
                type_ if type_ in my_unmapped else ABSENT,
                False,
                "no counterpart on the other target, and none declared in COMPONENT_PIECES",
            )
        )
    for path in list(ref_pieces) + [p for p in my_pieces if p not in ref_pieces]:
        if (path in ref_pieces) == (path in my_pieces):
            continue
        logical = path.replace(f"components.{Piece.SERVICE}.", "services.", 1)
        allowed, why = judge_logical(allowance, logical)
        differences.append(
            Difference(
                allowance.stack,
                level,
                path,
                ", ".join(ref_pieces[path]) if path in ref_pieces else ABSENT,
                ", ".join(my_pieces[path]) if path in my_pieces else ABSENT,
                allowed,
                why,
            )
        )
    return differences
