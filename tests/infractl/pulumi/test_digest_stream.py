"""Reading a preview step by step gives the report exactly what reading it whole gives."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

import infractl.pulumi.digest_stream as digest_stream
from infractl.pulumi.digest import load_digest
from infractl.pulumi.digest_stream import load_digest_for_report, trimmed
from infractl.pulumi.digest_text import PreviewFormatError
from infractl.report.render import StackPreview, render_report
from tests.infractl.conftest import generated_digest
from tests.paths import FIXTURES

PREVIEWS = sorted(
    [
        *(FIXTURES / "pulumi" / "preview").glob("*.json"),
        *(FIXTURES / "real").glob("preview-*.json"),
        *(p for p in (FIXTURES / "reference").glob("*preview*.json") if "event" not in p.name),
    ]
)


def report_of(path: Path, streamed: bool) -> str:
    digest = load_digest_for_report(path) if streamed else load_digest(path)
    return render_report([StackPreview("s", digest)]).markdown


@pytest.mark.parametrize("path", PREVIEWS, ids=lambda p: p.name)
def test_real_previews_report_the_same_streamed(path: Path) -> None:
    assert report_of(path, streamed=True) == report_of(path, streamed=False)


@pytest.mark.parametrize("chunk", [7, 97, 4096])
def test_any_chunk_size_reads_the_same_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Values split across chunks (numbers too: `1` then `2` is 12, not 1)."""
    path = tmp_path / "preview.json"
    path.write_text("Installing policy pack p...\n" + json.dumps(generated_digest(60), indent=4))
    monkeypatch.setattr(digest_stream, "CHUNK_CHARS", chunk)
    whole = load_digest(path)
    streamed = load_digest_for_report(path)
    assert streamed.steps == tuple(trimmed(step) for step in whole.steps)
    assert (streamed.change_summary, streamed.duration_ns, streamed.skipped) == (
        whole.change_summary,
        whole.duration_ns,
        whole.skipped,
    )


def test_a_step_keeps_only_the_properties_its_changes_touch() -> None:
    big = generated_digest(30)
    big["steps"][3]["newState"]["inputs"]["unrelated"] = {"large": "x" * 1000}
    big["steps"][3]["detailedDiff"] = {"desiredCount": {"kind": "update"}}
    from infractl.pulumi.digest import parse_digest

    step = parse_digest(json.dumps(big), "x").steps[3]
    kept = trimmed(step)
    assert kept.new is not None and set(kept.new.inputs) == {"desiredCount"}
    assert kept.new.additional_secret_outputs == step.new.additional_secret_outputs  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"steps": [ {"op": }', "invalid JSON at line 1 column 20"),
        (codecs.BOM_UTF16_LE + '{"steps": []}'.encode("utf-16-le"), None),
        (b'{"sequence": 1, "preludeEvent": {}}\n{"sequence": 2}\n', "NDJSON engine events"),
        (b'{"steps": [], "x": 1}\x00', "binary data"),
        (b"\n\n", "empty input"),
    ],
)
def test_unusual_files_get_the_whole_file_answer(
    tmp_path: Path, content: bytes, message: str | None
) -> None:
    path = tmp_path / "preview.json"
    path.write_bytes(content)
    if message is None:
        assert load_digest_for_report(path).steps == ()
        return
    with pytest.raises(PreviewFormatError, match=message):
        load_digest_for_report(path)
