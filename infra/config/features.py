"""Feature flags: declared once in the product (name, type, default, description), set per stack
under `platform:features`, injected into every service as `FEATURE_<NAME>`.

A flag may differ between stacks (parity) only when the product declares it `per_environment`:
a flag being rolled out stage by stage; any other flag is part of the product's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from infra.config.errors import rule_error
from infra.config.fields import Model

FLAG_NAME = r"^[a-z][a-z0-9_]{0,39}$"
FLAG_ENV_PREFIX = "FEATURE_"
FlagType = Literal["bool", "int", "string"]
_PYTHON_TYPE: Mapping[str, type] = {"bool": bool, "int": int, "string": str}
_EXAMPLE = {"bool": "true or false", "int": "a whole number such as 20", "string": "text"}
_ARTICLE = {"bool": "a", "int": "an", "string": "a"}


def flag_env_name(flag: str) -> str:
    return f"{FLAG_ENV_PREFIX}{flag.upper()}"


def type_problem(kind: str, value: Any) -> str | None:
    """Why `value` is not a `kind` flag's value (bool is never an int, a quoted "true" never a
    bool), or None."""
    if type(value) is not _PYTHON_TYPE[kind]:
        return f"{_ARTICLE[kind]} {kind} flag takes {_EXAMPLE[kind]}, got {value!r}"
    return None


def env_value(value: bool | int | str) -> str:
    """What the app reads: true/false, digits, or the text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class FlagSpec(Model):
    """One flag as the product declares it."""

    type: FlagType
    default: Any
    description: Annotated[str, Field(min_length=1)]
    per_environment: bool = False
    """May differ between stacks (a staged rollout); otherwise parity holds it equal."""

    @model_validator(mode="after")
    def _default_has_the_type(self) -> Self:
        problem = type_problem(self.type, self.default)
        if problem is not None:
            raise rule_error("default", problem)
        return self


def check_features(
    flags: Mapping[str, FlagSpec], values: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(key, message) per stack value that names no declared flag or has the wrong type."""
    problems = []
    for name, value in values.items():
        spec = flags.get(name)
        if spec is None:
            declared = ", ".join(sorted(flags)) or "none"
            problems.append(
                (f"features.{name}", f"no flag named {name}; the product declares: {declared}")
            )
            continue
        problem = type_problem(spec.type, value)
        if problem is not None:
            problems.append((f"features.{name}", problem))
    return problems


def feature_env(flags: Mapping[str, FlagSpec], values: Mapping[str, Any]) -> dict[str, str]:
    """Every declared flag as the env var each service gets: the stack's value, else the
    default."""
    return {
        flag_env_name(name): env_value(values.get(name, spec.default))
        for name, spec in sorted(flags.items())
    }
