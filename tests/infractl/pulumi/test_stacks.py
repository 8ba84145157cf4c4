"""`pulumi stack ls --json` and `pulumi stack output --json` as the CLI prints them
(`stackSummaryJSON` in pkg/cmd/pulumi/stack_ls.go): optional fields, qualified names, and output
that is no such document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from infractl.pulumi.stacks import StackListError, parse_plain_outputs, parse_stack_list

LISTED = [
    # A DIY backend: no url, no updateInProgress (it does not track progress).
    {
        "name": "staging",
        "current": True,
        "lastUpdate": "2026-11-20T09:15:02.000Z",
        "resourceCount": 125,
    },
    # Pulumi Cloud: qualified name, progress tracked, an update running (no lastUpdate then).
    {
        "name": "acme/platform/pr-7",
        "current": False,
        "updateInProgress": True,
        "url": "https://app",
    },
    # Created, never updated.
    {"name": "organization/platform/pr-9", "current": False},
]


def test_every_field_is_read_and_names_are_unqualified() -> None:
    staging, pr7, pr9 = parse_stack_list(json.dumps(LISTED))
    assert staging.name == "staging" and staging.resource_count == 125
    assert staging.last_update == datetime(2026, 11, 20, 9, 15, 2, tzinfo=UTC)
    assert not staging.update_in_progress
    assert (pr7.name, pr7.update_in_progress, pr7.last_update) == ("pr-7", True, None)
    assert (pr9.name, pr9.resource_count, pr9.last_update) == ("pr-9", None, None)


def test_an_unreadable_time_is_no_time() -> None:
    (stack,) = parse_stack_list(json.dumps([{"name": "pr-1", "lastUpdate": "last tuesday"}]))
    assert stack.last_update is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty input"),
        ("{not json", "invalid JSON (line 1, column 2)"),
        ('{"name": "staging"}', "no list of stacks"),
        ('[{"current": true}]', "entry 0 has no name"),
        ("[1]", "entry 0 has no name"),
    ],
)
def test_output_that_is_no_stack_list_is_refused(text: str, words: str) -> None:
    with pytest.raises(StackListError, match="pulumi stack ls --json") as caught:
        parse_stack_list(text)
    assert words in str(caught.value)


def test_plain_outputs_are_an_object() -> None:
    assert parse_plain_outputs('{"expiresAt": "2030-01-31"}') == {"expiresAt": "2030-01-31"}
    with pytest.raises(StackListError, match="no object of outputs"):
        parse_plain_outputs("[]")
