"""The progress display the long verbs share: plain lines off a terminal, a live table on one,
redaction and control characters in both, and which mode a run gets."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from infractl.progress import (
    Board,
    Layout,
    LiveBoard,
    PlainBoard,
    Row,
    State,
    plain_line,
    printable,
    progress_board,
)

VERIFY = Layout(verb="verify", subject="check", digits=1, attempts=True)
DRIFT = Layout(verb="drift", subject="stack", digits=0)
SECRET = "hunter2-progress"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def final_frame(output: str) -> list[str]:
    """The last frame a rich Live drew: what follows its last erase-line, without styling."""
    assert "\x1b[2K" in output, "no live redraw in the output"
    return [line.rstrip() for line in ANSI.sub("", output.split("\x1b[2K")[-1]).splitlines()]


def cells(line: str) -> list[str]:
    """A table line's cells (the columns are separated by two or more spaces)."""
    return re.split(r"\s{2,}", line.strip())


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def terminal(monkeypatch: pytest.MonkeyPatch) -> tuple[Console, io.StringIO]:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)
    buffer = io.StringIO()
    return Console(force_terminal=True, file=buffer, width=100), buffer


def play_flaky_check(board: Board, clock: Clock) -> None:
    """Fails twice, then passes; each look takes 2 s and the backoff waits between them."""
    for attempt, wait in ((1, 0.0), (2, 0.25), (3, 0.5)):
        clock.now += wait
        board.update("http web", State.RUNNING, attempt=attempt)
        clock.now += 2
        if attempt < 3:
            board.update("http web", State.RETRYING, attempt=attempt, detail="503 starting")
    board.update("http web", State.PASSED, attempt=3, detail="ready")


# --- plain lines ---------------------------------------------------------------------------------


def test_plain_lines_say_each_state_once_with_elapsed_time() -> None:
    def line(state: State, attempt: int | None = None, detail: str = "") -> str:
        row = Row("web", state, attempt, detail, started=10.0, ended=None)
        return plain_line(VERIFY if attempt else DRIFT, row, 22.34)

    assert line(State.RUNNING, 1) == "verify web: running"
    assert line(State.RETRYING, 2, "503") == "verify web: attempt 2 failed: 503 (12.3 s)"
    assert line(State.PASSED, 1, "ready") == "verify web: passed on attempt 1 (12.3 s)"
    assert line(State.FAILED, 1, "503") == "verify web: failed after 1 attempt: 503 (12.3 s)"
    assert line(State.FAILED, 4, "503") == "verify web: failed after 4 attempts: 503 (12.3 s)"
    assert line(State.RUNNING) == "drift web: running"
    assert line(State.NO_DRIFT) == "drift web: no drift (12 s)"
    assert line(State.DRIFT) == "drift web: drift found (12 s)"
    assert line(State.ERROR, None, "exited 6") == "drift web: could not run: exited 6 (12 s)"


def test_plain_board_prints_one_line_per_state_change_not_per_attempt() -> None:
    clock, stream = Clock(), io.StringIO()
    board = PlainBoard(VERIFY, ["http web"], lambda: stream, clock=clock)
    with board:
        play_flaky_check(board, clock)
    assert stream.getvalue().splitlines() == [
        "verify http web: running",
        "verify http web: attempt 1 failed: 503 starting (2.0 s)",
        "verify http web: attempt 2 failed: 503 starting (4.2 s)",
        "verify http web: passed on attempt 3 (6.8 s)",
    ]


def test_plain_lines_are_redacted_and_hold_no_control_characters() -> None:
    clock, stream = Clock(), io.StringIO()
    redact = lambda text: text.replace(SECRET, "***")  # noqa: E731
    board = PlainBoard(DRIFT, [f"db-{SECRET}"], lambda: stream, clock=clock, redact=redact)
    board.update(f"db-{SECRET}", State.RUNNING)
    board.update(
        f"db-{SECRET}", State.ERROR, detail=f"\x1b[31mpassword {SECRET}\x1b[0m\r\nrejected\tnow"
    )
    text = stream.getvalue()
    assert SECRET not in text
    assert "\x1b" not in text and "\r" not in text
    assert text.splitlines() == [
        "drift db-***: running",
        "drift db-***: could not run: \\x1b[31mpassword ***\\x1b[0m rejected now (0 s)",
    ]


def test_printable_cuts_long_details() -> None:
    assert printable("x" * 500) == "x" * 199 + "…"
    assert printable("  a \n b  ") == "a b"


def test_a_broken_stream_stops_the_progress_not_the_run() -> None:
    class Broken(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            Broken.writes += 1
            raise BrokenPipeError(32, "Broken pipe")

    board = PlainBoard(DRIFT, ["dev"], Broken, clock=Clock())
    board.update("dev", State.RUNNING)
    board.update("dev", State.NO_DRIFT)
    assert Broken.writes == 1


# --- the live table ------------------------------------------------------------------------------


def test_live_table_ends_with_each_row_state_attempt_and_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console, buffer = terminal(monkeypatch)
    clock = Clock()
    redact = lambda text: text.replace(SECRET, "***")  # noqa: E731
    board = progress_board(
        VERIFY, ["http web", "database shop"], console=console, clock=clock, redact=redact
    )
    assert isinstance(board, LiveBoard)
    with board:
        play_flaky_check(board, clock)
        board.update("database shop", State.RUNNING, attempt=1)
        clock.now += 1
        board.update("database shop", State.FAILED, attempt=1, detail=f"login {SECRET} refused")
    output = buffer.getvalue()
    frame = final_frame(output)
    assert cells(frame[0]) == ["check", "state", "attempt", "elapsed", "detail"]
    assert [cells(line) for line in frame[1:]] == [
        ["http web", "passed", "3", "6.8 s", "ready"],
        ["database shop", "failed", "1", "1.0 s", "login *** refused"],
    ]
    assert SECRET not in output
    assert "verify http web:" not in output  # no plain line among the redraws


def test_live_table_shows_waiting_rows_and_running_time(monkeypatch: pytest.MonkeyPatch) -> None:
    console, _ = terminal(monkeypatch)
    clock = Clock()
    board = progress_board(DRIFT, ["dev", "prod"], console=console, clock=clock)
    assert isinstance(board, LiveBoard)
    board.update("dev", State.RUNNING)
    clock.now += 61
    rendered = Console(file=io.StringIO(), width=100)
    with rendered.capture() as capture:
        rendered.print(board.table())
    assert [cells(line) for line in capture.get().splitlines()] == [
        ["stack", "state", "elapsed", "detail"],
        ["dev", "running", "61 s"],
        ["prod", "waiting"],
    ]


# --- which mode ----------------------------------------------------------------------------------


def test_a_console_that_is_no_terminal_gets_plain_lines_without_escapes() -> None:
    stream = io.StringIO()
    board = progress_board(DRIFT, ["dev"], console=Console(file=stream, width=100), clock=Clock())
    assert isinstance(board, PlainBoard)
    with board:
        board.update("dev", State.RUNNING)
        board.update("dev", State.DRIFT)
    assert stream.getvalue() == "drift dev: running\ndrift dev: drift found (0 s)\n"


def test_quiet_shows_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buffer = terminal(monkeypatch)
    board = progress_board(DRIFT, ["dev"], quiet=True, console=console, clock=Clock())
    assert type(board) is Board
    with board:
        board.update("dev", State.RUNNING)
        board.update("dev", State.NO_DRIFT)
    assert buffer.getvalue() == ""


def test_colour_forced_in_ci_does_not_make_stderr_live(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """CI sets FORCE_COLOR or TTY_COMPATIBLE for colour; a log is still no place for redraws."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.setenv(variable, "1")
        assert isinstance(progress_board(DRIFT, ["dev"]), PlainBoard)
        monkeypatch.delenv(variable)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    assert isinstance(progress_board(DRIFT, ["dev"]), LiveBoard)
    monkeypatch.setenv("TTY_INTERACTIVE", "0")
    assert isinstance(progress_board(DRIFT, ["dev"]), PlainBoard)


def test_on_a_narrow_terminal_the_detail_gives_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    buffer = io.StringIO()
    console = Console(force_terminal=True, file=buffer, width=50)
    board = progress_board(DRIFT, ["staging"], console=console, clock=Clock())
    with board:
        board.update("staging", State.RUNNING)
        board.update("staging", State.ERROR, detail="`pulumi refresh` exited 6: " + "x" * 80)
    frame = final_frame(buffer.getvalue())
    assert cells(frame[1])[:3] == ["staging", "could not run", "0 s"]
    assert frame[1].endswith("…") and len(frame[1]) <= 50
