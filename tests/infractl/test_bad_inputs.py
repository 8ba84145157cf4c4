"""Every verb that reads JSON (report's files, verify --outputs, parity --live's exports, drift
reading the CLI's output) answers the same bad bytes the same way: exit 2, one line naming the
input, no traceback. A byte-order mark (UTF-8 or UTF-16) is read, not refused."""

from __future__ import annotations

import codecs
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infractl.cli import main
from tests.paths import FIXTURES, REPO_ROOT

if TYPE_CHECKING:
    from tests.infractl.conftest import FakePulumi

PREVIEW = (FIXTURES / "pulumi" / "preview" / "dev.json").read_bytes()
DEEP = b"[" * 200_000 + b"]" * 200_000

BAD_BYTES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty input"),
    "whitespace only": (b"  \n\t\n", "empty input"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data (a NUL byte at offset 8)"),
    "not UTF-8": (b'{"steps": ["caf\xe9"]}', "not UTF-8 text (byte 15)"),
    "nested too deeply": (DEEP, "nested too deeply"),
}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str, verb: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"infractl {verb}: "), err
    return lines[0]


def sparse(path: Path, size: int) -> Path:
    """A file that says it is `size` bytes without using the disk: the limit is checked first."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.mark.parametrize("case", list(BAD_BYTES))
def test_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    content, message = BAD_BYTES[case]
    path = tmp_path / "preview.json"
    path.write_bytes(content)
    code, out, err = run(capsys, "report", str(path))
    assert code == 2 and out == ""
    line = one_line(err, "report")
    assert str(path) in line and message in line


@pytest.mark.parametrize("case", list(BAD_BYTES))
def test_verify_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    content, message = BAD_BYTES[case]
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    code, out, err = run(capsys, "verify", "--stack", "dev", "--outputs", str(path))
    assert code == 2 and out == ""
    line = one_line(err, "verify")
    assert str(path) in line and message in line


@pytest.mark.parametrize("case", list(BAD_BYTES))
def test_parity_live_export(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    content, message = BAD_BYTES[case]
    live = tmp_path / "live"
    live.mkdir()
    (live / "dev.json").write_bytes(content)
    code, out, err = run(
        capsys, "parity", "--stacks", "dev", "--reference", "dev", "--live", str(live),
        "--cwd", str(REPO_ROOT),
    )  # fmt: skip
    assert code == 2 and out == ""
    line = one_line(err, "parity")
    assert str(live / "dev.json") in line and message in line


@pytest.mark.parametrize("case", list(BAD_BYTES))
def test_drift_on_bad_cli_output(
    fake_pulumi_cli: FakePulumi,
    platform_project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    content, message = BAD_BYTES[case]
    stdout = tmp_path / "stdout.bin"
    stdout.write_bytes(content)
    fake_pulumi_cli.behave("prod", stdout_file=stdout)
    out_dir = tmp_path / "out"
    code, _, err = run(
        capsys, "drift", "--cwd", str(platform_project), "--stacks", "prod",
        "--out-dir", str(out_dir),
    )  # fmt: skip
    assert code == 2 and "Traceback" not in err
    [stack] = json.loads((out_dir / "drift.json").read_text())["stacks"]
    assert stack["status"] == "failed"
    assert "\n" not in stack["error"]
    # The runner reads the CLI's stdout as UTF-8 with replacement, so a stray byte becomes a
    # replacement character and the digest is then unusable for what that byte broke.
    assert message.split(" (")[0] in stack["error"] or (
        case == "not UTF-8" and "unusable output" in stack["error"]
    )


def test_huge_files_are_refused_before_they_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = sparse(tmp_path / "preview.json", 3 * 1024**3)
    code, _, err = run(capsys, "report", str(preview))
    assert code == 2 and "3,221,225,472 bytes is past the" in one_line(err, "report")
    outputs = sparse(tmp_path / "outputs.json", 100 * 1024**2)
    code, _, err = run(capsys, "verify", "--stack", "dev", "--outputs", str(outputs))
    assert code == 2 and "104,857,600 bytes is past the" in one_line(err, "verify")


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    ],
    ids=["utf-8 with BOM", "utf-16-le (PowerShell >)", "utf-16-be"],
)
def test_a_byte_order_mark_is_read_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encode: Callable[[str], bytes]
) -> None:
    path = tmp_path / "preview.json"
    path.write_bytes(encode(PREVIEW.decode("utf-8")))
    code, out, err = run(capsys, "report", str(path))
    plain = tmp_path / "plain.json"
    plain.write_bytes(PREVIEW)
    expected = run(capsys, "report", str(plain))
    assert (code, out, err) == expected


def test_stdin_gets_the_same_answers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "stdin"
    path.write_bytes(b"\xff\xfe\x00")
    with path.open("rb") as handle:
        monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": handle})())
        code, _, err = run(capsys, "report", "-")
    assert code == 2 and "<stdin>" in one_line(err, "report")


def test_an_unreadable_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        shutil.copy(FIXTURES / "pulumi" / "preview" / "dev.json", tmp_path / "dir.json")
        target = tmp_path / "a-directory.json"
        target.mkdir()
    else:
        target = tmp_path / "locked.json"
        target.write_bytes(PREVIEW)
        target.chmod(0)
    code, _, err = run(capsys, "report", str(target))
    assert code == 2 and "cannot read" in one_line(err, "report")


STACK_FILE_ATTACKS = {
    "alias bomb": (
        "config:\n  platform:environment: dev\n  bomb:\n    a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"    {n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
    ).encode(),
    "duplicate key": b"config:\n  platform:environment: dev\n  platform:environment: prod\n",
    "binary": b"\x7fELF\x02\x01\x01\x00\x00\x00",
    "latin-1": "config:\n  platform:environment: d\xe9v\n".encode("latin-1"),
    "off as a key": b"config:\n  platform:environment: dev\n  off: 1\n",
}


@pytest.mark.parametrize("verb", ["plan", "parity"])
@pytest.mark.parametrize("case", list(STACK_FILE_ATTACKS))
def test_a_broken_stack_file_is_one_line_naming_it(
    project_copy: Callable[[], Path], capsys: pytest.CaptureFixture[str], verb: str, case: str
) -> None:
    project = project_copy()
    (project / "Pulumi.dev.yaml").write_bytes(STACK_FILE_ATTACKS[case])
    args = ["--stack", "dev"] if verb == "plan" else ["--stacks", "dev", "--reference", "prod"]
    code, out, err = run(capsys, verb, *args, "--cwd", str(project))
    assert code == 2 and out == ""
    assert "Pulumi.dev.yaml" in one_line(err, verb)
