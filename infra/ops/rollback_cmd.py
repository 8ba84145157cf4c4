"""`infractl rollback`: put a stack's images back to an earlier succeeded update, then `pulumi up`.

Exit 0 rolled back (or nothing to roll back), 1 `pulumi up` failed or was stopped at its timeout
(the stack config already names the older images then), 2 could not run: no history, nothing
succeeded before, malformed history, pulumi CLI missing, failing or slow, no confirmation.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from infra.ops.outputs import OutputsError, last_line, run_pulumi
from infra.ops.project import ProjectNotFound, find_project_root
from infra.ops.rollback import (
    HistoryError,
    ImageChange,
    RollbackPlan,
    config_argv,
    parse_history,
    plan_rollback,
    up_argv,
)

PREFIX = "infractl rollback"
HISTORY_PAGE_SIZE = 100
CLI_TIMEOUT_SECONDS = 60.0
UP_TIMEOUT_SECONDS = 3600.0
UP_INTERRUPT_GRACE_SECONDS = 120.0


class RollbackError(Exception):
    """Stops the rollback before `pulumi up`; exit 2."""


def history_argv(stack: str, pulumi: str = "pulumi") -> list[str]:
    return [
        pulumi,
        "stack",
        "history",
        "--json",
        "--show-secrets=false",
        "--page-size",
        str(HISTORY_PAGE_SIZE),
        "--non-interactive",
        "--stack",
        stack,
    ]


def _describe(change: ImageChange) -> str:
    target = change.target or "the product's default image (stack override removed)"
    return f"{change.service}: {change.current or 'the product default'} -> {target}"


def describe_plan(plan: RollbackPlan, stack: str) -> str:
    current, target = plan.current, plan.target
    lines = [
        f"rollback stack {stack}: version {current.version} ({current.result}, "
        f"{current.start_time}) -> version {target.version} ({target.start_time}"
        + (f", {target.message!r}" if target.message else "")
        + ")",
    ]
    lines += [f"  {_describe(change)}" for change in plan.changes]
    lines.append(f"then: {' '.join(up_argv(plan, stack))}")
    return "\n".join(lines)


def run_up(argv: list[str], cwd: Path, timeout: float) -> int:
    """Run `pulumi up` with its output on our terminal; at the timeout interrupt it like Ctrl-C.

    SIGINT lets pulumi stop cleanly and release the stack lock; a hard kill could leave the
    stack locked with pending operations, so that only follows when it ignores the interrupt.
    """
    try:
        process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RollbackError(f"the pulumi CLI ({argv[0]}) is not on PATH") from None
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=UP_INTERRUPT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        typer.echo(
            f"{PREFIX}: error: `pulumi up` did not finish within {timeout:g}s and was interrupted",
            err=True,
        )
        return -1


def rollback(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack to roll back, e.g. prod.")],
    to: Annotated[
        int | None,
        typer.Option("--to", help="Roll back to this update version (must have succeeded)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="Project directory (default: found from the current one)."),
    ] = None,
) -> int:
    """Restore the images of the last succeeded update before the current one, then `pulumi up`."""
    confirm = None if yes or not sys.stdin.isatty() else _ask
    return run_rollback(stack, to, yes, cwd, confirm=confirm)


def _ask(prompt: str) -> bool:
    return typer.confirm(prompt, default=False)


def run_rollback(
    stack: str,
    to: int | None,
    yes: bool,
    cwd: Path | None,
    *,
    confirm: Callable[[str], bool] | None,
    cli_timeout: float = CLI_TIMEOUT_SECONDS,
    up_timeout: float = UP_TIMEOUT_SECONDS,
) -> int:
    """The rollback; `confirm` is None when there is no one to ask (no terminal on stdin)."""
    try:
        project = find_project_root(cwd)
        done = run_pulumi(
            history_argv(stack), cwd=project, timeout=cli_timeout, what="read the stack history"
        )
        if done.returncode != 0:
            raise RollbackError(
                f"`pulumi stack history` failed for stack '{stack}' (exit {done.returncode}): "
                f"{last_line(done.stderr)}"
            )
        try:
            raw = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise RollbackError(
                f"`pulumi stack history --json` printed invalid JSON "
                f"(line {exc.lineno}, column {exc.colno})"
            ) from None
        plan = plan_rollback(parse_history(raw), to)
    except (ProjectNotFound, OutputsError, RollbackError, HistoryError) as exc:
        typer.echo(f"{PREFIX}: error: {exc}", err=True)
        return 2

    if not plan.changes:
        typer.echo(
            f"stack {stack}: the images of version {plan.current.version} already match "
            f"version {plan.target.version}; nothing to roll back"
        )
        return 0
    typer.echo(describe_plan(plan, stack))
    if not yes:
        if confirm is None:
            typer.echo(
                f"{PREFIX}: error: no terminal to confirm on; rerun with --yes to roll back",
                err=True,
            )
            return 2
        if not confirm(f"Roll back stack {stack} to version {plan.target.version}?"):
            typer.echo(f"{PREFIX}: cancelled; nothing changed", err=True)
            return 2

    applied: list[ImageChange] = []
    for change in plan.changes:
        try:
            done = run_pulumi(
                config_argv(change, stack), cwd=project, timeout=cli_timeout, what="set config"
            )
            failure = None if done.returncode == 0 else last_line(done.stderr)
        except OutputsError as exc:
            failure = str(exc)
        if failure is not None:
            typer.echo(f"{PREFIX}: error: could not change {change.path}: {failure}", err=True)
            if applied:
                typer.echo(
                    f"{PREFIX}: already changed in the stack config (not deployed): "
                    + ", ".join(c.path for c in applied),
                    err=True,
                )
            return 2
        applied.append(change)

    try:
        code = run_up(up_argv(plan, stack), project, up_timeout)
    except RollbackError as exc:
        typer.echo(
            f"{PREFIX}: error: {exc}; the stack config already names the images of version "
            f"{plan.target.version}, not yet deployed",
            err=True,
        )
        return 2
    if code != 0:
        typer.echo(
            f"{PREFIX}: `pulumi up` failed (exit {code}); the stack config already names the "
            f"images of version {plan.target.version}: fix the cause and rerun "
            f"`pulumi up --stack {stack}`",
            err=True,
        )
        return 1
    typer.echo(f"stack {stack} rolled back to the images of version {plan.target.version}")
    return 0
