"""`infractl verify`'s progress on stderr with a fake check that fails twice then passes: the
exact plain lines, the final live table, --quiet, and the database password in neither mode;
stdout and the exit code the same in every mode."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from infractl.cli import main
from infractl.verify import command as verify_cmd
from infractl.verify.checks import Attempt, Check
from infractl.verify.outputs import StackOutputs
from tests.infractl.test_progress import cells, final_frame
from tests.infractl.verify.outputs_inputs import ENCODED, PASSWORD, URL, docker_outputs

REPORT = [
    "verify stack dev (docker): 2 checks",
    "  PASS  http web        3 attempts    6.75s  ready",
    "  FAIL  database shop    1 attempt    1.00s  password authentication failed for ***",
    "1 of 2 checks failed after 7.8s",
]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def fake_plan(clock: FakeClock) -> Callable[[StackOutputs], Sequence[Check]]:
    """`http web` fails twice (503) then passes, each look taking 2 s; then `database shop`
    fails, quoting the database URL, and as it starts after the deadline (6.5 s) it looks once.
    Run one after the other: side by side on one fake clock they would see each other's time."""

    def plan(outputs: StackOutputs) -> list[Check]:
        answers = iter([False, False, True])

        def web(timeout: float) -> Attempt:
            clock.now += 2
            ok = next(answers)
            return Attempt(ok, "ready" if ok else f"503 starting: {URL}")

        def database(timeout: float) -> Attempt:
            clock.now += 1
            return Attempt(False, f"password authentication failed for {outputs.database_url}")

        return [Check("http web", web), Check("database shop", database)]

    return plan


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(docker_outputs()))
    return path


@pytest.fixture(autouse=True)
def one_check_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks in order, so that the fake clock and the line order are deterministic."""
    from infractl.verify import checks

    class Sequential:
        def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
            pass

        def __enter__(self) -> Sequential:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
            return [fn(item) for item in items]

    monkeypatch.setattr(checks, "ThreadPoolExecutor", Sequential)
    for variable in ("TTY_INTERACTIVE", "TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(variable, raising=False)


def run(outputs: Path, *, deadline: float = 6.5, **kwargs: Any) -> int:
    clock = FakeClock()
    return verify_cmd.run_verify(
        "dev",
        outputs,
        deadline,
        False,
        None,
        clock=clock,
        sleep=clock.sleep,
        plan=fake_plan(clock),
        **kwargs,
    )


def assert_no_secret(text: str) -> None:
    for secret in (URL, PASSWORD, ENCODED):
        assert secret not in text


def test_plain_progress_one_line_per_state_change(
    outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(outputs_file)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines() == [
        "verify http web: running",
        "verify http web: attempt 1 failed: 503 starting: *** (2.0 s)",
        "verify http web: attempt 2 failed: 503 starting: *** (4.2 s)",
        "verify http web: passed on attempt 3 (6.8 s)",
        "verify database shop: running",
        "verify database shop: failed after 1 attempt: password authentication failed for *** "
        "(1.0 s)",
    ]
    assert "\x1b" not in captured.err and "\r" not in captured.err
    assert captured.out.splitlines() == REPORT
    assert_no_secret(captured.out + captured.err)


def test_live_progress_final_table_on_a_terminal(
    outputs_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    buffer = io.StringIO()
    code = run(outputs_file, console=Console(force_terminal=True, file=buffer, width=100))
    captured = capsys.readouterr()
    shown = buffer.getvalue()
    assert code == 1
    assert [cells(line) for line in final_frame(shown)] == [
        ["check", "state", "attempt", "elapsed", "detail"],
        ["http web", "passed", "3", "6.8 s", "ready"],
        ["database shop", "failed", "1", "1.0 s", "password authentication failed for ***"],
    ]
    assert "verify http web:" not in shown  # no plain line among the redraws
    assert captured.err == ""  # everything went to the console it was given
    assert captured.out.splitlines() == REPORT
    assert_no_secret(shown + captured.out)


def test_quiet_and_json_keep_stdout_as_it_was(
    outputs_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = verify_cmd.run_verify

    def with_fakes(*args: Any, **kwargs: Any) -> int:
        clock = FakeClock()
        return real(*args, **kwargs, clock=clock, sleep=clock.sleep, plan=fake_plan(clock))

    monkeypatch.setattr(verify_cmd, "run_verify", with_fakes)
    argv = ["verify", "--stack", "dev", "--outputs", str(outputs_file), "--deadline", "6.5"]
    outs = {}
    for extra in ((), ("--quiet",), ("--json",), ("--json", "-q")):
        assert main([*argv, *extra]) == 1
        captured = capsys.readouterr()
        outs[extra] = captured.out
        assert (captured.err == "") is ("--quiet" in extra or "-q" in extra)
        assert_no_secret(captured.out + captured.err)
    assert outs[()] == outs[("--quiet",)] == "\n".join(REPORT) + "\n"
    assert outs[("--json",)] == outs[("--json", "-q")]
    assert json.loads(outs[("--json",)])["checks"][0]["attempts"] == 3
