"""Fixtures for the report/drift tests: fixture paths, a generated large digest, a fake `pulumi`
executable on PATH (only for how the CLI is called), and a way to run one typer command the way
`infractl` runs it."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infractl.cli import VERBS, load_verb, main
from infractl.pulumi.digest import PreviewDigest, parse_digest
from tests.paths import FIXTURES

PULUMI_FIXTURES = FIXTURES / "pulumi"
# Real CLI outputs copied unmodified from public repositories (provenance and licences in its
# README.md), kept in the repository so a fresh clone tests against them.
REAL_FIXTURES = FIXTURES / "reference"
FAKE_SECRET = "sk_live_TESTSECRET123"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@pytest.fixture
def pulumi_fixtures() -> Path:
    return PULUMI_FIXTURES


@pytest.fixture
def real_pulumi_fixtures() -> Path:
    if not REAL_FIXTURES.is_dir():
        pytest.fail(f"shared reference fixtures missing at {REAL_FIXTURES}")
    return REAL_FIXTURES


def generated_digest(steps: int, *, refresh: bool = False) -> dict[str, Any]:
    """A `preview --json` (or `refresh --preview-only --json`) digest with `steps` steps under
    50 components; every 1,000th step is destructive, and the fake secret sits in new inputs and
    outputs of a secret property, where a careless tool would print it."""
    stack = "prod"
    root = f"urn:pulumi:{stack}::platform::pulumi:pulumi:Stack::platform-{stack}"
    provider = f"urn:pulumi:{stack}::platform::pulumi:providers:aws::default_7_51_1::{UNKNOWN}"
    out: list[dict[str, Any]] = [
        {"op": "refresh" if refresh else "same", "urn": root, "detailedDiff": None}
    ]
    diff = {
        "desiredCount": {"kind": "update", "inputDiff": refresh},
        "apiKey": {"kind": "update", "inputDiff": refresh},
        "ingress[0].fromPort": {"kind": "update", "inputDiff": refresh},
    }
    replace_diff = dict(diff, desiredCount={"kind": "update-replace", "inputDiff": False})
    counts: dict[str, int] = {"same": 1}
    for i in range(1, steps):
        if i % 1000 == 0:
            op, typ = ("delete" if refresh else "replace"), "aws:rds/instance:Instance"
        elif i % 7 == 0:
            op, typ = ("refresh" if refresh else "create"), "aws:cloudwatch/metricAlarm:MetricAlarm"
        elif i % 11 == 0:
            op, typ = ("update" if refresh else "delete"), "aws:ec2/securityGroup:SecurityGroup"
        else:
            op, typ = ("refresh" if i % 3 else "update"), "aws:ecs/service:Service"
        urn = f"urn:pulumi:{stack}::platform::platform:aws:Service${typ}::r{i}"
        parent = f"urn:pulumi:{stack}::platform::platform:aws:Service::svc{i % 50}"
        step: dict[str, Any] = {"op": op, "urn": urn, "provider": provider, "detailedDiff": None}
        if op != "create":
            step["oldState"] = {
                "urn": urn,
                "custom": True,
                "type": typ,
                "parent": parent,
                "inputs": {"desiredCount": 2, "apiKey": "[secret]", "ingress": [{"fromPort": 443}]},
                "outputs": {"apiKey": "[secret]"},
            }
        if op != "delete":
            step["newState"] = {
                "urn": urn,
                "custom": True,
                "type": typ,
                "parent": parent,
                "inputs": {"desiredCount": 3, "apiKey": FAKE_SECRET, "ingress": [{"fromPort": 22}]},
                "outputs": {"apiKey": FAKE_SECRET},
            }
        if op == "update":
            step["diffReasons"] = ["apiKey", "desiredCount", "ingress"]
            step["detailedDiff"] = diff
        elif op == "replace":
            step["replaceReasons"] = ["desiredCount"]
            step["detailedDiff"] = replace_diff
        out.append(step)
        counted = "same" if op == "refresh" else op
        counts[counted] = counts.get(counted, 0) + 1
    return {"config": {}, "steps": out, "duration": 1_000_000_000, "changeSummary": counts}


@pytest.fixture(scope="session")
def big_preview() -> PreviewDigest:
    """10,000 steps of `pulumi preview --json`, parsed once per test session (compact JSON: the
    parser does not care about the CLI's indentation, and indenting is slow)."""
    return parse_digest(json.dumps(generated_digest(10_000)), "generated-preview.json")


@pytest.fixture(scope="session")
def big_refresh() -> PreviewDigest:
    """10,000 steps of `pulumi refresh --preview-only --json`."""
    return parse_digest(json.dumps(generated_digest(10_000, refresh=True)), "generated-refresh")


@dataclass
class Invocation:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_command(
    capsys: pytest.CaptureFixture[str],
) -> Callable[[Callable[..., Any], list[str]], Invocation]:
    """Run one verb through `infractl.cli.main`, the way the console script runs it, returning
    its exit code and captured output."""

    def run(command: Callable[..., Any], args: list[str]) -> Invocation:
        (verb,) = (name for name in VERBS if load_verb(name) is command)
        capsys.readouterr()
        code = main([verb, *args])
        captured = capsys.readouterr()
        return Invocation(code, captured.out, captured.err)

    return run


FAKE_PULUMI = """#!{python} -S
import json, os, subprocess, sys, time
from pathlib import Path

home = Path(os.environ["FAKE_PULUMI_HOME"])
args = sys.argv[1:]
stack = args[args.index("--stack") + 1] if "--stack" in args else "_"
(home / f"call-{{stack}}.json").write_text(json.dumps({{
    "args": args,
    "cwd": os.getcwd(),
    "streaming": os.environ.get("PULUMI_ENABLE_STREAMING_JSON_PREVIEW"),
}}))
spec_file = home / f"spec-{{stack}}.json"
spec = json.loads(spec_file.read_text()) if spec_file.exists() else {{}}
if spec.get("child"):
    child = subprocess.Popen(["sleep", "60"])
    (home / f"child-{{stack}}.pid").write_text(str(child.pid))
if spec.get("stdout_file"):
    sys.stdout.flush()
    sys.stdout.buffer.write(Path(spec["stdout_file"]).read_bytes())
    sys.stdout.buffer.flush()
sys.stdout.write(spec.get("stdout", ""))
sys.stdout.flush()
sys.stderr.write(spec.get("stderr", ""))
sys.stderr.flush()
time.sleep(spec.get("sleep", 0))
sys.exit(spec.get("exit", 0))
"""


class FakePulumi:
    """A `pulumi` on PATH that records how it was called and plays back per-stack behaviour."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def behave(
        self,
        stack: str,
        *,
        stdout: str = "",
        stdout_file: Path | None = None,
        stderr: str = "",
        exit: int = 0,
        sleep: float = 0,
        child: bool = False,
    ) -> None:
        spec = {
            "stdout": stdout,
            "stdout_file": str(stdout_file) if stdout_file else None,
            "stderr": stderr,
            "exit": exit,
            "sleep": sleep,
            "child": child,
        }
        (self.home / f"spec-{stack}.json").write_text(json.dumps(spec))

    def call(self, stack: str) -> dict[str, Any] | None:
        path = self.home / f"call-{stack}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def child_pid(self, stack: str) -> int:
        return int((self.home / f"child-{stack}.pid").read_text())


@pytest.fixture
def fake_pulumi_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    home = tmp_path / "fake-pulumi"
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("FAKE_PULUMI_HOME", str(home))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return FakePulumi(home)


@pytest.fixture
def platform_project(tmp_path: Path) -> Path:
    """A minimal copy of this project's layout: Pulumi.yaml plus three stack files."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: platform\nruntime: python\n")
    for stack in ("dev", "staging", "prod"):
        (root / f"Pulumi.{stack}.yaml").write_text(f"config:\n  platform:environment: {stack}\n")
    return root
