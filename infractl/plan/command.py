"""`infractl plan`: the full resource tree of a stack, offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.config.errors import ConfigError
from infra.config.loader import StackFileError
from infra.offline import StackRun, run_stack
from infractl.context import CommandError, find_project_root, known_stack, stack_list
from infractl.plan.baseline import BaselinePlan
from infractl.plan.diff import diff_plans, render_markdown, to_json
from infractl.plan.render import placeholder_warning, plan_document, plan_json, plan_tree


def plan(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="stack to plan, e.g. dev")
    ] = None,
    stacks: Annotated[
        str | None,
        typer.Option(
            "--stacks",
            help="several stacks in one process, e.g. dev,staging,prod (--json: a JSON array)",
        ),
    ] = None,
    diff_against: Annotated[
        str | None,
        typer.Option(
            "--diff-against",
            metavar="GIT_REF",
            help="print what changes from the plan at this git ref (markdown; --json: JSON)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    cwd: Annotated[
        Path | None, typer.Option("--cwd", help="project directory (default: search upwards)")
    ] = None,
) -> int:
    """Evaluate stacks under Pulumi's mock runtime and print each one's resource tree."""
    if (stack is None) == (stacks is None):
        raise CommandError("give one of --stack NAME or --stacks A,B,...")
    root = find_project_root(cwd)
    names = [known_stack(root, stack)] if stack is not None else stack_list(root, stacks)
    if diff_against is not None:
        return _diff(root, names, diff_against, as_json)
    runs = [_evaluate(root, name) for name in names]
    if as_json:
        documents = [plan_json(run) for run in runs]
        text = documents[0] if stack is not None else "[\n" + ",\n".join(documents) + "\n]"
        sys.stdout.write(text + "\n")
        return 0
    # Piped output is for grep and diff: never crop a line to a guessed terminal width.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)
    for run in runs:
        console.print(plan_tree(run))
    return 0


def _diff(root: Path, names: list[str], ref: str, as_json: bool) -> int:
    """Plan each stack at `ref` in child processes while planning the working tree here."""
    baselines: list[BaselinePlan] = []
    try:
        baselines += [BaselinePlan(root, ref, name) for name in names]
        documents = [plan_document(_evaluate(root, name)) for name in names]
        diffs = [
            diff_plans(name, ref, baseline.result(), document)
            for name, baseline, document in zip(names, baselines, documents, strict=True)
        ]
    finally:
        for baseline in baselines:
            baseline.close()
    if as_json:
        sys.stdout.write(json.dumps(to_json(diffs), indent=2) + "\n")
    else:
        sys.stdout.write(render_markdown(diffs))
    return 0


def _evaluate(root: Path, stack: str) -> StackRun:
    try:
        run = run_stack(root, stack, on_missing_secrets="placeholder")
    except ConfigError as exc:
        raise CommandError(str(exc), lines=True) from None
    except StackFileError as exc:
        raise CommandError(str(exc)) from None
    warning = placeholder_warning(run)
    if warning:
        print(warning, file=sys.stderr)
    return run
