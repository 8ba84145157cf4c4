"""dev builds its images from the repository: our build spec (`infra/targets/image_builds.py`)
and component (`components/docker/image.py`) under the real engine and docker plugin, in a
throwaway project laid out like this one (main: infra/), on a context from the local base image
(the product's own Dockerfile needs a registry). A changed source rebuilds and replaces."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

from infra.config.services import ImageBuild
from infra.targets.image_builds import build_spec
from tests.e2e.e2e_harness import docker, engine_environment
from tests.paths import REPO_ROOT

PROGRAM = """
import dataclasses, json, sys
sys.path.insert(0, {repo!r})
import pulumi
from components.docker.image import ImageBuildSpec, built_image
spec = ImageBuildSpec(**json.loads({spec!r}))

class Holder(pulumi.ComponentResource):
    def __init__(self):
        super().__init__("test:index:Holder", "holder")
        self.image = built_image("built", spec, self)
        self.register_outputs({{}})

holder = Holder()
pulumi.export("name", holder.image.name)
pulumi.export("imageId", holder.image.image_id)
"""
DOCKERFILE = """FROM platform-e2e/debian:bookworm AS build
ARG GREETING=none
COPY greeting.txt /src/
RUN cat /src/greeting.txt > /greeting && echo "$GREETING" >> /greeting
FROM platform-e2e/debian:bookworm AS final
COPY --from=build /greeting /greeting
"""


def _project(root: Path) -> None:
    (root / "infra").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(
        "name: buildcheck\nruntime:\n  name: python\n  options:\n"
        f"    virtualenv: {REPO_ROOT / 'venv'}\nmain: infra/\n"
    )
    context = root / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / ".dockerignore").write_text("node_modules\n")
    (context / "greeting.txt").write_text("first\n")
    (context / "node_modules").mkdir()


def _up(root: Path, env: dict[str, str]) -> str:
    spec = build_spec(
        "dev",
        "buildcheck",
        "web",
        ImageBuild(context="app", target="final", args={"GREETING": "hello"}),
        root,
    )
    spec = dataclasses.replace(spec, network_mode="host")  # this engine has no bridge
    payload = json.dumps(dataclasses.asdict(spec))
    (root / "infra" / "__main__.py").write_text(PROGRAM.format(repo=str(REPO_ROOT), spec=payload))
    done = subprocess.run(
        ["pulumi", "up", "--yes", "--non-interactive", "--skip-preview", "--stack", "dev"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return spec.name


def test_dev_builds_an_image_from_the_repository_and_rebuilds_on_change(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _project(root)
    env = {
        **engine_environment(),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "e2e-build",
    }
    (tmp_path / "state").mkdir()
    subprocess.run(
        ["pulumi", "stack", "init", "dev", "--non-interactive"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        first = _up(root, env)
        assert docker("run", "--rm", "--network", "none", first, "cat", "/greeting") == (
            "first\nhello\n"
        )
        (root / "app" / "node_modules" / "ignored.js").write_text("not sent")
        assert _up(root, env) == first  # an ignored file changes nothing
        (root / "app" / "greeting.txt").write_text("second\n")
        second = _up(root, env)
        assert second != first
        assert docker("run", "--rm", "--network", "none", second, "cat", "/greeting") == (
            "second\nhello\n"
        )
    finally:
        subprocess.run(
            ["pulumi", "destroy", "--yes", "--non-interactive", "--stack", "dev"],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=600,
            check=False,
        )
        for tag in docker(
            "images", "--format", "{{.Repository}}:{{.Tag}}", "buildcheck-web"
        ).split():
            docker("rmi", tag, check=False)
