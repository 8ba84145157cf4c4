"""The check behind `infractl env --check`: the app's `.env.example` and what each stack injects
say the same thing. Pure: config and the parsed example in, problems out."""

from __future__ import annotations

from collections.abc import Mapping

from infra.config.app_env import Injected
from infractl.env.example import Documented


def contract_problems(
    stack: str,
    injected: Mapping[str, Injected],
    documented: Mapping[str, Documented],
    example: str,
) -> list[str]:
    """One line per variable the app needs and the stack does not provide, and per variable the
    stack injects that the example does not document."""
    problems = [
        f"stack '{stack}' does not provide {name} ({example} line {doc.line}); set it in a "
        "service's env or secrets, or mark it optional in its comment if the app has a default"
        for name, doc in sorted(documented.items())
        if name not in injected and not doc.optional
    ]
    problems += [
        f"stack '{stack}' injects {name} into {', '.join(var.services)} but {example} does not "
        "document it; add it there with a comment saying what it is"
        for name, var in sorted(injected.items())
        if name not in documented
    ]
    return problems
