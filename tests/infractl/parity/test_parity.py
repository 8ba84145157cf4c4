"""infractl parity: allowance matching, the logical shape, resource graphs and deployed state.

Command tests run on a copy of the project's real stack files with one stack's config changed,
so what is checked is what the operator runs. Stack evaluation is memoized by stack-file content
(the program is deterministic), which keeps the module well under ten seconds.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config.layering import resolve_stack_config
from infra.config.models import StackConfig
from infra.offline import StackRun
from infractl.cli import main
from infractl.parity import command as parity_cmd
from infractl.parity.check import (
    ABSENT,
    ABSENT_TEXT,
    Allowance,
    Difference,
    Level,
    StackState,
    check,
    compare_components,
    compare_config,
    compare_graphs,
    compare_logical,
    departs,
    pattern_covers,
    walk_differences,
)
from infractl.pulumi.export import ExportError, parse_export
from infractl.pulumi.resource import Resource
from infractl.pulumi.wire import SECRET_TEXT
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
EXPORTS = ROOT / "tests" / "fixtures" / "exports"
REAL_EXPORT = ROOT / "tests" / "fixtures" / "reference" / "stratify__sample-export.json"
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RDS = "aws:rds/instance:Instance::db-instance"

Edit = Callable[[dict[str, Any]], None]
_RUNS: dict[tuple[str, str], StackRun] = {}


@pytest.fixture(autouse=True)
def memoized_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parity_cmd.run_stack

    def run(root: Path, stack: str, **kwargs: Any) -> StackRun:
        config = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())
        key = (stack, json.dumps(config, sort_keys=True))
        if key not in _RUNS:
            _RUNS[key] = real(root, stack, **kwargs)
        return _RUNS[key]

    monkeypatch.setattr(parity_cmd, "run_stack", run)


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


# ---------------------------------------------------------------------------------------------
# Allowances and the config level


@pytest.mark.parametrize(
    ("pattern", "path", "covered"),
    [
        ("*", "services.web.replicas", True),
        ("*", "environment", True),
        ("services.*.replicas", "services.web.replicas", True),
        ("services.*.replicas", "services.web.cpu", False),
        ("services.*.autoscaling", "services.web.autoscaling.min_replicas", True),
        ("services.*", "services.web.env.FOO", True),
        ("services.*.replicas", "services.replicas", False),
        ("*.replicas", "services.web.replicas", False),
        ("database.multi_az", "database.multi_az", True),
        ("database.multi", "database.multi_az", False),
        ("aws", "aws.nat_gateways", True),
    ],
)
def test_a_pattern_covers_one_segment_per_star_and_everything_under_it(
    pattern: str, path: str, covered: bool
) -> None:
    assert pattern_covers(pattern, path) is covered


def test_a_subtree_against_null_is_one_difference_at_its_own_path() -> None:
    reference = {"web": {"autoscaling": {"min_replicas": 2, "max_replicas": 4}, "cpu": 256}}
    other = {"web": {"autoscaling": None, "cpu": 256}, "cron": {"cpu": 256}}
    assert list(walk_differences(reference, other)) == [
        ("web.autoscaling", {"min_replicas": 2, "max_replicas": 4}, None),
        ("cron", ABSENT, {"cpu": 256}),
    ]


# ---------------------------------------------------------------------------------------------
# The logical level


def test_dev_runs_the_engine_of_its_image_so_a_stale_image_is_a_logical_difference() -> None:
    prod = config_of("prod")
    dev = config_of("dev", docker__postgres_image="postgres:15.8-alpine")
    [difference] = [d for d in compare_logical(prod, dev) if d.path == "database.engine_version"]
    assert (difference.reference_value, difference.value, difference.allowed) == (16, 15, False)
    assert "wildcards never waive" in difference.reason


def test_only_a_literal_allowance_accepts_a_logical_difference() -> None:
    prod = config_of("prod")
    changed = {"services": {"worker": {"liveness": {"command": ["node", "alive.js"]}}}}
    waived = config_of(
        "dev",
        services__worker__liveness={"command": ["node", "alive.js"]},
        parity={"allow": ["*", "services.worker.liveness"]},
    )
    wildcard = config_of(
        "dev", services__worker__liveness=changed["services"]["worker"]["liveness"]
    )
    path = "services.worker.liveness.command"
    assert [(d.path, d.allowed) for d in compare_logical(prod, wildcard)] == [(path, False)]
    [accepted] = compare_logical(prod, waived)
    assert (accepted.path, accepted.allowed) == (path, True)
    assert "services.worker.liveness" in accepted.reason


# ---------------------------------------------------------------------------------------------
# Resource graphs (synthetic registrations)


def net(*names: str, kind: str = "aws:ec2/natGateway:NatGateway") -> list[Resource]:
    return [Resource("platform:aws:Network", "network", "(root)")] + [
        Resource(kind, name, "platform:aws:Network::network") for name in names
    ]


def config_diff(path: str, allowed: bool) -> Difference:
    return Difference("staging", Level.CONFIG, path, "per_az", "single", allowed, "why")


def test_per_az_nat_gateways_are_explained_by_an_allowed_nat_gateways_difference() -> None:
    prod = net("network-nat-eu-west-1a", "network-nat-eu-west-1b", "network-nat-eu-west-1c")
    staging = net("network-nat-eu-west-1a")
    allowed = compare_graphs(
        Level.RESOURCE, "staging", prod, staging, [config_diff("aws.nat_gateways", True)]
    )
    assert [(d.path, d.value, d.allowed) for d in allowed] == [
        ("aws:ec2/natGateway:NatGateway::network-nat-eu-west-1b", ABSENT, True),
        ("aws:ec2/natGateway:NatGateway::network-nat-eu-west-1c", ABSENT, True),
    ]
    assert "follows aws.nat_gateways" in allowed[0].reason
    refused = compare_graphs(
        Level.RESOURCE, "staging", prod, staging, [config_diff("aws.nat_gateways", False)]
    )
    assert [d.allowed for d in refused] == [False, False]
    unexplained = compare_graphs(Level.RESOURCE, "staging", prod, staging, [])
    assert [d.allowed for d in unexplained] == [False, False]
    assert "the same in both stacks" in unexplained[0].reason


def test_docker_replica_containers_follow_the_service_replicas() -> None:
    def containers(count: int) -> list[Resource]:
        return [Resource("platform:docker:Service", "web", "(root)")] + [
            Resource("docker:index/container:Container", f"web-{i}", "platform:docker:Service::web")
            for i in range(1, count + 1)
        ]

    replicas = Difference("qa", Level.CONFIG, "services.web.replicas", 3, 1, True, "ok")
    found = compare_graphs(Level.RESOURCE, "qa", containers(3), containers(1), [replicas])
    assert [(d.path, d.allowed) for d in found] == [
        ("docker:index/container:Container::web-2", True),
        ("docker:index/container:Container::web-3", True),
    ]
    assert all("follows services.web.replicas" in d.reason for d in found)


def test_a_moved_or_unexplained_resource_fails_and_children_follow_their_parent() -> None:
    alb = "platform:aws:LoadBalancer::web-lb"
    prod = [
        Resource("platform:aws:Service", "web", "(root)"),
        Resource("aws:iam/role:Role", "web-task", "platform:aws:Service::web"),
        Resource("platform:aws:LoadBalancer", "web-lb", "platform:aws:Service::web"),
        Resource("aws:lb/loadBalancer:LoadBalancer", "web-lb-alb", alb),
    ]
    staging = [
        Resource("platform:aws:Service", "web", "(root)"),
        Resource("aws:iam/role:Role", "web-task", "(root)"),
        Resource("aws:s3/bucket:Bucket", "uploads", "(root)"),
    ]
    public = Difference("staging", Level.CONFIG, "services.web.public", True, False, False, "no")
    found = {d.path: d for d in compare_graphs(Level.RESOURCE, "staging", prod, staging, [public])}
    assert found["aws:iam/role:Role::web-task"].reason.startswith("under another parent")
    assert "services.web.public is not in parity.allow" in found[alb].reason
    assert found["aws:lb/loadBalancer:LoadBalancer::web-lb-alb"].reason.startswith(
        f"comes with {alb}"
    )
    assert "no config path explains it" in found["aws:s3/bucket:Bucket::uploads"].reason
    assert not any(d.allowed for d in found.values())


def components(*pieces: tuple[str, str]) -> list[Resource]:
    return [Resource(kind, name, "(root)") for kind, name in pieces]


DOCKER = (
    ("platform:docker:Network", "network"),
    ("platform:docker:Database", "db"),
    ("platform:postgres:DatabaseAccess", "db-access"),
    ("platform:secrets:SecretValues", "secrets"),
    ("platform:docker:Service", "web"),
    ("platform:docker:Service", "worker"),
    ("platform:docker:Prometheus", "prometheus"),
)
AWS = (
    ("platform:aws:Network", "network"),
    ("platform:aws:Database", "db"),
    ("platform:postgres:DatabaseAccess", "db-access"),
    ("platform:secrets:SecretValues", "secrets"),
    ("platform:aws:SecretStore", "app-secrets"),
    ("platform:aws:Cluster", "cluster"),
    ("platform:aws:Service", "web"),
    ("platform:aws:LoadBalancer", "web-lb"),
    ("platform:aws:Service", "worker"),
    ("platform:aws:Alarms", "alarms"),
)


def test_across_targets_each_logical_piece_needs_its_component() -> None:
    dev = Allowance("dev", ("*",))
    assert compare_components(Level.RESOURCE, dev, components(*AWS), components(*DOCKER)) == []
    no_monitoring = components(*DOCKER[:-1])
    [missing] = compare_components(Level.RESOURCE, dev, components(*AWS), no_monitoring)
    assert (missing.path, missing.reference_value, missing.allowed) == (
        "components.monitoring",
        "platform:aws:Alarms::alarms",
        False,
    )
    renamed = components(*DOCKER[:4], ("platform:docker:Service", "api"), *DOCKER[5:])
    paths = {
        d.path: d.allowed
        for d in compare_components(Level.RESOURCE, dev, components(*AWS), renamed)
    }
    assert paths == {"components.service.web": False, "components.service.api": False}
    literal = Allowance("dev", ("*", "services.web", "services.api"))
    assert all(
        d.allowed for d in compare_components(Level.RESOURCE, literal, components(*AWS), renamed)
    )
    unmapped = components(*DOCKER, ("platform:docker:Mailpit", "mail"))
    [odd] = compare_components(Level.RESOURCE, dev, components(*AWS), unmapped)
    assert (odd.path, odd.allowed) == ("components.platform:docker:Mailpit", False)


# ---------------------------------------------------------------------------------------------
# Exports


def test_the_real_cli_export_format_parses_with_parents_and_without_default_providers() -> None:
    if not REAL_EXPORT.is_file():
        pytest.fail(f"shared reference fixture missing at {REAL_EXPORT}")
    export = parse_export(json.loads(REAL_EXPORT.read_text()), "sample.json")
    assert (export.stack, export.project) == ("dev", "sample")
    by_key = {r.key: r for r in export.resources}
    assert "pulumi:providers:aws::default_6_63_0" not in by_key
    assert by_key["aws:s3/bucket:Bucket::docs"].parent == "(root)"
    assert by_key["aws:iam/role:Role::docsHandler"].parent == (
        "aws:s3:BucketEventSubscription::docsHandler"
    )
    assert by_key["aws:s3/bucket:Bucket::docs"].inputs["acl"] == "private"


def test_secrets_are_masked_whether_encrypted_or_shown() -> None:
    document = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:pulumi:prod::platform::aws:rds/instance:Instance::db",
                    "type": "aws:rds/instance:Instance",
                    "custom": True,
                    "inputs": {
                        "password": {SIG: SECRET_SIG, "ciphertext": "v1:abc"},
                        "nested": [{"token": {SIG: SECRET_SIG, "plaintext": '"hunter2"'}}],
                    },
                }
            ]
        },
    }
    [resource] = parse_export(document, "prod.json").resources
    assert resource.inputs == {"password": SECRET_TEXT, "nested": [{"token": SECRET_TEXT}]}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "want a JSON object"),
        ({"version": 2, "deployment": {}}, "unsupported export version 2"),
        ({"version": 3}, "no `deployment` object"),
        ({"version": 3, "deployment": {"resources": {}}}, "is not a list"),
        ({"version": 3, "deployment": {"resources": [{"type": "x"}]}}, "lacks a string `urn`"),
        ({"version": 3, "deployment": {"resources": [{"urn": "arn:x", "type": "x"}]}}, "not a URN"),
    ],
)
def test_a_malformed_export_names_the_file_and_the_problem(document: Any, problem: str) -> None:
    with pytest.raises(ExportError, match=re.escape(problem)) as caught:
        parse_export(document, "exports/prod.json")
    assert str(caught.value).startswith("exports/prod.json")


def test_only_a_planned_literal_can_depart() -> None:
    kind = "aws:ecs/service:Service"
    planned = Resource(kind, "svc", "(root)", {"multiAz": True, "desiredCount": 2})
    deployed = Resource(kind, "svc", "(root)", {"multiAz": False, "desiredCount": 5, "x": 1})
    assert departs(deployed, planned, "multiAz")
    assert departs(deployed, planned, "x")  # set by hand, planned by nobody
    assert not departs(deployed, None, "multiAz")  # nothing planned to hold it to
    ignored = frozenset({"desiredCount"})
    scaled = Resource(kind, "svc", "(root)", {"desiredCount": 5}, ignored=ignored)
    assert not departs(scaled, planned, "desiredCount")  # the autoscaler owns it
    defaulted = Resource(kind, "svc", "(root)", {"x": 1}, defaults=frozenset({"x"}))
    assert not departs(defaulted, planned, "x")  # the provider filled it in
    hidden = Resource(kind, "svc", "(root)", {"multiAz": SECRET_TEXT})
    assert not departs(hidden, planned, "multiAz")  # a ciphertext proves nothing


# ---------------------------------------------------------------------------------------------
# The command, on the real stack files


def test_real_stacks_are_at_parity(capsys: pytest.CaptureFixture[str]) -> None:
    code, document, err = parity(capsys, "--cwd", ROOT)
    assert document is not None, err
    undeclared = [
        f"{d['stack']} {d['level']} {d['path']}: {d['reason']}" for d in failures(document)
    ]
    assert not undeclared, "undeclared differences:\n" + "\n".join(undeclared)
    assert code == 0
    assert {d["stack"] for d in document["differences"]} == {"dev", "staging"}


def test_an_undeclared_engine_version_in_staging_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, staging=setting("database.engine_version", "15"))
    code, document, _ = parity(capsys, "--cwd", root, "--stacks", "staging")
    assert code == 1 and document is not None
    config = find(document, "config", "database.engine_version")
    assert (config["reference_value"], config["value"], config["allowed"]) == ("16", "15", False)
    assert config["reason"] == "not in parity.allow of staging"
    assert find(document, "logical", "database.engine_version")["allowed"] is False


def test_an_env_var_only_staging_sets_is_not_allowed() -> None:
    staging = config_of("staging", services__web__env={"FEATURE_CHECKOUT_V2": "on"})
    found = [d for d in compare_config(config_of("prod"), staging) if not d.allowed]
    assert [(d.path, d.reference_value, d.value) for d in found] == [
        ("services.web.env.FEATURE_CHECKOUT_V2", ABSENT, "on")
    ]
    assert found[0].reason == "not in parity.allow of staging"


def test_a_declared_difference_in_staging_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, staging=setting("services.web.replicas", 4))
    code, document, _ = parity(capsys, "--cwd", root, "--stacks", "staging")
    assert document is not None and failures(document) == []
    assert code == 0
    replicas = find(document, "config", "services.web.replicas")
    assert (replicas["reference_value"], replicas["value"], replicas["allowed"]) == (3, 4, True)
    assert replicas["reason"] == "allowed by parity.allow of staging: services.*.replicas"


def test_host_names_differ_and_dns_left_to_its_owner_in_staging_only_is_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, staging=setting("aws.route53_zone_id", None))
    code, document, _ = parity(capsys, "--cwd", root, "--stacks", "staging")
    assert document is not None and failures(document) == []
    assert code == 0
    hostname = find(document, "config", "aws.public_hostnames.web")
    assert (hostname["reference_value"], hostname["value"]) == (
        "shop.acme.example",
        "staging.shop.acme.example",
    )
    record = find(document, "resource", "aws:route53/record:Record::web-lb-dns")
    assert (record["reference_value"], record["value"]) == (
        "platform:aws:LoadBalancer::web-lb",
        ABSENT_TEXT,
    )
    assert record["reason"].startswith("follows aws.route53_zone_id, allowed by parity.allow")


def test_dev_is_held_to_the_logical_shape_despite_its_wildcard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def rename_app_role(config: dict[str, Any]) -> None:
        nested(config, "database.roles.app", "shop_writer")
        nested(config, "services.worker.liveness", {"command": ["true"]})

    root = project(tmp_path, dev=rename_app_role)
    code, document, _ = parity(capsys, "--cwd", root, "--stacks", "dev")
    assert code == 1 and document is not None
    assert {(d["level"], d["path"]) for d in failures(document)} == {
        ("logical", "database.roles.app"),
        ("logical", "services.worker.liveness.command"),
    }
    assert find(document, "config", "database.roles.app")["reason"] == (
        "allowed by parity.allow of dev: *"
    )


def test_the_table_says_why_each_difference_is_or_is_not_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, staging=setting("database.engine_version", "15"))
    code = main(["parity", "--cwd", str(root), "--stacks", "staging"])
    out = capsys.readouterr().out
    assert code == 1
    row = next(line for line in out.splitlines() if "database.engine_version" in line)
    assert "NO" in row and "not in parity.allow of staging" in row
    assert "allowed by parity.allow of staging: services.*.cpu" in out
    assert out.rstrip().splitlines()[-1].startswith("parity FAILED: ")


# ---------------------------------------------------------------------------------------------
# The command, on deployed state


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


def test_deployed_stacks_matching_their_config_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = parity(capsys, "--cwd", project(tmp_path), "--live", EXPORTS)
    assert document is not None, err
    assert (code, failures(document)) == (0, [])
    assert {d["level"] for d in document["differences"]} == {"config", "live"}
    multi_az = find(document, "live", f"{RDS}.multiAz")
    assert (multi_az["reference_value"], multi_az["value"], multi_az["allowed"]) == (
        True,
        False,
        True,
    )


def test_a_hand_made_change_in_prod_fails_even_where_staging_looks_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = exports(tmp_path, prod=set_input("db-instance", "multiAz", False))
    root = project(tmp_path)
    code, document, _ = parity(capsys, "--cwd", root, "--live", live, "--stacks", "staging")
    assert code == 1 and document is not None
    [departed] = failures(document)
    assert (departed["stack"], departed["level"], departed["path"]) == (
        "prod",
        "live",
        f"{RDS}.multiAz",
    )
    assert (departed["reference_value"], departed["value"]) == (True, False)
    assert "departs from what prod's config plans (database.multi_az)" in departed["reason"]


@pytest.mark.parametrize("reference", ["dev", "prod"])
def test_a_hand_made_role_change_in_dev_fails_whatever_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: str
) -> None:
    """dev (docker) is compared with prod (aws) by component only, and a stack that is its own
    reference has no other to compare with: its own departures are checked all the same (the
    real engine's export of an edited dev stack once passed as "0 differences")."""
    live = exports(tmp_path, dev=set_input("db-access-app", "createDatabase", True))
    code, document, _ = parity(
        capsys,
        "--cwd",
        project(tmp_path),
        "--live",
        live,
        "--stacks",
        "dev",
        "--reference",
        reference,
    )
    assert code == 1 and document is not None
    [departed] = failures(document)
    assert (departed["stack"], departed["level"]) == ("dev", "live")
    assert departed["path"].endswith("db-access-app.createDatabase")
    assert "departs from what dev's config plans" in departed["reason"]


def test_privileges_stored_in_another_order_are_not_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real state: the postgresql plugin stores privileges sorted; the program plans them in
    its own order. A set is a set."""

    def reorder(resources: list[dict[str, Any]]) -> None:
        for resource in resources:
            if resource["type"].startswith("postgresql:") and "privileges" in resource["inputs"]:
                resource["inputs"]["privileges"] = sorted(resource["inputs"]["privileges"])

    live = exports(tmp_path, dev=reorder)
    code, document, err = parity(
        capsys, "--cwd", project(tmp_path), "--live", live, "--stacks", "dev", "--reference", "dev"
    )
    assert document is not None, err
    assert (code, failures(document)) == (0, [])


def test_a_hand_edited_security_group_rule_in_staging_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = set_input("network-database-from-services", "cidrIpv4", "0.0.0.0/0")
    live = exports(tmp_path, staging=opened)
    code, document, _ = parity(
        capsys, "--cwd", project(tmp_path), "--live", live, "--stacks", "staging"
    )
    assert code == 1 and document is not None
    [rule] = failures(document)
    rule_path = (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::"
        "network-database-from-services.cidrIpv4"
    )
    assert (rule["stack"], rule["path"], rule["value"]) == ("staging", rule_path, "0.0.0.0/0")


def test_a_resource_created_by_hand_in_one_stack_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def add_rule(resources: list[dict[str, Any]]) -> None:
        [rule] = [r for r in resources if r["urn"].endswith("::network-lb-443-in")]
        extra = copy.deepcopy(rule)
        extra["urn"] = rule["urn"].replace("network-lb-443-in", "network-lb-22-in")
        extra["inputs"].update(fromPort=22, toPort=22)
        resources.append(extra)

    live = exports(tmp_path, staging=add_rule)
    code, document, _ = parity(
        capsys, "--cwd", project(tmp_path), "--live", live, "--stacks", "staging"
    )
    assert code == 1 and document is not None
    [extra] = failures(document)
    assert extra["path"] == (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::network-lb-22-in"
    )
    assert (extra["reference_value"], extra["value"]) == (
        ABSENT_TEXT,
        "platform:aws:Network::network",
    )


def test_a_secret_in_a_compared_input_is_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = {SIG: SECRET_SIG, "plaintext": '"db.r6g.hunter2"'}
    live = exports(tmp_path, staging=set_input("db-instance", "instanceClass", shown))
    root = project(tmp_path)
    for output in ("--json", None):
        args = ["parity", "--cwd", str(root), "--live", str(live), "--stacks", "staging"]
        main(args + ([output] if output else []))
        out, err = capsys.readouterr()
        assert "hunter2" not in out + err
        assert SECRET_TEXT in out


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"version": 3, "deployment": {"resources": [', "not JSON"),
        ('{"version": 1, "deployment": {}}', "unsupported export version 1"),
        (None, "no such export"),
    ],
)
def test_a_missing_or_malformed_export_stops_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    live = exports(tmp_path)
    if content is None:
        (live / "prod.json").unlink()
    else:
        (live / "prod.json").write_text(content)
    code, document, err = parity(capsys, "--cwd", project(tmp_path), "--live", live)
    assert (code, document) == (2, None)
    [line] = err.strip().splitlines()
    assert line.startswith(f"infractl parity: {live / 'prod.json'}: ") and problem in line


def test_an_export_of_another_stack_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = exports(tmp_path)
    shutil.copy(live / "staging.json", live / "prod.json")
    code, _, err = parity(capsys, "--cwd", project(tmp_path), "--live", live)
    assert code == 2 and "an export of stack 'staging', not 'prod'" in err


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--stacks", "dev,qa"], "stacks here: dev, prod, staging"),
        (["--reference", "qa"], "unknown stack 'qa'"),
        (["--stacks", ","], "names no stack"),
        (["--live", "nowhere"], "not a directory"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    code, document, err = parity(capsys, "--cwd", project(tmp_path), *args)
    assert (code, document) == (2, None)
    [line] = err.strip().splitlines()
    assert problem in line


def test_an_invalid_stack_config_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, staging=setting("database.multi_azz", True))
    code, document, err = parity(capsys, "--cwd", root, "--stacks", "staging")
    assert (code, document) == (2, None)
    assert "platform:database.multi_azz: unknown key" in err


def test_the_report_sees_every_stack_against_one_reference() -> None:
    prod, dev = config_of("prod"), config_of("dev")
    report = check(StackState(prod, []), [StackState(dev, []), StackState(prod, [])])
    assert report.reference == "prod" and report.ok
    assert {d.stack for d in report.differences} == {"dev"}
