"""Checking several stacks side by side, telling an observer as each starts and finishes.

No subprocess and no display here: the command passes the per-stack check (which runs the CLI)
and an `observe` callback (which shows progress), so the order of events is unit-testable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from infractl.drift.classify import StackDrift


@dataclass(frozen=True)
class StackEvent:
    """A stack's check starts (`result` None) or has finished with `result`."""

    stack: str
    result: StackDrift | None = None


def ignore_event(event: StackEvent) -> None:
    return None


def check_stacks(
    names: Sequence[str],
    check: Callable[[str], StackDrift],
    *,
    parallel: int,
    observe: Callable[[StackEvent], None] = ignore_event,
) -> list[StackDrift]:
    """`check` each stack, at most `parallel` at once; results keep the order of `names`.

    `observe` is called from the workers' threads: each stack's start, then its result.
    """
    if not names:
        return []

    def one(stack: str) -> StackDrift:
        observe(StackEvent(stack))
        result = check(stack)
        observe(StackEvent(stack, result))
        return result

    with ThreadPoolExecutor(max_workers=min(parallel, len(names))) as pool:
        return list(pool.map(one, names))
