"""infractl parity, the command: on the real stack files and on deployed state.

Command tests run on a copy of the project's real stack files with one stack's config changed,
so what is checked is what the operator runs. Stack evaluation is memoized by stack-file content
(the program is deterministic), which keeps the module well under ten seconds.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.offline import StackRun
from infractl.cli import main
from infractl.parity import command as parity_command
from infractl.parity.difference import ABSENT_TEXT
from infractl.pulumi.wire import SECRET_TEXT
from tests.infractl.parity.parity_stacks import (
    EXPORTS,
    ROOT,
    SECRET_SIG,
    SIG,
    exports,
    failures,
    find,
    nested,
    parity,
    project,
    set_input,
    setting,
)

RDS = "aws:rds/instance:Instance::db-instance"

_RUNS: dict[tuple[str, str], StackRun] = {}


@pytest.fixture(autouse=True)
def memoized_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parity_command.run_stack

    def run(root: Path, stack: str, **kwargs: Any) -> StackRun:
        config = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())
        key = (stack, json.dumps(config, sort_keys=True))
        if key not in _RUNS:
            _RUNS[key] = real(root, stack, **kwargs)
        return _RUNS[key]

    monkeypatch.setattr(parity_command, "run_stack", run)


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
