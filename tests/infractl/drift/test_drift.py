"""Drift: classification of realistic refresh previews, the ignore file, drift.md/drift.json, and
`infractl drift` end to end against a fake `pulumi` that plays back those previews."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infractl.drift.classify import (
    DriftKind,
    DriftRun,
    DriftSeverity,
    IgnoreFileError,
    IgnoreRule,
    StackDrift,
    StackStatus,
    classify_property,
    classify_stack,
    failed_stack,
    parse_ignore_rules,
    property_prefixes,
    render_json,
    render_markdown,
)
from infractl.drift.command import drift
from infractl.pulumi.digest import PreviewDigest, PropertyDiff, load_digest, parse_digest

if TYPE_CHECKING:
    from tests.infractl.conftest import FakePulumi

SECRET = "sk_live_TESTSECRET123"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
Invoke = Callable[[Callable[..., Any], list[str]], Any]


@pytest.fixture
def rules(pulumi_fixtures: Path) -> tuple[IgnoreRule, ...]:
    path = pulumi_fixtures / "drift-ignore.yaml"
    return parse_ignore_rules(path.read_text(), str(path))


@pytest.fixture
def prod(pulumi_fixtures: Path, rules: tuple[IgnoreRule, ...]) -> StackDrift:
    return classify_stack("prod", load_digest(pulumi_fixtures / "refresh" / "prod.json"), rules)


def _by_name(stack: StackDrift) -> dict[tuple[str, str], Any]:
    return {(r.name, r.type): r for r in stack.resources}


def test_prod_refresh_is_classified(prod: StackDrift) -> None:
    found = _by_name(prod)
    assert len(found) == 7, "refresh steps without drift must not be listed"
    sg = found[("web-lb", "aws:ec2/securityGroup:SecurityGroup")]
    assert sg.severity is DriftSeverity.CRITICAL and sg.drift is DriftKind.CHANGED
    assert [(p.path, p.kind, p.severity) for p in sg.properties] == [
        ("ingress[1]", "add", DriftSeverity.CRITICAL)
    ]
    rds = found[("shop-db", "aws:rds/instance:Instance")]
    severities = {p.path: p.severity for p in rds.properties}
    assert severities == {
        "publiclyAccessible": DriftSeverity.CRITICAL,
        "backupRetentionPeriod": DriftSeverity.WARNING,
    }
    assert rds.severity is DriftSeverity.CRITICAL
    assert rds.component == ("platform:aws:Database",)
    policy = found[("web-task-s3", "aws:iam/rolePolicy:RolePolicy")]
    assert policy.severity is DriftSeverity.CRITICAL
    role = found[("shop_readonly", "postgresql:index/role:Role")]
    assert role.drift is DriftKind.DELETED and role.severity is DriftSeverity.CRITICAL
    assert "gone from the cloud" in role.reason
    service = found[("web", "aws:ecs/service:Service")]
    assert service.severity is DriftSeverity.IGNORED
    assert "Auto Scaling" in service.properties[0].reason
    logs = found[("web", "aws:cloudwatch/logGroup:LogGroup")]
    assert logs.severity is DriftSeverity.WARNING
    assert {p.path: p.severity for p in logs.properties} == {
        "retentionInDays": DriftSeverity.WARNING,
        "tags.CostCenter": DriftSeverity.IGNORED,
        "tagsAll.CostCenter": DriftSeverity.IGNORED,
    }
    secret = found[("payments_api_key", "aws:secretsmanager/secretVersion:SecretVersion")]
    assert secret.severity is DriftSeverity.CRITICAL
    assert prod.undetailed == 1, "changeSummary counts 7 updates, the steps show 6"
    assert prod.status is StackStatus.DRIFT
    assert (prod.count(DriftSeverity.CRITICAL), prod.count(DriftSeverity.WARNING)) == (5, 1)


def test_clean_stack(pulumi_fixtures: Path, rules: tuple[IgnoreRule, ...]) -> None:
    staging = classify_stack(
        "staging", load_digest(pulumi_fixtures / "refresh" / "staging.json"), rules
    )
    assert staging.resources == () and staging.undetailed == 0
    assert staging.status is StackStatus.CLEAN


def test_without_ignore_file_noise_is_drift(pulumi_fixtures: Path) -> None:
    stack = classify_stack("prod", load_digest(pulumi_fixtures / "refresh" / "prod.json"), ())
    assert _by_name(stack)[("web", "aws:ecs/service:Service")].severity is DriftSeverity.WARNING
    assert all(r.severity is not DriftSeverity.IGNORED for r in stack.resources)


def _digest(steps: list[dict[str, Any]], summary: dict[str, int] | None = None) -> Any:
    data: dict[str, Any] = {"steps": steps}
    if summary is not None:
        data["changeSummary"] = summary
    return parse_digest(json.dumps(data), "refresh.json")


def _urn(qtype: str, name: str) -> str:
    return f"urn:pulumi:prod::platform::{qtype}::{name}"


def test_pending_changes_are_not_drift() -> None:
    digest = _digest(
        [
            {"op": "create", "urn": _urn("platform:aws:Service$aws:sqs/queue:Queue", "jobs")},
            {"op": "replace", "urn": _urn("aws:ecs/taskDefinition:TaskDefinition", "web")},
            {"op": "refresh", "urn": _urn("aws:ecs/service:Service", "web")},
        ]
    )
    stack = classify_stack("prod", digest, ())
    assert stack.resources == ()
    assert [(p.name, p.op) for p in stack.pending] == [("jobs", "create"), ("web", "replace")]
    assert stack.status is StackStatus.CLEAN
    md = render_markdown(DriftRun("platform", NOW, (stack,)))
    assert "### Pending changes (not drift): 2" in md


def test_drift_without_detail_still_counts() -> None:
    digest = _digest(
        [{"op": "refresh", "urn": _urn("aws:ecs/service:Service", "web")}],
        {"same": 3, "update": 1},
    )
    stack = classify_stack("prod", digest, ())
    assert stack.undetailed == 1 and stack.status is StackStatus.DRIFT
    md = render_markdown(DriftRun("platform", NOW, (stack,)))
    assert "Drift without detail: 1" in md


def test_update_with_only_diff_reasons() -> None:
    digest = _digest(
        [
            {
                "op": "update",
                "urn": _urn("aws:rds/instance:Instance", "db"),
                "diffReasons": ["storageEncrypted"],
                "detailedDiff": None,
            }
        ]
    )
    (resource,) = classify_stack("prod", digest, ()).resources
    assert resource.severity is DriftSeverity.CRITICAL
    assert resource.properties[0].path == "storageEncrypted"


def test_error_diagnostics_fail_the_stack() -> None:
    digest = parse_digest(
        json.dumps(
            {
                "steps": [],
                "diagnostics": [
                    {
                        "urn": _urn("aws:rds/instance:Instance", "db"),
                        "message": "reading RDS DB Instance: AccessDenied",
                        "severity": "error",
                    }
                ],
                "changeSummary": {},
            }
        ),
        "x",
    )
    stack = classify_stack("prod", digest, ())
    assert stack.status is StackStatus.FAILED
    assert stack.error is not None and "1 error(s)" in stack.error


@pytest.mark.parametrize(
    ("resource_type", "path", "severity"),
    [
        ("aws:ec2/securityGroup:SecurityGroup", "ingress[0].cidrBlocks[0]", DriftSeverity.CRITICAL),
        ("aws:ec2/securityGroup:SecurityGroup", "egress", DriftSeverity.CRITICAL),
        ("aws:ec2/securityGroup:SecurityGroup", "tags.Owner", DriftSeverity.WARNING),
        ("aws:ec2/securityGroup:SecurityGroup", "revokeRulesOnDelete", DriftSeverity.CRITICAL),
        ("aws:iam/role:Role", "assumeRolePolicy", DriftSeverity.CRITICAL),
        ("aws:iam/role:Role", "description", DriftSeverity.WARNING),
        ("aws:rds/instance:Instance", "publiclyAccessible", DriftSeverity.CRITICAL),
        ("aws:rds/instance:Instance", "storageEncrypted", DriftSeverity.CRITICAL),
        ("aws:rds/instance:Instance", "kmsKeyId", DriftSeverity.CRITICAL),
        ("aws:rds/instance:Instance", "deletionProtection", DriftSeverity.CRITICAL),
        ("aws:rds/instance:Instance", "allocatedStorage", DriftSeverity.WARNING),
        ("aws:rds/instance:Instance", "tags.policy", DriftSeverity.WARNING),
        ("aws:s3/bucketV2:BucketV2", 'tags["kms.key"]', DriftSeverity.WARNING),
        ("aws:ecs/service:Service", "networkConfiguration.assignPublicIp", DriftSeverity.CRITICAL),
        ("aws:ecs/service:Service", "desiredCount", DriftSeverity.WARNING),
        ("postgresql:index/role:Role", "superuser", DriftSeverity.CRITICAL),
        ("postgresql:index/grant:Grant", "privileges[0]", DriftSeverity.CRITICAL),
    ],
)
def test_classify_property(resource_type: str, path: str, severity: DriftSeverity) -> None:
    found = classify_property(resource_type, PropertyDiff(path, "update", True), ())
    assert found.severity is severity


def test_ignore_rules_match_globs_and_literal_brackets() -> None:
    rules = parse_ignore_rules(
        """
- type: "aws:*"
  property: tags
  reason: tags are managed by the org policy
- type: aws:ec2/securityGroup:SecurityGroup
  property: "ingress[0].description"
  reason: console edits of descriptions
- type: aws:ecs/service:Ser?ice
  property: "*Count"
  reason: autoscaling
""",
        "ignore.yaml",
    )
    sg = "aws:ec2/securityGroup:SecurityGroup"
    assert rules[0].matches(sg, "tags")
    assert rules[0].matches(sg, "tags.Owner")
    assert rules[0].matches(sg, 'tags["a.b"]')
    assert not rules[0].matches(sg, "tagsAll.Owner")
    assert not rules[0].matches("docker:index/volume:Volume", "tags")
    assert rules[1].matches(sg, "ingress[0].description")
    assert not rules[1].matches(sg, "ingress[1].description")
    assert not rules[1].matches(sg, "ingress0.description")
    assert rules[2].matches("aws:ecs/service:Service", "desiredCount")
    assert not rules[2].matches("aws:ecs/service:Service", "desiredCountMax")
    classified = classify_property(
        sg, PropertyDiff("ingress[0].description", "update", True), rules
    )
    assert classified.severity is DriftSeverity.IGNORED
    assert classified.reason == "console edits of descriptions"


def test_property_prefixes() -> None:
    assert property_prefixes('a.b[0]["x.y"].c') == [
        "a",
        "a.b",
        "a.b[0]",
        'a.b[0]["x.y"]',
        'a.b[0]["x.y"].c',
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- type: a\n  property: b\n", "entry 1: 'reason' is missing"),
        ("- type: a\n  property: b\n  reason: '  '\n", "entry 1: 'reason' is empty"),
        ("- {type: a, property: b, reason: ok}\n- {type: a, reason: ok}\n", "entry 2: 'property'"),
        ("- {type: a, property: b, reason: ok, propery: c}\n", "unknown key(s) propery"),
        ("type: a\n", "expected a list"),
        ("- just a string\n", "expected a mapping"),
        ("- [unclosed\n", "invalid YAML at line"),
    ],
)
def test_bad_ignore_files(text: str, expected: str) -> None:
    with pytest.raises(IgnoreFileError, match=None) as err:
        parse_ignore_rules(text, "ignore.yaml")
    assert str(err.value).startswith("ignore.yaml: ")
    assert expected in str(err.value)


def test_empty_ignore_file_is_no_rules() -> None:
    assert parse_ignore_rules("", "x") == ()
    assert parse_ignore_rules("# nothing yet\n", "x") == ()


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


@pytest.mark.parametrize(
    ("stacks", "code"),
    [
        ((StackDrift("a"),), 0),
        ((StackDrift("a"), StackDrift("b", undetailed=1)), 1),
        ((StackDrift("a", undetailed=1), failed_stack("b", "boom")), 2),
        ((failed_stack("b", "boom"),), 2),
    ],
)
def test_exit_codes(stacks: tuple[StackDrift, ...], code: int) -> None:
    assert DriftRun("platform", NOW, stacks).exit_code == code


def test_real_fixture_reads_as_drift(real_pulumi_fixtures: Path) -> None:
    digest = load_digest(real_pulumi_fixtures / "stratify__sample-preview-update.json")
    stack = classify_stack("dev", digest, ())
    ((name, path),) = [(r.name, p.path) for r in stack.resources for p in r.properties]
    assert (name, path) == ("docsHandler", "code")
    assert stack.resources[0].severity is DriftSeverity.WARNING


def test_ten_thousand_steps(big_refresh: PreviewDigest) -> None:
    stack = classify_stack("prod", big_refresh, ())
    deleted = [r for r in stack.resources if r.drift is DriftKind.DELETED]
    assert len(deleted) == 9 and all(r.severity is DriftSeverity.CRITICAL for r in deleted)
    assert stack.undetailed == 0
    md = render_markdown(DriftRun("platform", NOW, (stack,)))
    assert SECRET not in md
    assert "more resources (see drift.json)" in md


# ---- the command, against a fake `pulumi` ----


def _play(fake: FakePulumi, pulumi_fixtures: Path) -> None:
    fake.behave("prod", stdout_file=pulumi_fixtures / "refresh" / "prod.json")
    fake.behave("staging", stdout_file=pulumi_fixtures / "refresh" / "staging.json")
    fake.behave(
        "dev",
        stderr="error: no stack named 'dev' found\n",
        exit=6,
    )


def test_command_failed_and_drifted_stacks(
    fake_pulumi_cli: FakePulumi,
    pulumi_fixtures: Path,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
) -> None:
    _play(fake_pulumi_cli, pulumi_fixtures)
    out = tmp_path / "out"
    run = run_command(
        drift,
        [
            "--cwd",
            str(platform_project),
            "--out-dir",
            str(out),
            "--ignore",
            str(pulumi_fixtures / "drift-ignore.yaml"),
        ],
    )
    assert run.code == 2
    assert "dev: failed (`pulumi refresh --preview-only" in run.stdout
    assert "exited 6 (stack not found)" in run.stdout
    assert "prod: drift" in run.stdout and "staging: clean" in run.stdout
    md = (out / "drift.md").read_text()
    data = json.loads((out / "drift.json").read_text())
    assert {s["stack"]: s["status"] for s in data["stacks"]} == {
        "dev": "failed",
        "prod": "drift",
        "staging": "clean",
    }
    assert "## ❌ dev: check failed" in md and "## ⚠️ prod: drift" in md
    assert SECRET not in md and SECRET not in (out / "drift.json").read_text()
    for stack in ("dev", "staging", "prod"):
        call = fake_pulumi_cli.call(stack)
        assert call is not None and call["args"][:2] == ["refresh", "--preview-only"]


def test_command_exit_1_on_drift_and_0_when_clean(
    fake_pulumi_cli: FakePulumi,
    pulumi_fixtures: Path,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
) -> None:
    _play(fake_pulumi_cli, pulumi_fixtures)
    drifted = run_command(
        drift,
        [
            "--cwd",
            str(platform_project),
            "--stacks",
            "prod,staging",
            "--out-dir",
            str(tmp_path / "a"),
        ],
    )
    assert drifted.code == 1
    assert fake_pulumi_cli.call("dev") is None
    clean = run_command(
        drift,
        ["--cwd", str(platform_project), "--stacks", "staging", "--out-dir", str(tmp_path / "b")],
    )
    assert clean.code == 0
    assert (
        (tmp_path / "b" / "drift.md")
        .read_text()
        .startswith("# Infrastructure drift: no drift in 1 stack(s)")
    )


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ({"stdout": ""}, "empty input"),
        ({"stdout": '{\n    "steps": [\n        {"op": "refresh"'}, "invalid JSON at line 3"),
        ({"stdout": '{"sequence":0,"timestamp":0,"preludeEvent":{}}\n{"sequence":1}\n'}, "NDJSON"),
        ({"stdout": "{}", "exit": 255, "stderr": "panic: oh no\n"}, "exited 255 (internal error)"),
    ],
)
def test_unusable_output_is_a_failed_check(
    fake_pulumi_cli: FakePulumi,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
    behaviour: dict[str, Any],
    message: str,
) -> None:
    fake_pulumi_cli.behave("prod", **behaviour)
    run = run_command(
        drift, ["--cwd", str(platform_project), "--stacks", "prod", "--out-dir", str(tmp_path)]
    )
    assert run.code == 2
    data = json.loads((tmp_path / "drift.json").read_text())
    assert data["stacks"][0]["status"] == "failed"
    assert message in data["stacks"][0]["error"]
    assert "✅" not in (tmp_path / "drift.md").read_text()


def test_command_timeout_is_a_failed_check(
    fake_pulumi_cli: FakePulumi,
    pulumi_fixtures: Path,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
) -> None:
    _play(fake_pulumi_cli, pulumi_fixtures)
    fake_pulumi_cli.behave("staging", stdout='{"steps": [', sleep=30)
    run = run_command(
        drift,
        [
            "--cwd",
            str(platform_project),
            "--stacks",
            "staging,prod",
            "--timeout",
            "1",
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert run.code == 2
    data = json.loads((tmp_path / "drift.json").read_text())
    staging = next(s for s in data["stacks"] if s["stack"] == "staging")
    assert staging["status"] == "failed" and "timed out after 1s" in staging["error"]
    assert next(s for s in data["stacks"] if s["stack"] == "prod")["status"] == "drift"


def test_command_without_pulumi(
    platform_project: Path, tmp_path: Path, run_command: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    run = run_command(drift, ["--cwd", str(platform_project), "--out-dir", str(tmp_path / "out")])
    assert run.code == 2
    data = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert [s["stack"] for s in data["stacks"]] == ["dev", "prod", "staging"]
    assert all(
        s["status"] == "failed" and "not found on PATH" in s["error"] for s in data["stacks"]
    )


def test_bad_ignore_file_stops_before_running(
    fake_pulumi_cli: FakePulumi, platform_project: Path, tmp_path: Path, run_command: Invoke
) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("- type: aws:ecs/service:Service\n  property: desiredCount\n")
    run = run_command(
        drift, ["--cwd", str(platform_project), "--ignore", str(ignore), "--out-dir", str(tmp_path)]
    )
    assert run.code == 2
    assert run.stderr.strip() == f"infractl drift: {ignore}: entry 1: 'reason' is missing"
    assert fake_pulumi_cli.call("prod") is None
    assert not (tmp_path / "drift.md").exists()


def test_not_a_project(tmp_path: Path, run_command: Invoke) -> None:
    run = run_command(drift, ["--cwd", str(tmp_path)])
    assert run.code == 2 and "no Pulumi.yaml for project 'platform'" in run.stderr
