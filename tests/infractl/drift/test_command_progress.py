"""`infractl drift`'s progress on stderr, against the fake `pulumi` of test_command.py: plain
lines off a terminal, the live table on one, nothing with --quiet; stdout and the exit code the
same in every mode."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infractl.drift.command import drift, run_drift
from tests.infractl.test_progress import cells, final_frame

if TYPE_CHECKING:
    from tests.infractl.conftest import FakePulumi

Invoke = Callable[[Callable[..., Any], list[str]], Any]


class TickingClock:
    """Each reading is 42 s after the last: one stack at a time, each takes 42 s between the
    reading at its start and the one at its end."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 42
        return self.now


@pytest.fixture
def two_stacks(fake_pulumi_cli: FakePulumi, pulumi_fixtures: Path) -> FakePulumi:
    """staging has no drift, prod has drift, dev cannot be checked."""
    fake_pulumi_cli.behave("prod", stdout_file=pulumi_fixtures / "refresh" / "prod.json")
    fake_pulumi_cli.behave("staging", stdout_file=pulumi_fixtures / "refresh" / "staging.json")
    fake_pulumi_cli.behave("dev", stderr="error: no stack named 'dev' found\n", exit=6)
    return fake_pulumi_cli


@pytest.fixture
def no_tty_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("TTY_INTERACTIVE", "TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(variable, raising=False)


def summary(out_dir: Path, *lines: str) -> str:
    wrote = f"wrote {out_dir / 'drift.md'} and {out_dir / 'drift.json'}\n"
    return "".join(f"{line}\n" for line in lines) + wrote


def test_plain_progress_one_line_per_stack_and_state(
    two_stacks: FakePulumi,
    platform_project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_tty_override: None,
) -> None:
    out = tmp_path / "out"
    code = run_drift("staging,prod", out, 1, 60, None, platform_project, clock=TickingClock())
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines() == [
        "drift staging: running",
        "drift staging: no drift (42 s)",
        "drift prod: running",
        "drift prod: drift found (42 s)",
    ]
    assert "\x1b" not in captured.err and "\r" not in captured.err
    assert captured.out == summary(out, "staging: clean", "prod: drift")


def test_plain_progress_says_why_a_stack_could_not_run(
    two_stacks: FakePulumi,
    platform_project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_tty_override: None,
) -> None:
    code = run_drift("dev", tmp_path, 1, 60, None, platform_project, clock=TickingClock())
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err[0] == "drift dev: running"
    assert err[1].startswith("drift dev: could not run: `pulumi refresh --preview-only")
    assert err[1].endswith("exited 6 (stack not found): error: no stack named 'dev' found (42 s)")


def test_quiet_leaves_stderr_empty_and_stdout_as_it_was(
    two_stacks: FakePulumi,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
    no_tty_override: None,
) -> None:
    args = ["--cwd", str(platform_project), "--stacks", "staging,prod"]
    quiet = run_command(drift, [*args, "--out-dir", str(tmp_path / "q"), "--quiet"])
    shown = run_command(drift, [*args, "--out-dir", str(tmp_path / "s"), "--parallel", "2"])
    assert (quiet.code, shown.code) == (1, 1)
    assert quiet.stderr == ""
    assert quiet.stdout == summary(tmp_path / "q", "staging: clean", "prod: drift")
    assert shown.stdout == summary(tmp_path / "s", "staging: clean", "prod: drift")
    # In parallel the stacks' lines interleave, each stack's in order.
    for stack, verdict in (("staging", "no drift"), ("prod", "drift found")):
        mine = [line for line in shown.stderr.splitlines() if line.startswith(f"drift {stack}:")]
        assert mine[0] == f"drift {stack}: running"
        assert re.fullmatch(rf"drift {stack}: {verdict} \(\d+ s\)", mine[1])
        assert len(mine) == 2


def test_on_a_terminal_a_live_table_ends_with_every_stack(
    two_stacks: FakePulumi,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rich's own switches make the captured stderr a terminal: as if run in one.
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "xterm-256color")
    out = tmp_path / "out"
    run = run_command(
        drift,
        ["--cwd", str(platform_project), "--stacks", "staging,prod,dev", "--out-dir", str(out)],
    )
    assert run.code == 2
    assert run.stdout.startswith("staging: clean\nprod: drift\ndev: failed (`pulumi refresh")
    frame = [cells(line) for line in final_frame(run.stderr)]
    assert frame[0] == ["stack", "state", "elapsed", "detail"]
    rows = {row[0]: row[1:] for row in frame[1:]}
    assert rows.keys() == {"staging", "prod", "dev"}
    assert rows["staging"][0] == "no drift" and re.fullmatch(r"\d+ s", rows["staging"][1])
    assert rows["prod"][0] == "drift found" and re.fullmatch(r"\d+ s", rows["prod"][1])
    assert rows["dev"][0] == "could not run" and re.fullmatch(r"\d+ s", rows["dev"][1])
    assert rows["dev"][2].startswith("`pulumi refresh")
    assert "drift staging:" not in run.stderr  # no plain line among the redraws
