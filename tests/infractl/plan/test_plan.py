"""`infractl plan`: offline tree and JSON, secrets masked, clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.config.loader import stack_file_path, stack_file_runtime_config
from infra.offline import StackRun, run_config
from infractl.cli import main
from infractl.plan.render import plan_json

KNOWN_SECRET = "sk_live_KNOWN_TEST_SECRET_42"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def with_known_secret(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dev takes the payments key from config, decrypted and passed in the environment as the
    CLI passes secret config to a program."""
    stack_file = project / "Pulumi.dev.yaml"
    text = stack_file.read_text().replace(
        "    payments_api_key:\n      source: generated\n",
        "    payments_api_key:\n      source: config\n",
    )
    stack_file.write_text(text)
    values = json.dumps({"payments_api_key": KNOWN_SECRET})
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"platform:secretValues": values}))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["platform:secretValues"]))
    return project


def test_plan_json_is_the_whole_stack_with_secrets_masked(
    project_copy: Callable[[], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = with_known_secret(project_copy(), monkeypatch)
    code, out, err = run_cli(["plan", "--stack", "dev", "--json", "--cwd", str(project)], capsys)
    assert code == 0, err
    document = json.loads(out)
    assert document["stack"] == "dev"
    assert len(document["resources"]) >= 40
    for resource in document["resources"]:
        assert set(resource) == {"urn", "type", "name", "parent", "inputs"}
    assert document["outputs"]["databaseUrl"] == "[secret]"
    web = next(r for r in document["resources"] if r["name"] == "web-1")
    assert web["inputs"]["envs"] == "[secret]"
    assert KNOWN_SECRET not in out + err
    assert "mock-password" not in out + err


def test_plan_tree_masks_secrets_too(
    project_copy: Callable[[], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = with_known_secret(project_copy(), monkeypatch)
    code, out, err = run_cli(["plan", "--stack", "dev", "--cwd", str(project)], capsys)
    assert code == 0, err
    assert "platform:docker:Service web" in out
    assert "docker:index/container:Container web-1" in out
    assert "databaseUrl = [secret]" in out
    assert KNOWN_SECRET not in out + err


def test_a_plaintext_secret_value_in_a_stack_file_is_refused_with_the_command(
    project_copy: Callable[[], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project = project_copy()
    stack_file = project / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text() + f"  platform:secretValues:\n    payments_api_key: {KNOWN_SECRET}\n"
    )
    code, out, err = run_cli(["plan", "--stack", "dev", "--cwd", str(project)], capsys)
    assert code == 2 and out == ""
    assert "platform:secretValues.payments_api_key is in plain text" in err
    assert (
        "pulumi config set --stack dev --secret --path 'platform:secretValues.payments_api_key'"
        in err
    )
    assert KNOWN_SECRET not in err


def test_unset_secret_is_planned_with_a_visible_placeholder(
    project_copy: Callable[[], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project = project_copy()
    stack_file = project / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text().replace(
            "    email_api_key:\n      source: generated\n",
            "    email_api_key:\n      source: config\n",
        )
    )
    code, out, err = run_cli(["plan", "--stack", "dev", "--json", "--cwd", str(project)], capsys)
    assert code == 0
    assert json.loads(out)["placeholders"] == ["email_api_key"]
    assert "platform:secretValues.email_api_key" in err


def test_plan_finds_the_project_from_a_subdirectory(
    repo_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo_root / "infra")
    code, out, _ = run_cli(["plan", "--stack", "dev", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["stack"] == "dev"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--stack", "qa"], "unknown stack 'qa': no Pulumi.qa.yaml in "),
        (["plan"], "give one of --stack NAME or --stacks"),
        (["plan", "--stack", "dev", "--colour"], "No such option: --colour"),
        (["plann"], "No such command 'plann'"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(
    args: list[str], message: str, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        [*args, "--cwd", str(repo_root)] if args[0] == "plan" and "--stack" in args else args,
        capsys,
    )
    assert code == 2
    prefix = "infractl: " if args[0] != "plan" else "infractl plan: "
    assert err.count("\n") == 1 and err.startswith(prefix)
    assert message in err
    assert out == ""


def test_outside_the_project_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["plan", "--stack", "dev", "--cwd", str(tmp_path)], capsys)
    assert code == 2
    assert "no Pulumi.yaml for project 'platform'" in err


def test_invalid_stack_file_is_a_config_error_not_a_traceback(
    project_copy: Callable[[], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project = project_copy()
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  platform:environment: dev\n  platform:services:\n    web:\n      replicas: -1\n"
    )
    code, out, err = run_cli(["plan", "--stack", "dev", "--cwd", str(project)], capsys)
    assert code == 2
    assert "platform:services.web.replicas" in err
    assert "Traceback" not in err and out == ""
    (project / "Pulumi.dev.yaml").write_text("config: [unclosed\n")
    code, _, err = run_cli(["plan", "--stack", "dev", "--cwd", str(project)], capsys)
    assert code == 2
    assert "Pulumi.dev.yaml is not valid YAML" in err


def test_whole_numbers_print_as_integers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["plan", "--stack", "dev", "--json"], capsys)
    assert code == 0
    web = next(r for r in json.loads(out)["resources"] if r["name"] == "web-1")
    assert web["inputs"]["ports"][0]["external"] == 3000
    assert '"external":3000.0' not in out.replace(" ", "")


@pytest.mark.parametrize("stack", ["prod"])
def test_plan_json_is_byte_identical_run_to_run(repo_root: Path, stack: str) -> None:
    """Registrations arrive from the SDK's worker threads in any order; the plan does not."""
    config, secret_keys = stack_file_runtime_config(stack_file_path(repo_root, stack))
    first = plan_json(run_config(stack, config, secret_keys))
    second = plan_json(run_config(stack, config, secret_keys))
    assert first == second


def test_parents_come_before_children_and_siblings_sort(dev_run: StackRun) -> None:
    seen: set[str] = set()
    for resource in dev_run.resources:
        assert resource.parent in seen or resource.parent.endswith(
            "pulumi:pulumi:Stack::platform-dev"
        )
        seen.add(resource.urn)
    siblings: dict[str, list[tuple[str, str]]] = {}
    for resource in dev_run.resources:
        siblings.setdefault(resource.parent, []).append((resource.type, resource.name))
    assert all(group == sorted(group) for group in siblings.values())
