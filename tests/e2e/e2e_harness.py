"""The e2e tier: the real Pulumi engine (built from Go modules by scripts/engine) brings the dev
program up on a real Docker engine, as a throwaway stack `e2e` in a temporary project.

The stack is dev's own config (Pulumi.dev.yaml) with the local look-alike images that
scripts/e2e-images builds (no registry is reachable here), PostgreSQL 15 (the newest Debian
packages), and free host ports. Every CLI run is recorded, so a test can search all of them for
secret values. `./scripts/test --e2e` starts Docker, builds the images and runs this tier.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = "e2e"
PREFIX = f"platform-{STACK}"
IMAGES = {
    "web": "platform-e2e/shop-web:1",
    "web_2": "platform-e2e/shop-web:2",
    "web_bad": "platform-e2e/shop-web:bad",
    "worker": "platform-e2e/shop-worker:1",
    "worker_2": "platform-e2e/shop-worker:2",
    "postgres": "platform-e2e/postgres:15",
    "prometheus": "platform-e2e/prometheus:1",
    "pushgateway": "platform-e2e/pushgateway:1",
    "postgres_exporter": "platform-e2e/postgres-exporter:1",
    "node_exporter": "platform-e2e/node-exporter:1",
}
UP_TIMEOUT = 900.0


class E2ESetupError(Exception):
    """The tier cannot run here: no engine, no Docker, no images. A failure, never a skip."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def engine_environment() -> dict[str, str]:
    """The environment scripts/engine prints (PATH with the built CLI first, PULUMI_HOME...)."""
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "engine"), "--env"],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise E2ESetupError(
            f"scripts/engine failed (exit {done.returncode}): {done.stderr[-2000:]}"
        )
    env = dict(os.environ)
    for line in done.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip('"').replace("$PATH", env.get("PATH", ""))
        env[key] = value
    return env


def docker(
    *args: str, check: bool = True, timeout: float = 120, env: Mapping[str, str] | None = None
) -> str:
    """`env` reaches docker's own environment: `-e NAME` then passes a value without putting
    it on the command line (or into this function's error message)."""
    done = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def stack_containers() -> list[str]:
    out = docker("ps", "-a", "--filter", f"name=^{PREFIX}-", "--format", "{{.Names}}")
    return sorted(out.split())


def inspect(name: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads(docker("inspect", name))
    return data[0]


@dataclass
class Run:
    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class E2EStack:
    """The throwaway project: its directory, the CLI environment, and every run's transcript."""

    project: Path
    env: dict[str, str]
    ports: dict[str, int]
    transcript: list[Run] = field(default_factory=list)
    known_secrets: dict[str, str] = field(default_factory=dict)
    """Every generated password seen in any deployment of the session: URN@serial -> value."""

    def pulumi(self, *args: str, timeout: float = UP_TIMEOUT, expect: int | None = 0) -> Run:
        argv = ["pulumi", *args, "--stack", STACK, "--non-interactive"]
        return self.run(argv, timeout=timeout, expect=expect)

    def run(
        self,
        argv: Sequence[str],
        timeout: float = UP_TIMEOUT,
        expect: int | None = 0,
        stdin: str | None = None,
    ) -> Run:
        start = time.monotonic()
        done = subprocess.run(
            list(argv),
            cwd=self.project,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        run = Run(list(argv), done.returncode, done.stdout, done.stderr, time.monotonic() - start)
        self.transcript.append(run)
        if expect is not None and done.returncode != expect:
            raise AssertionError(
                f"{' '.join(argv)} exited {done.returncode}, expected {expect}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return run

    def outputs(self) -> dict[str, Any]:
        run = self.pulumi("stack", "output", "--json", "--show-secrets", timeout=120)
        data: dict[str, Any] = json.loads(run.stdout)
        return data

    def export(self, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "export"] + (["--show-secrets"] if show_secrets else [])
        data: dict[str, Any] = json.loads(self.pulumi(*args, timeout=120).stdout)
        return data

    def set_config(self, path: str, value: str) -> None:
        self.pulumi("config", "set", "--path", path, value, timeout=60)

    def secret_values(self) -> dict[str, str]:
        """Every generated password, read from the real state: URN -> plaintext."""
        state = self.export(show_secrets=True)
        found: dict[str, str] = {}
        for resource in state["deployment"].get("resources", []):
            if resource["type"] == "random:index/randomPassword:RandomPassword":
                found[resource["urn"]] = plaintext(resource["outputs"]["result"])
        for urn, value in found.items():
            self.known_secrets[f"{urn}@{value[:4]}"] = value
        return found

    def save_real(self, name: str, text: str) -> None:
        """With PLATFORM_E2E_SAVE_REAL=DIR, keep what the real engine printed as a fixture."""
        target = os.environ.get("PLATFORM_E2E_SAVE_REAL")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            Path(target, name).write_text(text)

    def capture_logs(self) -> None:
        """Every stack container's log, into the transcript the secret search reads."""
        for name in stack_containers():
            logs = subprocess.run(
                ["docker", "logs", name], capture_output=True, text=True, timeout=60, check=False
            )
            self.transcript.append(Run(["docker", "logs", name], 0, logs.stdout, logs.stderr, 0))


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def plaintext(value: Any) -> Any:
    """A value from `stack export --show-secrets`: secrets come as {sig, plaintext: <json>}."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return json.loads(value["plaintext"])
    return value


def write_stack_file(project: Path, ports: Mapping[str, int]) -> None:
    """dev's config, with the local images, PostgreSQL 15 and free host ports."""
    dev = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    stack_file = project / f"Pulumi.{STACK}.yaml"
    existing = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else None
    doc: dict[str, Any] = dict(existing or {})
    config: dict[str, Any] = dict(dev["config"])
    services = dict(config["platform:services"])
    services["web"] = {**services["web"], "image": IMAGES["web"]}
    services["worker"] = {**services["worker"], "image": IMAGES["worker"]}
    config["platform:services"] = services
    config["platform:database"] = {"engine_version": "15"}
    config["platform:docker"] = {
        "postgres_image": IMAGES["postgres"],
        "prometheus_image": IMAGES["prometheus"],
        "pushgateway_image": IMAGES["pushgateway"],
        "postgres_exporter_image": IMAGES["postgres_exporter"],
        "node_exporter_image": IMAGES["node_exporter"],
        "database_host_port": ports["database"],
        "prometheus_host_port": ports["prometheus"],
        "service_host_ports": {"web": ports["web"]},
        # Debian 12's docker.io is API 1.41; start_interval needs 1.44.
        "healthcheck_start_interval": False,
    }
    doc["config"] = config
    stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))


def remove_leftovers() -> None:
    """Containers, networks and volumes named for the e2e stack, left by an interrupted run."""
    for name in stack_containers():
        docker("rm", "-fv", name, check=False)
    for network in docker("network", "ls", "--filter", f"name=^{PREFIX}", "-q").split():
        docker("network", "rm", network, check=False)
    for volume in docker("volume", "ls", "-q", "--filter", f"name=^{PREFIX}-").split():
        docker("volume", "rm", "-f", volume, check=False)


def create_stack(project: Path, state: Path) -> E2EStack:
    """The throwaway project in `project`, its file backend in `state`, the stack initialised.

    The program imports its packages from the repository (installed editable in ./venv);
    `main: infra/` resolves inside the project, so infra/ is linked there."""
    if shutil.which("docker") is None or (
        subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0
    ):
        raise E2ESetupError("no Docker engine answers; `./scripts/test --e2e` starts one")
    missing = [
        image
        for image in IMAGES.values()
        if docker("image", "inspect", image, check=False, timeout=30) == ""
    ]
    if missing:
        raise E2ESetupError(f"local images missing: {missing}; scripts/e2e-images builds them")
    env = engine_environment()
    shutil.copy(REPO_ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "infra").symlink_to(REPO_ROOT / "infra")
    # Pulumi.yaml's `virtualenv: venv` (and the policy pack's `../venv`) resolve in the project.
    (project / "venv").symlink_to(REPO_ROOT / "venv")
    # infractl rollback's `up` runs the policy pack from the project, as deploys do.
    (project / "policy").symlink_to(REPO_ROOT / "policy")
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
    return stack


def destroy_stack(stack: E2EStack) -> None:
    stack.pulumi("destroy", "--yes", "--skip-preview", expect=None)
    remove_leftovers()


def image_id(tag: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", tag).strip()


def ready_status(port: int) -> int:
    """The HTTP status of the web service's readiness path on its host port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ready", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
