"""`infractl plan`: the full resource tree of a stack, offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.config.errors import ConfigError
from infra.config.loader import StackFileError
from infra.offline import run_stack
from infractl.context import CommandError, find_project_root, known_stack
from infractl.plan.render import placeholder_warning, plan_json, plan_tree


def plan(
    stack: Annotated[str, typer.Option("--stack", "-s", help="stack to plan, e.g. dev")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    cwd: Annotated[
        Path | None, typer.Option("--cwd", help="project directory (default: search upwards)")
    ] = None,
) -> int:
    """Evaluate a stack under Pulumi's mock runtime and print its resource tree."""
    root = find_project_root(cwd)
    known_stack(root, stack)
    try:
        run = run_stack(root, stack, on_missing_secrets="placeholder")
    except (ConfigError, StackFileError) as exc:
        raise CommandError(str(exc)) from None
    warning = placeholder_warning(run)
    if warning:
        print(warning, file=sys.stderr)
    if as_json:
        sys.stdout.write(plan_json(run) + "\n")
    else:
        # Piped output is for grep and diff: never crop a line to a guessed terminal width.
        width = None if sys.stdout.isatty() else 100_000
        Console(highlight=False, width=width).print(plan_tree(run))
    return 0
