"""The app's own tests (app/test/*.test.js, Node's built-in runner) against a real PostgreSQL.

They cover the contract the platform relies on: readiness by applied migrations, draining on
SIGTERM, liveness, metrics, the worker's heartbeat and configuration from the environment.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.app.node_app import APP_DIR

TIMEOUT = 300


def test_the_node_suite_passes(node: str, app_node_modules: Path, test_database_url: str) -> None:
    files = sorted(str(p.relative_to(APP_DIR)) for p in (APP_DIR / "test").glob("*.test.js"))
    assert len(files) >= 5, files
    # Only what the suite needs: a DATABASE_URL or NODE_OPTIONS from the shell must not leak in.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TEST_DATABASE_URL": test_database_url,
    }
    done = subprocess.run(
        [node, "--test", "--test-reporter=spec", *files],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"node --test exited {done.returncode}:\n{output}"
    # The spec reporter ends with counts: a run that found (almost) no test must not pass.
    counts = dict(re.findall(r"^\S+ (tests|pass|fail) (\d+)$", output, re.MULTILINE))
    assert counts.get("fail") == "0", output
    assert int(counts.get("tests", 0)) >= 30, counts
    assert counts["pass"] == counts["tests"], counts
