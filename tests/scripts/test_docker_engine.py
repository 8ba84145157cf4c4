"""scripts/docker-engine: uses an engine that answers, starts one only when none does, and stops
only the one it started. Fake `docker`/`dockerd` test how the script calls them (the e2e tier
starts the real one)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """`docker info` answers while $STATE/up exists; `dockerd` creates it and runs until killed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    (bin_dir / "docker").write_text(f'#!/bin/sh\n[ -f "{state}/up" ]\n')
    (bin_dir / "dockerd").write_text(
        f'#!/bin/sh\necho "$@" > "{state}/args"\ntouch "{state}/up"\n'
        f"trap 'rm -f \"{state}/up\"; exit 0' TERM\nwhile :; do sleep 0.1; done\n"
    )
    # Not root, the script runs dockerd through sudo: this one just runs it.
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for tool in ("docker", "dockerd", "sudo"):
        (bin_dir / tool).chmod(0o755)
    for tool in ("bash", "sh", "cat", "rm", "mkdir", "seq", "sleep", "tail", "id", "kill", "touch"):
        target = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if target and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(target)
    return bin_dir


def engine(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    state = bin_dir.parent / "state"
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "docker-engine"), *args],
        env={
            "PATH": str(bin_dir),
            "HOME": str(bin_dir.parent),
            "PLATFORM_E2E_STATE": str(bin_dir.parent / "e2e-state"),
            "STATE": str(state),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_starts_dockerd_on_its_socket_only_and_stops_the_one_it_started(fake_bin: Path) -> None:
    started = engine(fake_bin, "start")
    assert started.returncode == 0, started.stderr
    assert "started dockerd" in started.stdout
    args = (fake_bin.parent / "state" / "args").read_text().split()
    assert "--host=unix:///var/run/docker.sock" in args
    assert not [a for a in args if "tcp://" in a]
    assert {"--iptables=false", "--bridge=none"} <= set(args)

    stopped = engine(fake_bin, "stop")
    assert stopped.returncode == 0 and "stopped dockerd" in stopped.stdout
    assert not (fake_bin.parent / "state" / "up").exists()


def test_an_engine_that_already_answers_is_used_and_never_stopped(fake_bin: Path) -> None:
    (fake_bin.parent / "state" / "up").touch()
    started = engine(fake_bin, "start")
    assert started.returncode == 0 and "already answers" in started.stdout
    assert not (fake_bin.parent / "state" / "args").exists(), "dockerd was started anyway"
    stopped = engine(fake_bin, "stop")
    assert "leaving any engine alone" in stopped.stdout
    assert (fake_bin.parent / "state" / "up").exists()


def test_a_bad_argument_is_one_line_and_exit_2(fake_bin: Path) -> None:
    result = engine(fake_bin, "restart")
    assert result.returncode == 2
    assert result.stderr.strip() == "usage: scripts/docker-engine start|stop"
