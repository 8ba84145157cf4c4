"""Typed reading of the PreviewDigest that `pulumi preview --json` and
`pulumi refresh --preview-only --json` print.

The Go structs in pulumi/pulumi `pkg/display/json.go` are the only contract (there is no schema),
so the parser checks the type of every field it uses, ignores fields it does not know (newer CLIs
add some) and fails with a `PreviewFormatError` that names the file, the JSON position or the field
path. Values are kept as the CLI wrote them; `safe_scalar` and `is_secret_value` are the only ways
the rest of infractl turns them into text, so secret handling lives in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from infra.config.secret_names import looks_secret
from infractl.pulumi.digest_text import PreviewFormatError, digest_data
from infractl.pulumi.json_input import (
    JsonInputError,
    collector_paused,
    decode_json_text,
    read_input_bytes,
)
from infractl.pulumi.ops import ChangeKind, Op, change_kind
from infractl.pulumi.properties import (
    contains_secret,
    is_secret_value,
    lookup_chain,
    split_property_path,
)
from infractl.pulumi.urn import Urn
from infractl.pulumi.wire import ROOT_STACK_TYPE


class DiffKind(StrEnum):
    """`detailedDiff[...].kind` values (`sdk/go/common/resource/plugin/provider.go`)."""

    ADD = "add"
    ADD_REPLACE = "add-replace"
    DELETE = "delete"
    DELETE_REPLACE = "delete-replace"
    UPDATE = "update"
    UPDATE_REPLACE = "update-replace"


@dataclass(frozen=True, slots=True)
class PropertyDiff:
    path: str
    kind: str
    input_diff: bool

    @property
    def forces_replacement(self) -> bool:
        return self.kind.endswith("-replace")


@dataclass(frozen=True, slots=True)
class ResourceState:
    """The parts of `apitype.ResourceV3` infractl reads; inputs/outputs are the CLI's JSON."""

    type: str
    id: str | None
    parent: str | None
    protect: bool
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    additional_secret_outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    op: str
    urn: Urn
    provider: str | None
    old: ResourceState | None
    new: ResourceState | None
    diff_reasons: tuple[str, ...]
    replace_reasons: tuple[str, ...]
    detailed_diff: tuple[PropertyDiff, ...] | None

    @property
    def kind(self) -> ChangeKind:
        return change_kind(self.op)

    @property
    def type(self) -> str:
        return self.urn.type

    @property
    def protected(self) -> bool:
        return self.old is not None and self.old.protect

    @property
    def parent_urn(self) -> str | None:
        for state in (self.new, self.old):
            if state is not None and state.parent:
                return state.parent
        return None

    def changed_properties(self) -> tuple[PropertyDiff, ...]:
        """Changed paths from `detailedDiff`, else from `diffReasons` (providers without detailed
        diff), with `replaceReasons` marking which of those force the replacement."""
        replace = set(self.replace_reasons)
        if self.detailed_diff:
            return self.detailed_diff
        names = list(self.diff_reasons) + [
            r for r in self.replace_reasons if r not in self.diff_reasons
        ]
        return tuple(
            PropertyDiff(
                path=name,
                kind=DiffKind.UPDATE_REPLACE if name in replace else DiffKind.UPDATE,
                input_diff=False,
            )
            for name in names
        )


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str
    message: str
    urn: str | None


ERROR_SEVERITIES = frozenset({"error", "info#err"})
"""`info#err` is what a program printed on stderr: a crash's traceback arrives that way."""


@dataclass(frozen=True, slots=True)
class PreviewDigest:
    source: str
    steps: tuple[Step, ...]
    change_summary: Mapping[str, int] | None
    diagnostics: tuple[Diagnostic, ...]
    duration_ns: int | None
    maybe_corrupt: bool
    skipped: str | None = None
    """What came before the JSON document and was skipped (e.g. policy pack installs)."""

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity in ERROR_SEVERITIES)

    @property
    def complete(self) -> bool:
        """A preview that ran to the end prints its change summary and reports no error."""
        return self.change_summary is not None and not self.errors

    @property
    def stack(self) -> str | None:
        """The stack named by the URNs (the root stack step is always in the digest)."""
        for step in self.steps:
            if step.urn.type == ROOT_STACK_TYPE:
                return step.urn.stack
        return self.steps[0].urn.stack if self.steps else None

    def op_counts(self) -> dict[str, int]:
        """`changeSummary` when present (it also counts hidden sames), else counted from steps,
        one per URN for the replacement family as the CLI counts it."""
        if self.change_summary is not None:
            return dict(self.change_summary)
        counts: dict[str, int] = {}
        replaced: set[Urn] = set()
        for step in self.steps:
            op = step.op
            if step.kind is ChangeKind.REPLACE:
                if step.urn in replaced:
                    continue
                replaced.add(step.urn)
                op = Op.REPLACE
            counts[op] = counts.get(op, 0) + 1
        return counts


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Reader:
    """Checks the types of the fields infractl relies on, naming each by its JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> PreviewFormatError:
        return PreviewFormatError(self.source, f"{path}: {message}")

    def obj(self, value: object, path: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {_type_name(value)}")
        return value

    def opt_obj(self, value: object, path: str) -> Mapping[str, Any] | None:
        return None if value is None else self.obj(value, path)

    def string(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"expected a string, got {_type_name(value)}")
        return value

    def opt_string(self, value: object, path: str) -> str | None:
        return None if value is None else self.string(value, path)

    def opt_bool(self, value: object, path: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_type_name(value)}")
        return value

    def strings(self, value: object, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, f"expected an array of strings, got {_type_name(value)}")
        return tuple(self.string(item, f"{path}[{i}]") for i, item in enumerate(value))

    def urn(self, value: object, path: str) -> Urn:
        text = self.string(value, path)
        urn = Urn.parse(text)
        if urn is None:
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise self.fail(
                path, f"not a Pulumi URN (urn:pulumi:<stack>::<project>::...): {shown!r}"
            )
        return urn

    def state(self, value: object, path: str) -> ResourceState | None:
        data = self.opt_obj(value, path)
        if data is None:
            return None
        fast = self._state_fast(data)
        if fast is not None:
            return fast
        return ResourceState(
            type=self.string(data.get("type", ""), f"{path}.type"),
            id=self.opt_string(data.get("id"), f"{path}.id"),
            parent=self.opt_string(data.get("parent"), f"{path}.parent"),
            protect=self.opt_bool(data.get("protect"), f"{path}.protect"),
            inputs=self.opt_obj(data.get("inputs"), f"{path}.inputs") or {},
            outputs=self.opt_obj(data.get("outputs"), f"{path}.outputs") or {},
            additional_secret_outputs=self.strings(
                data.get("additionalSecretOutputs"), f"{path}.additionalSecretOutputs"
            ),
        )

    @staticmethod
    def _state_fast(data: Mapping[str, Any]) -> ResourceState | None:
        """The common, well-formed case without building error paths; None sends the state
        through the checks that name the bad field."""
        kind, rid, parent = data.get("type", ""), data.get("id"), data.get("parent")
        protect, inputs, outputs = data.get("protect"), data.get("inputs"), data.get("outputs")
        secret_outputs = data.get("additionalSecretOutputs")
        if (
            isinstance(kind, str)
            and (rid is None or isinstance(rid, str))
            and (parent is None or isinstance(parent, str))
            and (protect is None or isinstance(protect, bool))
            and (inputs is None or isinstance(inputs, dict))
            and (outputs is None or isinstance(outputs, dict))
            and secret_outputs is None
        ):
            return ResourceState(
                type=kind,
                id=rid,
                parent=parent,
                protect=bool(protect),
                inputs=inputs or {},
                outputs=outputs or {},
                additional_secret_outputs=(),
            )
        return None

    def detailed_diff(self, value: object, path: str) -> tuple[PropertyDiff, ...] | None:
        data = self.opt_obj(value, path)
        if data is None:
            return None
        diffs = []
        for key, entry in data.items():
            where = f"{path}[{json.dumps(key)}]"
            item = self.obj(entry, where)
            diffs.append(
                PropertyDiff(
                    path=key,
                    kind=self.string(item.get("kind", DiffKind.UPDATE), f"{where}.kind"),
                    input_diff=self.opt_bool(item.get("inputDiff"), f"{where}.inputDiff"),
                )
            )
        return tuple(diffs)

    def step(self, value: object, index: int) -> Step:
        path = f"steps[{index}]"
        data = self.obj(value, path)
        if "op" not in data:
            raise self.fail(path, "missing field 'op'")
        if "urn" not in data:
            raise self.fail(path, "missing field 'urn'")
        return Step(
            index=index,
            op=self.string(data["op"], f"{path}.op"),
            urn=self.urn(data["urn"], f"{path}.urn"),
            provider=self.opt_string(data.get("provider"), f"{path}.provider"),
            old=self.state(data.get("oldState"), f"{path}.oldState"),
            new=self.state(data.get("newState"), f"{path}.newState"),
            diff_reasons=self.strings(data.get("diffReasons"), f"{path}.diffReasons"),
            replace_reasons=self.strings(data.get("replaceReasons"), f"{path}.replaceReasons"),
            detailed_diff=self.detailed_diff(data.get("detailedDiff"), f"{path}.detailedDiff"),
        )

    def summary(self, value: object) -> Mapping[str, int] | None:
        data = self.opt_obj(value, "changeSummary")
        if data is None:
            return None
        for op, count in data.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise self.fail(
                    f"changeSummary.{op}", f"expected a count, got {_type_name(count)} {count!r}"
                )
        return dict(data)

    def diagnostics(self, value: object) -> tuple[Diagnostic, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail("diagnostics", f"expected an array, got {_type_name(value)}")
        found = []
        for i, entry in enumerate(value):
            item = self.obj(entry, f"diagnostics[{i}]")
            found.append(
                Diagnostic(
                    severity=self.string(
                        item.get("severity", "info"), f"diagnostics[{i}].severity"
                    ),
                    message=self.string(item.get("message", ""), f"diagnostics[{i}].message"),
                    urn=self.opt_string(item.get("urn"), f"diagnostics[{i}].urn"),
                )
            )
        return tuple(found)


def parse_digest(text: str | bytes, source: str) -> PreviewDigest:
    """Parse one PreviewDigest; raise PreviewFormatError naming what is wrong and where."""
    with collector_paused():
        return _parse_digest(text, source)


def _parse_digest(text: str | bytes, source: str) -> PreviewDigest:
    data, skipped = digest_data(text, source)
    return build_digest(data, source, skipped)


def build_digest(
    data: Any, source: str, skipped: str | None, steps: tuple[Step, ...] | None = None
) -> PreviewDigest:
    """A PreviewDigest from the decoded top-level object; `steps`, when given, were read one by
    one (by `digest_stream`) and `data` holds everything else."""
    reader = _Reader(source)
    top = reader.obj(data, "top level")
    if not {"steps", "changeSummary", "diagnostics"} & (set(top) | ({"steps"} if steps else set())):
        hint = " (this looks like `pulumi stack export` output)" if "deployment" in top else ""
        raise PreviewFormatError(
            source,
            f"not a PreviewDigest: it has no 'steps', 'changeSummary' or 'diagnostics'{hint}",
        )
    if steps is None:
        raw_steps = top.get("steps")
        if raw_steps is None:
            raw_steps = []
        if not isinstance(raw_steps, list):
            raise reader.fail("steps", f"expected an array, got {_type_name(raw_steps)}")
        steps = tuple(reader.step(item, i) for i, item in enumerate(raw_steps))
    duration = top.get("duration")
    if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool)):
        raise reader.fail("duration", f"expected nanoseconds as an integer, got {duration!r}")
    return PreviewDigest(
        source=source,
        steps=steps,
        change_summary=reader.summary(top.get("changeSummary")),
        diagnostics=reader.diagnostics(top.get("diagnostics")),
        duration_ns=duration,
        maybe_corrupt=reader.opt_bool(top.get("maybeCorrupt"), "maybeCorrupt"),
        skipped=skipped,
    )


def step_reader(source: str) -> Callable[[object, int], Step]:
    """Reads one raw step as `parse_digest` does, for a caller that reads steps one by one."""
    return _Reader(source).step


def load_digest(path: Path) -> PreviewDigest:
    try:
        text = decode_json_text(read_input_bytes(path))  # the bytes are freed before parsing
    except JsonInputError as exc:
        raise PreviewFormatError(
            str(path), f"{exc}; expected the JSON object `pulumi preview --json` prints"
        ) from None
    return parse_digest(text, str(path))


def path_is_secret(path: str, states: Sequence[ResourceState | None]) -> bool:
    """True when any state marks this path (or an ancestor, or anything below it) secret, or the
    name looks like a credential. Any one witness is enough: the CLI may blind a value on one side
    only, and a hand-built input may hold plaintext where the CLI would have written "[secret]"."""
    segments = split_property_path(path)
    if any(isinstance(s, str) and looks_secret(s) for s in segments):
        return True
    top = segments[0] if segments else path
    for state in states:
        if state is None:
            continue
        if isinstance(top, str) and top in state.additional_secret_outputs:
            return True
        for values in (state.inputs, state.outputs):
            chain = lookup_chain(values, segments)
            if any(is_secret_value(v) for v in chain):
                return True
            if chain and len(chain) == len(segments) and contains_secret(chain[-1]):
                return True
    return False
