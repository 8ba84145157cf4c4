"""From what the CLI printed to the decoded document: the bytes and text checks, the preamble
some flags print before the JSON, and JSON errors explained (truncated output, event logs)."""

from __future__ import annotations

import json
import re
from typing import Any

from infractl.pulumi.json_input import (
    JsonInputError,
    check_json_text,
    decode_json_text,
    load_json_text,
)


class PreviewFormatError(ValueError):
    """The input is not a PreviewDigest we can trust; the message says where and why."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


def _decode_error(source: str, text: str, exc: json.JSONDecodeError) -> PreviewFormatError:
    reason = exc.msg.removesuffix(" starting at")
    where = f"invalid JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {reason}"
    if exc.msg == "Extra data":
        if _is_event_line(text.lstrip().split("\n", 1)[0]):
            return PreviewFormatError(
                source,
                f"{where}; this is NDJSON engine events (streaming --json, "
                "PULUMI_ENABLE_STREAMING_JSON_PREVIEW set, or an event log downloaded from "
                "Pulumi Cloud), not the single PreviewDigest object `pulumi preview --json` "
                "prints",
            )
        return PreviewFormatError(source, f"{where}; expected exactly one JSON object")
    if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
        return PreviewFormatError(source, f"{where}; the output ends early (truncated?)")
    return PreviewFormatError(source, where)


def _is_event_line(line: str) -> bool:
    """One engine event: the CLI's carry a `sequence`, Pulumi Cloud's only `<kind>Event` keys."""
    try:
        event = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(event, dict) and (
        "sequence" in event or any(str(key).endswith("Event") for key in event)
    )


def _skip_preamble(text: str) -> tuple[str, str | None]:
    """The text from the first line that opens a JSON object, and a note on what came before.

    `pulumi preview --json --policy-pack` prints "Installing policy pack ..." lines first."""
    if text.lstrip().startswith("{"):
        return text, None
    start = text.find("\n{")
    if start < 0:
        return text, None
    lines = text[:start].strip().splitlines()
    first = "".join(c for c in " ".join(lines[0].split())[:60] if c.isprintable() and c not in "`|")
    note = f"skipped {len(lines)} line(s) of text before the JSON document (the first: '{first}')"
    # Blanked, not cut: JSON errors then name the line and column of the file itself.
    return re.sub(r"[^\n]", " ", text[: start + 1]) + text[start + 1 :], note


def digest_data(raw: str | bytes, source: str) -> tuple[Any, str | None]:
    text = ""
    try:
        text = decode_json_text(raw) if isinstance(raw, bytes) else check_json_text(raw)
        text, skipped = _skip_preamble(text)
        return load_json_text(text), skipped
    except JsonInputError as exc:
        raise PreviewFormatError(
            source, f"{exc}; expected the JSON object `pulumi preview --json` prints"
        ) from None
    except json.JSONDecodeError as exc:
        raise _decode_error(source, text, exc) from None
