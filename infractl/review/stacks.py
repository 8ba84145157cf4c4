"""Which review stacks exist, when each expires, and which are due for removal.

Data in (the backend's stack list, each stack's plain outputs), decisions and text out; nothing
here runs the CLI. A review stack's expiry is read from its `expiresAt` output (the program
exports its `platform:expires_at`): the stack file that set it is git-ignored and may be gone
from the machine asking, the state is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from infra.config.review import MAX_TTL_DAYS, is_review_stack
from infractl.pulumi.stacks import ListedStack

EXPIRES_AT_OUTPUT = "expiresAt"
URLS_OUTPUT = "serviceUrls"


@dataclass(frozen=True)
class ReviewStack:
    name: str
    expires_at: date | None
    """None: the stack has no readable `expiresAt` output (never deployed, or unreadable)."""
    last_update: datetime | None
    update_in_progress: bool
    urls: Mapping[str, str] = field(default_factory=dict)
    note: str = ""
    """Why the outputs could not be read, if they could not."""

    @property
    def pr(self) -> int:
        return int(self.name.removeprefix("pr-"))


def review_stack_names(listed: Iterable[ListedStack]) -> list[ListedStack]:
    """Only the review stacks (`pr-<n>`), never staging or prod, by PR number."""
    found = [stack for stack in listed if is_review_stack(stack.name)]
    return sorted(found, key=lambda stack: int(stack.name.removeprefix("pr-")))


def read_outputs(listed: ListedStack, outputs: Mapping[str, Any], note: str = "") -> ReviewStack:
    """The stack with what its outputs say about its expiry and URLs."""
    expires_at = None
    raw = outputs.get(EXPIRES_AT_OUTPUT)
    if isinstance(raw, str):
        try:
            expires_at = date.fromisoformat(raw)
        except ValueError:
            note = note or f"{EXPIRES_AT_OUTPUT} '{raw}' is not a date"
    urls = outputs.get(URLS_OUTPUT)
    if not isinstance(urls, dict):
        urls = {}
    return ReviewStack(
        name=listed.name,
        expires_at=expires_at,
        last_update=listed.last_update,
        update_in_progress=listed.update_in_progress,
        urls={name: url for name, url in urls.items() if isinstance(url, str)},
        note=note,
    )


def due(stack: ReviewStack, today: date) -> str | None:
    """Why `stack` is due for removal on `today`, or None to keep it.

    A stack lives through its expiry day. One with no readable expiry goes once its last update
    is more than the longest lifetime (MAX_TTL_DAYS) old; one never updated holds nothing to pay
    for and is left alone, as is one whose update is running now."""
    if stack.update_in_progress:
        return None
    if stack.expires_at is not None:
        return f"expired {stack.expires_at.isoformat()}" if stack.expires_at < today else None
    if stack.last_update is None:
        return None
    last = stack.last_update.date()
    if last + timedelta(days=MAX_TTL_DAYS) < today:
        return f"no expiry in its outputs; last updated {last.isoformat()}"
    return None


def state_of(stack: ReviewStack, today: date) -> str:
    if stack.update_in_progress:
        return "updating"
    if due(stack, today) is not None:
        return "expired"
    if stack.expires_at is None:
        return "never deployed" if stack.last_update is None else "no expiry"
    return "live"


def to_json(stack: ReviewStack, today: date) -> dict[str, Any]:
    return {
        "stack": stack.name,
        "pr": stack.pr,
        "expires_at": stack.expires_at.isoformat() if stack.expires_at else None,
        "expired": due(stack, today) is not None,
        "state": state_of(stack, today),
        "urls": dict(stack.urls),
        "last_update": stack.last_update.isoformat() if stack.last_update else None,
        "note": stack.note or None,
    }


def render_list(stacks: Sequence[ReviewStack], today: date) -> str:
    """One line per review stack: name, expiry, state, URLs."""
    if not stacks:
        return "no review stacks\n"
    rows = [("STACK", "EXPIRES", "STATE", "URL")]
    for stack in stacks:
        expires = stack.expires_at.isoformat() if stack.expires_at else "-"
        urls = " ".join(stack.urls[name] for name in sorted(stack.urls)) or "-"
        state = state_of(stack, today) + (f" ({stack.note})" if stack.note else "")
        rows.append((stack.name, expires, state, urls))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]])
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


@dataclass(frozen=True)
class Removal:
    stack: ReviewStack
    reason: str
    error: str | None = None
    """None: destroyed and removed; else why not (the stack is kept)."""


def render_expiry(removals: Sequence[Removal], kept: int, today: date) -> str:
    """Markdown for the nightly job's summary: what was removed, what could not be, and why."""
    lines = [f"## Review stacks past expiry ({today.isoformat()})", ""]
    removed = [r for r in removals if r.error is None]
    failed = [r for r in removals if r.error is not None]
    if not removals:
        lines.append(f"Nothing to remove; {kept} review stack(s) still live.")
    for removal in removed:
        lines.append(f"- removed `{removal.stack.name}` ({removal.reason})")
    for removal in failed:
        name, reason = removal.stack.name, removal.reason
        lines.append(f"- **not removed** `{name}` ({reason}): {removal.error}")
    if removals:
        lines += ["", f"{len(removed)} removed, {len(failed)} failed, {kept} kept."]
    return "\n".join(lines) + "\n"
