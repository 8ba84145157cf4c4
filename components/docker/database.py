"""PostgreSQL in a container: a named volume, a pg_isready healthcheck, and `wait` so nothing
that depends on it proceeds until the server accepts connections."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from components.docker.image import pulled_image
from components.probes import docker_duration
from components.type_tokens import DOCKER_DATABASE

SUPERUSER = "postgres"
PORT = 5432
DATA_PATH = "/var/lib/postgresql/data"
"""Where the server keeps its data (PGDATA), on the data volume."""


@dataclass(frozen=True)
class DockerDatabaseArgs:
    container_name: str
    volume_name: str
    image: str
    network_name: pulumi.Input[str]
    host_port: int
    max_connections: int = 100
    start_interval: bool = True
    """Probe every second or two while the container starts (Docker Engine 25+, API 1.44)."""


class DockerDatabase(pulumi.ComponentResource):
    """Outputs: where containers reach it (`host`, `port`), where this machine reaches it
    (`admin_host`, `admin_port`, resolved only once the container is healthy), the superuser,
    and the data volume (`volume_name`)."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    admin_host: pulumi.Output[str]
    admin_port: pulumi.Output[int]
    superuser: pulumi.Output[str]
    superuser_password: pulumi.Output[str]
    volume_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: DockerDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(DOCKER_DATABASE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(
            f"{name}-superuser-password", length=32, special=False, opts=child
        )
        volume = docker.Volume(f"{name}-data", name=args.volume_name, opts=child)
        image = pulled_image(f"{name}-image", args.image, self)
        container = docker.Container(
            f"{name}-server",
            name=args.container_name,
            image=image.image_id,
            envs=[
                pulumi.Output.concat("POSTGRES_PASSWORD=", pulumi.Output.secret(password.result)),
                f"POSTGRES_USER={SUPERUSER}",
            ],
            command=["postgres", "-c", f"max_connections={args.max_connections}"],
            volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_PATH)],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.network_name, aliases=[name])
            ],
            ports=[
                docker.ContainerPortArgs(internal=PORT, external=args.host_port, ip="127.0.0.1")
            ],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "pg_isready", "-U", SUPERUSER, "-d", "postgres", "-h", "127.0.0.1"],
                interval=docker_duration(5),
                timeout=docker_duration(3),
                retries=10,
                start_period=docker_duration(10),
                start_interval=docker_duration(1) if args.start_interval else None,
            ),
            wait=True,
            wait_timeout=120,
            restart="unless-stopped",
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.host = pulumi.Output.from_input(name)
        self.port = pulumi.Output.from_input(PORT)
        # Derived from the container, so the postgresql provider waits for a healthy server.
        self.admin_host = container.id.apply(lambda _: "127.0.0.1")
        self.admin_port = container.id.apply(lambda _: args.host_port)
        self.superuser = pulumi.Output.from_input(SUPERUSER)
        self.superuser_password = pulumi.Output.secret(password.result)
        self.volume_name = volume.name
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "admin_host": self.admin_host,
                "admin_port": self.admin_port,
                "superuser": self.superuser,
                "superuser_password": self.superuser_password,
                "volume_name": self.volume_name,
            }
        )
