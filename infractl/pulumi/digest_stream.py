"""Reading a preview file step by step, keeping of each step only what the report reads.

`pulumi preview --json` of a large stack is hundreds of megabytes: decoded whole, the text and
its object tree together need several times that. Here the file is read in chunks and decoded
one step at a time, and each step keeps only the top-level properties its changes touch (the
report looks values up along changed paths and nowhere else). Anything unusual (a UTF-16 file,
invalid JSON, a NUL byte) falls back to `parse_digest` on the whole file, so errors read exactly
as they always have.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import IO, Any

from infractl.pulumi.digest import (
    PreviewDigest,
    ResourceState,
    Step,
    build_digest,
    parse_digest,
    step_reader,
)
from infractl.pulumi.digest_text import PreviewFormatError
from infractl.pulumi.json_input import (
    JsonInputError,
    collector_paused,
    decode_json_text,
    read_input_bytes,
)
from infractl.pulumi.properties import split_property_path

CHUNK_CHARS = 1 << 20
_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _Unusual(Exception):
    """Not the plain shape this reader handles: let the whole-file parser answer."""


def load_digest_for_report(path: Path) -> PreviewDigest:
    """The digest in `path`, each step trimmed to the properties its changes touch."""
    try:
        with collector_paused():
            return _stream(path)
    except (_Unusual, UnicodeDecodeError, OSError):
        pass
    try:
        text = decode_json_text(read_input_bytes(path))
    except JsonInputError as exc:
        raise PreviewFormatError(
            str(path), f"{exc}; expected the JSON object `pulumi preview --json` prints"
        ) from None
    return parse_digest(text, str(path))


def trimmed(step: Step) -> Step:
    """`step` with its states cut to the top-level properties its changed paths start with."""
    keys = set()
    for change in step.changed_properties():
        segments = split_property_path(change.path)
        keys.add(str(segments[0]) if segments else change.path)
    old, new = _kept(step.old, keys), _kept(step.new, keys)
    if old is step.old and new is step.new:
        return step
    return Step(
        step.index, step.op, step.urn, step.provider, old, new,
        step.diff_reasons, step.replace_reasons, step.detailed_diff,
    )  # fmt: skip


def _kept(state: ResourceState | None, keys: set[str]) -> ResourceState | None:
    if state is None or (keys.issuperset(state.inputs) and keys.issuperset(state.outputs)):
        return state
    return ResourceState(
        state.type, state.id, state.parent, state.protect,
        {k: v for k, v in state.inputs.items() if k in keys},
        {k: v for k, v in state.outputs.items() if k in keys},
        state.additional_secret_outputs,
    )  # fmt: skip


def _stream(path: Path) -> PreviewDigest:
    with path.open("rb") as raw:
        head = raw.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or not head.strip():
        raise _Unusual
    with path.open(encoding="utf-8-sig") as text:
        reader = _ChunkReader(text)
        skipped = reader.skip_preamble()
        return _document(reader, str(path), skipped)


def _document(reader: _ChunkReader, source: str, skipped: str | None) -> PreviewDigest:
    read_step = step_reader(source)
    top: dict[str, Any] = {}
    steps: list[Step] = []
    reader.expect("{")
    if reader.peek() == "}":
        reader.advance()
    else:
        while True:
            key = reader.value()
            if not isinstance(key, str):
                raise _Unusual
            reader.expect(":")
            if key == "steps" and reader.peek() == "[":
                top["steps"] = None
                _steps(reader, read_step, steps)
            else:
                top[key] = reader.value()
            if reader.separator("}"):
                break
    if not reader.at_end():
        raise _Unusual  # extra data: the whole-file parser names it (NDJSON, ...)
    if "steps" in top:
        del top["steps"]
        return build_digest(top, source, skipped, tuple(steps))
    return build_digest(top, source, skipped)


def _steps(reader: _ChunkReader, read_step: Any, steps: list[Step]) -> None:
    reader.expect("[")
    if reader.peek() == "]":
        reader.advance()
        return
    while True:
        steps.append(trimmed(read_step(reader.value(), len(steps))))
        if reader.separator("]"):
            return


class _ChunkReader:
    """JSON values decoded from a text stream a chunk at a time (`raw_decode` on a buffer)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.buffer = ""
        self.pos = 0
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK_CHARS)
        if "\0" in chunk:
            raise _Unusual
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_preamble(self) -> str | None:
        """Lines before the one that opens the JSON object (a policy pack's install)."""
        lines: list[str] = []
        while True:
            line = self.stream.readline()
            if not line:
                raise _Unusual
            if line.lstrip().startswith("{"):
                self.buffer = line
                break
            if line.strip():
                lines.append(line.strip())
            if len(lines) > 1000:
                raise _Unusual
        if not lines:
            return None
        first = "".join(
            c for c in " ".join(lines[0].split())[:60] if c.isprintable() and c not in "`|"
        )
        return (
            f"skipped {len(lines)} line(s) of text before the JSON document (the first: '{first}')"
        )

    def _skip_whitespace(self) -> None:
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buffer) or not self._fill():
                return

    def peek(self) -> str:
        self._skip_whitespace()
        return self.buffer[self.pos] if self.pos < len(self.buffer) else ""

    def advance(self) -> None:
        self.pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _Unusual
        self.advance()

    def separator(self, closing: str) -> bool:
        """Past a `,` (False) or the closing bracket (True)."""
        char = self.peek()
        if char not in (",", closing):
            raise _Unusual
        self.advance()
        return char == closing

    def value(self) -> Any:
        self._skip_whitespace()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                if self._fill():
                    continue
                raise _Unusual from None
            except RecursionError:
                raise _Unusual from None
            if end == len(self.buffer) and self._fill():
                continue  # a number or literal may go on in the next chunk
            self.pos = end
            return value

    def at_end(self) -> bool:
        return self.peek() == ""
