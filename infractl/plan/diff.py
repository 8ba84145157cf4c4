"""What a change to the code does to a stack, from two offline plans: resources added and
removed, inputs changed (secrets masked), and which of those lose data by our stateful rules.

Pure: two `infractl plan --json` documents in, a diff out. A fork's pull request gets no cloud
credentials and so no `pulumi preview`; this is what its reviewer sees instead. Mocks cannot
say whether a provider will replace or update a resource, so a changed stateful resource is
flagged for review and only a removed one is called destructive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.config.secret_names import looks_secret
from infractl.pulumi.properties import safe_scalar
from infractl.pulumi.urn import Urn
from infractl.pulumi.wire import SECRET_TEXT
from infractl.stateful import is_stateful, stateful_component

MAX_PATHS_PER_RESOURCE = 12
MAX_ROWS = 300


SECRET_SHOWN = "(secret)"
LONG_SHOWN = "(long value)"
ABSENT_SHOWN = "(absent)"


@dataclass(frozen=True)
class InputChange:
    path: str
    old: str
    """What a reviewer may see: a short value as text, or SECRET_SHOWN / LONG_SHOWN /
    ABSENT_SHOWN; markdown quoting is added only when rendering."""
    new: str


@dataclass(frozen=True)
class ResourceChange:
    kind: str
    """`add`, `remove` or `change`."""
    urn: str
    type: str
    name: str
    inputs: tuple[InputChange, ...] = ()
    stateful: str | None = None
    """Why losing this resource loses data (its type or its component), or None."""

    @property
    def destructive(self) -> bool:
        return self.kind == "remove" and self.stateful is not None


@dataclass(frozen=True)
class PlanDiff:
    stack: str
    ref: str
    changes: tuple[ResourceChange, ...] = field(default_factory=tuple)
    new_stack: bool = False
    """The stack has no stack file at the ref: everything is added."""

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change.kind == kind)

    @property
    def destructive(self) -> tuple[ResourceChange, ...]:
        return tuple(change for change in self.changes if change.destructive)


def diff_plans(
    stack: str, ref: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> PlanDiff:
    """The diff from the plan at `ref` (None: no such stack there) to the working tree's."""
    before = _resources(old) if old is not None else {}
    after = _resources(new)
    changes: list[ResourceChange] = []
    for urn, resource in after.items():
        if urn not in before:
            changes.append(_change("add", resource))
        else:
            inputs = tuple(_input_changes(before[urn].get("inputs"), resource.get("inputs")))
            if inputs:
                changes.append(_change("change", resource, inputs))
    changes += [_change("remove", resource) for urn, resource in before.items() if urn not in after]
    order = {"remove": 0, "change": 1, "add": 2}
    changes.sort(key=lambda c: (not c.destructive, order[c.kind], c.type, c.name, c.urn))
    return PlanDiff(stack=stack, ref=ref, changes=tuple(changes), new_stack=old is None)


def _resources(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    resources = document.get("resources")
    if not isinstance(resources, list):
        return {}
    return {
        r["urn"]: r for r in resources if isinstance(r, Mapping) and isinstance(r.get("urn"), str)
    }


def _change(
    kind: str, resource: Mapping[str, Any], inputs: tuple[InputChange, ...] = ()
) -> ResourceChange:
    urn = str(resource["urn"])
    type_ = str(resource.get("type", ""))
    parsed = Urn.parse(urn)
    component = stateful_component(parsed.parent_types) if parsed else None
    stateful = (
        f"{type_} holds data"
        if is_stateful(type_)
        else f"part of {component}, which holds a database"
        if component
        else None
    )
    name = str(resource.get("name", parsed.name if parsed else urn))
    return ResourceChange(kind, urn, type_, name, inputs, stateful)


def _input_changes(old: Any, new: Any) -> Iterator[InputChange]:
    for count, (path, before, after) in enumerate(_leaf_differences(old, new, "")):
        if count == MAX_PATHS_PER_RESOURCE:
            yield InputChange("…", "", "")
            return
        if any(looks_secret(part) for part in path.replace("[", ".").split(".")):
            yield InputChange(path, SECRET_SHOWN, SECRET_SHOWN)
        else:
            yield InputChange(path, _shown(before), _shown(after))


def _leaf_differences(old: Any, new: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            yield from _leaf_differences(old.get(key, _ABSENT), new.get(key, _ABSENT), child)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            yield from _leaf_differences(before, after, f"{path}[{index}]")
    elif old != new:
        yield path, old, new


_ABSENT = object()


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return ABSENT_SHOWN
    if value == SECRET_TEXT:
        return SECRET_SHOWN
    if isinstance(value, list | dict):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        if SECRET_TEXT in text:
            return SECRET_SHOWN
        return text if len(text) <= 80 else LONG_SHOWN
    scalar = safe_scalar(value, limit=80)
    return LONG_SHOWN if scalar is None else scalar


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _value(text: str) -> str:
    return text if text in (SECRET_SHOWN, LONG_SHOWN, ABSENT_SHOWN) else f"`{_cell(text)}`"


def render_markdown(diffs: Sequence[PlanDiff]) -> str:
    """One PR comment for every stack's offline diff."""
    lines = ["## Offline plan diff (mocks, no credentials)", ""]
    for diff in diffs:
        summary = (
            f"{diff.count('add'):,} added, {diff.count('remove'):,} removed, "
            f"{diff.count('change'):,} changed"
        )
        if diff.destructive:
            summary += f" — ⚠️ **{len(diff.destructive):,} destructive**"
        if diff.new_stack:
            summary += " (a new stack: no stack file at the base)"
        lines.append(f"- **{diff.stack}** against `{_cell(diff.ref)}`: {summary}")
    for diff in diffs:
        lines += _stack_section(diff)
    lines += [
        "",
        "Mocks cannot tell a replacement from an update: a changed stateful resource is marked "
        "for review; the real `pulumi preview` decides.",
    ]
    return "\n".join(lines) + "\n"


def _stack_section(diff: PlanDiff) -> list[str]:
    if not diff.changes:
        return ["", f"### {diff.stack}", "", "No resource changes."]
    lines = ["", f"### {diff.stack}", "", "| | resource | type | inputs |", "|---|---|---|---|"]
    marks = {"add": "+", "remove": "-", "change": "~"}
    for change in diff.changes[:MAX_ROWS]:
        mark = marks[change.kind]
        if change.destructive:
            mark = "⚠️ -"
        elif change.kind == "change" and change.stateful:
            mark = "~ (review: stateful)"
        inputs = "<br>".join(
            f"`{_cell(i.path)}`: {_value(i.old)} → {_value(i.new)}" if i.path != "…" else "…"
            for i in change.inputs
        )
        why = f" ({_cell(change.stateful)})" if change.destructive and change.stateful else ""
        lines.append(
            f"| {mark} | `{_cell(change.name)}`{why} | `{_cell(change.type)}` | {inputs or '—'} |"
        )
    if len(diff.changes) > MAX_ROWS:
        lines.append(f"\n… and {len(diff.changes) - MAX_ROWS:,} more.")
    return lines


def to_json(diffs: Sequence[PlanDiff]) -> list[dict[str, Any]]:
    return [
        {
            "stack": diff.stack,
            "ref": diff.ref,
            "newStack": diff.new_stack,
            "destructive": len(diff.destructive),
            "changes": [
                {
                    "kind": c.kind,
                    "urn": c.urn,
                    "type": c.type,
                    "name": c.name,
                    "destructive": c.destructive,
                    "stateful": c.stateful,
                    "inputs": [{"path": i.path, "old": i.old, "new": i.new} for i in c.inputs],
                }
                for c in diff.changes
            ],
        }
        for diff in diffs
    ]
