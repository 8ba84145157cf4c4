"""drift.md and drift.json from classified stacks: the summary table, the sections, the JSON
schema, and no secret value in either."""

from __future__ import annotations

import json
from pathlib import Path

from infractl.drift.classify import DriftRun, StackDrift, classify_stack, failed_stack
from infractl.drift.ignore import IgnoreRule
from infractl.drift.render import render_json, render_markdown
from infractl.pulumi.digest import load_digest
from tests.infractl.drift.drift_inputs import NOW, SECRET


def test_markdown_and_json(
    prod: StackDrift, pulumi_fixtures: Path, rules: tuple[IgnoreRule, ...]
) -> None:
    staging = classify_stack(
        "staging", load_digest(pulumi_fixtures / "refresh" / "staging.json"), rules
    )
    dev = failed_stack(
        "dev", "`pulumi refresh ... --stack dev` timed out after 900s and was killed"
    )
    run = DriftRun("platform", NOW, (prod, staging, dev))
    assert run.exit_code == 2
    md = render_markdown(run)
    assert md.startswith("# Infrastructure drift: 1 of 3 stack check(s) failed; drift in prod\n")
    assert "| dev | ❌ **check failed** | ? | ? | ? | ? |" in md
    assert "| prod | ⚠️ drift | 5 | 1 (+1 without detail) | 2 | 0 |" in md
    assert "| staging | ✅ no drift | 0 | 0 | 0 | 0 |" in md
    assert md.index("## ❌ dev: check failed") < md.index("## ⚠️ prod: drift")
    assert "its drift is unknown. `pulumi refresh ... --stack dev` timed out" in md
    assert "**`ingress[1]` added**" in md
    assert "**`publiclyAccessible` changed**<br>`backupRetentionPeriod` changed" in md
    assert "| `web` | `aws:ecs/service:Service` | `desiredCount` | Application Auto Scaling" in md
    data = json.loads(render_json(run))
    assert data["schema"] == "infractl.drift/v1"
    assert data["status"] == "failed" and data["exit_code"] == 2
    stacks = {s["stack"]: s for s in data["stacks"]}
    assert stacks["dev"]["status"] == "failed" and "timed out" in stacks["dev"]["error"]
    assert stacks["staging"]["status"] == "clean"
    assert stacks["prod"]["counts"] == {
        "critical": 5,
        "warning": 1,
        "ignored": 2,
        "undetailed": 1,
        "pending": 0,
    }
    sg = next(r for r in stacks["prod"]["resources"] if r["name"] == "web-lb")
    assert sg["properties"] == [
        {
            "path": "ingress[1]",
            "kind": "add",
            "input_diff": True,
            "severity": "critical",
            "reason": "security-relevant property 'ingress'",
        }
    ]


def test_secrets_never_appear_in_drift_output(prod: StackDrift, pulumi_fixtures: Path) -> None:
    assert SECRET in (pulumi_fixtures / "refresh" / "prod.json").read_text()
    run = DriftRun("platform", NOW, (prod,))
    assert SECRET not in render_markdown(run)
    assert SECRET not in render_json(run)
