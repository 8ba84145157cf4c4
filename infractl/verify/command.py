"""`infractl verify`: the command-line face of `infractl/verify/checks.py`.

Exit 0 when every check passed, 1 when any still failed at the deadline, 2 when verify could not
run at all (no or malformed outputs, pulumi CLI missing, failing or slow, secrets not shown).
Everything printed goes through the stack's `Redactor`, so the database password cannot leak.
That includes the live progress on stderr (`infractl.progress`, fed by the checks' events): one
row per check with its state, attempt and elapsed time, or plain lines when stderr is no
terminal; `--quiet` turns it off. stdout carries only the report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infractl.context import CommandError, find_project_root, known_stack, valid_stack_name
from infractl.progress import Board, Layout, State, progress_board
from infractl.verify.checks import (
    Check,
    CheckEvent,
    CheckPhase,
    CheckResult,
    Redactor,
    plan_checks,
    run_checks,
)
from infractl.verify.outputs import (
    CLI_TIMEOUT_SECONDS,
    OutputsError,
    StackOutputs,
    read_outputs_cli,
    read_outputs_file,
)

DEFAULT_DEADLINE_SECONDS = 120.0
PROGRESS = Layout(verb="verify", subject="check", digits=1, attempts=True)
PHASE_STATES = {
    CheckPhase.STARTED: State.RUNNING,
    CheckPhase.RETRYING: State.RETRYING,
    CheckPhase.PASSED: State.PASSED,
    CheckPhase.FAILED: State.FAILED,
}


def load_outputs(
    stack: str, outputs_file: Path | None, cwd: Path | None, cli_timeout: float
) -> StackOutputs:
    """From the file when given (then no pulumi CLI is needed), else from the CLI in the project."""
    valid_stack_name(stack)
    if outputs_file is not None:
        outputs = read_outputs_file(outputs_file)
    else:
        root = find_project_root(cwd)
        outputs = read_outputs_cli(known_stack(root, stack), cwd=root, timeout=cli_timeout)
    if outputs.stack != stack:
        raise OutputsError(
            f"the outputs are for stack '{outputs.stack}', not '{stack}'; "
            "verifying another stack's outputs would prove nothing about this one"
        )
    return outputs


def render_text(outputs: StackOutputs, results: Sequence[CheckResult], seconds: float) -> str:
    name_width = max(len(r.name) for r in results)
    lines = [
        f"verify stack {outputs.stack} ({outputs.target}): {len(results)} checks",
    ]
    for r in results:
        tries = f"{r.attempts} attempt" + ("" if r.attempts == 1 else "s")
        lines.append(
            f"  {'PASS' if r.ok else 'FAIL'}  {r.name:<{name_width}}  {tries:>11}  "
            f"{r.seconds:6.2f}s  {r.detail}"
        )
    failed = [r for r in results if not r.ok]
    if failed:
        lines.append(f"{len(failed)} of {len(results)} checks failed after {seconds:.1f}s")
    else:
        lines.append(f"all {len(results)} checks passed in {seconds:.1f}s")
    return "\n".join(lines)


def render_json(
    outputs: StackOutputs, results: Sequence[CheckResult], seconds: float, deadline: float
) -> str:
    return json.dumps(
        {
            "stack": outputs.stack,
            "target": outputs.target,
            "ok": all(r.ok for r in results),
            "deadlineSeconds": deadline,
            "seconds": round(seconds, 3),
            "checks": [
                {
                    "name": r.name,
                    "ok": r.ok,
                    "attempts": r.attempts,
                    "seconds": round(r.seconds, 3),
                    "detail": r.detail,
                }
                for r in results
            ],
        },
        indent=2,
    )


def show_on(board: Board) -> Callable[[CheckEvent], None]:
    """The checks' events as progress: a new attempt keeps the last failure's detail in view."""

    def observe(event: CheckEvent) -> None:
        detail = None if event.phase is CheckPhase.STARTED else event.detail
        board.update(event.name, PHASE_STATES[event.phase], attempt=event.attempt, detail=detail)

    return observe


def _cannot_run(stack: str, message: str, as_json: bool) -> CommandError:
    """With --json, a pipeline reading stdout still gets a document saying verify did not run."""
    if as_json:
        typer.echo(json.dumps({"stack": stack, "ok": False, "error": message}, indent=2))
    return CommandError(message)


def verify(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack to verify, e.g. dev.")],
    outputs: Annotated[
        Path | None,
        typer.Option(
            "--outputs",
            help="Read outputs from this file (`pulumi stack output --json --show-secrets`) "
            "instead of running the pulumi CLI.",
            dir_okay=False,
        ),
    ] = None,
    deadline: Annotated[
        float,
        typer.Option(
            "--deadline",
            min=0.0,
            help="Seconds to keep retrying failing checks before giving up; 0 checks once.",
        ),
    ] = DEFAULT_DEADLINE_SECONDS,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="Project directory (default: found from the current one)."),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress on stderr (the report is unchanged)."),
    ] = False,
) -> int:
    """Check a deployed stack is ready: services answer, the database is migrated, alerts load."""
    return run_verify(stack, outputs, deadline, as_json, cwd, quiet=quiet)


def run_verify(
    stack: str,
    outputs_file: Path | None,
    deadline: float,
    as_json: bool,
    cwd: Path | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    cli_timeout: float = CLI_TIMEOUT_SECONDS,
    quiet: bool = False,
    console: Console | None = None,
    plan: Callable[[StackOutputs], Sequence[Check]] = plan_checks,
) -> int:
    """`console` (default: stderr) and `plan` are seams for tests: where the progress goes and
    which checks run."""
    try:
        outputs = load_outputs(stack, outputs_file, cwd, cli_timeout)
    except (OutputsError, CommandError) as exc:
        raise _cannot_run(stack, str(exc), as_json) from None
    redact = Redactor(outputs.secrets)
    checks = plan(outputs)
    board = progress_board(
        PROGRESS, [c.name for c in checks], quiet=quiet, console=console, clock=clock, redact=redact
    )
    started = clock()
    with board:
        results = run_checks(
            checks,
            deadline=started + deadline,
            clock=clock,
            sleep=sleep,
            redact=redact,
            observe=show_on(board),
        )
    seconds = clock() - started
    if as_json:
        text = render_json(outputs, results, seconds, deadline)
    else:
        text = render_text(outputs, results, seconds)
    typer.echo(redact(text))
    return 0 if all(r.ok for r in results) else 1
