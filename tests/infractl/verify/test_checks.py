"""The readiness checks: retry schedule on a fake clock, redaction of what a check reports, and
the migrations verdict."""

from __future__ import annotations

import pytest

from infractl.verify.checks import (
    Attempt,
    Backoff,
    Check,
    CheckEvent,
    CheckPhase,
    CheckResult,
    Redactor,
    migrations_verdict,
    retry_check,
    run_checks,
)
from infractl.verify.outputs import connection_secrets
from tests.infractl.verify.outputs_inputs import ENCODED, PASSWORD, URL


class FakeClock:
    """Time that moves only when slept in or when a check says it took a while."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(
    clock: FakeClock, outcomes: list[bool], cost: float = 0.0
) -> tuple[Check, list[float]]:
    """A check answering from `outcomes` (then failing), each look taking `cost` fake seconds."""
    timeouts: list[float] = []
    answers = iter(outcomes)

    def run(timeout: float) -> Attempt:
        timeouts.append(timeout)
        clock.now += cost
        ok = next(answers, False)
        return Attempt(ok, "ready" if ok else "503 starting")

    return Check("http web", run), timeouts


# --- retry schedule ------------------------------------------------------------------------------


def test_backoff_doubles_from_a_quarter_second_and_is_capped() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert Backoff(initial=1, factor=3, cap=10).delay(4) == 10


def test_retry_passes_once_the_check_does_with_backoff_between_attempts() -> None:
    clock = FakeClock()
    check, _ = scripted(clock, [False, False, False, True])
    result = retry_check(check, deadline=clock() + 60, clock=clock, sleep=clock.sleep)
    assert result == CheckResult("http web", True, "ready", 4, 1.75)
    assert clock.sleeps == [0.25, 0.5, 1.0]


def test_retry_gives_up_at_the_deadline_with_a_last_attempt_on_it() -> None:
    clock = FakeClock()
    start = clock()
    check, _ = scripted(clock, [])
    result = retry_check(check, deadline=start + 3, clock=clock, sleep=clock.sleep)
    assert not result.ok and result.detail == "503 starting"
    # 0.25 + 0.5 + 1 = 1.75; the next delay (2) is cut to the 1.25 left, then one last look.
    assert clock.sleeps == [0.25, 0.5, 1.0, 1.25]
    assert result.attempts == 5
    assert clock() == start + 3 and result.seconds == 3


def test_a_deadline_already_reached_means_one_look() -> None:
    clock = FakeClock()
    check, _ = scripted(clock, [])
    result = retry_check(check, deadline=clock(), clock=clock, sleep=clock.sleep)
    assert (result.ok, result.attempts, clock.sleeps) == (False, 1, [])


def test_retry_caps_the_delay_on_a_long_deadline() -> None:
    clock = FakeClock()
    check, _ = scripted(clock, [False] * 8 + [True])
    retry_check(check, deadline=clock() + 600, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_each_attempt_gets_the_request_timeout_bounded_by_what_is_left() -> None:
    clock = FakeClock()
    check, timeouts = scripted(clock, [], cost=2.0)
    retry_check(check, deadline=clock() + 9, clock=clock, sleep=clock.sleep, attempt_timeout=5.0)
    # Attempts start at +0 (9 s left), +2.25 (6.75), +4.75 (4.25), +7.75 (1.25); it ends at +9.75.
    assert timeouts == [5.0, 5.0, 4.25, 1.25]

    # The last look, on the deadline itself, still gets the floor of one second.
    clock = FakeClock()
    check, timeouts = scripted(clock, [])
    retry_check(check, deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [0.25, 0.25]
    assert timeouts == [1.0, 1.0, 1.0]


def test_a_check_that_raises_fails_that_attempt_with_a_redacted_message() -> None:
    clock = FakeClock()

    def boom(timeout: float) -> Attempt:
        raise RuntimeError(f"could not use {URL}")

    result = retry_check(
        Check("database shop", boom),
        deadline=clock() + 1,
        clock=clock,
        sleep=clock.sleep,
        redact=Redactor(connection_secrets(URL)),
    )
    assert not result.ok
    assert result.detail == "RuntimeError: could not use ***"


def test_run_checks_keeps_the_order_of_the_checks() -> None:
    checks = [
        Check(name, lambda timeout, ok=ok: Attempt(ok, "seen"))
        for name, ok in [("b", True), ("a", False), ("c", True)]
    ]
    clock = FakeClock()
    results = run_checks(checks, deadline=clock(), clock=clock, sleep=clock.sleep)
    assert [(r.name, r.ok) for r in results] == [("b", True), ("a", False), ("c", True)]
    assert run_checks([], deadline=0, clock=clock, sleep=clock.sleep) == []


# --- redaction ----------------------------------------------------------------------------------


def test_redactor_replaces_the_url_and_the_password_in_both_encodings() -> None:
    redact = Redactor(connection_secrets(URL))
    text = f"dsn {URL} raw {PASSWORD} encoded {ENCODED}"
    assert redact(text) == "dsn *** raw *** encoded ***"


# --- migrations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applied", "failed", "latest", "latest_applied", "ok", "detail"),
    [
        (3, [], None, 0, True, "3 migrations applied"),
        (0, [], None, 0, False, "no finished migration in _prisma_migrations"),
        (2, ["20260301_orders"], None, 0, False, "failed or unfinished migration: 20260301_orders"),
        (3, [], "20260301_orders", 1, True, "3 migrations applied, including 20260301_orders"),
        (3, [], "20260401_refunds", 0, False, "migration 20260401_refunds is not applied"),
        (
            3,
            ["20260401_refunds"],
            "20260401_refunds",
            0,
            False,
            "failed or unfinished migration: 20260401_refunds",
        ),
    ],
)
def test_migrations_verdict(
    applied: int, failed: list[str], latest: str | None, latest_applied: int, ok: bool, detail: str
) -> None:
    assert migrations_verdict(applied, failed, latest, latest_applied) == Attempt(ok, detail)


# --- events for the progress display --------------------------------------------------------------


def test_retry_tells_the_observer_each_attempt_and_the_outcome() -> None:
    clock = FakeClock()
    check, _ = scripted(clock, [False, False, True])
    events: list[CheckEvent] = []
    retry_check(check, deadline=clock() + 60, clock=clock, sleep=clock.sleep, observe=events.append)
    assert events == [
        CheckEvent("http web", CheckPhase.STARTED, 1),
        CheckEvent("http web", CheckPhase.RETRYING, 1, "503 starting"),
        CheckEvent("http web", CheckPhase.STARTED, 2),
        CheckEvent("http web", CheckPhase.RETRYING, 2, "503 starting"),
        CheckEvent("http web", CheckPhase.STARTED, 3),
        CheckEvent("http web", CheckPhase.PASSED, 3, "ready"),
    ]


def test_the_last_failed_attempt_is_failed_not_retrying_and_its_detail_redacted() -> None:
    clock = FakeClock()
    events: list[CheckEvent] = []

    def leaky(timeout: float) -> Attempt:
        return Attempt(False, f"cannot log in with {URL}")

    run_checks(
        [Check("database shop", leaky)],
        deadline=clock(),
        clock=clock,
        sleep=clock.sleep,
        redact=Redactor(connection_secrets(URL)),
        observe=events.append,
    )
    assert events == [
        CheckEvent("database shop", CheckPhase.STARTED, 1),
        CheckEvent("database shop", CheckPhase.FAILED, 1, "cannot log in with ***"),
    ]
