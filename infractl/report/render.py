"""Parsed previews -> one markdown PR comment.

Pure: data in, text out. What reviewers must not miss (replacing or deleting stateful or protected
resources) goes first; the rest is grouped by the component that owns it. Only property names,
and old/new values that are short non-secret scalars, are ever printed: a preview can carry
values a PR comment must never show. The comment is cut to fit GitHub's limit by dropping the
least important rows first and saying how many were dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from infractl.pulumi.digest import DiffKind, PreviewDigest, PropertyDiff, Step, path_is_secret
from infractl.pulumi.ops import ChangeKind, Op
from infractl.pulumi.properties import MISSING, lookup, safe_scalar
from infractl.pulumi.urn import Urn
from infractl.pulumi.wire import ROOT_STACK_TYPE, UNKNOWN_VALUE
from infractl.report.health import errors_section, health_note, no_changes_text
from infractl.stateful import is_stateful, stateful_component

GITHUB_COMMENT_LIMIT = 65_536
DEFAULT_MAX_CHARS = 65_000
MAX_PROPERTIES_PER_ROW = 8
SUMMARY_ORDER = (ChangeKind.CREATE, ChangeKind.UPDATE, ChangeKind.REPLACE, ChangeKind.DELETE)
OP_LABEL = {
    ChangeKind.CREATE: "+ create",
    ChangeKind.UPDATE: "~ update",
    ChangeKind.REPLACE: "+- replace",
    ChangeKind.DELETE: "- delete",
}


class Importance(IntEnum):
    """Lower is kept longer when the comment has to be cut."""

    DESTRUCTIVE = 0
    REMOVAL = 1
    CREATE = 2
    UPDATE = 3
    OTHER = 4


@dataclass(frozen=True, slots=True)
class StackPreview:
    stack: str
    digest: PreviewDigest


@dataclass(frozen=True, slots=True)
class Component:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Change:
    stack: str
    step: Step
    kind: ChangeKind
    destructive: bool
    why: tuple[str, ...]
    component: Component

    @property
    def importance(self) -> Importance:
        if self.destructive:
            return Importance.DESTRUCTIVE
        return {
            ChangeKind.REPLACE: Importance.REMOVAL,
            ChangeKind.DELETE: Importance.REMOVAL,
            ChangeKind.CREATE: Importance.CREATE,
            ChangeKind.UPDATE: Importance.UPDATE,
        }.get(self.kind, Importance.OTHER)


@dataclass(frozen=True, slots=True)
class PreviewReport:
    markdown: str
    changes: tuple[Change, ...]
    omitted: int

    @property
    def destructive(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.destructive)


def code(text: str) -> str:
    """An inline code span that cannot break out of a table cell or the span itself."""
    clean = " ".join(text.split()).replace("`", "'").replace("|", "\\|")
    return f"`{clean}`"


def component_of(step: Step) -> Component:
    return _component(step.urn.parent_types, step.parent_urn)


@lru_cache(maxsize=4096)
def _component(chain: tuple[str, ...], parent_urn: str | None) -> Component:
    if not chain:
        return Component(key="", label="Top-level resources")
    parent = Urn.parse(parent_urn or "")
    key = str(parent) if parent else "$".join(chain)
    label = " > ".join(code(t) for t in chain)
    if parent is not None and parent.type != ROOT_STACK_TYPE:
        label += f" {code(parent.name)}"
    return Component(key=key, label=label)


def _forcing_properties(step: Step) -> list[str]:
    if step.replace_reasons:
        return list(step.replace_reasons)
    return [p.path for p in step.changed_properties() if p.forces_replacement]


def _destructive_reasons(step: Step, kind: ChangeKind) -> tuple[str, ...]:
    if kind not in (ChangeKind.REPLACE, ChangeKind.DELETE):
        return ()
    marks = []
    if is_stateful(step.type):
        marks.append("stateful type")
    elif (holder := stateful_component(step.urn.parent_types)) is not None:
        marks.append(f"part of a database ({code(holder)})")
    if step.protected:
        marks.append("protected (`protect: true`)")
    if not marks:
        return ()
    if kind is ChangeKind.REPLACE:
        forcing = _forcing_properties(step)
        cause = (
            "replaced because " + ", ".join(code(p) for p in forcing) + " changed"
            if forcing
            else "replaced (the provider gave no reason)"
        )
    else:
        cause = "deleted: no longer declared by the program"
    return (*marks, cause)


def collect_changes(preview: StackPreview) -> list[Change]:
    """One Change per resource that changes; the replacement-step family of one URN folds into
    one replace (the logical `replace` step is preferred: it carries the diff)."""
    changes: list[Change] = []
    replace_at: dict[Urn, int] = {}
    for step in preview.digest.steps:
        kind = step.kind
        if kind is ChangeKind.NONE:
            continue
        change = Change(
            stack=preview.stack,
            step=step,
            kind=kind,
            destructive=False,
            why=(),
            component=component_of(step),
        )
        if kind is ChangeKind.REPLACE:
            seen = replace_at.get(step.urn)
            if seen is not None:
                if step.op == Op.REPLACE and changes[seen].step.op != Op.REPLACE:
                    changes[seen] = change
                continue
            replace_at[step.urn] = len(changes)
        changes.append(change)
    final = []
    for change in changes:
        why = _destructive_reasons(change.step, change.kind)
        final.append(
            Change(
                stack=change.stack,
                step=change.step,
                kind=change.kind,
                destructive=bool(why),
                why=why,
                component=change.component,
            )
        )
    return final


def _value_change(step: Step, diff: PropertyDiff) -> str:
    states = (step.old, step.new)
    if path_is_secret(diff.path, states):
        return " (secret)"
    old: object = MISSING
    if step.old is not None:
        old = lookup(step.old.inputs, diff.path)
        if old is MISSING:
            old = lookup(step.old.outputs, diff.path)
    new: object = MISSING
    if step.new is not None:
        new = lookup(step.new.inputs, diff.path)
        if new is MISSING:
            new = lookup(step.new.outputs, diff.path)
    old_text, new_text = _shown(old), _shown(new)
    kind = diff.kind.removesuffix("-replace")
    if kind == DiffKind.ADD and new_text is not None:
        return f" = {new_text}"
    if kind == DiffKind.UPDATE and new_text is not None:
        if old_text is not None:
            return f" {old_text} → {new_text}"
        if new == UNKNOWN_VALUE:
            return f" → {new_text}"
    return ""


def _shown(value: object) -> str | None:
    if value == UNKNOWN_VALUE:
        return "_(known after apply)_"
    text = safe_scalar(value)
    return None if text is None else code(text)


def describe_properties(step: Step) -> str:
    props = step.changed_properties()
    if not props:
        return "—"
    parts = []
    for diff in props[:MAX_PROPERTIES_PER_ROW]:
        kind = diff.kind.removesuffix("-replace")
        mark = {"add": "+", "delete": "-"}.get(kind, "~")
        text = f"{mark} {code(diff.path)}{_value_change(step, diff)}"
        if diff.forces_replacement:
            text += " **(forces replacement)**"
        parts.append(text)
    if len(props) > MAX_PROPERTIES_PER_ROW:
        parts.append(f"… {len(props) - MAX_PROPERTIES_PER_ROW} more")
    return "<br>".join(parts)


def _op_cell(change: Change) -> str:
    label = OP_LABEL.get(change.kind, change.step.op)
    if change.destructive:
        return f"⚠️ **{label}**"
    return label


def _row(change: Change) -> str:
    step = change.step
    cells = (
        _op_cell(change),
        code(step.urn.name),
        code(step.type),
        "—" if change.kind in (ChangeKind.CREATE, ChangeKind.DELETE) else describe_properties(step),
    )
    return "| " + " | ".join(cells) + " |"


def _destructive_row(change: Change) -> str:
    step = change.step
    cells = (
        change.stack,
        f"{code(step.urn.name)}<br>{change.component.label}",
        code(step.type),
        f"**{change.kind.value}**",
        "; ".join(change.why),
    )
    return "| " + " | ".join(cells) + " |"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def summary_line(preview: StackPreview, destructive: int) -> str:
    counts = preview.digest.op_counts()
    parts = []
    for kind in SUMMARY_ORDER:
        n = sum(v for op, v in counts.items() if op == kind.value)
        if n:
            parts.append(f"{n:,} to {kind.value}")
    known = {k.value for k in SUMMARY_ORDER} | {Op.SAME.value}
    parts += [f"{n:,} {op}" for op, n in sorted(counts.items()) if op not in known and n]
    same = counts.get(Op.SAME, 0)
    if same:
        parts.append(f"{same:,} unchanged")
    line = f"- **{preview.stack}**: " + (", ".join(parts) if parts else "no changes")
    if destructive:
        line += f" — ⚠️ **{_plural(destructive, 'destructive change')}**"
    errors = len(preview.digest.errors)
    warnings = sum(1 for d in preview.digest.diagnostics if d.severity == "warning")
    if errors or warnings:
        line += f" ({_plural(errors, 'error')}, {_plural(warnings, 'warning')} in the preview)"
    if preview.digest.maybe_corrupt:
        line += " — the CLI says the state **may be corrupt**"
    return line + health_note(preview.digest)


_TABLE_HEAD = "| op | resource | type | changing properties |\n|---|---|---|---|"
_DESTRUCTIVE_HEAD = "| stack | resource | type | op | why |\n|---|---|---|---|---|"


class _Layout:
    """Rows are rendered at most once and only when a candidate cut-off needs them, so trying
    many cut-off points costs joins, not re-rendering, and a huge plan renders only what fits."""

    def __init__(self, previews: Sequence[StackPreview]) -> None:
        per_stack = [collect_changes(p) for p in previews]
        self.changes = [c for stack in per_stack for c in stack]
        stack_order: dict[str, int] = {}
        for preview in previews:
            stack_order.setdefault(preview.stack, len(stack_order))
        # rank: position in keep-first order; display: position on the page.
        self.ranked = sorted(range(len(self.changes)), key=lambda i: self.changes[i].importance)
        self.rank = [0] * len(self.changes)
        for position, index in enumerate(self.ranked):
            self.rank[index] = position
        self.labels = [
            c.step.op if c.kind is ChangeKind.OTHER else c.kind.value for c in self.changes
        ]
        self.display = sorted(
            range(len(self.changes)),
            key=lambda i: (
                stack_order[self.changes[i].stack],
                self.changes[i].component.label,
                self.changes[i].component.key,
                self.changes[i].importance,
                self.changes[i].step.type,
                self.changes[i].step.urn.name,
            ),
        )
        self._rows: list[str | None] = [None] * len(self.changes)
        self.header = ["## Pulumi preview", ""]
        for preview, changes in zip(previews, per_stack, strict=True):
            self.header.append(summary_line(preview, sum(c.destructive for c in changes)))
        self.header += errors_section([(p.stack, p.digest) for p in previews])
        self.no_changes = no_changes_text([p.digest for p in previews])

    def row(self, index: int) -> str:
        cached = self._rows[index]
        if cached is None:
            cached = self._rows[index] = _row(self.changes[index])
        return cached

    def render(self, keep: int, max_chars: int) -> str:
        kept = [i for i in self.display if self.rank[i] < keep]
        lines = list(self.header)
        destructive = [i for i in self.display if self.changes[i].destructive]
        shown_destructive = [i for i in kept if self.changes[i].destructive]
        if destructive:
            lines += [
                "",
                f"### ⚠️ Destructive changes ({len(destructive):,})",
                "",
                "These replace or delete stateful or protected resources: data, credentials or "
                "endpoints can be lost. Review each one before merging.",
                "",
                _DESTRUCTIVE_HEAD,
            ]
            lines += [_destructive_row(self.changes[i]) for i in shown_destructive]
            missing = len(destructive) - len(shown_destructive)
            if missing:
                lines += ["", f"**… and {missing:,} more destructive changes not listed here.**"]
        if not self.changes:
            lines += ["", self.no_changes]
        current: tuple[str, str] | None = None
        stack_seen: str | None = None
        for i in kept:
            change = self.changes[i]
            if change.stack != stack_seen:
                stack_seen = change.stack
                lines += ["", f"### {change.stack}"]
                current = None
            if (change.stack, change.component.key) != current:
                current = (change.stack, change.component.key)
                lines += ["", f"**{change.component.label}**", "", _TABLE_HEAD]
            lines.append(self.row(i))
        omitted = len(self.changes) - len(kept)
        if omitted:
            counts: dict[str, int] = {}
            for i in self.ranked[keep:]:
                counts[self.labels[i]] = counts.get(self.labels[i], 0) + 1
            detail = ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items()))
            lines += [
                "",
                f"> ✂️ **{omitted:,} of {len(self.changes):,} changed resources are not listed** "
                f"({detail}) to keep this comment under {max_chars:,} characters. "
                "Run `pulumi preview --diff` for the full plan.",
            ]
        return "\n".join(lines) + "\n"


# No table row is shorter than this, so no comment of `max_chars` holds more than
# `max_chars // MIN_ROW_CHARS` rows: larger cut-offs need not be rendered to be rejected.
MIN_ROW_CHARS = 20


def render_report(
    previews: Sequence[StackPreview], *, max_chars: int = DEFAULT_MAX_CHARS
) -> PreviewReport:
    """Render the comment; if it is longer than `max_chars`, keep the most rows that fit."""
    layout = _Layout(previews)
    total = len(layout.changes)
    ceiling = min(total, max_chars // MIN_ROW_CHARS)
    keep = total
    text = layout.render(total, max_chars) if ceiling == total else ""
    if ceiling < total or len(text) > max_chars:
        low, high = 0, ceiling if ceiling < total else total - 1
        while low < high:
            middle = (low + high + 1) // 2
            if len(layout.render(middle, max_chars)) <= max_chars:
                low = middle
            else:
                high = middle - 1
        keep = low
        text = layout.render(keep, max_chars)
        if len(text) > max_chars:
            note = "\n\n> ✂️ **Comment cut at the size limit.**\n"
            text = text[: max_chars - len(note)] + note
    return PreviewReport(markdown=text, changes=tuple(layout.changes), omitted=total - keep)
