"""Running the `pulumi` CLI: arguments, environment, timeout, exit codes.

Every way a run can go wrong becomes a typed `PulumiError` whose message is one line an operator
can act on; callers never see a half-read process or a bare CalledProcessError. Output is returned
as text and parsed elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# `pkg/cmd/pulumi/cmd/exit_codes.go` (CLI >= v3.226.0); older CLIs use 1 and 255 for everything.
EXIT_MEANINGS: Mapping[int, str] = {
    1: "error",
    2: "bad configuration or flags",
    3: "authentication failed",
    4: "resource error",
    5: "policy violation",
    6: "stack not found",
    7: "changes where none were expected",
    8: "cancelled",
    9: "timed out",
    255: "internal error",
}

# Set in an operator's shell, it turns the dry-run digest into NDJSON events (reference §1.1).
UNWANTED_ENV = ("PULUMI_ENABLE_STREAMING_JSON_PREVIEW",)
STDERR_TAIL_CHARS = 300
KILL_GRACE_SECONDS = 5.0


class PulumiError(Exception):
    """The CLI could not give us a usable answer."""


class PulumiNotFound(PulumiError):
    pass


class PulumiTimeout(PulumiError):
    pass


class PulumiFailed(PulumiError):
    def __init__(self, message: str, exit_code: int, stderr: str, stdout: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr = stderr
        self.stdout = stdout
        """`up` and `destroy` print their log and diagnostics here, not on stderr."""


@dataclass(frozen=True, slots=True)
class CliResult:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def refresh_preview_args(stack: str) -> list[str]:
    """`pulumi refresh --preview-only --json`: the documented drift check. It changes no state and,
    as a dry run, prints one PreviewDigest. `--run-program` configures providers from the program
    rather than from the last saved state: the postgresql provider logs in with the RDS-managed
    master password, which RDS rotates every week, so a stale saved copy would fail every check
    after the first rotation. `--non-interactive`
    stops prompts; `--color never` keeps ANSI codes out of stderr. No `--expect-no-changes`:
    its exit code (7, or 255 on CLIs before v3.226.0) cannot be told apart from a crash, so
    drift is read from the digest instead."""
    return [
        "refresh",
        "--preview-only",
        "--run-program",
        "--json",
        "--non-interactive",
        "--color",
        "never",
        "--stack",
        stack,
    ]


POLICY_PACK = "policy"
"""The policy pack every preview and deploy runs with (the folder, from the project root)."""


def deploy_up_args(stack: str, message: str) -> list[str]:
    """`pulumi up` as every deploy infractl runs (rollback, review stacks) and the workflows run
    it: non-interactive, with the policy pack, the preview still first so the log shows the
    diff."""
    return [
        "up",
        "--stack",
        stack,
        "--yes",
        "--skip-preview=false",
        "--non-interactive",
        "--policy-pack",
        POLICY_PACK,
        "--message",
        message,
    ]


def _stderr_tail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    tail = " / ".join(lines[-3:])
    if len(tail) > STDERR_TAIL_CHARS:
        tail = "…" + tail[-STDERR_TAIL_CHARS:]
    return tail or "(no stderr)"


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill the CLI and its plugins (language hosts, providers), which share its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_pulumi(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    binary: str = "pulumi",
) -> CliResult:
    """Run `pulumi <args>` in `cwd`; raise PulumiNotFound, PulumiTimeout or PulumiFailed
    (non-zero exit) instead of returning anything partial."""
    executable = shutil.which(binary)
    if executable is None:
        raise PulumiNotFound(f"`{binary}` not found on PATH; install the Pulumi CLI")
    command = [executable, *args]
    shown = " ".join([binary, *args])
    environment = dict(os.environ if env is None else env)
    for name in UNWANTED_ENV:
        environment.pop(name, None)
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise PulumiNotFound(f"cannot run `{shown}`: {exc.strerror or exc}") from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        try:
            process.communicate(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
        raise PulumiTimeout(f"`{shown}` timed out after {timeout:g}s and was killed") from None
    seconds = time.monotonic() - started
    code = process.returncode
    if code != 0:
        meaning = EXIT_MEANINGS.get(code, "error")
        if code < 0:
            meaning = f"killed by signal {-code}"
        raise PulumiFailed(
            f"`{shown}` exited {code} ({meaning}): {_stderr_tail(stderr)}", code, stderr, stdout
        )
    return CliResult(
        args=tuple(args), exit_code=code, stdout=stdout, stderr=stderr, seconds=seconds
    )


def refresh_preview(stack: str, *, cwd: Path, timeout: float) -> CliResult:
    return run_pulumi(refresh_preview_args(stack), cwd=cwd, timeout=timeout)
