"""A fake `pulumi` for `infractl review`: it logs every call (arguments, directory, whether the
state secrets fallback was on) and plays back per-command behaviour, optionally per stack
(`"stack output pr-3"` before `"stack output"`). Like the real CLI, `stack select --create`
writes the new stack's salt into its stack file and `stack rm` deletes the stack file."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

FAKE_PULUMI = """\
    #!{python} -S
    import json, os, sys, time
    args = sys.argv[1:]
    stack = args[args.index("--stack") + 1] if "--stack" in args else None
    with open(os.environ["FAKE_PULUMI_LOG"], "a") as out:
        out.write(json.dumps({{
            "argv": args,
            "cwd": os.getcwd(),
            "fallback": os.environ.get("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"),
        }}) + "\\n")
    command = " ".join(args[:2]) if args[0] in ("stack", "config") else args[0]
    specs = json.loads(os.environ.get("FAKE_PULUMI", "{{}}"))
    spec = specs.get(f"{{command}} {{stack}}", specs.get(command, {{}}))
    time.sleep(spec.get("sleep", 0))
    code = spec.get("exit", 0)
    stack_file = f"Pulumi.{{stack}}.yaml"
    if code == 0 and command == "stack select" and not os.path.exists(stack_file):
        with open(stack_file, "w") as out:
            out.write("encryptionsalt: v1:fake-salt\\n")
    if code == 0 and command == "stack rm" and os.path.exists(stack_file):
        os.remove(stack_file)
    sys.stdout.write(spec.get("stdout", ""))
    sys.stderr.write(spec.get("stderr", ""))
    sys.exit(code)
"""


class FakePulumi:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        script = bin_dir / "pulumi"
        script.write_text(textwrap.dedent(FAKE_PULUMI.format(python=sys.executable)))
        script.chmod(0o755)
        self.log = tmp_path / "pulumi.log"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_PULUMI_LOG", str(self.log))
        monkeypatch.delenv("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", raising=False)
        self.specs: dict[str, dict[str, Any]] = {}

    def behave(self, command: str, **spec: Any) -> None:
        self.specs[command] = spec
        self.monkeypatch.setenv("FAKE_PULUMI", json.dumps(self.specs))

    def stacks(self, *entries: dict[str, Any]) -> None:
        self.behave("stack ls", stdout=json.dumps(list(entries)))

    def records(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self) -> list[list[str]]:
        return [record["argv"] for record in self.records()]

    def commands(self) -> list[str]:
        """Each call as `<command> [<stack>]`, e.g. `destroy pr-7`."""
        shown = []
        for argv in self.calls():
            command = " ".join(argv[:2]) if argv[0] in ("stack", "config") else argv[0]
            stack = argv[argv.index("--stack") + 1] if "--stack" in argv else None
            shown.append(f"{command} {stack}" if stack else command)
        return shown
