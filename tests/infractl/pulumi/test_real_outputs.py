"""The operator tools on output the real engine printed for this program (tests/fixtures/real/,
saved by the e2e tier with PLATFORM_E2E_SAVE_REAL; versions in its README): the fast suite
holds the parsers to what the CLI really prints, not only to what its documentation says."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from infractl.cli import main
from infractl.drift.classify import DriftSeverity, StackStatus, classify_stack
from infractl.pulumi.digest import load_digest, parse_digest
from infractl.pulumi.digest_text import PreviewFormatError
from infractl.report.render import StackPreview, render_report
from infractl.rollback.history import ImageChange, parse_history, plan_rollback
from tests.paths import FIXTURES, REPO_ROOT

REAL = FIXTURES / "real"
ROOT = REPO_ROOT
STACK = "e2e"
WORDS = {
    "create": "to create",
    "update": "to update",
    "replace": "to replace",
    "delete": "to delete",
    "same": "unchanged",
}


def summary_counts(markdown: str) -> dict[str, int]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"- **{STACK}**"))
    counts = {}
    for op, word in WORDS.items():
        match = re.search(rf"(\d+) {word}", line)
        counts[op] = int(match.group(1)) if match else 0
    return counts


@pytest.mark.parametrize(
    ("name", "destructive"),
    [
        ("preview-database-server-replaced", {"db-server"}),
        ("preview-role-deleted", {"db-access-readonly", "db-access-readonly-password"}),
        ("preview-benign", set()),
    ],
)
def test_report_on_real_previews_counts_as_the_preview_does(
    name: str, destructive: set[str]
) -> None:
    path = REAL / f"{name}.json"
    raw = json.loads(path.read_text())
    result = render_report([StackPreview(STACK, load_digest(path))])
    expected = {op: raw["changeSummary"].get(op, 0) for op in WORDS}
    assert summary_counts(result.markdown) == expected
    flagged = {change.step.urn.name for change in result.destructive}
    assert destructive <= flagged
    if not destructive:
        assert flagged == set()


def test_drift_on_the_real_refresh_after_tampering() -> None:
    digest = parse_digest((REAL / "refresh-after-tampering.json").read_text(), "refresh")
    drift = classify_stack(STACK, digest, ())
    assert drift.status is StackStatus.DRIFT
    found = {r.name: r for r in drift.resources}
    assert found["worker-1"].drift.value == "deleted"
    assert found["prometheus-server"].drift.value == "deleted"
    assert found["db-access-app"].severity is DriftSeverity.CRITICAL
    assert [p.path for p in found["db-access-app"].properties] == ["createDatabase"]
    assert found["db-access-readonly-tables"].severity is DriftSeverity.CRITICAL
    assert found["db-access-app-future-tables"].severity is DriftSeverity.CRITICAL
    assert "restart" in {p.path for p in found["web-1"].properties}


def test_rollback_plans_from_the_real_history() -> None:
    history = json.loads((REAL / "history.json").read_text())
    assert {entry["version"] for entry in history} == {0}  # a DIY backend numbers nothing
    plan = plan_rollback(parse_history(history))
    assert plan.current.version == len(history)
    assert ImageChange("web", "platform-e2e/shop-web:2", "platform-e2e/shop-web:1") in plan.changes


def test_live_parity_on_the_real_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(REAL / f"Pulumi.{STACK}.yaml", project / f"Pulumi.{STACK}.yaml")
    exports = tmp_path / "exports"
    exports.mkdir()
    state: dict[str, Any] = json.loads((REAL / "export.json").read_text())
    (exports / f"{STACK}.json").write_text(json.dumps(state))
    args = ["parity", "--cwd", str(project), "--live", str(exports), "--stacks", STACK]
    args += ["--reference", STACK, "--json"]
    assert main(args) == 0, capsys.readouterr()
    capsys.readouterr()

    role = next(r for r in state["deployment"]["resources"] if r["urn"].endswith("::db-access-app"))
    role["inputs"]["createDatabase"] = True
    (exports / f"{STACK}.json").write_text(json.dumps(state))
    assert main(args) == 1
    document = json.loads(capsys.readouterr().out)
    [departed] = [d for d in document["differences"] if not d["allowed"]]
    assert departed["path"].endswith("db-access-app.createDatabase")


def test_engine_events_are_refused_as_a_preview_with_a_message_saying_what_they_are() -> None:
    with pytest.raises(PreviewFormatError, match="NDJSON engine events"):
        parse_digest((REAL / "events-preview.jsonl").read_text(), "events-preview.jsonl")
