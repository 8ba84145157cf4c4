"""Drift: refresh-preview digests -> classified findings -> drift.md and drift.json.

Pure (no subprocess, no Pulumi runtime): the command feeds it parsed digests or failures.

How drift is told apart from pending changes. The input is `pulumi refresh --preview-only
--run-program --json`, which compares the state with the cloud; the program runs only so that
providers get current credentials (`pulumi_cli.refresh_preview_args`). In that digest (reference
§2.1) an undrifted resource stays `op: "refresh"`, a resource changed outside Pulumi becomes
`op: "update"` with `detailedDiff`, and one gone from the cloud becomes `op: "delete"`: those two
are drift. Ops only a program run produces (`create`, the replace family, `import`, unknown ops)
are listed as pending changes, never counted as drift. A drifted resource whose provider gave no
detailed diff stays `refresh` in the digest but is counted in `changeSummary`; the difference is
reported as drift without detail rather than hidden. Values are never rendered: only property
names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

import yaml

from infractl.pulumi.digest import ChangeKind, PreviewDigest, PropertyDiff, Step
from infractl.pulumi.properties import split_property_path
from infractl.stateful import is_stateful

JSON_SCHEMA = "infractl.drift/v1"
MAX_ROWS_PER_SECTION = 200

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


class IgnoreFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """Known noise: drift of `property` (or below it) on resources of `type` is ignored."""

    type: str
    property: str
    reason: str

    def matches(self, resource_type: str, path: str) -> bool:
        if not fnmatchcase(resource_type, self.type):
            return False
        pattern = _property_glob(self.property)
        return any(pattern.fullmatch(prefix) for prefix in property_prefixes(path))


@cache
def _property_glob(pattern: str) -> re.Pattern[str]:
    """`*` and `?` are wildcards; everything else, brackets included, is literal, because
    property paths use `[0]` and fnmatch would read it as a character class."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


def property_prefixes(path: str) -> list[str]:
    """`a.b[0]` -> ["a", "a.b", "a.b[0]"]: a rule for `a.b` also covers everything below it."""
    prefixes = []
    quoted = False
    for i, ch in enumerate(path):
        if ch == '"' and (i == 0 or path[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in ".[" and i > 0:
            prefixes.append(path[:i])
    prefixes.append(path)
    return prefixes


_RULE_KEYS = frozenset({"type", "property", "reason"})


def parse_ignore_rules(text: str, source: str) -> tuple[IgnoreRule, ...]:
    """A YAML list of {type, property, reason}; every entry must say why it is noise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise IgnoreFileError(f"{source}: invalid YAML{where}") from None
    if data is None:
        return ()
    if not isinstance(data, list):
        raise IgnoreFileError(
            f"{source}: expected a list of {{type, property, reason}} entries, "
            f"got {type(data).__name__}"
        )
    rules = []
    for i, entry in enumerate(data):
        where = f"{source}: entry {i + 1}"
        if not isinstance(entry, dict):
            raise IgnoreFileError(f"{where}: expected a mapping with type, property and reason")
        unknown = sorted(str(k) for k in entry if k not in _RULE_KEYS)
        if unknown:
            raise IgnoreFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
        values = {}
        for key in ("type", "property", "reason"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                problem = "missing" if value is None else "empty or not text"
                raise IgnoreFileError(f"{where}: '{key}' is {problem}")
            values[key] = value.strip()
        rules.append(IgnoreRule(**values))
    return tuple(rules)


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


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    clean = _cell(text).replace("`", "'")
    return f"`{clean}`"


KIND_WORD = {"add": "added", "delete": "removed", "update": "changed"}
STATUS_CELL = {
    StackStatus.FAILED: "❌ **check failed**",
    StackStatus.DRIFT: "⚠️ drift",
    StackStatus.CLEAN: "✅ no drift",
}


def _property_cell(props: Sequence[PropertyDrift]) -> str:
    parts = []
    for p in props:
        word = KIND_WORD.get(p.kind.removesuffix("-replace"), p.kind)
        text = f"{_code(p.path)} {word}"
        parts.append(f"**{text}**" if p.severity is DriftSeverity.CRITICAL else text)
    return "<br>".join(parts) or "—"


def _component_cell(component: Sequence[str]) -> str:
    return " > ".join(_code(t) for t in component) or "—"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _capped(rows: list[str], noun: str) -> list[str]:
    if len(rows) <= MAX_ROWS_PER_SECTION:
        return rows
    hidden = len(rows) - MAX_ROWS_PER_SECTION
    return [*rows[:MAX_ROWS_PER_SECTION], "", f"… and {hidden:,} more {noun} (see drift.json)."]


def _stack_section(stack: StackDrift) -> list[str]:
    status = stack.status
    title = {
        StackStatus.FAILED: f"## ❌ {stack.stack}: check failed",
        StackStatus.DRIFT: f"## ⚠️ {stack.stack}: drift",
        StackStatus.CLEAN: f"## ✅ {stack.stack}: no drift",
    }[status]
    lines = ["", title]
    if stack.error is not None:
        lines += [
            "",
            f"This stack was **not fully checked**; its drift is unknown. {stack.error}",
        ]
    for note in stack.notes:
        lines += ["", f"Note: {note}."]
    for severity, heading in (
        (DriftSeverity.CRITICAL, "🔴 Critical (security-relevant)"),
        (DriftSeverity.WARNING, "🟡 Warning"),
    ):
        chosen = sorted(
            (r for r in stack.resources if r.severity is severity), key=lambda r: (r.type, r.name)
        )
        if not chosen:
            continue
        rows = [
            "| "
            + " | ".join(
                (
                    _code(r.name),
                    _code(r.type),
                    _component_cell(r.component),
                    r.reason if r.drift is DriftKind.DELETED else "changed outside Pulumi",
                    _property_cell(
                        r.properties_with([DriftSeverity.CRITICAL, DriftSeverity.WARNING])
                    ),
                )
            )
            + " |"
            for r in chosen
        ]
        lines += [
            "",
            f"### {heading}: {len(chosen):,}",
            "",
            "| resource | type | component | drift | properties |",
            "|---|---|---|---|---|",
            *_capped(rows, "resources"),
        ]
    if stack.undetailed:
        lines += [
            "",
            f"### 🟡 Drift without detail: {stack.undetailed:,}",
            "",
            f"`changeSummary` counts {stack.undetailed:,} more drifted resource(s) than the "
            "steps show: their provider gave no property diff. Run "
            f"`pulumi refresh --preview-only --stack {stack.stack}` to see which.",
        ]
    ignored = [
        (r, p)
        for r in sorted(stack.resources, key=lambda r: (r.type, r.name))
        for p in r.properties_with([DriftSeverity.IGNORED])
    ]
    if ignored:
        rows = [
            f"| {_code(r.name)} | {_code(r.type)} | {_code(p.path)} | {_cell(p.reason)} |"
            for r, p in ignored
        ]
        lines += [
            "",
            f"### Ignored (known noise): {_count(len(ignored), 'property', 'properties')}",
            "",
            "| resource | type | property | reason |",
            "|---|---|---|---|",
            *_capped(rows, "ignored properties"),
        ]
    if stack.pending:
        rows = [
            f"| {_code(p.op)} | {_code(p.name)} | {_code(p.type)} |"
            for p in sorted(stack.pending, key=lambda p: (p.type, p.name))
        ]
        lines += [
            "",
            f"### Pending changes (not drift): {len(stack.pending):,}",
            "",
            "Steps only a program run produces; they are code not yet deployed, not changes in "
            "the cloud.",
            "",
            "| op | resource | type |",
            "|---|---|---|",
            *_capped(rows, "pending changes"),
        ]
    return lines


def render_markdown(run: DriftRun) -> str:
    failed = [s for s in run.stacks if s.status is StackStatus.FAILED]
    drifted = [s for s in run.stacks if s.status is StackStatus.DRIFT]
    parts = []
    if failed:
        parts.append(f"{len(failed)} of {len(run.stacks)} stack check(s) failed")
    if drifted:
        parts.append(f"drift in {', '.join(s.stack for s in drifted)}")
    headline = "; ".join(parts) if parts else f"no drift in {len(run.stacks)} stack(s)"
    when = run.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    lines = [
        f"# Infrastructure drift: {headline}",
        "",
        f"Project `{run.project}`, checked {when} with `pulumi refresh --preview-only`.",
        "",
        "| stack | result | critical | warning | ignored | pending changes |",
        "|---|---|---|---|---|---|",
    ]
    for s in run.stacks:
        if s.status is StackStatus.FAILED and not s.resources:
            counts = "? | ? | ? | ?"
        else:
            warning = str(s.count(DriftSeverity.WARNING))
            if s.undetailed:
                warning += f" (+{s.undetailed} without detail)"
            counts = (
                f"{s.count(DriftSeverity.CRITICAL)} | {warning} | {s.count(DriftSeverity.IGNORED)} "
                f"| {len(s.pending)}"
            )
        lines.append(f"| {s.stack} | {STATUS_CELL[s.status]} | {counts} |")
    order = {StackStatus.FAILED: 0, StackStatus.DRIFT: 1, StackStatus.CLEAN: 2}
    for s in sorted(run.stacks, key=lambda s: order[s.status]):
        lines += _stack_section(s)
    advice = []
    if failed:
        advice.append(
            "- A failed check: fix the cause above and re-run `infractl drift`; until then that "
            "stack's drift is unknown."
        )
    if drifted:
        advice += [
            "- Drift you want to keep: change the code to match, then `pulumi refresh --stack "
            "<stack>` to record it.",
            "- Drift you do not want: `pulumi up --stack <stack>` puts the code's values back.",
            "- Known noise: add `{type, property, reason}` to the ignore file.",
        ]
    if advice:
        lines += ["", "## What to do", "", *advice]
    return "\n".join(lines) + "\n"


def _property_json(p: PropertyDrift) -> dict[str, Any]:
    return {
        "path": p.path,
        "kind": p.kind,
        "input_diff": p.input_diff,
        "severity": p.severity.value,
        "reason": p.reason,
    }


def _stack_json(s: StackDrift) -> dict[str, Any]:
    return {
        "stack": s.stack,
        "status": s.status.value,
        "error": s.error,
        "notes": list(s.notes),
        "counts": {
            "critical": s.count(DriftSeverity.CRITICAL),
            "warning": s.count(DriftSeverity.WARNING),
            "ignored": s.count(DriftSeverity.IGNORED),
            "undetailed": s.undetailed,
            "pending": len(s.pending),
        },
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "component": list(r.component),
                "drift": r.drift.value,
                "severity": r.severity.value,
                "reason": r.reason,
                "properties": [_property_json(p) for p in r.properties],
            }
            for r in s.resources
        ],
        "pending": [{"urn": p.urn, "type": p.type, "name": p.name, "op": p.op} for p in s.pending],
    }


def to_json_data(run: DriftRun) -> Mapping[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "project": run.project,
        "generated_at": run.generated_at.isoformat(),
        "status": run.status.value,
        "exit_code": run.exit_code,
        "stacks": [_stack_json(s) for s in run.stacks],
    }


def render_json(run: DriftRun) -> str:
    return json.dumps(to_json_data(run), indent=2, ensure_ascii=False) + "\n"
