"""Images by digest, as aws stacks must run them, for configs written in tests."""

from __future__ import annotations

from typing import Any

DIGEST = "sha256:" + "ab" * 32


def pinned_image(service: str) -> str:
    return f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/platform-test-{service}@{DIGEST}"


def pinned_services(*names: str) -> dict[str, Any]:
    """The product's services (or `names`), each pinned by digest."""
    return {name: {"image": pinned_image(name)} for name in names or ("web", "worker")}
