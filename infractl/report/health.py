"""Whether each preview is the whole plan, said where a reviewer reads it.

A preview that failed or was cancelled part-way prints no change summary, or error diagnostics
(`info#err` is the program's own stderr, a crash's traceback), and only the steps it reached: it
must never read as a complete plan, nor as "no changes". Nor may a digest whose steps are gone
but whose summary still counts changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from infractl.pulumi.digest import PreviewDigest
from infractl.pulumi.ops import Op

MAX_ERRORS_SHOWN = 5
MAX_ERROR_LINES = 12


def counted_changes(digest: PreviewDigest) -> int:
    """Changes the CLI counted, whether or not it listed their steps."""
    return sum(n for op, n in digest.op_counts().items() if op != Op.SAME)


def health_note(digest: PreviewDigest) -> str:
    """What to append to the stack's summary line: empty when the preview is the whole plan."""
    notes = []
    if not digest.complete:
        why = (
            f"it reported {len(digest.errors)} error(s)"
            if digest.errors
            else "it printed no change summary (cancelled or cut short?)"
        )
        notes.append(f" — ❌ **incomplete: {why}; this is not the whole plan**")
    elif not digest.steps and counted_changes(digest):
        notes.append(
            f" — the CLI counted {counted_changes(digest):,} change(s) but listed no steps; "
            "run `pulumi preview --diff` to see them"
        )
    if digest.skipped:
        notes.append(f" ({digest.skipped})")
    return "".join(notes)


def no_changes_text(digests: Sequence[PreviewDigest]) -> str:
    """What to say when no step changes anything; "No resource changes." only when true."""
    if not all(d.complete for d in digests):
        return "No resource changes listed, but a preview did not finish: this is not the plan."
    if any(counted_changes(d) for d in digests):
        return "No resource changes listed, but the CLI counted some; see the summary above."
    return "No resource changes."


def errors_section(stacks: Sequence[tuple[str, PreviewDigest]]) -> list[str]:
    """The error diagnostics of every stack, each cut to a few lines, for the comment."""
    lines: list[str] = []
    for stack, digest in stacks:
        errors = digest.errors
        if not errors:
            continue
        lines += ["", f"### ❌ Errors in the preview of {stack} ({len(errors):,})", ""]
        for diagnostic in errors[:MAX_ERRORS_SHOWN]:
            text = diagnostic.message.replace("```", "'''").strip().splitlines()
            cut = text[:MAX_ERROR_LINES] + (["…"] if len(text) > MAX_ERROR_LINES else [])
            where = f" on `{diagnostic.urn.rsplit('::', 1)[-1]}`" if diagnostic.urn else ""
            lines += [f"{diagnostic.severity}{where}:", "```", *cut, "```"]
        if len(errors) > MAX_ERRORS_SHOWN:
            lines.append(f"… and {len(errors) - MAX_ERRORS_SHOWN:,} more errors.")
    return lines
