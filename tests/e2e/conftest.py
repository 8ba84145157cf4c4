"""Fixtures of the e2e tier; the harness itself is e2e_harness.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.e2e_harness import E2ESetupError, E2EStack, create_stack, destroy_stack


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    try:
        stack = create_stack(
            tmp_path_factory.mktemp("e2e-project"), tmp_path_factory.mktemp("e2e-state")
        )
    except E2ESetupError as exc:
        pytest.fail(str(exc))
    try:
        yield stack
    finally:
        destroy_stack(stack)
