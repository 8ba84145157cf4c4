"""Fixtures of the alert tests: the real promtool."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool is a hard requirement, not an optional extra: a rule file Prometheus refuses to
    load would leave dev without alerting, and only promtool knows what Prometheus accepts."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH; install it with `apt-get install prometheus` "
            "(Debian's package ships /usr/bin/promtool)"
        )
    return path
