"""The plan of a stack as the code at a git ref builds it: the other side of an offline diff.

The ref's tree is taken with `git archive` (the working tree is never touched) and planned by
the ref's own code in a child process, so a change to the program or to infractl itself is seen
as the ref had it. Refs from before infractl became its own package plan with `infra.ops.cli`.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from infractl.context import CommandError

GIT_TIMEOUT_SECONDS = 60.0
PLAN_TIMEOUT_SECONDS = 300.0


class BaselinePlan:
    """A plan of `stack` at `ref` running in a child process while the caller plans its own."""

    def __init__(self, root: Path, ref: str, stack: str) -> None:
        self.ref, self.stack = ref, stack
        self._tree = tempfile.TemporaryDirectory(prefix="infractl-base-")
        tree = Path(self._tree.name)
        _extract(root, _commit(root, ref), tree)
        self.exists = (tree / f"Pulumi.{stack}.yaml").is_file()
        self._process: subprocess.Popen[str] | None = None
        if self.exists:
            module = "infractl.cli" if (tree / "infractl" / "cli.py").is_file() else "infra.ops.cli"
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    module,
                    "plan",
                    "--stack",
                    stack,
                    "--json",
                    "--cwd",
                    str(tree),
                ],
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

    def close(self) -> None:
        """Stop the child if it still runs and remove the ref's tree (safe to call twice)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.communicate()
        self._tree.cleanup()

    def result(self, timeout: float = PLAN_TIMEOUT_SECONDS) -> dict[str, Any] | None:
        """The ref's plan document, or None when the stack has no stack file at the ref."""
        try:
            if self._process is None:
                return None
            try:
                out, err = self._process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.communicate()
                raise CommandError(
                    f"planning {self.stack} at {self.ref} took over {timeout:g}s"
                ) from None
            if self._process.returncode != 0:
                last = (err.strip().splitlines() or ["(no output)"])[-1]
                raise CommandError(
                    f"the code at {self.ref} cannot plan {self.stack} "
                    f"(exit {self._process.returncode}): {last}"
                )
            try:
                document = json.loads(out)
            except json.JSONDecodeError:
                raise CommandError(f"the plan of {self.stack} at {self.ref} is not JSON") from None
            if not isinstance(document, dict):
                raise CommandError(f"the plan of {self.stack} at {self.ref} is not one object")
            return document
        finally:
            self._tree.cleanup()


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, timeout=GIT_TIMEOUT_SECONDS
        )
    except FileNotFoundError:
        raise CommandError("git not found on PATH; --diff-against needs it") from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"git {args[0]} took over {GIT_TIMEOUT_SECONDS:g}s") from None


def _commit(root: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise CommandError(f"--diff-against '{ref}' is not a git ref")
    done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise CommandError(f"--diff-against '{ref}': no such commit in {root}")
    return done.stdout.decode().strip()


def _extract(root: Path, commit: str, into: Path) -> None:
    done = _git(root, "archive", "--format=tar", commit)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise CommandError(f"git archive {commit[:12]} failed: {(message or ['?'])[-1]}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
