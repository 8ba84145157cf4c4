"""`infractl pin --stack S`: make `Pulumi.<S>.yaml` name the images the stack runs now.

The deploy workflow pins each release's digests on its runner's checkout only, so git's stack
files lag what runs. A `pulumi preview` (the PR workflow) or a `pulumi up` by hand from git
would otherwise show, or deploy, a change back to git's images. This reads the newest succeeded
update's images from `pulumi stack history` and sets them in the stack file (`pulumi config set`),
nothing else. Exit 0 (pinned, or nothing to pin), 2 when it cannot run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from infra.config.loader import StackFileError, stack_file_path, stack_file_runtime_config
from infractl.context import CommandError, find_project_root, known_stack
from infractl.pulumi.json_input import JsonInputError, check_json_text, load_json_text
from infractl.pulumi.runner import PulumiError, run_pulumi
from infractl.rollback.command import RollbackError, history_args
from infractl.rollback.history import (
    SERVICES_KEY,
    HistoryError,
    ImageChange,
    config_args,
    parse_history,
    running_images,
)
from infractl.verify.outputs import CLI_TIMEOUT_SECONDS


def stack_file_images(root: Path, stack: str) -> dict[str, str | None]:
    """service -> the image the stack file sets (None: none set)."""
    try:
        config, _ = stack_file_runtime_config(stack_file_path(root, stack))
    except StackFileError as exc:
        raise CommandError(str(exc)) from None
    services: Any = json.loads(config.get(SERVICES_KEY, "{}"))
    if not isinstance(services, dict):
        raise CommandError(f"{SERVICES_KEY} in Pulumi.{stack}.yaml is not a mapping")
    return {
        name: spec.get("image") if isinstance(spec, dict) else None
        for name, spec in services.items()
    }


def read_history(stack: str, root: Path, timeout: float) -> list[Any]:
    try:
        done = run_pulumi(history_args(stack), cwd=root, timeout=timeout)
        raw = load_json_text(check_json_text(done.stdout))
        return parse_history(raw)
    except PulumiError as exc:
        raise CommandError(str(exc)) from None
    except (JsonInputError, json.JSONDecodeError, HistoryError, RollbackError) as exc:
        raise CommandError(f"`pulumi stack history --json` is unusable: {exc}") from None


def apply(changes: tuple[ImageChange, ...], stack: str, root: Path, timeout: float) -> None:
    applied: list[str] = []
    for change in changes:
        try:
            run_pulumi(config_args(change, stack), cwd=root, timeout=timeout)
        except PulumiError as exc:
            done = f"; already pinned: {', '.join(applied)}" if applied else ""
            raise CommandError(f"could not set {change.path}: {exc}{done}") from None
        applied.append(change.service)
        print(f"pinned {change.service}: {change.current or '(none)'} -> {change.target}")


def pin(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack whose images to pin.")],
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="Project directory (default: found from the current one)."),
    ] = None,
) -> int:
    """Set the stack file's images to those of the stack's newest succeeded update."""
    root = find_project_root(cwd)
    known_stack(root, stack)
    recorded = stack_file_images(root, stack)
    changes = running_images(read_history(stack, root, CLI_TIMEOUT_SECONDS), recorded)
    if not changes:
        print(f"stack '{stack}': the stack file already names the running images (or none ran)")
        return 0
    apply(changes, stack, root, CLI_TIMEOUT_SECONDS)
    return 0
