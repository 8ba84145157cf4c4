"""`infractl parity`: the command-line face of `infractl/parity/check.py`.

It evaluates every stack named (and the reference) under the mock runtime from its real stack
file, reads the `pulumi stack export` files in live mode, and prints every difference with why it
is or is not allowed. Exit 0 when all are allowed, 1 when any is not, 2 when the check could not
run (no project, unknown stack, invalid config, a stack that does not evaluate, a missing or
malformed export).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra.config.errors import ConfigError
from infra.config.loader import StackFileError
from infra.config.project import PROJECT_NAME
from infra.offline import run_stack
from infractl.context import CommandError, find_project_root, known_stack, stack_list
from infractl.parity.check import ParityReport, check
from infractl.parity.stack_state import StackState
from infractl.pulumi.export import ExportError, parse_export
from infractl.pulumi.json_input import (
    JsonInputError,
    decode_json_text,
    load_json_text,
    read_input_bytes,
)
from infractl.pulumi.resource import Resource, resources_from_registrations

VALUE_WIDTH = 60


def read_export(directory: Path, stack: str) -> list[Resource]:
    """`DIR/<stack>.json`, checked to be this project's and this stack's export."""
    path = directory / f"{stack}.json"
    if not path.exists():
        raise CommandError(
            f"{path}: no such export; write it with "
            f"`pulumi stack export --stack {stack} --file {path}`"
        )
    try:
        document = load_json_text(decode_json_text(read_input_bytes(path)))
    except JsonInputError as exc:
        raise CommandError(f"{path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    try:
        export = parse_export(document, str(path))
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    if export.project not in (None, PROJECT_NAME):
        raise CommandError(f"{path}: an export of project '{export.project}', not '{PROJECT_NAME}'")
    if export.stack not in (None, stack):
        raise CommandError(f"{path}: an export of stack '{export.stack}', not '{stack}'")
    return export.resources


def evaluate(root: Path, stack: str) -> StackState:
    """The stack's validated config and planned graph, from its stack file under mocks."""
    try:
        run = run_stack(root, stack, on_missing_secrets="placeholder")
    except (ConfigError, StackFileError):
        raise  # printed whole by the command: one line per bad key
    except Exception as exc:  # the program itself failed, so there is nothing to compare
        raise CommandError(
            f"stack '{stack}' does not evaluate under mocks: {type(exc).__name__}: {exc}"
        ) from None
    return StackState(run.config, resources_from_registrations(run.resources))


def build_report(
    stacks_option: str | None, reference_option: str | None, live: Path | None, cwd: Path | None
) -> ParityReport:
    root = find_project_root(cwd)
    names = stack_list(root, stacks_option)
    if reference_option is not None:
        known_stack(root, reference_option)
    if live is not None and not live.is_dir():
        raise CommandError(f"--live {live}: not a directory of `pulumi stack export` files")
    # Exports first: they are cheap to read, and a bad one should not wait for evaluation.
    deployed: dict[str, list[Resource]] = {}
    if live is not None:
        _read_exports(live, [*names, *([reference_option] if reference_option else [])], deployed)
    states, reference = _evaluate_stacks(root, names, reference_option)
    if live is not None:
        _read_exports(live, [*names, reference], deployed)
        for name in [*names, reference]:
            states[name] = StackState(states[name].config, states[name].planned, deployed[name])
    return check(states[reference], [states[name] for name in names], live=live is not None)


def _read_exports(directory: Path, names: list[str], deployed: dict[str, list[Resource]]) -> None:
    """Read into `deployed` the export of each stack named that it does not hold yet, in order,
    so the first bad export is the one reported."""
    for name in names:
        if name not in deployed:
            deployed[name] = read_export(directory, name)


def _evaluate_stacks(
    root: Path, names: list[str], reference_option: str | None
) -> tuple[dict[str, StackState], str]:
    """Every stack named and the reference (given, or the one the stacks declare), evaluated
    under mocks."""
    states = {name: evaluate(root, name) for name in names}
    reference = reference_option or _declared_reference(states)
    known_stack(root, reference)
    if reference not in states:
        states[reference] = evaluate(root, reference)
    return states, reference


def _declared_reference(states: dict[str, StackState]) -> str:
    declared = {name: state.config.parity.reference for name, state in states.items()}
    references = set(declared.values())
    if len(references) != 1:
        pairs = ", ".join(f"{name}: {ref}" for name, ref in declared.items())
        raise CommandError(
            f"the stacks declare different parity.reference ({pairs}); pass --reference"
        )
    return references.pop()


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return escape(text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…")


def render_table(report: ParityReport) -> Table:
    table = Table()
    for column in ("stack", "level", "path", report.reference, "value", "allowed", "reason"):
        table.add_column(column, overflow="fold")
    for difference in report.differences:
        shown = difference.to_json()
        table.add_row(
            difference.stack,
            str(difference.level),
            escape(difference.path),
            _cell(shown["reference_value"]),
            _cell(shown["value"]),
            "yes" if difference.allowed else "[bold red]NO[/bold red]",
            escape(difference.reason),
        )
    return table


def summary(report: ParityReport) -> str:
    failures = report.failures
    compared = [name for name in report.stacks if name != report.reference]
    head = (
        f"{len(report.differences)} difference(s) from {report.reference} in "
        f"{', '.join(compared) or 'no other stack'}"
    )
    if not failures:
        return f"parity ok: {head}, all allowed"
    return f"parity FAILED: {head}, {len(failures)} not allowed"


def parity(
    stacks: Annotated[
        str | None,
        typer.Option("--stacks", help="Comma-separated stacks to compare (default: all)."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference", help="Stack to compare against (default: the stacks' parity.reference)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    live: Annotated[
        Path | None,
        typer.Option(
            "--live",
            help="Compare deployed state: DIR/<stack>.json from `pulumi stack export`.",
        ),
    ] = None,
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="Project directory (default: found from the current one)."),
    ] = None,
) -> int:
    """Compare stacks with their reference: config, logical shape, resources (or live state)."""
    try:
        report = build_report(stacks, reference, live, cwd)
    except ConfigError as exc:
        raise CommandError(str(exc), lines=True) from None
    except StackFileError as exc:
        raise CommandError(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        # Piped output is for grep and diff: never crop a line to a guessed terminal width.
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)
        if report.differences:
            console.print(render_table(report))
        console.print(summary(report))
    return 0 if report.ok else 1
