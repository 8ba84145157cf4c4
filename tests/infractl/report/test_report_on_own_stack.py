"""`infractl report` on a preview of this program's own prod stack.

The digest is built from prod's real registrations (under mocks) in the `pulumi preview --json`
format (reference §1): every resource `same`, except an engine-version bump that replaces the RDS
instance, which prod `protect`s. The report must lead with it as destructive and protected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.offline import Registration, run_stack
from infractl.cli import main
from infractl.plan.render import mask

RDS = "aws:rds/instance:Instance"


def state(r: Registration, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "urn": r.urn,
        "custom": r.custom,
        "type": r.type,
        "inputs": inputs,
        "outputs": inputs,
        "parent": r.parent,
        "protect": r.protect,
    }


def digest(repo_root: Path) -> dict[str, Any]:
    steps = []
    for r in run_stack(repo_root, "prod").resources:
        inputs = mask(dict(r.inputs))
        if r.type == RDS:
            bumped = {**inputs, "engineVersion": "17"}
            steps.append(
                {
                    "op": "replace",
                    "urn": r.urn,
                    "oldState": state(r, inputs),
                    "newState": state(r, bumped),
                    "diffReasons": ["engineVersion"],
                    "replaceReasons": ["engineVersion"],
                    "detailedDiff": {
                        "engineVersion": {"kind": "update-replace", "inputDiff": True}
                    },
                }
            )
        else:
            steps.append({"op": "same", "urn": r.urn, "oldState": state(r, inputs)})
    return {"steps": steps, "changeSummary": {"same": len(steps) - 1, "replace": 1}}


def test_protected_prod_database_replacement_leads_the_report(
    repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = tmp_path / "prod.json"
    preview.write_text(json.dumps(digest(repo_root)))
    code = main(["report", str(preview), "--stack", "prod", "--fail-on-destructive"])
    out, err = capsys.readouterr()
    assert code == 1, err
    destructive = out.partition("### prod")[0]
    line = next(ln for ln in destructive.splitlines() if "`db-instance`" in ln)
    assert "**replace**" in line
    assert "protected" in line and "engineVersion" in line
    assert "mock-password" not in out and "mock-rds-master-password" not in out
