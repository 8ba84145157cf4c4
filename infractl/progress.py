"""Live progress for the long verbs (`drift`, `verify`), on stderr, fed by their logic's events.

A verb's logic reports events through a callback (`infractl.drift.run.StackEvent`,
`infractl.verify.checks.CheckEvent`); the verb's command turns each into an `update` of a board
with one row per stack or check. The board shows it one of two ways:

- on an interactive terminal, a rich table redrawn in place: each row's state, elapsed time,
  attempt (verify) and last detail;
- anywhere else (a CI log, a file, a pipe), plain lines, one per state change, with no escape
  codes and no carriage returns::

      drift staging: running
      drift staging: no drift (84 s)
      verify http web: attempt 3 failed: 503 from http://127.0.0.1:3000/api/ready (12.1 s)

Progress goes to stderr so that stdout keeps exactly the report a script or a pipeline reads.
Every name and detail is redacted (the verb's `Redactor`) and stripped of control characters
before it is shown, in both modes. Showing progress is best effort: a stderr that cannot be
written to stops the progress, never the run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

DETAIL_LIMIT = 200
REFRESH_PER_SECOND = 4


class State(StrEnum):
    """A row's state; the value is what the display says."""

    WAITING = "waiting"
    RUNNING = "running"
    RETRYING = "retrying"
    PASSED = "passed"
    FAILED = "failed"
    NO_DRIFT = "no drift"
    DRIFT = "drift found"
    ERROR = "could not run"

    @property
    def final(self) -> bool:
        return self not in (State.WAITING, State.RUNNING, State.RETRYING)


STATE_WIDTH = max(len(state) for state in State)
STYLES: dict[State, str] = {
    State.WAITING: "dim",
    State.RUNNING: "cyan",
    State.RETRYING: "yellow",
    State.PASSED: "green",
    State.FAILED: "bold red",
    State.NO_DRIFT: "green",
    State.DRIFT: "bold yellow",
    State.ERROR: "bold red",
}


@dataclass(frozen=True)
class Layout:
    """What a verb's rows are: `verb` prefixes plain lines, `subject` heads the name column,
    `digits` is the precision of elapsed seconds, `attempts` adds the attempt column."""

    verb: str
    subject: str
    digits: int = 1
    attempts: bool = False


@dataclass
class Row:
    name: str
    state: State = State.WAITING
    attempt: int | None = None
    detail: str = ""
    started: float | None = None
    ended: float | None = None

    def elapsed(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (now if self.ended is None else self.ended) - self.started


def printable(text: str) -> str:
    """One line of printable text: whitespace runs (newlines, tabs, CR) become one space, other
    control characters (an ESC from a CLI's coloured stderr) are escaped, long text is cut."""
    flat = " ".join(text.split())
    flat = "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)
    return flat if len(flat) <= DETAIL_LIMIT else flat[: DETAIL_LIMIT - 1] + "…"


def seconds_text(seconds: float, digits: int) -> str:
    return f"{seconds:.{digits}f} s"


def plain_line(layout: Layout, row: Row, now: float) -> str:
    """The plain-mode line for the state the row has just entered."""
    words = str(row.state)
    if row.state is State.RETRYING:
        words = f"attempt {row.attempt} failed"
    elif row.attempt is not None and row.state is State.PASSED:
        words += f" on attempt {row.attempt}"
    elif row.attempt is not None and row.state is State.FAILED:
        words += f" after {row.attempt} attempt" + ("" if row.attempt == 1 else "s")
    line = f"{layout.verb} {row.name}: {words}"
    if row.detail and row.state is not State.PASSED:
        line += f": {row.detail}"
    elapsed = row.elapsed(now)
    if row.state is not State.RUNNING and elapsed is not None:
        line += f" ({seconds_text(elapsed, layout.digits)})"
    return line


class Board:
    """The rows and their timing; shows nothing itself (what `--quiet` gets).

    `update` may be called from any thread. Times come from `clock`, the same clock the logic
    runs on, so a test with a fake clock sees exact elapsed times.
    """

    def __init__(
        self,
        layout: Layout,
        names: Sequence[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.layout = layout
        self.rows = {name: Row(name) for name in names}
        self._clock = clock
        self._redact = redact
        self._lock = threading.Lock()

    def __enter__(self) -> Board:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def update(
        self, name: str, state: State, *, attempt: int | None = None, detail: str | None = None
    ) -> None:
        """Move a row to `state`; `detail=None` keeps the row's last detail."""
        with self._lock:
            now = self._clock()
            row = self.rows.setdefault(name, Row(name))
            first_run = row.started is None
            if first_run:
                row.started = now
            if state.final:
                row.ended = now
            row.state = state
            row.attempt = attempt if attempt is not None else row.attempt
            row.detail = row.detail if detail is None else detail
            if state is not State.RUNNING or first_run:
                self._changed(self._shown(row), now)

    def _shown(self, row: Row) -> Row:
        """The row as it may be displayed: redacted, one printable line per field."""
        return Row(
            name=printable(self._redact(row.name)),
            state=row.state,
            attempt=row.attempt,
            detail=printable(self._redact(row.detail)),
            started=row.started,
            ended=row.ended,
        )

    def _changed(self, row: Row, now: float) -> None:
        """A row entered a new state (a re-attempt's RUNNING is not news); called under the lock."""


class PlainBoard(Board):
    """One line per state change on a stream that is no terminal."""

    def __init__(
        self,
        layout: Layout,
        names: Sequence[str],
        stream: Callable[[], IO[str]],
        *,
        clock: Callable[[], float] = time.monotonic,
        redact: Callable[[str], str] = str,
    ) -> None:
        super().__init__(layout, names, clock=clock, redact=redact)
        self._stream = stream
        self._broken = False

    def _changed(self, row: Row, now: float) -> None:
        if self._broken:
            return
        stream = self._stream()
        try:
            stream.write(plain_line(self.layout, row, now) + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr: the run goes on without it
            self._broken = True


class LiveBoard(Board):
    """A table redrawn in place on an interactive terminal; its last frame stays on screen."""

    def __init__(
        self,
        layout: Layout,
        names: Sequence[str],
        console: Console,
        *,
        clock: Callable[[], float] = time.monotonic,
        redact: Callable[[str], str] = str,
    ) -> None:
        super().__init__(layout, names, clock=clock, redact=redact)
        self._live = Live(
            console=console,
            get_renderable=self.table,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=False,
            # Nothing else may move between the streams: stdout stays the report, untouched.
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> Board:
        self._live.start(refresh=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()

    def update(
        self, name: str, state: State, *, attempt: int | None = None, detail: str | None = None
    ) -> None:
        super().update(name, state, attempt=attempt, detail=detail)
        # Redrawn now rather than at the next tick, and outside the board's lock: the refresh
        # thread holds Live's lock while `table` takes the board's.
        if self._live.is_started:
            self._live.refresh()

    def table(self) -> Table:
        with self._lock:
            now = self._clock()
            rows = [self._shown(row) for row in self.rows.values()]
        layout = self.layout
        table = Table(box=None, pad_edge=False, show_edge=False)
        table.add_column(layout.subject, no_wrap=True)
        # Fixed widths where values change, so the columns do not jump from frame to frame.
        table.add_column("state", no_wrap=True, min_width=STATE_WIDTH)
        if layout.attempts:
            table.add_column("attempt", justify="right", no_wrap=True)
        table.add_column("elapsed", justify="right", no_wrap=True, min_width=8)
        # The one column that may give way when the terminal is narrow (the others do not wrap);
        # its cells are cut to one line with an ellipsis rather than wrapped.
        table.add_column("detail")
        for row in rows:
            elapsed = row.elapsed(now)
            cells = [Text(row.name), Text(str(row.state), style=STYLES[row.state])]
            if layout.attempts:
                cells.append(Text("" if row.attempt is None else str(row.attempt)))
            cells.append(Text("" if elapsed is None else seconds_text(elapsed, layout.digits)))
            cells.append(Text(row.detail, style="dim", no_wrap=True, overflow="ellipsis"))
            table.add_row(*cells)
        return table


def live_terminal(console: Console, *, default: bool) -> bool:
    """Whether to redraw in place. Rich's own test (`is_interactive`, which honours
    TTY_INTERACTIVE) decides; for the default console on stderr the stream must also really be a
    terminal or TTY_INTERACTIVE=1 be set, because CI jobs set FORCE_COLOR or TTY_COMPATIBLE for
    colour, and redraws in a log would be cursor movements."""
    if not console.is_interactive:
        return False
    if not default or os.environ.get("TTY_INTERACTIVE") == "1":
        return True
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


def progress_board(
    layout: Layout,
    names: Sequence[str],
    *,
    quiet: bool = False,
    console: Console | None = None,
    clock: Callable[[], float] = time.monotonic,
    redact: Callable[[str], str] = str,
) -> Board:
    """The board a run shows its progress on; use it as a context manager around the run.

    `console` is where the progress goes (default: stderr); a test injects one, e.g.
    `Console(force_terminal=True, file=io.StringIO(), width=100)` for the live table.
    """
    if quiet:
        return Board(layout, names, clock=clock, redact=redact)
    target = console if console is not None else Console(stderr=True)
    if live_terminal(target, default=console is None):
        return LiveBoard(layout, names, target, clock=clock, redact=redact)
    # `file` is looked up at each line: the default console's is whatever sys.stderr is then.
    return PlainBoard(layout, names, lambda: target.file, clock=clock, redact=redact)
