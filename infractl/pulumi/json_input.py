"""Reading JSON a tool was handed (a file or the CLI's stdout), with one answer for every way the
bytes can be wrong: too big, empty, binary, not UTF-8, nested past what Python's reader can
follow. UTF-8 with a byte-order mark and UTF-16 with one (PowerShell's `>` writes it) are read.
"""

from __future__ import annotations

import codecs
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MAX_BYTES = 2 * 1024**3
"""A 100,000-step preview is about 200 MB; ten times that is not a preview."""


class JsonInputError(ValueError):
    """The input cannot be read as JSON text; str() says why, without quoting the input."""


def read_input_bytes(path: Path, limit: int = MAX_BYTES) -> bytes:
    """A file's bytes, refusing one past `limit` before reading it."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise JsonInputError(f"{size:,} bytes is past the {limit:,}-byte limit")
        return path.read_bytes()
    except FileNotFoundError:
        raise JsonInputError("cannot read: no such file") from None
    except IsADirectoryError:
        raise JsonInputError("cannot read: a directory, not a file") from None
    except OSError as exc:
        raise JsonInputError(f"cannot read: {exc.strerror or exc}") from None


def decode_json_text(raw: bytes) -> str:
    """The text in `raw`: UTF-8 (a BOM is dropped) or UTF-16 with a BOM."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"not valid UTF-16 text (byte {exc.start})") from None
    if not raw.strip():
        raise JsonInputError("empty input")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise JsonInputError(f"binary data (a NUL byte at offset {nul}), not JSON text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonInputError(f"not UTF-8 text (byte {exc.start})") from None


def check_json_text(text: str) -> str:
    """Text that came already decoded (a CLI's stdout): the same refusals as for bytes."""
    if not text.strip():
        raise JsonInputError("empty input")
    nul = text.find("\0")
    if nul >= 0:
        raise JsonInputError(f"binary data (a NUL character at {nul}), not JSON text")
    return text


def load_json_text(text: str) -> Any:
    """`json.loads`, with nesting too deep for it reported instead of raised as RecursionError.

    Callers that explain a JSONDecodeError in their own words catch it themselves."""
    try:
        return json.loads(text)
    except RecursionError:
        raise JsonInputError("JSON nested too deeply to read (thousands of levels)") from None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic collector off while a large document becomes objects: it would scan the
    growing heap again and again (half the time of reading a 100,000-step preview) to find
    cycles that JSON cannot make."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
