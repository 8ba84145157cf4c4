"""One convention for every verb: bad usage and "could not run" exit 2 with a single
`infractl <verb>: <message>` line on stderr, before anything runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infractl.cli import VERBS, main
from infractl.context import stack_names
from tests.paths import FIXTURES, REPO_ROOT

# The smallest arguments each verb needs to name one stack.
STACK_ARGS = {
    "plan": ["--stack"],
    "parity": ["--stacks"],
    "drift": ["--stacks"],
    "verify": ["--stack"],
    "rollback": ["--yes", "--stack"],
    "env": ["--stack"],
    "pin": ["--stack"],
    "review": ["up", "--pr", "1", "--base"],
    "report": [str(FIXTURES / "pulumi" / "preview" / "dev.json"), "--stack"],
}
PROJECT_VERBS = [verb for verb in VERBS if verb != "report"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str, verb: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"infractl {verb}: "), lines[0]
    return lines[0]


@pytest.fixture(autouse=True)
def no_pulumi_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every refusal here must come before the CLI is run: with no `pulumi`, one that did not
    would fail differently ("not found on PATH")."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_every_verb_is_covered() -> None:
    assert set(STACK_ARGS) == set(VERBS)
    assert (FIXTURES / "pulumi" / "preview" / "dev.json").is_file()


@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize("name", ["Prod", "prod_eu", "../prod", "-x", "p" * 40])
def test_a_malformed_stack_name_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], verb: str, name: str
) -> None:
    code, out, err = run(capsys, verb, *STACK_ARGS[verb], name, *cwd_for(verb, REPO_ROOT))
    assert code == 2 and out == ""
    assert f"'{name}' is not a stack name" in one_line(err, verb)


@pytest.mark.parametrize("verb", PROJECT_VERBS)
def test_an_unknown_stack_exits_2_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    code, out, err = run(capsys, verb, *STACK_ARGS[verb], "qa", "--cwd", str(REPO_ROOT))
    assert code == 2 and out == ""
    line = one_line(err, verb)
    assert "unknown stack 'qa'" in line and "stacks here: dev, prod, staging" in line


@pytest.mark.parametrize("verb", PROJECT_VERBS)
def test_outside_the_project_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    code, out, err = run(capsys, verb, *STACK_ARGS[verb], "dev", "--cwd", str(tmp_path))
    assert code == 2 and out == ""
    assert "no Pulumi.yaml for project 'platform'" in one_line(err, verb)


@pytest.mark.parametrize("verb", PROJECT_VERBS)
def test_a_pulumi_yaml_of_another_project_is_not_this_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: other\nruntime: python\n")
    shutil.copy(REPO_ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    code, _, err = run(capsys, verb, *STACK_ARGS[verb], "dev", "--cwd", str(tmp_path))
    assert code == 2
    assert "no Pulumi.yaml for project 'platform'" in one_line(err, verb)


def test_report_needs_no_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """report reads the files it is given: run anywhere (a CI job's scratch directory)."""
    code, out, err = run(capsys, "report", *STACK_ARGS["report"], "dev")
    assert (code, err) == (0, "")
    assert "dev" in out


@pytest.mark.parametrize("verb", list(VERBS))
def test_an_unknown_option_exits_2_with_the_verb_named(
    capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    code, out, err = run(capsys, verb, "--colour")
    assert code == 2 and out == ""
    assert "No such option: --colour" in one_line(err, verb)


def test_bare_infractl_prints_usage_and_exits_2_without_an_empty_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys)
    assert code == 2
    assert "Usage: infractl" in out + err
    assert not any(
        line.strip() in ("infractl:", "error:", "infractl: error:") for line in err.splitlines()
    )


def test_an_unknown_verb_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "plann")
    assert code == 2
    assert err.startswith("infractl: No such command 'plann'.") and err.count("\n") == 1


def cwd_for(verb: str, root: Path) -> list[str]:
    return [] if verb == "report" else ["--cwd", str(root)]


@pytest.mark.parametrize(
    "manifest", [b"name: platform\n  runtime: [\n", b"- name\n- platform\n", b"\x00\x01binary"]
)
def test_a_malformed_pulumi_yaml_is_called_malformed_not_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest: bytes
) -> None:
    (tmp_path / "Pulumi.yaml").write_bytes(manifest)
    code, _, err = run(capsys, "plan", "--stack", "dev", "--cwd", str(tmp_path))
    assert code == 2
    line = one_line(err, "plan")
    assert f"{tmp_path / 'Pulumi.yaml'} is malformed" in line and "no Pulumi.yaml" not in line


@pytest.mark.parametrize(
    ("key", "shown"), [("\\r\\u001b[2J", r"\r\x1b[2J"), ("\\n", r"\n"), ("a\\u2028b", r"a\u2028b")]
)
def test_control_characters_in_a_message_are_escaped_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, shown: str
) -> None:
    """Found by the report fuzz: a key `\\r` (and, with more examples, `\\n`) in a digest
    split the one error line in two."""
    path = tmp_path / "preview.json"
    path.write_text('{"changeSummary": {"' + key + '": null}}')
    code, _, err = run(capsys, "report", str(path))
    assert code == 2
    line = one_line(err, "report")
    assert f"changeSummary.{shown}: expected a count" in line and "\x1b" not in line


def test_stack_files_whose_names_are_no_stack_names_are_not_stacks(tmp_path: Path) -> None:
    """Found in review: drift's default list took `Pulumi.Dev.yaml` as stack `Dev`."""
    for name in ("dev", "Dev", "prod_eu", "qa"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text("config: {}\n")
    assert stack_names(tmp_path) == ["dev", "qa"]
