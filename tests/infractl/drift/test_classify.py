"""Drift classification of realistic refresh previews: severities, pending changes, drift
without detail, failed stacks and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infractl.drift.classify import (
    DriftKind,
    DriftRun,
    DriftSeverity,
    StackDrift,
    StackStatus,
    classify_property,
    classify_stack,
    failed_stack,
)
from infractl.drift.ignore import IgnoreRule
from infractl.drift.render import render_markdown
from infractl.pulumi.digest import PreviewDigest, PropertyDiff, load_digest, parse_digest
from tests.infractl.drift.drift_inputs import NOW, SECRET


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
