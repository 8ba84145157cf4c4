"""Exports as parity's live mode reads them: the real CLI format, secrets masked, and malformed
files named with their problem."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infractl.pulumi.export import ExportError, parse_export
from infractl.pulumi.wire import SECRET_TEXT
from tests.infractl.parity.parity_stacks import ROOT, SECRET_SIG, SIG

REAL_EXPORT = ROOT / "tests" / "fixtures" / "reference" / "stratify__sample-export.json"


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


def test_a_backend_state_file_is_named_and_the_export_command_given() -> None:
    state = {"version": 3, "checkpoint": {"stack": "dev", "latest": {"resources": []}}}
    hint = r"this is a backend state file .* `pulumi stack export --stack"
    with pytest.raises(ExportError, match=hint):
        parse_export(state, "dev.json")
