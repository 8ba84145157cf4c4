"""Checking stacks side by side: results in order, and each stack's start and result observed."""

from __future__ import annotations

import threading

from infractl.drift.classify import StackDrift, failed_stack
from infractl.drift.run import StackEvent, check_stacks


def test_each_stack_is_observed_starting_then_finishing_and_results_keep_order() -> None:
    events: list[StackEvent] = []
    lock = threading.Lock()

    def observe(event: StackEvent) -> None:
        with lock:
            events.append(event)

    def check(stack: str) -> StackDrift:
        return failed_stack(stack, "boom") if stack == "dev" else StackDrift(stack)

    results = check_stacks(["prod", "dev", "staging"], check, parallel=2, observe=observe)
    assert [(r.stack, r.status.value) for r in results] == [
        ("prod", "clean"),
        ("dev", "failed"),
        ("staging", "clean"),
    ]
    for stack, result in zip(["prod", "dev", "staging"], results, strict=True):
        mine = [e for e in events if e.stack == stack]
        assert mine == [StackEvent(stack), StackEvent(stack, result)]


def test_one_at_a_time_runs_in_the_order_given() -> None:
    events: list[StackEvent] = []
    check_stacks(["b", "a"], StackDrift, parallel=1, observe=events.append)
    assert [(e.stack, e.result is None) for e in events] == [
        ("b", True),
        ("b", False),
        ("a", True),
        ("a", False),
    ]
    assert check_stacks([], StackDrift, parallel=3) == []
