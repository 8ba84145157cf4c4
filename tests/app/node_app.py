"""The app's entry points run from Python as the platform runs them: `node src/<script>.js` in
app/, configured by environment only; their JSON log lines tell when they are up."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Mapping
from typing import Any

import pytest

from tests.paths import REPO_ROOT

APP_DIR = REPO_ROOT / "app"
UNREACHABLE_DATABASE_URL = "postgresql://shop_app:unused@127.0.0.1:9/shop"


def env_example() -> dict[str, str]:
    """app/.env.example's placeholders: enough to start either process."""
    lines = (APP_DIR / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


def start(node: str, script: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """`node <script>` in app/ with .env.example's placeholders overridden by `env`."""
    return subprocess.Popen(
        [node, script],
        cwd=APP_DIR,
        env={**env_example(), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_log(process: subprocess.Popen[str], message: str, timeout: float = 20) -> Any:
    """The first JSON log line whose message is `message`."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if not ready:
            continue
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        event = json.loads(line)
        if event.get("message") == message:
            return event
    pytest.fail(f"no '{message}' log line within {timeout}s; output:\n{''.join(seen)}")


def stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait(timeout=10)
