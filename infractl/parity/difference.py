"""Differences between a stack and its reference, and the JSON form the command prints.

Every level reports in this one shape, so the report and the command never need to know which
level found a difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

ABSENT_TEXT = "<absent>"


class _Absent(Enum):
    """A key or resource one side does not have (distinct from a null value)."""

    ABSENT = ABSENT_TEXT


ABSENT = _Absent.ABSENT


class Level(StrEnum):
    """Where a difference was found; the report lists a stack's differences in this order."""

    CONFIG = "config"
    LOGICAL = "logical"
    RESOURCE = "resource"
    LIVE = "live"


LEVEL_ORDER = {level: index for index, level in enumerate(Level)}


@dataclass(frozen=True)
class Difference:
    """One path where a stack departs from the reference, and why that is or is not allowed."""

    stack: str
    level: Level
    path: str
    reference_value: Any
    value: Any
    allowed: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "level": str(self.level),
            "path": self.path,
            "reference_value": _shown(self.reference_value),
            "value": _shown(self.value),
            "allowed": self.allowed,
            "reason": self.reason,
        }


def _shown(value: Any) -> Any:
    if value is ABSENT:
        return ABSENT_TEXT
    if isinstance(value, Mapping):
        return {str(k): _shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(item) for item in value]
    return value
