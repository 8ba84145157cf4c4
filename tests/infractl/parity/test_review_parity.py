"""A review stack is held to staging, the stack it is made from, with its tier's own allowance:
`infractl parity --stacks staging,pr-1 --reference staging` passes on a generated review stack
file, and fails on a difference the allowance does not name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from infractl.cli import main
from tests.infractl.review.review_files import write_review_stack


def parity(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(
        [
            "parity",
            "--stacks",
            "staging,pr-1",
            "--reference",
            "staging",
            "--json",
            "--cwd",
            str(root),
            *args,
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_a_generated_review_stack_has_stagings_shape(
    project_copy: Callable[[], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_copy()
    write_review_stack(root, "pr-1")
    code, report = parity(capsys, root)
    assert code == 0, [d for d in report["differences"] if not d["allowed"]]
    paths = {(d["level"], d["path"]) for d in report["differences"]}
    assert {("config", "expires_at"), ("config", "aws.availability_zones")} <= paths
    assert ("config", "services.web.autoscaling") in paths
    resources = {path for level, path in paths if level == "resource"}
    assert any("network-private-eu-west-1c" in path for path in resources)  # a third zone less
    assert any("web-scaling" in path for path in resources)  # no autoscaling


def test_a_shape_change_in_a_review_stack_fails_parity(
    project_copy: Callable[[], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_copy()
    path = write_review_stack(root, "pr-1")
    document = yaml.safe_load(path.read_text())
    document["config"]["platform:database"] = {"engine_version": "17"}
    path.write_text(yaml.safe_dump(document))
    code, report = parity(capsys, root)
    assert code == 1
    failures = [(d["level"], d["path"]) for d in report["differences"] if not d["allowed"]]
    assert ("config", "database.engine_version") in failures, failures
    assert all("engine" in path or "major" in path for _, path in failures), failures


def test_every_stack_by_default_leaves_generated_review_stacks_out(
    project_copy: Callable[[], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A review file on one machine must not change what `infractl parity` (every stack)
    compares there: review stacks declare another reference."""
    root = project_copy()
    write_review_stack(root, "pr-1")
    capsys.readouterr()
    main(["parity", "--json", "--cwd", str(root)])
    report = json.loads(capsys.readouterr().out)
    assert "pr-1" not in report["stacks"] and report["reference"] == "prod"
