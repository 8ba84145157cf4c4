"""Fixtures for the drift tests: the fixture ignore file and the classified prod refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from infractl.drift.classify import StackDrift, classify_stack
from infractl.drift.ignore import IgnoreRule, parse_ignore_rules
from infractl.pulumi.digest import load_digest


@pytest.fixture
def rules(pulumi_fixtures: Path) -> tuple[IgnoreRule, ...]:
    path = pulumi_fixtures / "drift-ignore.yaml"
    return parse_ignore_rules(path.read_text(), str(path))


@pytest.fixture
def prod(pulumi_fixtures: Path, rules: tuple[IgnoreRule, ...]) -> StackDrift:
    return classify_stack("prod", load_digest(pulumi_fixtures / "refresh" / "prod.json"), rules)
