"""Property paths and values as the CLI writes them: splitting `a.b[0]["x.y"]`, looking a path
up, and the only ways infractl turns a value into text (`safe_scalar`, `is_secret_value`), so
secret handling lives in one place."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from infractl.pulumi.wire import SECRET_SIG, SECRET_TEXT, SIG_KEY, UNKNOWN_VALUE

_PATH_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\[\*\]')


@lru_cache(maxsize=8192)
def split_property_path(path: str) -> tuple[str | int, ...]:
    """`a.b[0]["x.y"]` -> ("a", "b", 0, "x.y"); a path we cannot split stays one segment."""
    segments: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if match is None or match.end() == pos:
            return (path,)
        name, index, quoted = match.groups()
        if name is not None:
            segments.append(name)
        elif index is not None:
            segments.append(int(index))
        elif quoted is not None:
            try:
                segments.append(json.loads(f'"{quoted}"'))
            except ValueError:  # a key with an escape JSON does not know: keep the path whole
                return (path,)
        else:
            segments.append("*")
        pos = match.end()
    return tuple(segments)


MISSING = object()


def _child(value: object, segment: str | int) -> object:
    if isinstance(value, dict) and isinstance(segment, str):
        return value.get(segment, MISSING)
    if isinstance(value, list) and isinstance(segment, int) and 0 <= segment < len(value):
        return value[segment]
    return MISSING


def lookup_chain(root: Mapping[str, Any], segments: Sequence[str | int]) -> list[object]:
    """Every value from the top-level property down to the path's own value (shorter if absent)."""
    chain: list[object] = []
    current: object = root
    for segment in segments:
        current = _child(current, segment)
        if current is MISSING:
            break
        chain.append(current)
    return chain


def lookup(root: Mapping[str, Any], path: str) -> object:
    """The value at a property path, or `MISSING`."""
    segments = split_property_path(path)
    chain = lookup_chain(root, segments)
    return chain[-1] if chain and len(chain) == len(segments) else MISSING


def is_secret_value(value: object) -> bool:
    """A value the CLI marks secret: `"[secret]"` (digest) or the signed object (events, state)."""
    if value == SECRET_TEXT:
        return True
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def contains_secret(value: object) -> bool:
    if is_secret_value(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def safe_scalar(value: object, limit: int = 40) -> str | None:
    """A short display form of a non-secret scalar, or None when it must not or cannot be shown."""
    if value is MISSING or is_secret_value(value):
        return None
    if value == UNKNOWN_VALUE:
        return "(known after apply)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str):
        if "\n" in value or "\r" in value or SIG_KEY in value:
            return None
        text = value
    else:
        return None
    return text if len(text) <= limit else None
