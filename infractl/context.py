"""Where infractl runs: the project it works on, the stacks it may name, and the one way every
verb says it could not run.

Every verb raises `CommandError` for bad usage and for "could not run" (no project, an unknown
stack, unreadable input, a CLI that failed); `infractl.cli` prints it as one
`infractl <verb>: <message>` on stderr and exits 2. Exit 1 stays each verb's own "ran and found
something" (drift, a failed check, a destructive change).
"""

from __future__ import annotations

import re
from pathlib import Path

from infra.config.project import PROJECT_NAME, STACK_NAME_PATTERN
from infra.config.review import is_review_stack
from infra.config.yaml_file import YamlFileError, read_yaml_file

_STACK_NAME = re.compile(STACK_NAME_PATTERN)


class CommandError(Exception):
    """A verb could not run; the message is the whole explanation, without the verb prefix.

    One line, whatever input it quotes; `lines=True` only for a report that is a list by
    design (a config error names one bad key per line)."""

    def __init__(self, message: str, *, lines: bool = False) -> None:
        super().__init__(message)
        self.lines = lines


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` whose Pulumi.yaml names this project."""
    here = (start or Path.cwd()).resolve()
    if start is not None and not here.is_dir():
        raise CommandError(f"--cwd {start}: not a directory")
    for directory in (here, *here.parents):
        manifest = directory / "Pulumi.yaml"
        if manifest.is_file() and _manifest_names_project(manifest):
            return directory
    raise CommandError(
        f"no Pulumi.yaml for project '{PROJECT_NAME}' in {here} or its parents; "
        "run infractl inside the platform repository or pass --cwd"
    )


def _manifest_names_project(manifest: Path) -> bool:
    """Whether this Pulumi.yaml is this project's; a malformed one is said to be malformed (it
    is most likely ours, mid-edit), not silently passed over as if there were none."""
    try:
        document = read_yaml_file(manifest)
    except YamlFileError as exc:
        raise CommandError(f"{manifest} is malformed: {exc}") from None
    if not isinstance(document, dict):
        raise CommandError(f"{manifest} is malformed: want a mapping with `name:` and `runtime:`")
    return document.get("name") == PROJECT_NAME


def stack_names(root: Path) -> list[str]:
    """The stacks the project declares: one `Pulumi.<stack>.yaml` each."""
    names = (p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
    return sorted(name for name in names if _STACK_NAME.fullmatch(name))


def valid_stack_name(stack: str) -> str:
    """`stack` if it could name a stack at all (a DNS label), else a CommandError saying so."""
    if not _STACK_NAME.fullmatch(stack):
        raise CommandError(
            f"'{stack}' is not a stack name: lowercase letters, digits and '-', 2 to 32 "
            "characters, starting with a letter (e.g. dev, staging, prod)"
        )
    return stack


def known_stack(root: Path, stack: str) -> str:
    """`stack` if the project has a stack file for it, else a CommandError naming the stacks."""
    valid_stack_name(stack)
    known = stack_names(root)
    if stack not in known:
        raise CommandError(
            f"unknown stack '{stack}': no Pulumi.{stack}.yaml in {root}; "
            f"stacks here: {', '.join(known) or 'none'}"
        )
    return stack


def stack_list(root: Path, option: str | None) -> list[str]:
    """The stacks a comma-separated option names (each known, in order, once), or every stack
    but the review stacks (`pr-<n>`): their files are generated, git-ignored and may be on this
    machine or not, so "every stack" means the same on every machine. Name one to include it."""
    if option is None:
        names = [name for name in stack_names(root) if not is_review_stack(name)]
        if not names:
            raise CommandError(f"no stacks: no Pulumi.<stack>.yaml in {root}")
        return names
    names = list(dict.fromkeys(s.strip() for s in option.split(",") if s.strip()))
    if not names:
        raise CommandError(f"--stacks '{option}' names no stack; give e.g. --stacks dev,prod")
    return [known_stack(root, name) for name in names]
