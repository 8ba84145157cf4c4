"""How a bad stack config is reported: one line per problem, naming the stack and the key path.

Pydantic's errors are translated here into `Problem`s: an unknown key lists the valid ones, a
cross-field rule (`rule_error`) names its own path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError


def rule_error(path: str, message: str) -> PydanticCustomError:
    """A cross-field error that names its own key path (model validators have none of their own)."""
    return PydanticCustomError("platform_rule", "{message}", {"path": path, "message": message})


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


class ConfigError(Exception):
    """A stack's config is invalid. str() is the whole report, one line per problem."""

    def __init__(self, stack: str, problems: list[Problem], source: str | None = None) -> None:
        self.stack = stack
        self.problems = problems
        self.source = source or f"Pulumi.{stack}.yaml"
        lines = [f"invalid config for stack '{stack}' ({self.source}):"]
        lines += [f"  platform:{_one_line(p.path)}: {_one_line(p.message)}" for p in problems]
        super().__init__("\n".join(lines))


def _one_line(text: str) -> str:
    """A key or value a stack file wrote, unable to start a line of its own or drive a terminal:
    one problem is one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _loc_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _valid_keys(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys a model at `loc` accepts, so an unknown key can be answered with the known ones."""
    node: Any = root
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if not (isinstance(node, type) and issubclass(node, BaseModel)):
            return []
        field = node.model_fields.get(str(part))
        if field is None:
            return []
        node, keyed = _model_of(field.annotation)
        if keyed:
            if not parts:
                return []
            parts.pop(0)  # the mapping's own key, e.g. the service name
    if isinstance(node, type) and issubclass(node, BaseModel):
        return [name for name in node.model_fields if name != "stack"]
    return []


def _model_of(annotation: Any) -> tuple[Any, bool]:
    """The model inside an annotation, and whether it sits in a dict (so a key comes first)."""
    origin = getattr(annotation, "__origin__", None)
    args: tuple[Any, ...] = tuple(getattr(annotation, "__args__", ()))
    if getattr(annotation, "__metadata__", None) is not None:
        return _model_of(origin)
    if origin is dict and len(args) == 2:
        inner, _ = _model_of(args[1])
        return inner, True
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg, False
    return annotation, False


def problem_from_pydantic(root: type[BaseModel], error: Any) -> Problem:
    """One pydantic error on a `root` model, as a Problem naming its key path."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    # A dict key that failed its pattern is reported by pydantic as `loc + ("[key]",)`.
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
    kind = error["type"]
    if kind == "platform_rule":
        ctx = error["ctx"]
        path = ".".join(p for p in (_loc_path(loc), ctx["path"]) if p)
        return Problem(path, ctx["message"])
    if kind == "extra_forbidden":
        valid = _valid_keys(root, loc[:-1])
        hint = f"; valid keys here: {', '.join(valid)}" if valid else ""
        return Problem(_loc_path(loc), f"unknown key{hint}")
    if kind == "missing":
        return Problem(_loc_path(loc), "required, but no layer sets it")
    message = error["msg"]
    if kind == "string_pattern_mismatch":
        message = f"'{error['input']}' does not match {error['ctx']['pattern']}"
    return Problem(_loc_path(loc), message)
