"""A fake `pulumi` for the verbs that read the stack history and set config (rollback, pin):
it logs each call and plays back per-command behaviour. It proves how the CLI is called."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.infractl.rollback.history_inputs import HISTORY_FIXTURES

FAKE_PULUMI = """\
    #!{python} -S
    import json, os, signal, sys, time
    log_path = os.environ["FAKE_PULUMI_LOG"]

    def log(record):
        with open(log_path, "a") as out:
            out.write(json.dumps(record) + "\\n")

    def interrupted(signum, frame):
        log({{"signal": "SIGINT"}})
        sys.exit(8)

    signal.signal(signal.SIGINT, interrupted)
    args = sys.argv[1:]
    log({{"argv": args, "cwd": os.getcwd()}})
    command = " ".join(args[:2]) if args[0] in ("stack", "config") else args[0]
    spec = json.loads(os.environ.get("FAKE_PULUMI", "{{}}")).get(command, {{}})
    # "when": the exit code and stderr apply only to calls with that argument.
    applies = spec.get("when") is None or spec["when"] in args
    time.sleep(spec.get("sleep", 0))
    if "stdout_file" in spec:
        sys.stdout.write(open(spec["stdout_file"]).read())
    sys.stdout.write(spec.get("stdout", ""))
    if applies and "stderr" in spec:
        sys.stderr.write("error: " + spec["stderr"] + "\\n")
    sys.exit(spec.get("exit", 0) if applies else 0)
"""


class FakePulumi:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        script = self.bin / "pulumi"
        script.write_text(textwrap.dedent(FAKE_PULUMI.format(python=sys.executable)))
        script.chmod(0o755)
        self.log = tmp_path / "pulumi.log"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_PULUMI_LOG", str(self.log))
        self.behave(**{"stack history": {"stdout_file": str(HISTORY_FIXTURES / "prod.json")}})

    def behave(self, **spec: dict[str, Any]) -> None:
        self.monkeypatch.setenv("FAKE_PULUMI", json.dumps(spec))

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        records = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [r["argv"] for r in records if "argv" in r]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]
