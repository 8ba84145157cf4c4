"""The four parts stay apart, and the code stays small enough to read.

The import rules live in pyproject.toml as import-linter contracts (`lint-imports` runs in
./scripts/test); these tests prove the contracts catch what they promise, by breaking a copy of
the code one rule at a time. Ruff has no rule for a function's or a file's length, so the size
limits are checked here."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

PARTS = ("infra", "components", "infractl", "policy")
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def python_files() -> list[Path]:
    roots = [REPO_ROOT / part for part in PARTS] + [REPO_ROOT / "tests", REPO_ROOT / "bench"]
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts and "images" not in path.parts
    )


def test_no_file_is_longer_than_the_limit() -> None:
    long = {
        str(p.relative_to(REPO_ROOT)): n
        for p in python_files()
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}, f"split these by concern (at most {MAX_FILE_LINES} lines): {long}"


def test_no_function_is_longer_than_the_limit() -> None:
    long = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}, f"split these (at most {MAX_FUNCTION_LINES} lines): {long}"


def copy_of_the_code(tmp_path: Path) -> Path:
    for part in PARTS:
        shutil.copytree(
            REPO_ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_contracts_hold_on_the_code() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("infra/program.py", "import infractl.cli", "The program never imports the toolkit"),
        ("components/probes.py", "import infra.offline", "components never import the program"),
        ("policy/rules.py", "import infra.config.models", "The policy pack stands alone"),
        ("infractl/plan/render.py", "import infra.targets.docker", "infractl reaches the program"),
        ("infractl/context.py", "import infractl.cli", "No import cycles"),
    ],
)
def test_each_contract_catches_a_break(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = copy_of_the_code(tmp_path)
    target = root / module
    target.write_text(f"{target.read_text()}\n\ndef _breaks_the_rule() -> None:\n    {line}\n")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout
    broken = [row for row in result.stdout.splitlines() if row.endswith(" BROKEN")]
    assert len(broken) == 1 and contract in broken[0], result.stdout
