"""Parity: where each stack departs from its reference stack, and whether it may.

Data in, differences out: validated configs, registrations recorded under mocks and resources
read from `pulumi stack export`. Nothing in this package but `command.py` starts the Pulumi
runtime. This module runs every level; each level lives in its own module, and every one reports
a `Difference` (`difference.py`) judged against the stack's `parity.allow` (`allowance.py`).

Levels, each stack against the reference:
- config (`config_level.py`): every key path of the validated config. A difference is allowed
  only where the stack's `parity.allow` names the path: `*` matches one segment and a pattern
  covers everything under it, so `*` alone allows everything. `stack` and `parity` are never
  compared; `target`, `docker` and `aws` only between stacks of the same target (across targets
  the logical level holds).
- logical (`logical_level.py`): the shape every stack is held to whatever its target or its
  wildcards: services (ports, public, readiness path, liveness and migration commands, secrets
  injected), secret names, enabled alert rules, database name, roles and engine major version.
  Only a literal allowance (no `*` segment) naming the path, or a prefix of it, accepts a logical
  difference.
- resource: the graphs evaluated under mocks. Same target (`graph_level.py`): the same resources
  (type + logical name) under the same parents; a resource present on one side only must be
  explained by an allowed config difference through `PRESENCE_RULES`. Across targets
  (`target_pieces.py`): the same logical pieces, each built by the component `COMPONENT_PIECES`
  assigns it.
- live: the same graph checks on the deployed resources, plus the `KEY_INPUTS` of resources both
  stacks have (`key_inputs.py`). A key input that departs from what the stack's own config plans
  (a hand-made change) always fails; one that differs between the stacks as planned is allowed
  when the config path it follows is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infractl.parity.allowance import Allowance
from infractl.parity.config_level import compare_config
from infractl.parity.difference import LEVEL_ORDER, Difference, Level
from infractl.parity.graph_level import compare_graphs
from infractl.parity.key_inputs import compare_key_inputs, departures
from infractl.parity.logical_level import compare_logical
from infractl.parity.stack_state import StackState
from infractl.parity.target_pieces import compare_components


@dataclass(frozen=True)
class ParityReport:
    """Every difference found, in stack then level order; what the command prints."""

    reference: str
    stacks: tuple[str, ...]
    differences: tuple[Difference, ...]

    @property
    def ok(self) -> bool:
        return all(d.allowed for d in self.differences)

    @property
    def failures(self) -> list[Difference]:
        return [d for d in self.differences if not d.allowed]

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "stacks": list(self.stacks),
            "differences": [d.to_json() for d in self.differences],
            "ok": self.ok,
        }


def compare_stack(reference: StackState, state: StackState, live: bool) -> list[Difference]:
    """Every difference of one stack from the reference, at every level."""
    allowance = Allowance.of(state.config)
    config_diffs = compare_config(reference.config, state.config)
    differences = config_diffs + compare_logical(reference.config, state.config)
    level = Level.LIVE if live else Level.RESOURCE
    if live:
        if reference.deployed is None or state.deployed is None:
            raise ValueError("live parity needs the deployed resources of both stacks")
        ref_graph, my_graph = reference.deployed, state.deployed
    else:
        ref_graph, my_graph = reference.planned, state.planned
    if reference.config.target == state.config.target:
        differences += compare_graphs(level, state.name, ref_graph, my_graph, config_diffs)
        if live:
            differences += compare_key_inputs(allowance, reference, state, config_diffs)
    else:
        differences += compare_components(level, allowance, ref_graph, my_graph)
    return differences


def check(reference: StackState, stacks: Sequence[StackState], live: bool = False) -> ParityReport:
    """Compare every stack with the reference; a departure of the reference itself is reported
    once, however many stacks see it."""
    seen: set[tuple[str, Level, str]] = set()
    differences: list[Difference] = []
    found: list[Difference] = []
    if live:
        checked = {reference.name: reference, **{state.name: state for state in stacks}}
        for state in checked.values():
            found += departures(state)
    for state in stacks:
        if state.name != reference.name:
            found += compare_stack(reference, state, live)
    for difference in found:
        identity = (difference.stack, difference.level, difference.path)
        if identity not in seen:
            seen.add(identity)
            differences.append(difference)
    order = {state.name: index for index, state in enumerate(stacks)}
    differences.sort(key=lambda d: (order.get(d.stack, -1), LEVEL_ORDER[d.level]))
    return ParityReport(
        reference=reference.name,
        stacks=tuple(state.name for state in stacks),
        differences=tuple(differences),
    )
