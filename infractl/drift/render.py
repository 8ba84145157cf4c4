"""drift.md and drift.json from a classified `DriftRun`.

Kept apart from the classifier so the findings have one meaning and two presentations: the
Markdown an operator reads in an issue, and the JSON a pipeline reads. Only property names reach
either output, never values, so a secret that drifted cannot be printed here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from infractl.drift.classify import (
    DriftKind,
    DriftRun,
    DriftSeverity,
    PropertyDrift,
    ResourceDrift,
    StackDrift,
    StackStatus,
)

JSON_SCHEMA = "infractl.drift/v1"
MAX_ROWS_PER_SECTION = 200


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    clean = _cell(text).replace("`", "'")
    return f"`{clean}`"


KIND_WORD = {"add": "added", "delete": "removed", "update": "changed"}
STATUS_CELL = {
    StackStatus.FAILED: "❌ **check failed**",
    StackStatus.DRIFT: "⚠️ drift",
    StackStatus.CLEAN: "✅ no drift",
}


def _property_cell(props: Sequence[PropertyDrift]) -> str:
    parts = []
    for p in props:
        word = KIND_WORD.get(p.kind.removesuffix("-replace"), p.kind)
        text = f"{_code(p.path)} {word}"
        parts.append(f"**{text}**" if p.severity is DriftSeverity.CRITICAL else text)
    return "<br>".join(parts) or "—"


def _component_cell(component: Sequence[str]) -> str:
    return " > ".join(_code(t) for t in component) or "—"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _capped(rows: list[str], noun: str) -> list[str]:
    if len(rows) <= MAX_ROWS_PER_SECTION:
        return rows
    hidden = len(rows) - MAX_ROWS_PER_SECTION
    return [*rows[:MAX_ROWS_PER_SECTION], "", f"… and {hidden:,} more {noun} (see drift.json)."]


def _stack_heading(stack: StackDrift) -> list[str]:
    """Title, then why the check is incomplete: the reader must know before reading the tables."""
    title = {
        StackStatus.FAILED: f"## ❌ {stack.stack}: check failed",
        StackStatus.DRIFT: f"## ⚠️ {stack.stack}: drift",
        StackStatus.CLEAN: f"## ✅ {stack.stack}: no drift",
    }[stack.status]
    lines = ["", title]
    if stack.error is not None:
        lines += [
            "",
            f"This stack was **not fully checked**; its drift is unknown. {stack.error}",
        ]
    for note in stack.notes:
        lines += ["", f"Note: {note}."]
    return lines


def _resource_row(r: ResourceDrift) -> str:
    """Ignored properties are left out: they have their own table, with the reason."""
    cells = (
        _code(r.name),
        _code(r.type),
        _component_cell(r.component),
        r.reason if r.drift is DriftKind.DELETED else "changed outside Pulumi",
        _property_cell(r.properties_with([DriftSeverity.CRITICAL, DriftSeverity.WARNING])),
    )
    return "| " + " | ".join(cells) + " |"


def _severity_tables(stack: StackDrift) -> list[str]:
    """One table per severity that has resources, critical first, so it is read first."""
    lines: list[str] = []
    for severity, heading in (
        (DriftSeverity.CRITICAL, "🔴 Critical (security-relevant)"),
        (DriftSeverity.WARNING, "🟡 Warning"),
    ):
        chosen = sorted(
            (r for r in stack.resources if r.severity is severity), key=lambda r: (r.type, r.name)
        )
        if not chosen:
            continue
        lines += [
            "",
            f"### {heading}: {len(chosen):,}",
            "",
            "| resource | type | component | drift | properties |",
            "|---|---|---|---|---|",
            *_capped([_resource_row(r) for r in chosen], "resources"),
        ]
    return lines


def _undetailed_section(stack: StackDrift) -> list[str]:
    """Drift the summary counts but no step details: said, with how to find it, not hidden."""
    if not stack.undetailed:
        return []
    return [
        "",
        f"### 🟡 Drift without detail: {stack.undetailed:,}",
        "",
        f"`changeSummary` counts {stack.undetailed:,} more drifted resource(s) than the "
        "steps show: their provider gave no property diff. Run "
        f"`pulumi refresh --preview-only --stack {stack.stack}` to see which.",
    ]


def _ignored_section(stack: StackDrift) -> list[str]:
    """Ignored drift is still listed with its reason, so a stale ignore entry can be noticed."""
    ignored = [
        (r, p)
        for r in sorted(stack.resources, key=lambda r: (r.type, r.name))
        for p in r.properties_with([DriftSeverity.IGNORED])
    ]
    if not ignored:
        return []
    rows = [
        f"| {_code(r.name)} | {_code(r.type)} | {_code(p.path)} | {_cell(p.reason)} |"
        for r, p in ignored
    ]
    return [
        "",
        f"### Ignored (known noise): {_count(len(ignored), 'property', 'properties')}",
        "",
        "| resource | type | property | reason |",
        "|---|---|---|---|",
        *_capped(rows, "ignored properties"),
    ]


def _pending_section(stack: StackDrift) -> list[str]:
    """Pending changes are listed apart so undeployed code is not mistaken for drift."""
    if not stack.pending:
        return []
    rows = [
        f"| {_code(p.op)} | {_code(p.name)} | {_code(p.type)} |"
        for p in sorted(stack.pending, key=lambda p: (p.type, p.name))
    ]
    return [
        "",
        f"### Pending changes (not drift): {len(stack.pending):,}",
        "",
        "Steps only a program run produces; they are code not yet deployed, not changes in "
        "the cloud.",
        "",
        "| op | resource | type |",
        "|---|---|---|",
        *_capped(rows, "pending changes"),
    ]


def _stack_section(stack: StackDrift) -> list[str]:
    return [
        *_stack_heading(stack),
        *_severity_tables(stack),
        *_undetailed_section(stack),
        *_ignored_section(stack),
        *_pending_section(stack),
    ]


def render_markdown(run: DriftRun) -> str:
    failed = [s for s in run.stacks if s.status is StackStatus.FAILED]
    drifted = [s for s in run.stacks if s.status is StackStatus.DRIFT]
    parts = []
    if failed:
        parts.append(f"{len(failed)} of {len(run.stacks)} stack check(s) failed")
    if drifted:
        parts.append(f"drift in {', '.join(s.stack for s in drifted)}")
    headline = "; ".join(parts) if parts else f"no drift in {len(run.stacks)} stack(s)"
    when = run.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    lines = [
        f"# Infrastructure drift: {headline}",
        "",
        f"Project `{run.project}`, checked {when} with `pulumi refresh --preview-only`.",
        "",
        "| stack | result | critical | warning | ignored | pending changes |",
        "|---|---|---|---|---|---|",
    ]
    for s in run.stacks:
        if s.status is StackStatus.FAILED and not s.resources:
            counts = "? | ? | ? | ?"
        else:
            warning = str(s.count(DriftSeverity.WARNING))
            if s.undetailed:
                warning += f" (+{s.undetailed} without detail)"
            counts = (
                f"{s.count(DriftSeverity.CRITICAL)} | {warning} | {s.count(DriftSeverity.IGNORED)} "
                f"| {len(s.pending)}"
            )
        lines.append(f"| {s.stack} | {STATUS_CELL[s.status]} | {counts} |")
    order = {StackStatus.FAILED: 0, StackStatus.DRIFT: 1, StackStatus.CLEAN: 2}
    for s in sorted(run.stacks, key=lambda s: order[s.status]):
        lines += _stack_section(s)
    advice = []
    if failed:
        advice.append(
            "- A failed check: fix the cause above and re-run `infractl drift`; until then that "
            "stack's drift is unknown."
        )
    if drifted:
        advice += [
            "- Drift you want to keep: change the code to match, then `pulumi refresh --stack "
            "<stack>` to record it.",
            "- Drift you do not want: `pulumi up --stack <stack>` puts the code's values back.",
            "- Known noise: add `{type, property, reason}` to the ignore file.",
        ]
    if advice:
        lines += ["", "## What to do", "", *advice]
    return "\n".join(lines) + "\n"


def _property_json(p: PropertyDrift) -> dict[str, Any]:
    return {
        "path": p.path,
        "kind": p.kind,
        "input_diff": p.input_diff,
        "severity": p.severity.value,
        "reason": p.reason,
    }


def _stack_json(s: StackDrift) -> dict[str, Any]:
    return {
        "stack": s.stack,
        "status": s.status.value,
        "error": s.error,
        "notes": list(s.notes),
        "counts": {
            "critical": s.count(DriftSeverity.CRITICAL),
            "warning": s.count(DriftSeverity.WARNING),
            "ignored": s.count(DriftSeverity.IGNORED),
            "undetailed": s.undetailed,
            "pending": len(s.pending),
        },
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "component": list(r.component),
                "drift": r.drift.value,
                "severity": r.severity.value,
                "reason": r.reason,
                "properties": [_property_json(p) for p in r.properties],
            }
            for r in s.resources
        ],
        "pending": [{"urn": p.urn, "type": p.type, "name": p.name, "op": p.op} for p in s.pending],
    }


def to_json_data(run: DriftRun) -> Mapping[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "project": run.project,
        "generated_at": run.generated_at.isoformat(),
        "status": run.status.value,
        "exit_code": run.exit_code,
        "stacks": [_stack_json(s) for s in run.stacks],
    }


def render_json(run: DriftRun) -> str:
    return json.dumps(to_json_data(run), indent=2, ensure_ascii=False) + "\n"
