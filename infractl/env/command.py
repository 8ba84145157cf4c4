"""`infractl env`: `--check` holds every stack to the app's `.env.example` (exit 1 on a missing or
undocumented variable); `--stack dev` prints the `.env` to run the app outside Docker against
that stack, secrets only with `--secrets` and never to a terminal. Exit 2 when it cannot run."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from infra.config.app_env import Injected, injected_variables
from infra.config.errors import ConfigError
from infra.config.layering import load_stack_config
from infra.config.loader import StackFileError
from infractl.context import CommandError, find_project_root, known_stack, stack_list
from infractl.env.contract import contract_problems
from infractl.env.dotenv import render_dotenv
from infractl.env.example import Documented, ExampleError, read_example
from infractl.pulumi.json_input import JsonInputError, load_json_text
from infractl.pulumi.runner import PulumiError, run_pulumi
from infractl.pulumi.stacks import stack_output_args
from infractl.verify.outputs import CLI_TIMEOUT_SECONDS

DEFAULT_EXAMPLE = Path("app/.env.example")


def _injected(root: Path, stack: str, service: str | None) -> dict[str, Injected]:
    try:
        cfg = load_stack_config(root, stack)
    except (ConfigError, StackFileError) as exc:
        raise CommandError(str(exc), lines=True) from None
    if service is not None and service not in cfg.services:
        known = ", ".join(sorted(cfg.services))
        raise CommandError(f"stack '{stack}' has no service '{service}' (it has {known})")
    if service is not None:
        cfg = cfg.model_copy(update={"services": {service: cfg.services[service]}})
    return injected_variables(cfg)


def _example(root: Path, example: Path) -> tuple[dict[str, Documented], str]:
    path = example if example.is_absolute() else root / example
    try:
        return read_example(path), str(example)
    except ExampleError as exc:
        raise CommandError(str(exc)) from None


def check(root: Path, stacks: list[str], example: Path) -> int:
    documented, source = _example(root, example)
    problems = [
        problem
        for stack in stacks
        for problem in contract_problems(stack, _injected(root, stack, None), documented, source)
    ]
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{source}: {len(documented)} variables; {', '.join(stacks)} provide them all")
    return 1 if problems else 0


def stack_secrets(root: Path, stack: str, injected: Mapping[str, Injected]) -> dict[str, str]:
    """Secret values from the deployed stack's outputs: `databaseUrl` and `appSecrets`."""
    try:
        args = stack_output_args(stack, show_secrets=True)
        done = run_pulumi(args, cwd=root, timeout=CLI_TIMEOUT_SECONDS)
        outputs: Any = load_json_text(done.stdout)
    except (PulumiError, JsonInputError, ValueError) as exc:
        message = str(exc) if isinstance(exc, PulumiError) else "its output is not a JSON object"
        raise CommandError(f"cannot read stack '{stack}' outputs: {message}") from None
    if not isinstance(outputs, dict):
        raise CommandError(f"cannot read stack '{stack}' outputs: not a JSON object")
    app_secrets = outputs.get("appSecrets")
    by_secret = app_secrets if isinstance(app_secrets, dict) else {}
    values = {"DATABASE_URL": outputs.get("databaseUrl")}
    values |= {name: by_secret.get(var.secret) for name, var in injected.items() if var.secret}
    return {name: value for name, value in values.items() if isinstance(value, str)}


def write_dotenv(root: Path, stack: str, service: str | None, secrets: bool, example: Path) -> int:
    if secrets and sys.stdout.isatty():
        raise CommandError("--secrets would print secrets to the terminal; redirect to a file")
    injected = _injected(root, known_stack(root, stack), service)
    differing = [n for n, v in injected.items() if v.kind == "plain" and v.value is None]
    if differing:
        raise CommandError(
            f"services of stack '{stack}' set {', '.join(differing)} differently; "
            "pick one with --service"
        )
    documented, _ = _example(root, example)
    values = stack_secrets(root, stack, injected) if secrets else None
    sys.stdout.write(render_dotenv(stack, injected, documented, values))
    return 0


def env(
    check_contract: Annotated[
        bool, typer.Option("--check", help="Check every stack against the app's .env.example.")
    ] = False,
    stacks: Annotated[
        str | None, typer.Option("--stacks", help="With --check: comma-separated stacks.")
    ] = None,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Print the .env for running against STACK.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Only this service's variables.")
    ] = None,
    secrets: Annotated[
        bool, typer.Option("--secrets", help="Fill secrets from the stack's outputs.")
    ] = False,
    example: Annotated[
        Path, typer.Option("--example", help="The app's env example, from the project root.")
    ] = DEFAULT_EXAMPLE,
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="Project directory (default: found from the current one)."),
    ] = None,
) -> int:
    """Hold the stacks to the app's .env.example, or print a .env for one stack."""
    if check_contract == (stack is not None):
        raise CommandError("give exactly one of --check or --stack STACK")
    root = find_project_root(cwd)
    if check_contract:
        return check(root, stack_list(root, stacks), example)
    assert stack is not None
    return write_dotenv(root, stack, service, secrets, example)
