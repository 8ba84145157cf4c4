"""The offline plan diff: what a change does to a stack, planned at a git ref and in the working
tree, for pull requests that get no credentials."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infractl.cli import main
from infractl.plan.baseline import BaselinePlan
from infractl.plan.diff import LONG_SHOWN, SECRET_SHOWN, diff_plans, render_markdown, to_json

STACK = "urn:pulumi:dev::platform::pulumi:pulumi:Stack::platform-dev"


def resource(qualified_type: str, logical_name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:dev::platform::{qualified_type}::{logical_name}",
        "type": qualified_type.rsplit("$", 1)[-1],
        "name": logical_name,
        "parent": STACK,
        "inputs": inputs,
    }


def plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"stack": "dev", "resources": list(resources), "outputs": {}}


VOLUME = resource("docker:index/volume:Volume", "db-backups", name="dev-db-backups")
DB_CONTAINER = resource(
    "platform:docker:Database$docker:index/container:Container", "db", image="postgres:16"
)
WEB = resource(
    "docker:index/container:Container",
    "web-1",
    image="shop:1",
    envs=["A=1", "[secret]"],
    labels={"apiKey": "k-OLD"},
)


def test_removing_a_stateful_resource_or_part_of_a_database_is_destructive() -> None:
    diff = diff_plans("dev", "main", plan(VOLUME, DB_CONTAINER, WEB), plan(WEB))
    assert [(c.kind, c.name, c.destructive) for c in diff.changes] == [
        ("remove", "db", True),
        ("remove", "db-backups", True),
    ]
    assert diff.changes[0].stateful == "part of platform:docker:Database, which holds a database"
    assert diff.changes[1].stateful == "docker:index/volume:Volume holds data"
    text = render_markdown([diff])
    assert "⚠️ **2 destructive**" in text and "| ⚠️ - | `db` (part of" in text


def test_changed_inputs_are_listed_by_path_with_secrets_masked() -> None:
    new_web = {**WEB, "inputs": {**WEB["inputs"], "image": "shop:2", "labels": {"apiKey": "k-NEW"}}}
    new_web["inputs"]["envs"] = ["A=2", "[secret]"]
    diff = diff_plans("dev", "main", plan(WEB), plan(new_web))
    [change] = diff.changes
    shown = {i.path: (i.old, i.new) for i in change.inputs}
    assert shown == {
        "envs[0]": ("A=1", "A=2"),
        "image": ("shop:1", "shop:2"),
        "labels.apiKey": (SECRET_SHOWN, SECRET_SHOWN),
    }
    document = json.dumps(to_json([diff]))
    assert "k-OLD" not in document and "k-NEW" not in document


def test_a_changed_stateful_resource_is_flagged_for_review_not_destructive() -> None:
    bigger = {**DB_CONTAINER, "inputs": {"image": "postgres:17"}}
    diff = diff_plans("dev", "main", plan(DB_CONTAINER), plan(bigger))
    assert not diff.destructive
    assert "| ~ (review: stateful) | `db` |" in render_markdown([diff])


def test_a_new_stack_is_all_added_and_long_values_are_not_printed() -> None:
    long = resource("docker:index/container:Container", "p", uploads=[{"content": "x" * 500}])
    diff = diff_plans("qa", "main", None, plan(long))
    assert diff.new_stack and [c.kind for c in diff.changes] == ["add"]
    changed = diff_plans(
        "qa", "main", plan(long), plan({**long, "inputs": {"uploads": [{"content": "y" * 500}]}})
    )
    assert changed.changes[0].inputs[0].old == LONG_SHOWN


@pytest.fixture
def clone(tmp_path: Path, repo_root: Path) -> Path:
    """This repository at HEAD, in a scratch clone whose working tree a test may change."""
    if shutil.which("git") is None or not (repo_root / ".git").exists():
        pytest.fail("the diff needs git and this repository's history")
    target = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", "--local", str(repo_root), str(target)], check=True)
    return target


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_diff_against_a_ref_plans_both_sides_for_real(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_file = clone / "Pulumi.dev.yaml"
    before = stack_file.read_text()
    after = before.replace(
        "    web:\n      env:\n",
        "    web:\n      image: ghcr.io/acme/shop-web:1.5.0\n      replicas: 2\n      env:\n",
    )
    assert after != before, "the dev stack file no longer has the web block this test edits"
    stack_file.write_text(after)
    code, out, _ = run(
        capsys, "plan", "--stack", "dev", "--diff-against", "HEAD", "--cwd", str(clone)
    )
    assert code == 0
    assert "- **dev** against `HEAD`: 1 added, 0 removed, 4 changed" in out
    assert "| + | `web-2` |" in out
    # dev built web from app/; now it pulls the pinned image instead
    built_to_pulled = r"`name`: `platform-dev-web:[0-9a-f]{12}` → `ghcr.io/acme/shop-web:1.5.0`"
    assert re.search(built_to_pulled, out)


def test_an_unchanged_tree_has_no_changes(clone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "plan", "--stack", "dev", "--diff-against", "HEAD", "--json", "--cwd", str(clone)
    )
    assert code == 0
    [diff] = json.loads(out)
    assert (diff["stack"], diff["changes"], diff["destructive"]) == ("dev", [], 0)


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=/tmp/x", "HEAD~100000"])
def test_a_ref_that_is_no_commit_is_one_line(
    clone: Path, capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    code, out, err = run(
        capsys, "plan", "--stack", "dev", f"--diff-against={ref}", "--cwd", str(clone)
    )
    assert code == 2 and out == ""
    assert err.startswith("infractl plan: --diff-against ") and err.count("\n") == 1


def test_a_baseline_plan_closed_early_leaves_no_process_and_no_tree(repo_root: Path) -> None:
    """Found in review: a failing plan of the working tree left the ref's planners running."""
    baseline = BaselinePlan(repo_root, "HEAD", "dev")
    process = baseline._process
    assert process is not None and process.poll() is None
    tree = Path(baseline._tree.name)
    baseline.close()
    assert process.returncode is not None and not tree.exists()
