"""Fixtures of the e2e tier; the harness itself is e2e_harness.py."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from e2e_harness import (
    IMAGES,
    REPO_ROOT,
    STACK,
    E2EStack,
    docker,
    engine_environment,
    free_port,
    remove_leftovers,
    write_stack_file,
)


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    if (
        shutil.which("docker") is None
        or subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0
    ):
        pytest.fail("no Docker engine answers; `./scripts/test --e2e` starts one")
    missing = [
        image
        for image in IMAGES.values()
        if docker("image", "inspect", image, check=False, timeout=30) == ""
    ]
    if missing:
        pytest.fail(f"local images missing: {missing}; scripts/e2e-images builds them")
    env = engine_environment()
    project = tmp_path_factory.mktemp("e2e-project")
    state = tmp_path_factory.mktemp("e2e-state")
    shutil.copy(REPO_ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    # The program imports its packages from the repository (installed editable in ./venv);
    # `main: infra/` resolves inside the project, so it links there.
    (project / "infra").symlink_to(REPO_ROOT / "infra")
    env.update(
        PULUMI_BACKEND_URL=f"file://{state}",
        PULUMI_CONFIG_PASSPHRASE=secrets.token_hex(16),
    )
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    ports = {"database": free_port(), "prometheus": free_port(), "web": free_port()}
    stack = E2EStack(project=project, env=env, ports=ports)
    remove_leftovers()
    stack.run(
        ["pulumi", "stack", "init", STACK, "--secrets-provider", "passphrase", "--non-interactive"],
        timeout=60,
    )
    write_stack_file(project, ports)
    try:
        yield stack
    finally:
        stack.pulumi("destroy", "--yes", "--skip-preview", expect=None)
        remove_leftovers()
