"""The program imports the same way under the Pulumi CLI as in tests.

The CLI runs `main: infra/` as a script, so infra/ itself is first on sys.path while the program
runs: a module there named like a standard-library module shadows it for every library the
program imports. `infra/secrets.py` once did, and the first real `pulumi up` failed inside
pydantic (`import secrets` found ours); mocks never run the program that way."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import REPO_ROOT


def test_no_module_beside_the_program_shadows_the_standard_library() -> None:
    names = {p.stem if p.suffix == ".py" else p.name for p in (REPO_ROOT / "infra").iterdir()}
    assert not sorted(names & set(sys.stdlib_module_names))


def test_importing_the_program_with_its_folder_first_on_the_path_works() -> None:
    """As the language host does: infra/ at the front of sys.path, then the program's imports."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import secrets, platform, pydantic; "
        "import infra.program, infra.config.models; "
        "assert secrets.__file__.startswith(sys.base_prefix), secrets.__file__"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO_ROOT / "infra")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_each_target_loads_only_its_own_provider_sdk_and_never_the_toolkit() -> None:
    """`pulumi up` of a docker stack must not pay for pulumi_aws (483 modules), nor an aws stack
    for pulumi_docker; and the program never loads infractl."""
    script = (
        "import sys; from pathlib import Path; from infra.offline import run_stack; "
        "run_stack(Path.cwd(), sys.argv[1]); "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules "
        "if m.split('.')[0] in ('pulumi_aws', 'pulumi_docker', 'infractl')})))"
    )
    running = {
        stack: subprocess.Popen(
            [sys.executable, "-c", script, stack],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for stack in ("dev", "prod")
    }
    loaded = {}
    for stack, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        loaded[stack] = out.split()
    assert loaded == {"dev": ["pulumi_docker"], "prod": ["pulumi_aws"]}
