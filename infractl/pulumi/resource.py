"""Resources reduced to plain data, comparable across stacks: what the mock runtime registered
or what `pulumi stack export` holds, keyed by `type::name` under a parent (no stack, no project),
with every secret masked before anything else sees it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from infractl.pulumi.urn import Urn
from infractl.pulumi.wire import (
    RESOURCE_SIG,
    ROOT_STACK_TYPE,
    SECRET_SIG,
    SECRET_TEXT,
    SIG_KEY,
    UNKNOWN_VALUE,
)

ROOT = "(root)"
"""The parent key of a resource whose parent is the stack itself."""
UNKNOWN = "[unknown]"
"""How a value unknown until deploy (or not plain data) is shown."""


class Registered(Protocol):
    """What parity needs of a registration (`infra.offline.Registration` has it)."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def parent(self) -> str: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Resource:
    """One resource, identified as `type::name` under a parent: what its URN says minus the
    stack and project, so the same resource of two stacks has the same key. Names are compared
    as the program wrote them (this program never puts the stack in one)."""

    type: str
    name: str
    parent: str
    """The parent's `type::name`, or ROOT for a child of the stack."""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    """Plain data: secrets are SECRET_TEXT, values unknown until deploy are UNKNOWN."""
    defaults: frozenset[str] = frozenset()
    """Inputs a provider filled in (`__defaults` in an export), not set by the program."""
    ignored: frozenset[str] = frozenset()
    """Inputs under `ignoreChanges`: Pulumi keeps their first value while something else (an
    autoscaler) owns them, so they cannot depart from the plan."""

    @property
    def key(self) -> str:
        return f"{self.type}::{self.name}"


def parent_key(parent_urn: str) -> str:
    """The parent's `type::name`: the stack is only in the URN, so it is out of the key."""
    if not parent_urn:
        return ROOT
    parent = Urn.require(parent_urn)
    if parent.type == ROOT_STACK_TYPE:
        return ROOT
    return f"{parent.type}::{parent.name}"


def plain(value: Any) -> Any:
    """JSON-safe data with every secret replaced by SECRET_TEXT, so no value can leak from here on.

    Secrets come as `{4dabf...: 1b47..., ciphertext|plaintext|value: ...}` in exports and in
    deserialized mock inputs alike; anything that is not plain data (an Unknown) is UNKNOWN.
    """
    if isinstance(value, Mapping):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return SECRET_TEXT
        if sig == RESOURCE_SIG:
            return f"resource {value.get('urn', '')}"
        if sig is not None:
            return f"[{value.get('hash', 'asset')}]"
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return UNKNOWN if value == UNKNOWN_VALUE else value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return UNKNOWN


def resources_from_registrations(registrations: Iterable[Registered]) -> list[Resource]:
    return [
        Resource(
            type=r.type,
            name=r.name,
            parent=parent_key(r.parent),
            inputs=plain(dict(r.inputs)),
        )
        for r in registrations
        if r.type != ROOT_STACK_TYPE
    ]
