"""Shared fixtures: the repository root and stacks evaluated once per session under mocks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.ops.mock_runtime import StackRun, run_stack

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def dev_run() -> StackRun:
    """The dev stack from the real Pulumi.dev.yaml (results are plain data; safe to share)."""
    return run_stack(REPO_ROOT, "dev")


@pytest.fixture
def project_copy(tmp_path: Path) -> Callable[[], Path]:
    """A copy of the project's Pulumi.yaml and stack files, to change one stack's config."""

    def make() -> Path:
        for path in REPO_ROOT.glob("Pulumi*.yaml"):
            shutil.copy(path, tmp_path / path.name)
        return tmp_path

    return make
