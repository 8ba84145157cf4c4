"""The drift ignore file: known noise, as a YAML list of {type, property, reason}.

Kept apart from the classifier because it is operator input: it is read and validated once,
before any stack is checked, so a bad file stops the command instead of hiding drift. Types are
fnmatch globs; properties use their own glob (`_property_glob`) because property paths contain
brackets that fnmatch would read as character classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

import yaml


class IgnoreFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """Known noise: drift of `property` (or below it) on resources of `type` is ignored."""

    type: str
    property: str
    reason: str

    def matches(self, resource_type: str, path: str) -> bool:
        if not fnmatchcase(resource_type, self.type):
            return False
        pattern = _property_glob(self.property)
        return any(pattern.fullmatch(prefix) for prefix in property_prefixes(path))


@cache
def _property_glob(pattern: str) -> re.Pattern[str]:
    """`*` and `?` are wildcards; everything else, brackets included, is literal, because
    property paths use `[0]` and fnmatch would read it as a character class."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


def property_prefixes(path: str) -> list[str]:
    """`a.b[0]` -> ["a", "a.b", "a.b[0]"]: a rule for `a.b` also covers everything below it."""
    prefixes = []
    quoted = False
    for i, ch in enumerate(path):
        if ch == '"' and (i == 0 or path[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in ".[" and i > 0:
            prefixes.append(path[:i])
    prefixes.append(path)
    return prefixes


_RULE_KEYS = frozenset({"type", "property", "reason"})


def parse_ignore_rules(text: str, source: str) -> tuple[IgnoreRule, ...]:
    """A YAML list of {type, property, reason}; every entry must say why it is noise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise IgnoreFileError(f"{source}: invalid YAML{where}") from None
    if data is None:
        return ()
    if not isinstance(data, list):
        raise IgnoreFileError(
            f"{source}: expected a list of {{type, property, reason}} entries, "
            f"got {type(data).__name__}"
        )
    return tuple(_parse_rule(entry, f"{source}: entry {i + 1}") for i, entry in enumerate(data))


def _parse_rule(entry: Any, where: str) -> IgnoreRule:
    """One entry; `where` names it in the error, since a long file is edited by hand."""
    if not isinstance(entry, dict):
        raise IgnoreFileError(f"{where}: expected a mapping with type, property and reason")
    unknown = sorted(str(k) for k in entry if k not in _RULE_KEYS)
    if unknown:
        raise IgnoreFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
    values = {}
    for key in ("type", "property", "reason"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            problem = "missing" if value is None else "empty or not text"
            raise IgnoreFileError(f"{where}: '{key}' is {problem}")
        values[key] = value.strip()
    return IgnoreRule(**values)
