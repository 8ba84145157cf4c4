"""Which review stacks are due for removal, and what `list` and `expire` print; pure logic on
the stack list and each stack's outputs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from infractl.pulumi.stacks import ListedStack
from infractl.review.stacks import (
    Removal,
    ReviewStack,
    due,
    read_outputs,
    render_expiry,
    render_list,
    review_stack_names,
)

TODAY = date(2026, 12, 1)


def listed(name: str, last: str | None = "2026-11-30", running: bool = False) -> ListedStack:
    moment = datetime.fromisoformat(last).replace(tzinfo=UTC) if last else None
    return ListedStack(name, moment, running, None)


def stack(
    expires: str | None, last: str | None = "2026-11-30", running: bool = False
) -> ReviewStack:
    outputs = {"expiresAt": expires} if expires else {}
    return read_outputs(listed("pr-5", last, running), outputs)


def test_only_review_stacks_are_listed_by_pr_number() -> None:
    names = [
        s.name
        for s in review_stack_names(
            listed(n) for n in ("pr-12", "staging", "prod", "pr-3", "pr-x", "dev")
        )
    ]
    assert names == ["pr-3", "pr-12"]


@pytest.mark.parametrize(
    ("review", "reason"),
    [
        (stack("2026-12-01"), None),  # lives through its expiry day
        (stack("2026-11-30"), "expired 2026-11-30"),
        (stack("2030-01-01"), None),
        (stack("2026-11-01", running=True), None),  # never under a running update
        (stack(None, last="2026-11-15"), None),  # no expiry, updated recently
        (stack(None, last="2026-10-01"), "no expiry in its outputs; last updated 2026-10-01"),
        (stack(None, last=None), None),  # never deployed: nothing to pay for
    ],
)
def test_due(review: ReviewStack, reason: str | None) -> None:
    assert due(review, TODAY) == reason


def test_an_unreadable_expiry_is_noted_not_guessed() -> None:
    review = read_outputs(listed("pr-5"), {"expiresAt": "soon", "serviceUrls": {"web": 3}})
    assert review.expires_at is None and review.urls == {}
    assert "'soon' is not a date" in review.note


def test_the_list_is_a_table() -> None:
    live = read_outputs(
        listed("pr-12"), {"expiresAt": "2026-12-08", "serviceUrls": {"web": "https://pr-12.x"}}
    )
    text = render_list([stack("2026-11-30"), live], TODAY)
    assert text.splitlines() == [
        "STACK  EXPIRES     STATE    URL",
        "pr-5   2026-11-30  expired  -",
        "pr-12  2026-12-08  live     https://pr-12.x",
    ]
    assert render_list([], TODAY) == "no review stacks\n"


def test_the_expiry_summary_names_what_went_and_what_stayed() -> None:
    gone = Removal(stack("2026-11-30"), "expired 2026-11-30")
    stuck = Removal(read_outputs(listed("pr-6"), {}), "no expiry", error="vault not empty")
    text = render_expiry([gone, stuck], kept=3, today=TODAY)
    assert "## Review stacks past expiry (2026-12-01)" in text
    assert "- removed `pr-5` (expired 2026-11-30)" in text
    assert "- **not removed** `pr-6` (no expiry): vault not empty" in text
    assert "1 removed, 1 failed, 3 kept." in text
