"""The stack histories the rollback tests read: real `pulumi stack history --json` format."""

from __future__ import annotations

import json
from typing import Any

from tests.paths import FIXTURES

HISTORY_FIXTURES = FIXTURES / "history"
WEB, WORKER = "ghcr.io/acme/shop-web", "ghcr.io/acme/shop-worker"

UP_CALL = [  # `pulumi up` as rollback runs it, back to version 25
    "up",
    "--stack",
    "prod",
    "--yes",
    "--skip-preview=false",
    "--non-interactive",
    "--policy-pack",
    "policy",
    "--message",
    "infractl rollback to version 25",
]


def history(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((HISTORY_FIXTURES / f"{name}.json").read_text())
    return data


def entry(raw: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return next(e for e in raw if e["version"] == version)
