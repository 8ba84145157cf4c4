"""scripts/dev-up stops with a clear message when the Pulumi CLI or a Docker engine is missing.

Fake executables here test only how the script reacts to the tools it calls, not a deploy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def run_dev_up(repo_root: Path, bin_dir: Path) -> subprocess.CompletedProcess[str]:
    for tool in ("bash", "dirname", "cat", "env"):
        target = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if target and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(target)
    return subprocess.run(
        ["bash", str(repo_root / "scripts" / "dev-up")],
        env={"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_missing_pulumi_cli_says_how_to_install_it(repo_root: Path, tmp_path: Path) -> None:
    result = run_dev_up(repo_root, tmp_path)
    assert result.returncode == 1
    assert "the Pulumi CLI is not installed" in result.stderr
    assert "get.pulumi.com" in result.stderr


@pytest.mark.parametrize("docker_script", ["exit 1", None], ids=["engine-down", "no-client"])
def test_missing_docker_engine_says_how_to_start_it(
    repo_root: Path, tmp_path: Path, docker_script: str | None
) -> None:
    fake(tmp_path, "pulumi", "echo should-not-run >&2; exit 99")
    if docker_script is not None:
        fake(tmp_path, "docker", docker_script)
    result = run_dev_up(repo_root, tmp_path)
    assert result.returncode == 1
    assert "no Docker engine answers" in result.stderr
    assert "should-not-run" not in result.stderr
