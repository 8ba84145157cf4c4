"""One service on Docker: its migration, run to completion first, then its containers.

Order, and why it holds:
- the migration container starts only after everything in `args.after` (the database, healthy,
  and its roles and default privileges, so tables it creates are granted to app and readonly);
- it runs attached to completion; its exit code feeds a label of every service container, and a
  non-zero exit fails that input, so a failed migration stops the rollout instead of starting the
  service on a half-migrated schema;
- service containers carry the readiness healthcheck with `wait`, so `pulumi up` returns only
  when every replica reports healthy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from components.docker.image import ImageSource, service_image
from components.probes import ProbeSpec, docker_healthcheck
from components.type_tokens import DOCKER_SERVICE

MIGRATION_LOG_LINES = 15
"""How much of a failed migration's output the error quotes."""


class MigrationFailed(Exception):
    pass


@dataclass(frozen=True)
class DockerServiceArgs:
    container_prefix: str
    image: ImageSource
    network_name: pulumi.Input[str]
    probe: ProbeSpec
    replicas: int = 1
    command: Sequence[str] | None = None
    port: int | None = None
    host_port: int | None = None
    cpu: int = 256
    """CPU units; 1024 = one CPU."""
    memory_mb: int = 512
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    migration_command: Sequence[str] | None = None
    migration_secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    after: Sequence[pulumi.Resource] = ()
    """What must be ready before the migration (or, without one, the service) starts."""
    start_interval: bool = True
    """Probe every second or two while the container starts (Docker Engine 25+, API 1.44)."""


def _envs(
    plain: Mapping[str, str], secret: Mapping[str, pulumi.Input[str]]
) -> list[pulumi.Input[str]]:
    envs: list[pulumi.Input[str]] = [f"{key}={value}" for key, value in sorted(plain.items())]
    envs += [
        pulumi.Output.secret(pulumi.Output.concat(key, "=", value))
        for key, value in sorted(secret.items())
    ]
    return envs


class DockerService(pulumi.ComponentResource):
    url: pulumi.Output[str] | None
    container_names: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: DockerServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(DOCKER_SERVICE, name, None, opts)
        self._name = name
        self._args = args
        image = service_image(f"{name}-image", args.image, self)
        migration = self._migration(image) if args.migration_command else None
        gate: pulumi.Input[str] = (
            pulumi.Output.all(migration.exit_code, migration.container_logs).apply(
                lambda result: self._require_success(result[0], result[1])
            )
            if migration
            else "none"
        )
        ready_first: list[pulumi.Resource] = [migration] if migration else list(args.after)
        self.container_names = [
            self._replica(index, image, gate, ready_first).name
            for index in range(1, args.replicas + 1)
        ]
        self.url = (
            pulumi.Output.from_input(f"http://127.0.0.1:{args.host_port}")
            if args.host_port is not None
            else None
        )
        self.register_outputs({"url": self.url, "container_names": self.container_names})

    def _require_success(self, exit_code: int | None, logs: str | None) -> str:
        if exit_code not in (None, 0):
            tail = [line for line in (logs or "").splitlines() if line.strip()][
                -MIGRATION_LOG_LINES:
            ]
            output = "".join(f"\n    {line}" for line in tail) or " (no output)"
            raise MigrationFailed(
                f"migration for service '{self._name}' exited with {exit_code}; the service was "
                f"not started and its running containers were left alone. The migration's "
                f"output ends:{output}\n"
                f"Fix the cause (`docker logs {self._args.container_prefix}-migrate` has it "
                f"all), then run it again with `pulumi up --replace <urn of {self._name}-migrate>`"
                f" (`pulumi stack --show-urns`)"
            )
        return "succeeded"

    def _migration(self, image: docker.RemoteImage) -> docker.Container:
        args = self._args
        return docker.Container(
            f"{self._name}-migrate",
            name=f"{args.container_prefix}-migrate",
            image=image.image_id,
            command=list(args.migration_command or []),
            envs=_envs(args.env, {**args.secret_env, **args.migration_secret_env}),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            attach=True,
            # Kept in the container's state so a failure can quote what the migration said.
            logs=True,
            must_run=False,
            restart="no",
            labels=[docker.ContainerLabelArgs(label="platform.role", value="migration")],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=list(args.after), delete_before_replace=True
            ),
        )

    def _replica(
        self,
        index: int,
        image: docker.RemoteImage,
        migration_gate: pulumi.Input[str],
        ready_first: list[pulumi.Resource],
    ) -> docker.Container:
        args = self._args
        probe = args.probe
        ports = (
            [
                docker.ContainerPortArgs(
                    internal=args.port, external=args.host_port + index - 1, ip="127.0.0.1"
                )
            ]
            if args.port is not None and args.host_port is not None
            else []
        )
        return docker.Container(
            f"{self._name}-{index}",
            name=f"{args.container_prefix}-{index}",
            image=image.image_id,
            command=list(args.command) if args.command else None,
            envs=_envs(args.env, args.secret_env),
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.network_name, aliases=[self._name])
            ],
            ports=ports,
            healthcheck=docker.ContainerHealthcheckArgs(
                **docker_healthcheck(probe, start_interval=args.start_interval)
            ),
            wait=True,
            wait_timeout=probe.start_period_seconds
            + probe.interval_seconds * 10
            + probe.timeout_seconds,
            restart="unless-stopped",
            cpus=f"{args.cpu / 1024:g}",
            memory=args.memory_mb,
            # Equal to memory: no swap. Unset, Docker reports twice the memory and the provider
            # shows a change on every preview.
            memory_swap=args.memory_mb,
            labels=[
                docker.ContainerLabelArgs(label="platform.role", value="service"),
                docker.ContainerLabelArgs(label="platform.migration", value=migration_gate),
            ],
            # A fixed name and host port cannot exist twice: the old container goes first.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=ready_first, delete_before_replace=True
            ),
        )
