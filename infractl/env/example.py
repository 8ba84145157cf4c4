"""`app/.env.example`, the workload's half of the contract: every variable the app reads, each
with a comment saying what it is. A comment that says `optional` marks a knob the app has a
default for, which a stack need not provide."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
EXAMPLE_MAX_BYTES = 256 * 1024


class ExampleError(Exception):
    """The example file cannot be read or breaks its own format."""


@dataclass(frozen=True)
class Documented:
    name: str
    line: int
    comment: str
    value: str

    @property
    def optional(self) -> bool:
        return re.search(r"\boptional\b", self.comment, re.IGNORECASE) is not None


def parse_example(text: str, source: str) -> dict[str, Documented]:
    """name -> how the file documents it. Every variable needs a comment right above it; a
    duplicate or a line that is neither blank, a comment nor NAME=value is an error."""
    documented: dict[str, Documented] = {}
    comment: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            comment = []
            continue
        if line.startswith("#"):
            comment.append(line.lstrip("#").strip())
            continue
        match = ASSIGNMENT.match(line)
        if match is None:
            raise ExampleError(f"{source} line {number}: not NAME=value, a comment or blank")
        name = match.group(1)
        if name in documented:
            first = documented[name].line
            raise ExampleError(f"{source} line {number}: {name} again (first on line {first})")
        if not comment:
            raise ExampleError(
                f"{source} line {number}: {name} has no comment; say above it what it is"
            )
        documented[name] = Documented(name, number, " ".join(comment), match.group(2))
        comment = []
    return documented


def read_example(path: Path) -> dict[str, Documented]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExampleError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > EXAMPLE_MAX_BYTES:
        raise ExampleError(f"{path} is over {EXAMPLE_MAX_BYTES // 1024} KiB; not an env example")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExampleError(f"{path} is not UTF-8 (byte {exc.start})") from None
    return parse_example(text, str(path))
