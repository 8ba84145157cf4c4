"""Reading the app's `.env.example`: every variable documented, nothing ambiguous."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infractl.env.example import ExampleError, parse_example, read_example

GOOD = """# The app role's connection URL.
DATABASE_URL=postgresql://app:secret@localhost:5432/shop

# Seconds to keep answering while draining (optional; default 10).
# Second comment line.
export SHUTDOWN_DRAIN_SECONDS=10
"""


def test_each_variable_keeps_its_comment_line_and_optional_mark() -> None:
    documented = parse_example(GOOD, "x")
    assert documented["DATABASE_URL"].line == 2
    assert not documented["DATABASE_URL"].optional
    drain = documented["SHUTDOWN_DRAIN_SECONDS"]
    assert drain.optional
    assert drain.comment.endswith("Second comment line.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PORT=3000\n", "line 1: PORT has no comment"),
        ("# a\nPORT=1\n# b\nPORT=2\n", "line 4: PORT again (first on line 2)"),
        ("# a\nnot an assignment\n", "line 2: not NAME=value"),
        ("# a\n1PORT=3\n", "line 2: not NAME=value"),
        ("# a\n\nPORT=3\n", "line 3: PORT has no comment"),
    ],
)
def test_a_malformed_example_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ExampleError, match=re.escape(message)):
        parse_example(text, "app/.env.example")


def test_unreadable_or_binary_files_are_errors_not_tracebacks(tmp_path: Path) -> None:
    with pytest.raises(ExampleError, match="cannot read"):
        read_example(tmp_path / "missing")
    binary = tmp_path / "bin"
    binary.write_bytes(b"# a\nX=\xff\n")
    with pytest.raises(ExampleError, match="not UTF-8"):
        read_example(binary)


def test_the_repositorys_example_parses() -> None:
    documented = read_example(Path(__file__).resolve().parents[3] / "app" / ".env.example")
    assert "DATABASE_URL" in documented
