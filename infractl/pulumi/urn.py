"""Pulumi's resource names: `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`."""

from __future__ import annotations

from dataclasses import dataclass

from infractl.pulumi.wire import URN_PREFIX


class UrnError(ValueError):
    """Text that is not a URN; the message quotes it and says what a URN looks like."""


@dataclass(frozen=True, slots=True)
class Urn:
    """One URN, split. The name may itself contain `::`, so it is everything after the type."""

    stack: str
    project: str
    qualified_type: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Urn | None:
        """The URN in `text`, or None when it is not one."""
        try:
            return cls.require(text)
        except UrnError:
            return None

    @classmethod
    def require(cls, text: str) -> Urn:
        """The URN in `text`; raise UrnError when it is not one."""
        if not text.startswith(URN_PREFIX):
            raise UrnError(f"'{text}' is not a URN (no {URN_PREFIX} prefix)")
        parts = text[len(URN_PREFIX) :].split("::", 3)
        if len(parts) != 4 or not all(parts[:3]):
            raise UrnError(
                f"'{text}' is not a URN (want urn:pulumi:<stack>::<project>::<type>::<name>)"
            )
        return cls(*parts)

    @property
    def type(self) -> str:
        return self.qualified_type.rsplit("$", 1)[-1]

    @property
    def parent_types(self) -> tuple[str, ...]:
        """Types of every ancestor below the root stack, outermost first."""
        return tuple(self.qualified_type.split("$")[:-1])

    def __str__(self) -> str:
        return f"{URN_PREFIX}{self.stack}::{self.project}::{self.qualified_type}::{self.name}"
