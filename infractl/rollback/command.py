"""`infractl rollback`: put a stack's images back to an earlier succeeded update, then `pulumi up`.

Exit 0 rolled back (or nothing to roll back), 1 `pulumi up` failed or was stopped at its timeout
(the stack config already names the older images then), 2 could not run: no history, nothing
succeeded before, malformed history, pulumi CLI missing, failing or slow, no confirmation.
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from infractl.context import CommandError, find_project_root, known_stack
from infractl.pulumi.json_input import JsonInputError, check_json_text, load_json_text
from infractl.pulumi.runner import PulumiError, run_pulumi
from infractl.rollback.history import (
    HistoryError,
    ImageChange,
    RollbackPlan,
    config_args,
    parse_history,
    plan_rollback,
    up_args,
)

PREFIX = "infractl rollback"
HISTORY_PAGE_SIZE = 100
CLI_TIMEOUT_SECONDS = 60.0
UP_TIMEOUT_SECONDS = 3600.0
UP_INTERRUPT_GRACE_SECONDS = 120.0


class RollbackError(Exception):
    """Stops the rollback before anything changed; exit 2."""


def history_args(stack: str) -> list[str]:
    """Secrets stay blinded: the images are plain config, and the history is printed on error."""
    return [
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


def read_plan(stack: str, to: int | None, project: Path, timeout: float) -> RollbackPlan:
    try:
        done = run_pulumi(history_args(stack), cwd=project, timeout=timeout)
    except PulumiError as exc:
        raise RollbackError(str(exc)) from None
    try:
        raw = load_json_text(check_json_text(done.stdout))
    except JsonInputError as exc:
        raise RollbackError(f"`pulumi stack history --json` printed {exc}") from None
    except json.JSONDecodeError as exc:
        raise RollbackError(
            "`pulumi stack history --json` printed invalid JSON "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from None
    return plan_rollback(parse_history(raw), to)


def _describe(change: ImageChange) -> str:
    current = change.current or "the product's default image"
    target = change.target or "the product's default image (stack override removed)"
    return f"{change.service}: {current} -> {target}"


def describe_plan(plan: RollbackPlan, stack: str) -> str:
    current, target = plan.current, plan.target
    message = f", {target.message!r}" if target.message else ""
    lines = [
        f"rollback stack {stack}: version {current.version} ({current.result}, "
        f"{current.start_time}) -> version {target.version} ({target.start_time}{message})",
        *(f"  {_describe(change)}" for change in plan.changes),
        f"then: {shlex.join(['pulumi', *up_args(plan, stack)])}",
    ]
    return "\n".join(lines)


def run_up(args: list[str], cwd: Path, timeout: float) -> int:
    """Run `pulumi up` with its output on our terminal; at the timeout interrupt it like Ctrl-C.

    SIGINT lets pulumi cancel cleanly and release the stack lock; a hard kill could leave the
    stack locked with pending operations, so that only follows if it ignores the interrupt.
    It stays in our process group, so an operator's own Ctrl-C reaches it the same way.
    """
    executable = shutil.which("pulumi")
    if executable is None:
        raise RollbackError("`pulumi` not found on PATH; install the Pulumi CLI")
    process = subprocess.Popen([executable, *args], cwd=cwd, stdin=subprocess.DEVNULL)
    try:
        return process.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        if isinstance(exc, subprocess.TimeoutExpired):
            process.send_signal(signal.SIGINT)
            reason = f"did not finish within {timeout:g}s and was interrupted"
        else:
            reason = "was interrupted"
        try:
            process.wait(timeout=UP_INTERRUPT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        typer.echo(f"{PREFIX}: `pulumi up` {reason}", err=True)
        return process.returncode or 1


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
    project = find_project_root(cwd)
    known_stack(project, stack)
    try:
        plan = read_plan(stack, to, project, cli_timeout)
    except (RollbackError, HistoryError) as exc:
        raise CommandError(str(exc)) from None

    _require_image_changes(plan, stack)
    typer.echo(describe_plan(plan, stack))
    if not yes:
        _require_confirmation(plan, stack, confirm)
    _set_images(plan, stack, project, cli_timeout)
    return _deploy(plan, stack, project, up_timeout)


def _require_image_changes(plan: RollbackPlan, stack: str) -> None:
    """Nothing here can undo a deploy that changed code or other config, not images. Saying
    "rolled back" would leave a failed release live while the pipeline reports it handled."""
    if not plan.changes:
        raise CommandError(
            f"stack {stack}: the images of version {plan.current.version} "
            f"already match version {plan.target.version}, so the failed deploy changed code or "
            "other config, not images; revert the merge commit and let deploy.yml run, or "
            "`pulumi up` from the last good commit"
        )


def _require_confirmation(
    plan: RollbackPlan, stack: str, confirm: Callable[[str], bool] | None
) -> None:
    """Without --yes someone must say yes: with no terminal to ask on, refusing is the safe side."""
    if confirm is None:
        raise CommandError("no terminal to confirm on; rerun with --yes to roll back")
    if not confirm(f"Roll back stack {stack} to version {plan.target.version}?"):
        raise CommandError("cancelled; nothing changed")


def _set_images(plan: RollbackPlan, stack: str, project: Path, timeout: float) -> None:
    """Set each image key in turn; on a failure, name the keys already changed but not deployed."""
    applied: list[ImageChange] = []
    for change in plan.changes:
        try:
            run_pulumi(config_args(change, stack), cwd=project, timeout=timeout)
        except PulumiError as exc:
            done = ", ".join(c.path for c in applied)
            already = f"; already changed in the stack config, not deployed: {done}" if done else ""
            raise CommandError(f"could not change {change.path}: {exc}{already}") from None
        applied.append(change)


def _deploy(plan: RollbackPlan, stack: str, project: Path, timeout: float) -> int:
    """`pulumi up` the changed config; every failure says the config already names the target."""
    try:
        code = run_up(up_args(plan, stack), project, timeout)
    except RollbackError as exc:
        raise CommandError(
            f"{exc}; the stack config already names the images of version "
            f"{plan.target.version}, not yet deployed"
        ) from None
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
