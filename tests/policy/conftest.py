"""Fixtures for the policy pack tests: the real stacks evaluated, and the CLI's start-up env."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from infra.offline import StackRun, run_stack
from tests.paths import REPO_ROOT
from tests.policy.policy_inputs import STACKS


@pytest.fixture(scope="module")
def stack_runs() -> dict[str, StackRun]:
    """The three real stacks, evaluated once for this module (results are plain data)."""
    return {stack: run_stack(REPO_ROOT, stack) for stack in STACKS}


@pytest.fixture
def as_stack(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Start-up environment as the CLI gives the pack: the stack's name and its config."""

    def set_stack(stack: str, environment: str) -> None:
        monkeypatch.setenv("PULUMI_STACK", stack)
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"platform:environment": environment}))

    return set_stack
