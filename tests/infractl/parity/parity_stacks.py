"""Shared by the parity tests: validated configs of the real stacks, copies of the project's stack
files and export fixtures with one change each, and `infractl parity --json` run on them.

Built from the real files so that what is checked is what the operator runs.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config.layering import resolve_stack_config
from infra.config.models import StackConfig
from infractl.cli import main
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
EXPORTS = ROOT / "tests" / "fixtures" / "exports"
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

Edit = Callable[[dict[str, Any]], None]


def project(tmp_path: Path, **edits: Edit) -> Path:
    """A copy of the project's stack files, then `edits` per stack applied to its `config:`
    mapping."""
    target = tmp_path / "project"
    target.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", target)
    for source in ROOT.glob("Pulumi.*.yaml"):
        stack = source.name.removeprefix("Pulumi.").removesuffix(".yaml")
        document = yaml.safe_load(source.read_text())
        config = document["config"]
        if stack in edits:
            edits[stack](config)
        (target / source.name).write_text(yaml.safe_dump(document, sort_keys=False))
    return target


def nested(config: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `platform:<a>.<b>...` in a stack's config mapping, creating what is missing."""
    key, *rest = dotted.split(".")
    node = config.setdefault(f"platform:{key}", {})
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = value


def setting(dotted: str, value: Any) -> Edit:
    return lambda config: nested(config, dotted, value)


def parity(
    capsys: pytest.CaptureFixture[str], *args: str | Path
) -> tuple[int, dict[str, Any] | None, str]:
    """Run `infractl parity ... --json`; (exit code, the document or None, stderr)."""
    code = main(["parity", *map(str, args), "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def failures(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in document["differences"] if not d["allowed"]]


def find(document: dict[str, Any], level: str, path: str) -> dict[str, Any]:
    for difference in document["differences"]:
        if difference["level"] == level and difference["path"] == path:
            return difference
    raise AssertionError(f"no {level} difference at {path}: {document['differences']}")


def config_of(stack: str, **changes: Any) -> StackConfig:
    """A stack's validated config from its real file plus `changes` (`platform:` keys)."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    overrides: dict[str, Any] = {}
    for key, value in document["config"].items():
        if key.startswith("platform:"):
            overrides[key.removeprefix("platform:")] = copy.deepcopy(value)
    for dotted, value in changes.items():
        head, *rest = dotted.split("__")
        node = overrides.setdefault(head, {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        if rest:
            node[rest[-1]] = value
        else:
            overrides[head] = value
    return resolve_stack_config(stack, overrides)


def exports(tmp_path: Path, **edits: Callable[[list[dict[str, Any]]], None]) -> Path:
    """The export fixtures, with a hand-made change per stack applied to its resources."""
    target = tmp_path / "exports"
    target.mkdir()
    for source in EXPORTS.glob("*.json"):
        document = json.loads(source.read_text())
        if source.stem in edits:
            edits[source.stem](document["deployment"]["resources"])
        (target / source.name).write_text(json.dumps(document, indent=4))
    return target


def set_input(name: str, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def edit(resources: list[dict[str, Any]]) -> None:
        [resource] = [r for r in resources if r["urn"].endswith(f"::{name}")]
        resource["inputs"][key] = value

    return edit
