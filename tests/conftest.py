"""Shared fixtures: the repository root and stacks evaluated once per session under mocks."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

from infra import offline
from infra.offline import StackRun
from tests.paths import REPO_ROOT

_EVALUATED: dict[tuple[Any, ...], StackRun] = {}
_evaluate = offline.run_stack


def _run_stack_once(
    root: Path,
    stack: str,
    on_missing_secrets: Any = "placeholder",
    config_overrides: Mapping[str, str] | None = None,
    mocks: Any = None,
) -> StackRun:
    """Evaluating a stack is deterministic: the suite evaluates each distinct (stack file,
    overrides) once. Custom mocks always evaluate afresh."""
    if mocks is not None:
        return _evaluate(root, stack, on_missing_secrets, config_overrides, mocks)
    stack_file = root / f"Pulumi.{stack}.yaml"
    content = hashlib.sha256(stack_file.read_bytes()).hexdigest() if stack_file.exists() else ""
    key = (
        str(root),
        stack,
        content,
        on_missing_secrets,
        tuple(sorted((config_overrides or {}).items())),
    )
    if key not in _EVALUATED:
        _EVALUATED[key] = _evaluate(root, stack, on_missing_secrets, config_overrides)
    return _EVALUATED[key]


# Installed before any test module imports `run_stack`, so every caller shares the cache.
offline.run_stack = _run_stack_once  # type: ignore[assignment]


# Property tests: 100 examples each in the suite; HYPOTHESIS_PROFILE=deep for a long hunt.
# Hypothesis keeps failing examples (and more) in ./.hypothesis by default: outside the
# repository instead, with the project's other caches.
_HYPOTHESIS_HOME = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "platform-hypothesis"
)
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
_EXAMPLES = DirectoryBasedExampleDatabase(_HYPOTHESIS_HOME / "examples")
settings.register_profile("suite", max_examples=100, deadline=None, database=_EXAMPLES)
settings.register_profile("deep", max_examples=3000, deadline=None, database=_EXAMPLES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


E2E_NOT_RUN = (
    "e2e tier: not run (it needs the engine built from Go modules and a Docker engine; "
    "`./scripts/test --e2e` builds and starts both, then runs it)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e",
        action="store_true",
        help="run tests/e2e: the real Pulumi engine on a real Docker engine (./scripts/test --e2e)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/e2e deploys for real and takes minutes: only with --e2e."""
    if config.getoption("--e2e"):
        return None
    return (REPO_ROOT / "tests" / "e2e") in (collection_path, *collection_path.parents) or None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not config.getoption("--e2e"):
        terminalreporter.write_line(E2E_NOT_RUN)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def dev_run() -> StackRun:
    """The dev stack from the real Pulumi.dev.yaml (results are plain data; safe to share)."""
    return offline.run_stack(REPO_ROOT, "dev")


@pytest.fixture
def project_copy(tmp_path: Path) -> Callable[[], Path]:
    """A copy of the project's Pulumi.yaml and stack files, to change one stack's config."""

    def make() -> Path:
        for path in REPO_ROOT.glob("Pulumi*.yaml"):
            shutil.copy(path, tmp_path / path.name)
        return tmp_path

    return make
