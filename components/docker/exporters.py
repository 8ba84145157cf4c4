"""The database's exporters on Docker: the series the catalog's database rules read in dev.

- postgres_exporter connects as the readonly role and exports `pg_stat_database_*` and
  `pg_settings_*` (`db_connections_high`). A plain role reads what that rule needs: PUBLIC may
  select from `pg_stat_database` and `pg_settings`, `numbackends` counts every role's backends,
  and `max_connections` is not a superuser-only setting (tests/integration/test_grants_live.py
  runs the exporter's queries as that role). Views of the exporter's other default collectors that
  hide other roles' rows from a plain role (`pg_stat_activity`'s query text, replication) feed no
  rule.
- node_exporter runs its filesystem collector alone, with the database's data volume mounted
  read-only where the server has it and a mount-point filter that matches that path only, so
  `node_filesystem_*{mountpoint="/var/lib/postgresql/data"}` is that volume and nothing else
  (`db_storage_low`). A named volume is a directory on the Docker engine's disk: its size and free
  space are that disk's.

Both are on the stack network only, nothing published; Prometheus scrapes them by container name
(`scrape_jobs`). Both images are busybox-based, so their healthchecks use its sh and wget and test
what the rules need, not just a listening port: postgres_exporter reports `pg_up 1` (it logged in
as the readonly role), node_exporter reports free space for the data path. With `wait`, `pulumi
up` fails on a wrong connection string or a missing mount instead of leaving a silent alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker.database import DATA_PATH
from components.docker.image import pulled_image
from components.probes import docker_duration
from components.type_tokens import DOCKER_DATABASE_EXPORTERS

POSTGRES_EXPORTER_PORT = 9187
NODE_EXPORTER_PORT = 9100
POSTGRES_EXPORTER_JOB = "postgres-exporter"
NODE_EXPORTER_JOB = "node-exporter"
MOUNT_POINTS_INCLUDE = f"^{DATA_PATH}$"
"""Go regexp (node_exporter searches, unanchored): the data path, not its parents or children."""


@dataclass(frozen=True)
class DatabaseExportersArgs:
    container_prefix: str
    """Containers are `<prefix>-postgres-exporter` and `<prefix>-node-exporter`."""
    postgres_exporter_image: str
    node_exporter_image: str
    network_name: pulumi.Input[str]
    data_source_name: pulumi.Input[str]
    """The readonly role's connection string; reaches the container only as a secret env var."""
    data_volume_name: pulumi.Input[str]
    """The database's data volume, mounted read-only."""
    after: Sequence[pulumi.Resource] = ()
    """What must exist first: the database and its roles (the exporter logs in as readonly)."""
    start_interval: bool = True
    """Probe every second or two while the container starts (Docker Engine 25+, API 1.44)."""


class DatabaseExporters(pulumi.ComponentResource):
    """Outputs: `scrape_jobs` (Prometheus job name -> host:port on the stack network) and
    `container_names`."""

    scrape_jobs: dict[str, str]
    container_names: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: DatabaseExportersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(DOCKER_DATABASE_EXPORTERS, name, None, opts)
        self._name = name
        self._args = args
        postgres_name = f"{args.container_prefix}-postgres-exporter"
        node_name = f"{args.container_prefix}-node-exporter"
        postgres = self._postgres_exporter(postgres_name)
        node = self._node_exporter(node_name)
        self.scrape_jobs = {
            POSTGRES_EXPORTER_JOB: f"{postgres_name}:{POSTGRES_EXPORTER_PORT}",
            NODE_EXPORTER_JOB: f"{node_name}:{NODE_EXPORTER_PORT}",
        }
        self.container_names = [postgres.name, node.name]
        self.register_outputs(
            {"scrape_jobs": self.scrape_jobs, "container_names": self.container_names}
        )

    def _image(self, role: str, name: str) -> docker.RemoteImage:
        return pulled_image(f"{self._name}-{role}-image", name, self)

    def _options(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, depends_on=list(self._args.after), delete_before_replace=True
        )

    def _postgres_exporter(self, container_name: str) -> docker.Container:
        args = self._args
        metrics = f"http://127.0.0.1:{POSTGRES_EXPORTER_PORT}/metrics"
        dsn: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.concat("DATA_SOURCE_NAME=", args.data_source_name)
        )
        return docker.Container(
            f"{self._name}-postgres",
            name=container_name,
            image=self._image("postgres", args.postgres_exporter_image).image_id,
            command=[f"--web.listen-address=:{POSTGRES_EXPORTER_PORT}"],
            envs=[dsn],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD-SHELL", f"wget -qO- {metrics} | grep -q '^pg_up 1$'"],
                interval=docker_duration(30),
                timeout=docker_duration(10),
                retries=3,
                start_period=docker_duration(30),
                start_interval=docker_duration(2) if args.start_interval else None,
            ),
            wait=True,
            wait_timeout=120,
            restart="unless-stopped",
            labels=[docker.ContainerLabelArgs(label="platform.role", value="exporter")],
            opts=self._options(),
        )

    def _node_exporter(self, container_name: str) -> docker.Container:
        args = self._args
        metrics = f"http://127.0.0.1:{NODE_EXPORTER_PORT}/metrics"
        return docker.Container(
            f"{self._name}-node",
            name=container_name,
            image=self._image("node", args.node_exporter_image).image_id,
            command=[
                f"--web.listen-address=:{NODE_EXPORTER_PORT}",
                "--collector.disable-defaults",
                "--collector.filesystem",
                f"--collector.filesystem.mount-points-include={MOUNT_POINTS_INCLUDE}",
            ],
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=args.data_volume_name, container_path=DATA_PATH, read_only=True
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=[
                    "CMD-SHELL",
                    f"wget -qO- {metrics} | grep '^node_filesystem_avail_bytes' "
                    f"| grep -qF 'mountpoint=\"{DATA_PATH}\"'",
                ],
                interval=docker_duration(30),
                timeout=docker_duration(10),
                retries=3,
                start_period=docker_duration(30),
                start_interval=docker_duration(2) if args.start_interval else None,
            ),
            wait=True,
            wait_timeout=120,
            restart="unless-stopped",
            labels=[docker.ContainerLabelArgs(label="platform.role", value="exporter")],
            opts=self._options(),
        )
