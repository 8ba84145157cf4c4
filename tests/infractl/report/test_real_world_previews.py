"""What `pulumi preview --json` prints in real projects beyond the happy path: chatter before the
JSON, summaries without steps, previews that failed or were cancelled part-way, two projects'
`dev`, event logs, and secrets a provider forgot to mark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infractl.cli import main
from infractl.pulumi.digest import parse_digest
from infractl.pulumi.digest_text import PreviewFormatError
from infractl.report.render import StackPreview, render_report
from tests.paths import FIXTURES

DEV = FIXTURES / "pulumi" / "preview" / "dev.json"
ROOT = "urn:pulumi:prod::platform::pulumi:pulumi:Stack::platform-prod"
CRASH = (
    'Traceback (most recent call last):\n  File "infra/__main__.py", line 9\n'
    "KeyError: 'payments_api_key'"
)


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def render(document: dict[str, Any], stack: str = "prod") -> str:
    digest = parse_digest(json.dumps(document), "x")
    return render_report([StackPreview(stack, digest)]).markdown


def test_text_before_the_json_is_skipped_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    noisy = tmp_path / "dev.json"
    noisy.write_text(
        "Installing policy pack platform-guardrails 0.1.0...\nInstalled.\n" + DEV.read_text()
    )
    code, out, err = report(capsys, str(noisy))
    _, plain, _ = report(capsys, str(DEV))
    assert (code, err) == (0, "")
    assert "skipped 2 line(s) of text before the JSON document" in out
    assert "Installing policy pack platform-guardrails" in out
    assert out.replace(out.splitlines()[2], "") == plain.replace(plain.splitlines()[2], "")


def test_a_summary_that_counts_changes_without_steps_is_not_no_changes() -> None:
    text = render({"steps": [], "changeSummary": {"update": 3, "same": 10}})
    assert "No resource changes." not in text
    assert "3 to update" in text
    assert "the CLI counted 3 change(s) but listed no steps" in text


def test_a_failed_preview_is_incomplete_with_its_errors_shown() -> None:
    text = render(
        {
            "steps": [{"op": "same", "urn": ROOT}],
            "diagnostics": [
                {"severity": "info#err", "message": CRASH},
                {"severity": "error", "message": "Program exited with non-zero exit code: 1"},
                {"severity": "warning", "message": "deprecated"},
            ],
        }
    )
    summary = next(line for line in text.splitlines() if line.startswith("- **prod**"))
    assert "(2 errors, 1 warning in the preview)" in summary
    assert "❌ **incomplete: it reported 2 error(s); this is not the whole plan**" in summary
    assert "### ❌ Errors in the preview of prod (2)" in text
    assert "KeyError: 'payments_api_key'" in text
    assert "Program exited with non-zero exit code: 1" in text
    assert "No resource changes." not in text
    assert "did not finish" in text


def test_a_preview_with_only_diagnostics_is_read_not_refused() -> None:
    digest = parse_digest(
        json.dumps({"diagnostics": [{"severity": "error", "message": "cancelled"}]}), "x"
    )
    assert not digest.complete and digest.steps == ()
    text = render_report([StackPreview("prod", digest)]).markdown
    assert "incomplete" in text and "cancelled" in text


def test_a_preview_without_a_summary_is_incomplete() -> None:
    text = render(
        {
            "steps": [
                {"op": "create", "urn": ROOT.replace("pulumi:pulumi:Stack", "aws:s3/bucket:Bucket")}
            ]
        }
    )
    assert "printed no change summary (cancelled or cut short?)" in text


def test_two_files_for_one_stack_name_are_kept_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "billing").mkdir()
    shop, billing = tmp_path / "shop" / "dev.json", tmp_path / "billing" / "dev.json"
    shop.write_text(DEV.read_text())
    billing.write_text(DEV.read_text())
    code, out, _ = report(capsys, str(shop), str(billing))
    assert code == 0
    assert f"- **dev ({shop})**" in out and f"- **dev ({billing})**" in out
    assert f"### dev ({shop})" in out and f"### dev ({billing})" in out


def test_pulumi_cloud_event_logs_are_named_as_event_logs() -> None:
    lines = [
        {"timestamp": 1, "preludeEvent": {"config": {}}},
        {"timestamp": 2, "summaryEvent": {"resourceChanges": {"same": 1}}},
    ]
    with pytest.raises(PreviewFormatError, match="NDJSON engine events"):
        parse_digest("\n".join(json.dumps(line) for line in lines), "events.json")


@pytest.mark.parametrize("name", ["stripeKey", "signingKey", "dbPass", "sentryDsn"])
def test_a_secret_looking_property_is_masked_but_still_said_to_change(name: str) -> None:
    urn = "urn:pulumi:prod::platform::aws:ssm/parameter:Parameter::p"
    state = {"urn": urn, "custom": True, "type": "aws:ssm/parameter:Parameter"}
    step = {
        "op": "update",
        "urn": urn,
        "oldState": {**state, "inputs": {name: "sk_live_OLD_SENTINEL"}},
        "newState": {**state, "inputs": {name: "sk_live_NEW_SENTINEL"}},
        "detailedDiff": {name: {"kind": "update", "inputDiff": True}},
    }
    text = render({"steps": [step], "changeSummary": {"update": 1}})
    assert "SENTINEL" not in text
    assert f"`{name}` (secret)" in text


def test_a_json_error_after_skipped_text_names_the_line_of_the_file() -> None:
    """Found in review: positions were counted from the JSON, not from the file."""
    text = 'Installing policy pack x...\nInstalled.\n{\n  "steps": [\n    {"op": }\n  ]\n}\n'
    with pytest.raises(PreviewFormatError, match=r"invalid JSON at line 5 column 12"):
        parse_digest(text, "preview.json")


def test_a_property_path_with_an_escape_json_does_not_know_is_kept_whole() -> None:
    """Found in review: `tags["\\q"]` in a detailedDiff crashed the report."""
    urn = "urn:pulumi:prod::platform::aws:s3/bucket:Bucket::b"
    step = {
        "op": "update",
        "urn": urn,
        "oldState": {"urn": urn, "type": "aws:s3/bucket:Bucket", "inputs": {"tags": {"q": "1"}}},
        "newState": {"urn": urn, "type": "aws:s3/bucket:Bucket", "inputs": {"tags": {"q": "2"}}},
        "detailedDiff": {'tags["\\q"]': {"kind": "update", "inputDiff": True}},
    }
    text = render({"steps": [step], "changeSummary": {"update": 1}})
    row = next(line for line in text.splitlines() if "`b`" in line)
    assert "update" in row and "tags[" in row
