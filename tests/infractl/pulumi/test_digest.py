"""The PreviewDigest parser: real and project fixtures in, typed steps out; malformed input
rejected with a message that says where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infractl.pulumi.digest import (
    PreviewDigest,
    ResourceState,
    load_digest,
    parse_digest,
    path_is_secret,
)
from infractl.pulumi.digest_text import PreviewFormatError
from infractl.pulumi.ops import ChangeKind, Op, change_kind
from infractl.pulumi.properties import MISSING, lookup, safe_scalar, split_property_path
from infractl.pulumi.urn import Urn

SECRET_SIG = {
    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    "ciphertext": "[secret]",
}


def test_real_preview_with_sames_parses(real_pulumi_fixtures: Path) -> None:
    digest = load_digest(real_pulumi_fixtures / "stratify__sample-preview-update.json")
    assert len(digest.steps) == 16
    assert digest.change_summary == {"same": 15, "update": 1}
    assert digest.duration_ns == 10131445493
    assert digest.stack == "dev"
    (update,) = [s for s in digest.steps if s.op == Op.UPDATE]
    assert update.urn.name == "docsHandler"
    assert update.type == "aws:lambda/function:Function"
    assert update.urn.parent_types == ("aws:s3/bucket:Bucket", "aws:s3:BucketEventSubscription")
    assert update.diff_reasons == ("code",)
    assert [(p.path, p.kind, p.input_diff) for p in update.detailed_diff or ()] == [
        ("code", "update", False)
    ]
    assert all(s.detailed_diff is None for s in digest.steps if s.op == Op.SAME)


def test_project_preview_fixture_parses_every_field(pulumi_fixtures: Path) -> None:
    digest = load_digest(pulumi_fixtures / "preview" / "prod.json")
    by_name = {(s.urn.name, s.type): s for s in digest.steps}
    rds = by_name[("shop-db", "aws:rds/instance:Instance")]
    assert rds.op == Op.REPLACE and rds.kind is ChangeKind.REPLACE
    assert rds.urn.parent_types == ("platform:aws:Database",)
    assert rds.replace_reasons == ("dbSubnetGroupName", "engineVersion")
    kinds = {p.path: p for p in rds.detailed_diff or ()}
    assert kinds["engineVersion"].forces_replacement
    assert not kinds["password"].forces_replacement and kinds["password"].input_diff
    assert rds.old is not None and rds.old.additional_secret_outputs == ("password",)
    assert rds.new is not None and rds.new.inputs["dbSubnetGroupName"] == (
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    )
    cert = by_name[("shop", "aws:acm/certificate:Certificate")]
    assert cert.protected
    role = by_name[("shop_readonly", "postgresql:index/role:Role")]
    assert role.kind is ChangeKind.DELETE and role.new is None
    assert role.parent_urn == "urn:pulumi:prod::platform::platform:aws:Database::shop"
    alarm = by_name[("web-5xx-rate", "aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert alarm.urn.parent_types == ("platform:aws:Service", "platform:aws:Alarms")
    assert [d.severity for d in digest.diagnostics] == ["warning"]
    assert digest.change_summary == {
        "create": 1,
        "delete": 2,
        "replace": 3,
        "same": 41,
        "update": 5,
    }


def test_unknown_fields_are_ignored(pulumi_fixtures: Path) -> None:
    raw = json.loads((pulumi_fixtures / "preview" / "prod.json").read_text())
    assert "futureTopLevel" in raw
    raw["steps"][1]["someNewStepField"] = {"nested": [1, 2]}
    raw["steps"][1]["newState"]["viewOf"] = "urn:pulumi:prod::platform::x:y:Z::v"
    raw["diagnostics"][0]["streamID"] = 7
    digest = parse_digest(json.dumps(raw), "prod.json")
    assert len(digest.steps) == len(raw["steps"])
    assert digest.steps[1].op == "create"


def test_unknown_op_is_kept_not_fatal() -> None:
    text = json.dumps({"steps": [{"op": "teleport", "urn": "urn:pulumi:dev::platform::a:b:C::x"}]})
    digest = parse_digest(text, "x.json")
    assert digest.steps[0].op == "teleport"
    assert digest.steps[0].kind is ChangeKind.OTHER


@pytest.mark.parametrize(
    ("urn", "expected"),
    [
        (
            "urn:pulumi:prod::platform::platform:aws:Database$aws:rds/instance:Instance::shop-db",
            ("prod", "platform", "aws:rds/instance:Instance", "shop-db"),
        ),
        (
            "urn:pulumi:dev::platform::pulumi:providers:aws::default_7_51_1",
            ("dev", "platform", "pulumi:providers:aws", "default_7_51_1"),
        ),
        (
            "urn:pulumi:dev::p::a:b:C::name::with::colons",
            ("dev", "p", "a:b:C", "name::with::colons"),
        ),
    ],
)
def test_urn_parsing(urn: str, expected: tuple[str, str, str, str]) -> None:
    parsed = Urn.parse(urn)
    assert parsed is not None
    assert (parsed.stack, parsed.project, parsed.type, parsed.name) == expected
    assert str(parsed) == urn


@pytest.mark.parametrize("text", ["", "urn:pulumi:dev::p::t", "arn:aws:s3:::bucket", "x::y::z::w"])
def test_not_urns(text: str) -> None:
    assert Urn.parse(text) is None


@pytest.mark.parametrize("text", ["", "   \n", b""])
def test_empty_input_is_an_error(text: str | bytes) -> None:
    with pytest.raises(PreviewFormatError, match=r"^prod\.json: empty input"):
        parse_digest(text, "prod.json")


def test_truncated_json_names_the_position(pulumi_fixtures: Path) -> None:
    text = (pulumi_fixtures / "preview" / "prod.json").read_text()
    cut = text[: len(text) // 2]
    with pytest.raises(PreviewFormatError) as err:
        parse_digest(cut, "prod.json")
    message = str(err.value)
    assert message.startswith("prod.json: invalid JSON at line ")
    assert "column" in message and "truncated" in message


def test_ndjson_event_streams_are_named_as_such(real_pulumi_fixtures: Path) -> None:
    for name in (
        "pulumi__webserver-userdata.eventlog.json",
        "pulumi__TestRefreshBasics-0-0-0-preview.eventstream.json",
    ):
        with pytest.raises(PreviewFormatError, match="NDJSON engine events"):
            load_digest(real_pulumi_fixtures / name)


def test_stack_export_is_not_a_digest(real_pulumi_fixtures: Path) -> None:
    with pytest.raises(PreviewFormatError, match=r"not a PreviewDigest.*stack export"):
        load_digest(real_pulumi_fixtures / "stratify__sample-export.json")


def _step(**fields: Any) -> dict[str, Any]:
    return {"op": "update", "urn": "urn:pulumi:prod::platform::a:b:C::x", **fields}


@pytest.mark.parametrize(
    ("digest", "expected"),
    [
        ([], "top level: expected an object, got array"),
        ({"steps": {}}, "steps: expected an array, got object"),
        ({"steps": [3]}, r"steps\[0\]: expected an object, got number"),
        ({"steps": [{"urn": "urn:pulumi:a::b::c:d:E::n"}]}, r"steps\[0\]: missing field 'op'"),
        ({"steps": [_step(op=5)]}, r"steps\[0\]\.op: expected a string, got number"),
        ({"steps": [_step(urn="i-0abc")]}, r"steps\[0\]\.urn: not a Pulumi URN"),
        (
            {"steps": [_step(detailedDiff={"a": "update"})]},
            r'steps\[0\]\.detailedDiff\["a"\]: expected an object, got string',
        ),
        (
            {"steps": [_step(detailedDiff={"a": {"kind": 1}})]},
            r'steps\[0\]\.detailedDiff\["a"\]\.kind: expected a string',
        ),
        (
            {"steps": [_step(oldState={"type": "a:b:C", "protect": "yes"})]},
            r"steps\[0\]\.oldState\.protect: expected true or false, got string",
        ),
        (
            {"steps": [_step(diffReasons="engineVersion")]},
            r"steps\[0\]\.diffReasons: expected an array of strings",
        ),
        (
            {"steps": [], "changeSummary": {"update": "2"}},
            r"changeSummary\.update: expected a count",
        ),
        ({"steps": [], "duration": "4s"}, "duration: expected nanoseconds"),
        (
            {"config": {}},
            "not a PreviewDigest: it has no 'steps', 'changeSummary' or 'diagnostics'",
        ),
    ],
)
def test_malformed_fields_are_named(digest: object, expected: str) -> None:
    with pytest.raises(PreviewFormatError, match=expected):
        parse_digest(json.dumps(digest), "in.json")


def test_non_utf8_and_unreadable_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"steps": ["\xff"]}')
    with pytest.raises(PreviewFormatError, match="not UTF-8"):
        load_digest(bad)
    with pytest.raises(PreviewFormatError, match="cannot read"):
        load_digest(tmp_path / "missing.json")


def test_digest_without_steps_but_with_summary_is_valid() -> None:
    digest = parse_digest('{"changeSummary": {"same": 4}}', "x")
    assert digest.steps == () and digest.op_counts() == {"same": 4}
    assert digest.stack is None


def test_op_counts_fold_replacement_steps_without_summary() -> None:
    urn = "urn:pulumi:prod::platform::aws:rds/instance:Instance::db"
    steps = [
        {"op": op, "urn": urn} for op in ("replace", "create-replacement", "delete-replaced")
    ] + [{"op": "update", "urn": "urn:pulumi:prod::platform::a:b:C::x"}]
    digest = parse_digest(json.dumps({"steps": steps}), "x")
    assert digest.op_counts() == {"replace": 1, "update": 1}


@pytest.mark.parametrize(
    ("op", "kind"),
    [
        (Op.SAME, ChangeKind.NONE),
        (Op.REFRESH, ChangeKind.NONE),
        (Op.READ, ChangeKind.NONE),
        (Op.READ_REPLACEMENT, ChangeKind.NONE),
        (Op.DISCARD_REPLACED, ChangeKind.NONE),
        (Op.CREATE, ChangeKind.CREATE),
        (Op.IMPORT, ChangeKind.CREATE),
        (Op.UPDATE, ChangeKind.UPDATE),
        (Op.REPLACE, ChangeKind.REPLACE),
        (Op.CREATE_REPLACEMENT, ChangeKind.REPLACE),
        (Op.DELETE_REPLACED, ChangeKind.REPLACE),
        (Op.IMPORT_REPLACEMENT, ChangeKind.REPLACE),
        (Op.DELETE, ChangeKind.DELETE),
    ],
)
def test_change_kinds(op: Op, kind: ChangeKind) -> None:
    assert change_kind(op.value) is kind


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("engineVersion", ("engineVersion",)),
        ("ingress[1].cidrBlocks[0]", ("ingress", 1, "cidrBlocks", 0)),
        ('tags["kubernetes.io/role"]', ("tags", "kubernetes.io/role")),
        ("a.b.c", ("a", "b", "c")),
        ("weird[", ("weird[",)),
    ],
)
def test_split_property_path(path: str, segments: tuple[str | int, ...]) -> None:
    assert split_property_path(path) == segments


def test_lookup_follows_paths() -> None:
    data = {"ingress": [{"fromPort": 443}], "tags": {"a.b": "x"}}
    assert lookup(data, "ingress[0].fromPort") == 443
    assert lookup(data, 'tags["a.b"]') == "x"
    assert lookup(data, "ingress[3].fromPort") is MISSING


def _state(inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> ResourceState:
    return ResourceState("a:b:C", None, None, False, inputs, outputs or {}, ())


@pytest.mark.parametrize(
    ("path", "old", "new", "secret"),
    [
        ("value", {"value": "[secret]"}, {"value": "plain"}, True),
        ("value", {"value": SECRET_SIG}, {"value": "plain"}, True),
        ("env.KEY", {"env": "[secret]"}, {"env": {"KEY": "plain"}}, True),
        ("env", {"env": {"KEY": "[secret]"}}, {"env": {"KEY": "x"}}, True),
        ("masterPassword", {"masterPassword": "a"}, {"masterPassword": "b"}, True),
        ("secretString", {}, {"secretString": "b"}, True),
        ("engineVersion", {"engineVersion": "15"}, {"engineVersion": "16"}, False),
        ("kmsKeyId", {"kmsKeyId": "k1"}, {"kmsKeyId": "k2"}, False),
    ],
)
def test_path_is_secret(path: str, old: dict[str, Any], new: dict[str, Any], secret: bool) -> None:
    assert path_is_secret(path, (_state(old), _state(new))) is secret


def test_additional_secret_outputs_mark_a_path_secret() -> None:
    state = ResourceState("a:b:C", None, None, False, {"token2": "x"}, {}, ("token2",))
    assert path_is_secret("token2", (state,))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("16.4", "16.4"),
        (3, "3"),
        (True, "true"),
        (None, "null"),
        ("[secret]", None),
        (SECRET_SIG, None),
        ("x" * 41, None),
        ("two\nlines", None),
        ({"a": 1}, None),
        ([1], None),
        (MISSING, None),
        ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "(known after apply)"),
    ],
)
def test_safe_scalar(value: object, shown: str | None) -> None:
    assert safe_scalar(value) == shown


def test_large_generated_preview(big_preview: PreviewDigest) -> None:
    assert len(big_preview.steps) == 10_000
    assert big_preview.op_counts()["replace"] == 9
    last = big_preview.steps[-1]
    assert last.urn.parent_types == ("platform:aws:Service",)
    assert last.parent_urn == "urn:pulumi:prod::platform::platform:aws:Service::svc49"


def test_an_empty_property_path_is_not_a_crash() -> None:
    """Found by the report fuzz: `diffReasons: [""]` reached path_is_secret with no segments."""
    state = ResourceState(
        type="a:b:C", id=None, parent=None, protect=False, inputs={}, outputs={},
        additional_secret_outputs=(),
    )  # fmt: skip
    assert path_is_secret("", (state, None)) is False


def test_looking_up_an_empty_path_finds_nothing() -> None:
    assert lookup({"a": 1}, "") is MISSING
