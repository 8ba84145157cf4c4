"""`infractl drift`: run the refresh preview for each stack and write drift.md and drift.json.

Thin adapter: it finds the project and stacks, runs the CLI per stack in parallel through
`infractl.pulumi.runner`, and hands output to the digest parser (`infractl.pulumi.digest`) and
the pure classifier (`infractl.drift.classify`). Any error
while checking a stack becomes a failed stack in the report, never a clean one.

While the stacks run, stderr shows their progress (`infractl.progress`, fed by
`infractl.drift.run`'s events): a live table on a terminal, else one plain line per stack and
state; `--quiet` turns it off. stdout keeps only the summary printed at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.config.project import PROJECT_NAME
from infractl.context import CommandError, find_project_root, stack_list
from infractl.drift.classify import (
    DriftRun,
    StackDrift,
    StackStatus,
    classify_stack,
    failed_stack,
)
from infractl.drift.ignore import IgnoreFileError, IgnoreRule, parse_ignore_rules
from infractl.drift.render import render_json, render_markdown
from infractl.drift.run import StackEvent, check_stacks
from infractl.progress import Board, Layout, State, progress_board
from infractl.pulumi import runner
from infractl.pulumi.digest import parse_digest
from infractl.pulumi.digest_text import PreviewFormatError

DEFAULT_TIMEOUT_SECONDS = 900.0
PROGRESS = Layout(verb="drift", subject="stack", digits=0)
STATUS_STATES = {
    StackStatus.CLEAN: State.NO_DRIFT,
    StackStatus.DRIFT: State.DRIFT,
    StackStatus.FAILED: State.ERROR,
}


def check_stack(
    stack: str, root: Path, timeout: float, rules: tuple[IgnoreRule, ...]
) -> StackDrift:
    try:
        result = runner.refresh_preview(stack, cwd=root, timeout=timeout)
        digest = parse_digest(result.stdout, f"`pulumi refresh --stack {stack}` output")
    except runner.PulumiError as exc:
        return failed_stack(stack, str(exc))
    except PreviewFormatError as exc:
        return failed_stack(stack, f"unusable output: {exc}")
    except Exception as exc:  # a bug here must still show up as a failed check, not as clean
        return failed_stack(stack, f"internal error: {type(exc).__name__}: {exc}")
    return classify_stack(stack, digest, rules)


def show_on(board: Board) -> Callable[[StackEvent], None]:
    """The stacks' events as progress: running, then no drift, drift found or could not run."""

    def observe(event: StackEvent) -> None:
        if event.result is None:
            board.update(event.stack, State.RUNNING)
        else:
            state = STATUS_STATES[event.result.status]
            board.update(event.stack, state, detail=event.result.error or "")

    return observe


def read_rules(ignore: Path | None) -> tuple[IgnoreRule, ...]:
    if ignore is None:
        return ()
    try:
        return parse_ignore_rules(ignore.read_text(encoding="utf-8"), str(ignore))
    except OSError as exc:
        raise CommandError(f"{ignore}: cannot read: {exc.strerror or exc}") from None
    except (IgnoreFileError, UnicodeDecodeError) as exc:
        raise CommandError(str(exc)) from None


def drift(
    stacks: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated stacks, e.g. dev,prod (default: every Pulumi.<stack>.yaml)."
        ),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option(help="Where drift.md and drift.json are written.")
    ] = Path("out/drift"),
    parallel: Annotated[int, typer.Option(min=1, max=16, help="Stacks checked at once.")] = 3,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds one stack's refresh may take before it is killed.")
    ] = DEFAULT_TIMEOUT_SECONDS,
    ignore: Annotated[
        Path | None,
        typer.Option(help="YAML list of known noise: {type, property, reason} (globs allowed)."),
    ] = None,
    cwd: Annotated[
        Path | None,
        typer.Option(help="Project directory (default: found from the current directory)."),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress on stderr (the summary is unchanged)."),
    ] = False,
) -> int:
    """Check stacks for drift (changes made outside Pulumi); writes drift.md and drift.json.

    Runs `pulumi refresh --preview-only`, which changes no state. Exit 0 no drift, 1 drift
    found, 2 any stack could not be checked.
    """
    return run_drift(stacks, out_dir, parallel, timeout, ignore, cwd, quiet=quiet)


def run_drift(
    stacks: str | None,
    out_dir: Path,
    parallel: int,
    timeout: float,
    ignore: Path | None,
    cwd: Path | None,
    *,
    quiet: bool = False,
    console: Console | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """`console` (default: stderr) and `clock` are seams for tests of the progress display."""
    root = find_project_root(cwd)
    names = stack_list(root, stacks)
    rules = read_rules(ignore)
    with progress_board(PROGRESS, names, quiet=quiet, console=console, clock=clock) as board:
        results = check_stacks(
            names,
            lambda s: check_stack(s, root, timeout, rules),
            parallel=parallel,
            observe=show_on(board),
        )
    run = DriftRun(project=PROJECT_NAME, generated_at=datetime.now(UTC), stacks=tuple(results))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "drift.md").write_text(render_markdown(run), encoding="utf-8")
        (out_dir / "drift.json").write_text(render_json(run), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    for result in results:
        line = f"{result.stack}: {result.status.value}"
        if result.error is not None:
            line += f" ({result.error})"
        print(line)
    print(f"wrote {out_dir / 'drift.md'} and {out_dir / 'drift.json'}")
    return run.exit_code
