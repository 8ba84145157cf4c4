"""The dev database backup: a long-running container of the database's own postgres image that
runs `backup.sh` (beside this file, uploaded into the container) in a loop.

Every interval it runs `pg_dump -Fc` as the owner role, which owns every object, so the dump is
complete without a superuser; dumps land in a named volume that outlives the database's, the
newest `keep` are kept, and each success pushes its time to the Pushgateway, which Prometheus
scrapes for the `backup_too_old` alert. The healthcheck (`backup.sh check`) turns unhealthy when
the last success is older than two intervals plus a grace, and `wait` makes `pulumi up` fail when
the first dump does not succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.docker.image import pulled_image
from components.probes import docker_duration
from components.type_tokens import DOCKER_DATABASE_BACKUP

SCRIPT = Path(__file__).with_name("backup.sh")
SCRIPT_PATH = "/usr/local/bin/platform-backup"
DUMPS_PATH = "/backups"
GRACE_SECONDS = 1800
"""How long a dump may take before a late success turns the container unhealthy."""
JOB = "db-backup"


@dataclass(frozen=True)
class DatabaseBackupArgs:
    container_name: str
    volume_name: str
    image: str
    """The database's postgres image, so pg_dump matches the server's major version."""
    network_name: pulumi.Input[str]
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database: pulumi.Input[str]
    username: pulumi.Input[str]
    """The owner role."""
    password: pulumi.Input[str]
    """The owner role's password; reaches the container only as a secret env var."""
    pushgateway_url: pulumi.Input[str]
    interval_hours: int
    keep: int
    after: Sequence[pulumi.Resource] = ()
    """What must exist before the first dump: the database's roles and grants."""
    start_interval: bool = True
    """Probe every second or two while the container starts (Docker Engine 25+, API 1.44)."""


class DatabaseBackup(pulumi.ComponentResource):
    """Outputs: `volume_name` (where the dumps are) and `container_name`."""

    volume_name: pulumi.Output[str]
    container_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatabaseBackupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(DOCKER_DATABASE_BACKUP, name, None, opts)
        self._args = args
        # The dumps outlive `pulumi destroy`: a dev environment torn down and brought up again
        # reuses the volume (docker hands back a volume that exists) and can restore from it.
        volume = docker.Volume(
            f"{name}-dumps",
            name=args.volume_name,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        image = pulled_image(f"{name}-image", args.image, self)
        interval = args.interval_hours * 3600
        container = docker.Container(
            f"{name}-job",
            name=args.container_name,
            image=image.image_id,
            entrypoints=["/bin/sh", SCRIPT_PATH],
            command=["loop"],
            envs=self._envs(interval),
            uploads=[
                docker.ContainerUploadArgs(
                    file=SCRIPT_PATH, content=SCRIPT.read_text(), executable=True
                )
            ],
            volumes=[
                docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DUMPS_PATH)
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "/bin/sh", SCRIPT_PATH, "check"],
                interval=docker_duration(60),
                timeout=docker_duration(5),
                retries=3,
                start_period=docker_duration(300),
                start_interval=docker_duration(2) if args.start_interval else None,
            ),
            wait=True,
            wait_timeout=300,
            restart="unless-stopped",
            labels=[docker.ContainerLabelArgs(label="platform.role", value="backup")],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=list(args.after), delete_before_replace=True
            ),
        )
        self.volume_name = volume.name
        self.container_name = container.name
        self.register_outputs(
            {"volume_name": self.volume_name, "container_name": self.container_name}
        )

    def _envs(self, interval_seconds: int) -> list[pulumi.Input[str]]:
        args = self._args
        return [
            pulumi.Output.concat("PGHOST=", args.host),
            pulumi.Output.format("PGPORT={0}", args.port),
            pulumi.Output.concat("PGDATABASE=", args.database),
            pulumi.Output.concat("PGUSER=", args.username),
            pulumi.Output.secret(pulumi.Output.concat("PGPASSWORD=", args.password)),
            pulumi.Output.concat("PUSHGATEWAY_URL=", args.pushgateway_url),
            f"BACKUP_DIR={DUMPS_PATH}",
            f"BACKUP_KEEP={args.keep}",
            f"BACKUP_INTERVAL_SECONDS={interval_seconds}",
            f"BACKUP_MAX_AGE_SECONDS={interval_seconds * 2 + GRACE_SECONDS}",
            f"BACKUP_JOB={JOB}",
        ]
