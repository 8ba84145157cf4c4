"""Drift classification: refresh-preview digests -> findings per resource, with a severity.

Pure (no subprocess, no Pulumi runtime): the command feeds it parsed digests or failures, and
`infractl/drift/render.py` turns the result into drift.md and drift.json.

How drift is told apart from pending changes. The input is `pulumi refresh --preview-only
--run-program --json`, which compares the state with the cloud; the program runs only so that
providers get current credentials (`infractl.pulumi.runner.refresh_preview_args`). In that digest
(reference §2.1) an undrifted resource stays `op: "refresh"`, a resource changed outside Pulumi
becomes `op: "update"` with `detailedDiff`, and one gone from the cloud becomes `op: "delete"`:
those two are drift. Ops only a program run produces (`create`, the replace family, `import`,
unknown ops) are listed as pending changes, never counted as drift. A drifted resource whose
provider gave no detailed diff stays `refresh` in the digest but is counted in `changeSummary`; the
difference is reported as drift without detail rather than hidden. Values are never rendered: only
property names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cache

from infractl.drift.ignore import IgnoreRule
from infractl.pulumi.digest import PreviewDigest, PropertyDiff, Step
from infractl.pulumi.ops import ChangeKind
from infractl.pulumi.properties import split_property_path
from infractl.stateful import is_stateful

SECURITY_TYPES: tuple[str, ...] = (
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/networkAcl*",
    "aws:iam/*",
    "aws:kms/*",
    "aws:secretsmanager/*",
    "aws:s3/bucketPolicy:*",
    "aws:s3/bucketPublicAccessBlock:*",
    "aws:s3/bucketAcl*",
    "aws:s3/bucketServerSideEncryptionConfiguration*",
    "aws:wafv2/*",
    "postgresql:index/role:Role",
    "postgresql:index/grant:Grant",
    "postgresql:index/grantRole:GrantRole",
    "postgresql:index/defaultPrivileges:DefaultPrivileges",
)
# On a security type these top-level properties carry no access decision.
COSMETIC_PROPERTIES = frozenset({"tags", "tagsall", "description"})
# Any path segment with one of these names is security-relevant, whatever the type.
SECURITY_PROPERTIES = frozenset(
    name.lower()
    for name in (
        "ingress",
        "egress",
        "cidrBlocks",
        "ipv6CidrBlocks",
        "securityGroups",
        "securityGroupIds",
        "vpcSecurityGroupIds",
        "policy",
        "policyDocument",
        "assumeRolePolicy",
        "inlinePolicies",
        "inlinePolicy",
        "managedPolicyArns",
        "permissionsBoundary",
        "executionRoleArn",
        "taskRoleArn",
        "iamDatabaseAuthenticationEnabled",
        "publiclyAccessible",
        "associatePublicIpAddress",
        "assignPublicIp",
        "mapPublicIpOnLaunch",
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
        "acl",
        "grants",
        "storageEncrypted",
        "encrypted",
        "encryption",
        "encryptionConfiguration",
        "serverSideEncryptionConfiguration",
        "kmsKeyId",
        "kmsKeyArn",
        "kmsMasterKeyId",
        "deletionProtection",
        "sslPolicy",
        "certificateArn",
        "caCertIdentifier",
        "privileged",
        "capabilities",
        "password",
        "superuser",
        "privileges",
    )
)
TAG_PROPERTIES = frozenset({"tags", "tagsall"})


class DriftSeverity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    IGNORED = "ignored"


SEVERITY_RANK = {DriftSeverity.CRITICAL: 0, DriftSeverity.WARNING: 1, DriftSeverity.IGNORED: 2}


class DriftKind(StrEnum):
    CHANGED = "changed"
    DELETED = "deleted"


class StackStatus(StrEnum):
    CLEAN = "clean"
    DRIFT = "drift"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PropertyDrift:
    path: str
    kind: str
    input_diff: bool
    severity: DriftSeverity
    reason: str


@dataclass(frozen=True, slots=True)
class ResourceDrift:
    urn: str
    type: str
    name: str
    component: tuple[str, ...]
    drift: DriftKind
    severity: DriftSeverity
    reason: str
    properties: tuple[PropertyDrift, ...]

    def properties_with(self, severities: Iterable[DriftSeverity]) -> list[PropertyDrift]:
        wanted = set(severities)
        return [p for p in self.properties if p.severity in wanted]


@dataclass(frozen=True, slots=True)
class PendingChange:
    urn: str
    type: str
    name: str
    op: str


@dataclass(frozen=True, slots=True)
class StackDrift:
    stack: str
    resources: tuple[ResourceDrift, ...] = ()
    pending: tuple[PendingChange, ...] = ()
    undetailed: int = 0
    error: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return self.undetailed > 0 or any(
            r.severity is not DriftSeverity.IGNORED for r in self.resources
        )

    @property
    def status(self) -> StackStatus:
        if self.error is not None:
            return StackStatus.FAILED
        return StackStatus.DRIFT if self.drifted else StackStatus.CLEAN

    def count(self, severity: DriftSeverity) -> int:
        """Resources whose worst drift has this severity (ignored: resources with any ignored
        property)."""
        if severity is DriftSeverity.IGNORED:
            return sum(1 for r in self.resources if r.properties_with([DriftSeverity.IGNORED]))
        return sum(1 for r in self.resources if r.severity is severity)


@dataclass(frozen=True, slots=True)
class DriftRun:
    project: str
    generated_at: datetime
    stacks: tuple[StackDrift, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        """2 when any stack could not be checked (even if another drifted), 1 on drift, else 0."""
        if any(s.status is StackStatus.FAILED for s in self.stacks):
            return 2
        if any(s.status is StackStatus.DRIFT for s in self.stacks):
            return 1
        return 0

    @property
    def status(self) -> StackStatus:
        return {2: StackStatus.FAILED, 1: StackStatus.DRIFT}.get(self.exit_code, StackStatus.CLEAN)


@cache
def _is_security_type(resource_type: str) -> bool:
    return any(fnmatchcase(resource_type, pattern) for pattern in SECURITY_TYPES)


def classify_property(
    resource_type: str, diff: PropertyDiff, rules: Sequence[IgnoreRule]
) -> PropertyDrift:
    """Ignore-file entries win (they are explicit and carry a reason), then security relevance."""
    for rule in rules:
        if rule.matches(resource_type, diff.path):
            return PropertyDrift(
                diff.path, diff.kind, diff.input_diff, DriftSeverity.IGNORED, rule.reason
            )
    segments = [s for s in split_property_path(diff.path) if isinstance(s, str)]
    top = (segments[0] if segments else diff.path).lower()
    severity, reason = DriftSeverity.WARNING, "changed outside Pulumi"
    if top not in TAG_PROPERTIES:
        named = next((s for s in segments if s.lower() in SECURITY_PROPERTIES), None)
        if named is not None:
            severity, reason = DriftSeverity.CRITICAL, f"security-relevant property '{named}'"
        elif _is_security_type(resource_type) and top not in COSMETIC_PROPERTIES:
            severity, reason = (
                DriftSeverity.CRITICAL,
                "property of a security-relevant resource type",
            )
    return PropertyDrift(diff.path, diff.kind, diff.input_diff, severity, reason)


def _resource(step: Step, drift: DriftKind, rules: Sequence[IgnoreRule]) -> ResourceDrift:
    properties: tuple[PropertyDrift, ...] = ()
    if drift is DriftKind.DELETED:
        marks = [
            label
            for label, hit in (
                ("security-relevant type", _is_security_type(step.type)),
                ("stateful type", is_stateful(step.type)),
                ("protected", step.protected),
            )
            if hit
        ]
        severity = DriftSeverity.CRITICAL if marks else DriftSeverity.WARNING
        reason = "gone from the cloud" + (f" ({', '.join(marks)})" if marks else "")
    else:
        props = step.changed_properties() or (PropertyDiff("(unspecified)", "update", False),)
        properties = tuple(classify_property(step.type, p, rules) for p in props)
        severity = min((p.severity for p in properties), key=SEVERITY_RANK.__getitem__)
        reason = next(p.reason for p in properties if p.severity is severity)
    return ResourceDrift(
        urn=str(step.urn),
        type=step.type,
        name=step.urn.name,
        component=step.urn.parent_types,
        drift=drift,
        severity=severity,
        reason=reason,
        properties=properties,
    )


def classify_stack(stack: str, digest: PreviewDigest, rules: Sequence[IgnoreRule]) -> StackDrift:
    resources: list[ResourceDrift] = []
    pending: list[PendingChange] = []
    for step in digest.steps:
        kind = step.kind
        if kind is ChangeKind.NONE:
            continue
        if kind is ChangeKind.UPDATE:
            resources.append(_resource(step, DriftKind.CHANGED, rules))
        elif kind is ChangeKind.DELETE:
            resources.append(_resource(step, DriftKind.DELETED, rules))
        else:
            pending.append(PendingChange(str(step.urn), step.type, step.urn.name, step.op))
    undetailed = 0
    if digest.change_summary is not None:
        counted = digest.change_summary.get("update", 0) + digest.change_summary.get("delete", 0)
        undetailed = max(0, counted - len(resources))
    error = None
    errors = [d for d in digest.diagnostics if d.severity == "error"]
    if errors:
        where = sorted({d.urn for d in errors if d.urn})
        error = f"the CLI reported {len(errors)} error(s)" + (
            f" for {', '.join(where)}" if where else ""
        )
    notes = (
        ("the CLI flagged the state as possibly corrupt (maybeCorrupt)",)
        if digest.maybe_corrupt
        else ()
    )
    return StackDrift(
        stack=stack,
        resources=tuple(resources),
        pending=tuple(pending),
        undetailed=undetailed,
        error=error,
        notes=notes,
    )


def failed_stack(stack: str, error: str) -> StackDrift:
    return StackDrift(stack=stack, error=error)
