"""The committed `pulumi stack export` fixtures match what the program builds today.

Parity's live mode is tested on them; stale ones would test a program that no longer exists.
Regenerate with `python tests/fixtures/exports/generate.py`.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.paths import FIXTURES

GENERATOR = FIXTURES / "exports" / "generate.py"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_export_fixture_is_current(stack: str) -> None:
    spec = importlib.util.spec_from_file_location("export_fixtures", GENERATOR)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    committed = json.loads((GENERATOR.parent / f"{stack}.json").read_text())
    assert committed == generator.export(stack), (
        f"{stack}.json is stale: run python tests/fixtures/exports/generate.py"
    )
