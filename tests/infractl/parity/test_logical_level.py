"""The logical level: the shape every stack is held to, whatever its wildcards."""

from __future__ import annotations

from infractl.parity.logical_level import compare_logical
from tests.infractl.parity.parity_stacks import config_of


def test_dev_runs_the_engine_of_its_image_so_a_stale_image_is_a_logical_difference() -> None:
    prod = config_of("prod")
    dev = config_of("dev", docker__postgres_image="postgres:15.8-alpine")
    [difference] = [d for d in compare_logical(prod, dev) if d.path == "database.engine_version"]
    assert (difference.reference_value, difference.value, difference.allowed) == (16, 15, False)
    assert "wildcards never waive" in difference.reason


def test_only_a_literal_allowance_accepts_a_logical_difference() -> None:
    prod = config_of("prod")
    changed = {"services": {"worker": {"liveness": {"command": ["node", "alive.js"]}}}}
    waived = config_of(
        "dev",
        services__worker__liveness={"command": ["node", "alive.js"]},
        parity={"allow": ["*", "services.worker.liveness"]},
    )
    wildcard = config_of(
        "dev", services__worker__liveness=changed["services"]["worker"]["liveness"]
    )
    path = "services.worker.liveness.command"
    assert [(d.path, d.allowed) for d in compare_logical(prod, wildcard)] == [(path, False)]
    [accepted] = compare_logical(prod, waived)
    assert (accepted.path, accepted.allowed) == (path, True)
    assert "services.worker.liveness" in accepted.reason
