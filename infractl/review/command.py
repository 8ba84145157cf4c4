"""`infractl review up|down|list|expire`: a pull request's own stack, `pr-<n>`, in the staging
account (docs/runbooks/review-stacks.md).

- `up --pr N`: writes `Pulumi.pr-N.yaml` from staging's (`stack_file.py`), validated before
  anything runs; refuses a new stack past `--max-stacks` (the cost guard: each holds a VPC, a NAT
  gateway and a database); `pulumi stack select --create`, copies staging's secret values
  (`pulumi config cp`), `pulumi up` with the policy pack, prints the URLs from the outputs.
- `down --pr N`: `pulumi destroy`, and only once that succeeded `pulumi stack rm`; a PR without
  a stack is nothing to do.
- `list`: every `pr-*` stack with its expiry (its `expiresAt` output) and whether it is past it.
- `expire`: `down` for every review stack past its expiry; prints what it removed as markdown.

Exit 0 done, 2 could not run (bad usage, a failed or slow CLI call, invalid config), one line on
stderr as every verb. Only names of the form `pr-<n>` are ever destroyed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from infra.config.errors import ConfigError
from infra.config.layering import stack_file_config
from infra.config.loader import (
    StackFileError,
    stack_file_path,
)
from infra.config.models import StackConfig
from infra.config.review import (
    DEFAULT_TTL_DAYS,
    MAX_PR_NUMBER,
    MAX_TTL_DAYS,
    REVIEW_BASE,
    review_stack_name,
)
from infra.config.yaml_file import YamlFileError, read_yaml_file
from infractl.context import CommandError, find_project_root, known_stack
from infractl.pulumi.runner import PulumiError, PulumiFailed
from infractl.pulumi.stacks import StackListError
from infractl.review.cli_calls import (
    UPDATE_TIMEOUT_SECONDS,
    Cli,
    copy_secrets_args,
    destroy_args,
    remove_args,
    select_create_args,
    up_args,
)
from infractl.review.stack_file import has_secret_values, render, review_config, review_document
from infractl.review.stacks import (
    URLS_OUTPUT,
    Removal,
    ReviewStack,
    due,
    read_outputs,
    render_expiry,
    render_list,
    review_stack_names,
    to_json,
)

DEFAULT_MAX_STACKS = 4
"""Each review stack holds a VPC and an Elastic IP; an account has 5 of each per region by
default and staging holds one of each."""


class Action(StrEnum):
    UP = "up"
    DOWN = "down"
    LIST = "list"
    EXPIRE = "expire"


def review(
    action: Annotated[Action, typer.Argument(help="up, down, list or expire.")],
    pr: Annotated[
        int | None,
        typer.Option("--pr", min=1, max=MAX_PR_NUMBER, help="Pull request number (up, down)."),
    ] = None,
    base: Annotated[
        str, typer.Option("--base", help="Stack a review stack is made from (up).")
    ] = REVIEW_BASE,
    ttl_days: Annotated[
        int,
        typer.Option("--ttl-days", min=1, max=MAX_TTL_DAYS, help="Days from today it lives (up)."),
    ] = DEFAULT_TTL_DAYS,
    max_stacks: Annotated[
        int, typer.Option("--max-stacks", min=1, help="Refuse a new review stack past this many.")
    ] = DEFAULT_MAX_STACKS,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds `up` or `destroy` may take.")
    ] = UPDATE_TIMEOUT_SECONDS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (up, list).")] = False,
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="Project directory (default: found from the current one)."),
    ] = None,
) -> int:
    """Create, update, list and remove pull requests' review stacks (pr-<number>)."""
    root = find_project_root(cwd)
    cli = Cli(root, timeout)
    today = datetime.now(UTC).date()
    if action in (Action.UP, Action.DOWN):
        if pr is None:
            raise CommandError(f"review {action} needs --pr <number>")
        stack = review_stack_name(pr)
        if action is Action.UP:
            expires_at = today + timedelta(days=ttl_days)
            return review_up(cli, stack, base, expires_at, max_stacks, as_json)
        return review_down(cli, stack)
    if pr is not None:
        raise CommandError(f"review {action} takes no --pr: it covers every review stack")
    stacks = review_stacks(cli)
    if action is Action.LIST:
        if as_json:
            sys.stdout.write(json.dumps([to_json(s, today) for s in stacks], indent=2) + "\n")
        else:
            sys.stdout.write(render_list(stacks, today))
        return 0
    return review_expire(cli, stacks, today)


# ---------------------------------------------------------------------------------------- up


def review_up(
    cli: Cli, stack: str, base: str, expires_at: date, max_stacks: int, as_json: bool
) -> int:
    """Everything that can be checked offline is, before the first CLI call."""
    known_stack(cli.root, base)
    base_cfg, base_file = read_base(cli.root, base)
    config = review_config(stack, base_cfg, base_file, expires_at)
    validate(stack, base, config)
    existing = [listed.name for listed in review_stack_names(cli.stacks())]
    if stack not in existing and len(existing) >= max_stacks:
        raise CommandError(
            f"{len(existing)} review stacks exist already ({', '.join(existing)}), the limit "
            f"(--max-stacks {max_stacks}); remove one with `infractl review down --pr <n>`"
        )
    call(cli, select_create_args(stack))
    write_stack_file(cli.root, stack, base, config)
    if has_secret_values(base_file):
        call(cli, copy_secrets_args(base, stack))
    log = sys.stderr if as_json else sys.stdout
    try:
        done = cli.run(up_args(stack), update=True)
    except PulumiError as exc:
        show_log(exc, log)
        raise CommandError(
            f"{exc}; {stack} keeps what was created: push a fix, or remove it with "
            f"`infractl review down --pr {stack.removeprefix('pr-')}`"
        ) from None
    log.write(done.stdout)
    report_up(cli, stack, expires_at, as_json)
    return 0


def read_base(root: Path, base: str) -> tuple[StackConfig, dict[str, Any]]:
    """The base stack's validated config and the `config:` mapping of its file."""
    path = stack_file_path(root, base)
    try:
        cfg = stack_file_config(path, base)
        document = read_yaml_file(path)
    except ConfigError as exc:
        raise CommandError(str(exc), lines=True) from None
    except (StackFileError, YamlFileError) as exc:
        raise CommandError(str(exc)) from None
    if cfg.environment != "staging":
        raise CommandError(
            f"review stacks are made from a staging stack (same account); '{base}' is "
            f"{cfg.environment}"
        )
    return cfg, dict(document.get("config") or {})


def validate(stack: str, base: str, config: dict[str, Any]) -> StackConfig:
    """The generated file read as the program will read it, and validated the same way."""
    with tempfile.TemporaryDirectory() as scratch:
        path = stack_file_path(Path(scratch), stack)
        path.write_text(render(review_document(None, config), base))
        try:
            return stack_file_config(path, stack)
        except ConfigError as exc:
            raise CommandError(str(exc), lines=True) from None
        except StackFileError as exc:
            raise CommandError(str(exc)) from None


def write_stack_file(root: Path, stack: str, base: str, config: dict[str, Any]) -> None:
    """`Pulumi.<stack>.yaml`, keeping what the CLI wrote beside `config:`."""
    path = stack_file_path(root, stack)
    existing = None
    if path.exists():
        try:
            existing = read_yaml_file(path)
        except YamlFileError as exc:
            raise CommandError(str(exc)) from None
        if existing is not None and not isinstance(existing, dict):
            raise CommandError(f"{path.name} is not a YAML mapping; remove it and run up again")
    path.write_text(render(review_document(existing, config), base))


def report_up(cli: Cli, stack: str, expires_at: date, as_json: bool) -> None:
    try:
        urls = cli.outputs(stack).get(URLS_OUTPUT) or {}
    except (PulumiError, StackListError) as exc:
        raise CommandError(f"{stack} is up, but its outputs cannot be read: {exc}") from None
    if as_json:
        document = {"stack": stack, "expires_at": expires_at.isoformat(), "urls": urls}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    print(f"review stack {stack} is up until {expires_at.isoformat()}")
    for name in sorted(urls):
        print(f"  {name}: {urls[name]}")


# ------------------------------------------------------------------------ down, list, expire


def review_down(cli: Cli, stack: str) -> int:
    if stack not in {listed.name for listed in cli.stacks()}:
        print(f"no review stack {stack}: nothing to remove")
        return 0
    error = remove_stack(cli, stack, sys.stdout)
    if error is not None:
        raise CommandError(error)
    print(f"removed review stack {stack}")
    return 0


def remove_stack(cli: Cli, stack: str, log: TextIO) -> str | None:
    """Destroy, then forget the stack: None when both succeeded, else why the stack is kept.
    A failed destroy never reaches `stack rm`, which would orphan what is still running."""
    try:
        done = cli.run(destroy_args(stack), update=True)
    except PulumiError as exc:
        show_log(exc, log)
        return f"could not destroy {stack}, so it is kept: {exc}"
    log.write(done.stdout)
    try:
        cli.run(remove_args(stack))
    except PulumiError as exc:
        return f"{stack} is destroyed but still listed: {exc}"
    return None


def review_stacks(cli: Cli) -> list[ReviewStack]:
    stacks = []
    for listed in review_stack_names(cli.stacks()):
        try:
            stacks.append(read_outputs(listed, cli.outputs(listed.name)))
        except (PulumiError, StackListError) as exc:
            stacks.append(read_outputs(listed, {}, note=f"outputs unreadable: {exc}"))
    return stacks


def review_expire(cli: Cli, stacks: list[ReviewStack], today: date) -> int:
    removals = []
    for stack in stacks:
        reason = due(stack, today)
        if reason is not None:
            removals.append(Removal(stack, reason, remove_stack(cli, stack.name, sys.stderr)))
    sys.stdout.write(render_expiry(removals, len(stacks) - len(removals), today))
    failed = [removal.stack.name for removal in removals if removal.error is not None]
    if failed:
        raise CommandError(f"could not remove {', '.join(failed)} (see the list above)")
    return 0


def call(cli: Cli, args: list[str]) -> None:
    try:
        cli.run(args)
    except PulumiError as exc:
        raise CommandError(str(exc)) from None


def show_log(exc: PulumiError, log: TextIO) -> None:
    """What `up` or `destroy` printed before failing: its diagnostics say why."""
    if isinstance(exc, PulumiFailed) and exc.stdout:
        log.write(exc.stdout)
