"""scripts/engine and tools/engine/: the versions line up, and bad calls fail in one line.

Building the engine itself is the e2e tier's first step (`./scripts/test --e2e`); these tests
check only what can go wrong before a build starts."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT


def pinned(package: str) -> str:
    text = (REPO_ROOT / "pyproject.toml").read_text()
    match = re.search(rf'"{re.escape(package)}==([^"]+)"', text)
    assert match, f"{package} is not pinned in pyproject.toml"
    return match.group(1)


def required(module_dir: str, module: str) -> str:
    text = (REPO_ROOT / "tools" / "engine" / module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", text, re.MULTILINE)
    assert match, f"tools/engine/{module_dir}/go.mod does not require {module}"
    return match.group(1)


def test_the_cli_is_built_at_the_pinned_python_sdks_version() -> None:
    assert required("cli", "github.com/pulumi/pulumi/pkg/v3") == f"v{pinned('pulumi')}"


def test_every_piece_has_a_build_script_and_a_pinned_module() -> None:
    for piece in ("cli", "python", "docker", "postgresql", "random"):
        build = REPO_ROOT / "tools" / "engine" / piece / "build"
        assert build.exists() and os.access(build, os.X_OK), f"{build} missing or not executable"
        assert (build.parent / "go.sum").exists(), f"{piece}: go.sum pins every module's hash"


def run_engine(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(REPO_ROOT / "scripts" / "engine"), *args],
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_an_unknown_argument_is_one_line_and_exit_2() -> None:
    result = run_engine("--bogus", path=os.environ["PATH"])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "engine: unknown argument '--bogus' (usage: scripts/engine [--env])"
    ]


@pytest.mark.parametrize("arg", [[], ["--env"]])
def test_without_go_it_says_so_and_builds_nothing(tmp_path: Path, arg: list[str]) -> None:
    for tool in ("dirname", "sed", "cat"):
        target = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        (tmp_path / tool).symlink_to(target)
    result = run_engine(*arg, path=str(tmp_path))
    assert result.returncode == 2
    assert "Go is not installed" in result.stderr
    assert result.stdout == ""
