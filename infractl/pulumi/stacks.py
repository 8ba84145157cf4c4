"""The backend's stacks as the CLI lists them, and a stack's plain outputs.

`pulumi stack ls --json` prints an array of stack summaries (`pkg/cmd/pulumi/stack_ls.go`,
`stackSummaryJSON`): `name`, `current`, `lastUpdate` (UTC, absent while an update runs or before
the first), `updateInProgress` (only from backends that track progress), `resourceCount` and
`url` (Pulumi Cloud only). A name may be qualified (`org/project/stack`, or
`organization/project/stack` in a DIY backend listing another project's stacks).

`pulumi stack output --json` (secrets left as `[secret]`) is one JSON object, output name to value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infractl.pulumi.json_input import JsonInputError, check_json_text, load_json_text


class StackListError(ValueError):
    """The CLI's output is not what these commands print; str() says why."""


@dataclass(frozen=True)
class ListedStack:
    name: str
    """The stack's own name: the last segment of what the CLI printed."""
    last_update: datetime | None
    update_in_progress: bool
    resource_count: int | None


def stack_ls_args() -> list[str]:
    return ["stack", "ls", "--json", "--non-interactive"]


def stack_output_args(stack: str, *, show_secrets: bool = False) -> list[str]:
    """`pulumi stack output --json`; secrets stay `[secret]` unless a caller needs their values
    (verify's database check, `infractl env --secrets`)."""
    secrets = ["--show-secrets"] if show_secrets else []
    return ["stack", "output", "--json", *secrets, "--non-interactive", "--stack", stack]


def _document(text: str, command: str) -> Any:
    try:
        return load_json_text(check_json_text(text))
    except JsonInputError as exc:
        raise StackListError(f"`{command}` printed {exc}") from None
    except json.JSONDecodeError as exc:
        raise StackListError(
            f"`{command}` printed invalid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_stack_list(text: str) -> list[ListedStack]:
    """Every stack `pulumi stack ls --json` printed, in its order."""
    document = _document(text, "pulumi stack ls --json")
    if not isinstance(document, list):
        raise StackListError("`pulumi stack ls --json` printed no list of stacks")
    stacks = []
    for index, entry in enumerate(document):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise StackListError(f"`pulumi stack ls --json`: entry {index} has no name")
        count = entry.get("resourceCount")
        stacks.append(
            ListedStack(
                name=entry["name"].rsplit("/", 1)[-1],
                last_update=_timestamp(entry.get("lastUpdate")),
                update_in_progress=entry.get("updateInProgress") is True,
                resource_count=count if type(count) is int else None,
            )
        )
    return stacks


def parse_plain_outputs(text: str) -> dict[str, Any]:
    """`pulumi stack output --json`: output name -> value (secrets stay `[secret]`)."""
    document = _document(text, "pulumi stack output --json")
    if not isinstance(document, dict):
        raise StackListError("`pulumi stack output --json` printed no object of outputs")
    return document
