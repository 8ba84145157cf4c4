"""`infractl report`: realistic previews of this project in, PR comment out."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infractl.pulumi.digest import PreviewDigest, load_digest, parse_digest
from infractl.report.command import report
from infractl.report.render import StackPreview, render_report

SECRET = "sk_live_TESTSECRET123"
Invoke = Callable[[Callable[..., Any], list[str]], Any]


def _previews(pulumi_fixtures: Path, *stacks: str) -> list[StackPreview]:
    return [
        StackPreview(stack, load_digest(pulumi_fixtures / "preview" / f"{stack}.json"))
        for stack in stacks
    ]


def _section(markdown: str, heading: str) -> str:
    """The text from `heading` to the next heading of the same or higher level."""
    level = heading.split(" ")[0]
    start = markdown.index(heading)
    rest = markdown[start + len(heading) :]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return heading + (rest[: end.start()] if end else rest)


def _row(markdown: str, name: str, resource_type: str) -> str:
    lines = [line for line in markdown.splitlines() if f"| `{name}` | `{resource_type}` |" in line]
    assert len(lines) == 1, lines
    return lines[0]


def test_summary_line_per_stack(pulumi_fixtures: Path) -> None:
    text = render_report(_previews(pulumi_fixtures, "prod", "dev")).markdown
    assert (
        "- **prod**: 1 to create, 5 to update, 3 to replace, 2 to delete, 41 unchanged — "
        "⚠️ **4 destructive changes** (0 errors, 1 warning in the preview)"
    ) in text
    assert (
        "- **dev**: 1 to create, 1 to update, 2 to replace, 9 unchanged — "
        "⚠️ **2 destructive changes**"
    ) in text


def test_destructive_changes_come_first_with_reasons(pulumi_fixtures: Path) -> None:
    result = render_report(_previews(pulumi_fixtures, "prod", "dev"))
    text = result.markdown
    destructive = _section(text, "### ⚠️ Destructive changes (6)")
    assert text.index("### ⚠️ Destructive changes") < text.index("### prod")
    rds = [line for line in destructive.splitlines() if "`aws:rds/instance:Instance`" in line]
    assert len(rds) == 1
    assert "**replace**" in rds[0] and "stateful type" in rds[0]
    assert "replaced because `dbSubnetGroupName`, `engineVersion` changed" in rds[0]
    role = next(line for line in destructive.splitlines() if "postgresql:index/role:Role" in line)
    assert "**delete**" in role
    cert = next(line for line in destructive.splitlines() if "acm/certificate" in line)
    assert "protected (`protect: true`)" in cert and "`subjectAlternativeNames`" in cert
    assert "docker:index/volume:Volume" in destructive
    assert "aws:cloudwatch/logGroup:LogGroup" in destructive
    # Replacing stateless things and updating stateful ones is not destructive.
    assert "aws:ecs/taskDefinition:TaskDefinition" not in destructive
    containers = [line for line in destructive.splitlines() if "docker:index/container" in line]
    assert len(containers) == 1 and "`postgres`" in containers[0]
    assert "part of a database" in containers[0]
    assert "aws:secretsmanager/secretVersion:SecretVersion" not in destructive
    assert {(c.stack, c.step.urn.name) for c in result.destructive} == {
        ("prod", "shop-db"),
        ("prod", "shop_readonly"),
        ("prod", "shop"),
        ("prod", "legacy-worker"),
        ("dev", "pgdata"),
        ("dev", "postgres"),
    }


def test_rows_show_changing_properties_and_short_values(pulumi_fixtures: Path) -> None:
    text = render_report(_previews(pulumi_fixtures, "prod", "dev")).markdown
    rds = _row(text, "shop-db", "aws:rds/instance:Instance")
    assert "~ `engineVersion` `15.8` → `16.4` **(forces replacement)**" in rds
    assert "`dbSubnetGroupName` `shop-db-5f1e2d3` → _(known after apply)_" in rds
    assert "~ `password` (secret)" in rds
    service = _row(text, "web", "aws:ecs/service:Service")
    assert service.startswith("| ~ update |")
    assert "~ `desiredCount` `2` → `3`" in service
    create = _row(text, "shop-db-private", "aws:rds/subnetGroup:SubnetGroup")
    assert create.startswith("| + create |")
    delete = _row(text, "shop_readonly", "postgresql:index/role:Role")
    assert delete.startswith("| ⚠️ **- delete** |")
    cert = _row(text, "shop", "aws:acm/certificate:Certificate")
    assert "+ `subjectAlternativeNames[1]` = `api.shop.example.com`" in cert
    # No detailedDiff: fall back to diffReasons, with replaceReasons marking the forcing ones.
    postgres = _row(text, "postgres", "docker:index/container:Container")
    assert "~ `image` `postgres:15.8` → `postgres:16.4` **(forces replacement)**" in postgres
    # A long value (a JSON document) is named, never printed.
    taskdef = _row(text, "web", "aws:ecs/taskDefinition:TaskDefinition")
    assert "ghcr.io" not in taskdef and "`containerDefinitions`" in taskdef


def test_changes_grouped_by_component_including_nested(pulumi_fixtures: Path) -> None:
    text = render_report(_previews(pulumi_fixtures, "prod")).markdown
    nested = _section(
        text, "**`platform:aws:Service` > `platform:aws:Alarms` `web-alarms`**"
    ).split("\n\n**")[0]
    assert "`web-5xx-rate`" in nested
    assert "`threshold` `5` → `2`" in nested
    database = text.split("**`platform:aws:Database` `shop`**")[1].split("\n\n**")[0]
    assert "`shop-db`" in database and "`shop_readonly`" in database
    assert "web-5xx-rate" not in database


def test_secrets_never_appear(pulumi_fixtures: Path) -> None:
    raw = (pulumi_fixtures / "preview" / "prod.json").read_text() + (
        pulumi_fixtures / "preview" / "dev.json"
    ).read_text()
    assert raw.count(SECRET) >= 4, "the fixtures must hold the fake secret where it could leak"
    text = render_report(_previews(pulumi_fixtures, "prod", "dev")).markdown
    assert SECRET not in text
    assert "`value` (secret)" in text and "`secretString` (secret)" in text
    assert "`envs` (secret)" in text


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"inputs": {"apiKey": "[secret]"}}, {"inputs": {"apiKey": SECRET}}),
        ({"outputs": {"note": "[secret]"}}, {"inputs": {"note": SECRET}}),
        (
            {
                "inputs": {
                    "note": {
                        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                        "ciphertext": "[secret]",
                    }
                }
            },
            {"inputs": {"note": SECRET}},
        ),
        ({"inputs": {"env": "[secret]"}}, {"inputs": {"env": {"note": SECRET}}}),
        (
            {"inputs": {"note": "a"}, "additionalSecretOutputs": ["note"]},
            {"inputs": {"note": SECRET}},
        ),
    ],
)
def test_secret_defences(old: dict[str, Any], new: dict[str, Any]) -> None:
    urn = "urn:pulumi:prod::platform::platform:aws:Service$aws:ssm/parameter:Parameter::p"
    path = "env.note" if "env" in new["inputs"] else next(iter(new["inputs"]))
    step = {
        "op": "update",
        "urn": urn,
        "oldState": {"urn": urn, "custom": True, "type": "aws:ssm/parameter:Parameter", **old},
        "newState": {
            "urn": urn,
            "custom": True,
            "type": "aws:ssm/parameter:Parameter",
            "outputs": {"note": SECRET},
            **new,
        },
        "detailedDiff": {path: {"kind": "update", "inputDiff": False}},
    }
    digest = parse_digest(json.dumps({"steps": [step]}), "x")
    text = render_report([StackPreview("prod", digest)]).markdown
    assert SECRET not in text
    assert f"`{path}` (secret)" in text


def test_replacement_steps_fold_into_one_row() -> None:
    urn = "urn:pulumi:prod::platform::platform:aws:Database$aws:rds/instance:Instance::shop-db"
    steps = [
        {"op": "create-replacement", "urn": urn, "detailedDiff": None},
        {
            "op": "replace",
            "urn": urn,
            "replaceReasons": ["engineVersion"],
            "detailedDiff": {"engineVersion": {"kind": "update-replace", "inputDiff": False}},
        },
        {"op": "delete-replaced", "urn": urn, "detailedDiff": None},
    ]
    digest = parse_digest(json.dumps({"steps": steps}), "x")
    result = render_report([StackPreview("prod", digest)])
    assert len(result.changes) == 1 and result.changes[0].step.op == "replace"
    assert result.markdown.count("| `shop-db` | `aws:rds/instance:Instance` |") == 1
    assert "1 to replace" in result.markdown
    assert "replaced because `engineVersion` changed" in result.markdown


def test_replacing_the_database_server_container_is_destructive() -> None:
    """A docker container is not a stateful type, but the one inside the database component is
    the server: replacing it restarts the database (seen on the real engine's preview)."""
    parent = "urn:pulumi:e2e::platform::platform:docker:Database"
    steps = [
        {
            "op": "replace",
            "urn": f"{parent}$docker:index/container:Container::db-server",
            "replaceReasons": ["command"],
            "detailedDiff": {"command": {"kind": "update-replace", "inputDiff": True}},
        },
        {
            "op": "replace",
            "urn": "urn:pulumi:e2e::platform::platform:docker:Service$"
            "docker:index/container:Container::web-1",
            "replaceReasons": ["envs"],
            "detailedDiff": {"envs": {"kind": "update-replace", "inputDiff": True}},
        },
    ]
    result = render_report([StackPreview("e2e", parse_digest(json.dumps({"steps": steps}), "x"))])
    assert [c.step.urn.name for c in result.destructive] == ["db-server"]
    assert "part of a database (`platform:docker:Database`)" in result.markdown


def test_real_fixture_report(real_pulumi_fixtures: Path) -> None:
    digest = load_digest(real_pulumi_fixtures / "stratify__sample-preview-update.json")
    result = render_report([StackPreview("dev", digest)])
    text = result.markdown
    assert "- **dev**: 1 to update, 15 unchanged" in text
    assert "Destructive" not in text
    assert "**`aws:s3/bucket:Bucket` > `aws:s3:BucketEventSubscription` `docsHandler`**" in text
    assert "| ~ update | `docsHandler` | `aws:lambda/function:Function` | ~ `code` |" in text
    assert len(result.changes) == 1


def test_no_changes() -> None:
    digest = parse_digest(
        json.dumps(
            {
                "steps": [
                    {
                        "op": "same",
                        "urn": "urn:pulumi:staging::platform::pulumi:pulumi:Stack::root",
                    }
                ],
                "changeSummary": {"same": 30},
            }
        ),
        "x",
    )
    text = render_report([StackPreview("staging", digest)]).markdown
    assert "- **staging**: 30 unchanged" in text
    assert "No resource changes." in text


def test_markdown_cannot_be_broken_by_names() -> None:
    urn = "urn:pulumi:prod::platform::aws:s3/bucket:Bucket::evil|na`me"
    digest = parse_digest(json.dumps({"steps": [{"op": "create", "urn": urn}]}), "x")
    text = render_report([StackPreview("prod", digest)]).markdown
    assert "`evil\\|na'me`" in text


def test_cut_to_max_chars_drops_least_important_first(pulumi_fixtures: Path) -> None:
    previews = _previews(pulumi_fixtures, "prod", "dev")
    full = render_report(previews).markdown
    limit = 3000
    assert len(full) > limit
    result = render_report(previews, max_chars=limit)
    text = result.markdown
    assert len(text) <= limit
    assert result.omitted > 0
    assert (
        f"**{result.omitted:,} of {len(result.changes):,} changed resources are not listed**"
        in text
    )
    for change in result.destructive:
        assert f"| {change.stack} | `{change.step.urn.name}`" in text
    # Updates are dropped first (all 6 of them), then creates, never destructive ones here.
    assert "~ update" not in text
    assert "6 update)" in text


def test_ten_thousand_steps_fit_the_comment_limit(big_preview: PreviewDigest) -> None:
    result = render_report([StackPreview("prod", big_preview)])
    text = result.markdown
    assert len(text) <= 65_000
    assert len(result.destructive) == 9
    assert text.count("| prod | `r") == 9  # every destructive row kept
    assert result.omitted > 0
    assert f"{result.omitted:,} of {len(result.changes):,} changed resources" in text
    assert SECRET not in text
    table_rows = text.count("\n| ") - text.count("\n| op |") - text.count("\n| stack |") - 9
    assert table_rows + result.omitted == len(result.changes)


def test_command_prints_comment_and_exits_zero(pulumi_fixtures: Path, run_command: Invoke) -> None:
    run = run_command(report, [str(pulumi_fixtures / "preview" / "prod.json")])
    assert run.code == 0
    assert run.stdout.startswith("## Pulumi preview\n")
    assert "- **prod**:" in run.stdout
    assert SECRET not in run.stdout + run.stderr


def test_fail_on_destructive(
    pulumi_fixtures: Path, real_pulumi_fixtures: Path, run_command: Invoke
) -> None:
    destructive = run_command(
        report, [str(pulumi_fixtures / "preview" / "dev.json"), "--fail-on-destructive"]
    )
    assert destructive.code == 1
    assert "2 destructive change(s) planned" in destructive.stderr
    calm = run_command(
        report,
        [
            str(real_pulumi_fixtures / "stratify__sample-preview-update.json"),
            "--fail-on-destructive",
        ],
    )
    assert calm.code == 0


def test_stack_names(pulumi_fixtures: Path, tmp_path: Path, run_command: Invoke) -> None:
    named = run_command(
        report, [str(pulumi_fixtures / "preview" / "dev.json"), "--stack", "dev-alice"]
    )
    assert "- **dev-alice**:" in named.stdout
    only_summary = tmp_path / "qa.json"
    only_summary.write_text('{"changeSummary": {"same": 2}}')
    by_file = run_command(
        report, [str(only_summary), str(pulumi_fixtures / "preview" / "prod.json")]
    )
    assert "- **qa**: 2 unchanged" in by_file.stdout and "- **prod**:" in by_file.stdout
    both = run_command(report, [str(only_summary), str(only_summary), "--stack", "qa"])
    assert both.code == 2 and "--stack names one stack" in both.stderr


def test_reads_stdin(
    pulumi_fixtures: Path, run_command: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (pulumi_fixtures / "preview" / "dev.json").read_bytes()
    monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=io.BytesIO(data)))
    run = run_command(report, ["-"])
    assert run.code == 0 and "- **dev**:" in run.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty input"),
        ('{"steps": [', "invalid JSON at line 1 column 12"),
        ('{"steps": [{"op": "update", "urn": 7}]}', "steps[0].urn: expected a string"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, run_command: Invoke, content: str, expected: str
) -> None:
    bad = tmp_path / "prod.json"
    bad.write_text(content)
    run = run_command(report, [str(bad)])
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.startswith(f"infractl report: {bad}: ")
    assert expected in run.stderr
    assert run.stderr.count("\n") == 1


def test_missing_file_and_bad_limit(tmp_path: Path, run_command: Invoke) -> None:
    missing = run_command(report, [str(tmp_path / "nope.json")])
    assert missing.code == 2 and "cannot read" in missing.stderr
    tiny = run_command(report, [str(tmp_path / "nope.json"), "--max-chars", "10"])
    assert tiny.code == 2 and "max-chars" in tiny.stderr.lower()
