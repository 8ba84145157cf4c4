"""Prometheus in a container, scraping the stack's services and the database's exporters, with
the catalog's rules loaded, and a Pushgateway beside it for jobs that finish between two scrapes
(the database backup)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker
import yaml

from components.docker.image import pulled_image
from components.probes import docker_duration
from components.type_tokens import DOCKER_PROMETHEUS

PORT = 9090
PUSHGATEWAY_PORT = 9091
CONFIG_PATH = "/etc/prometheus/prometheus.yml"
RULES_PATH = "/etc/prometheus/rules/platform.yml"


@dataclass(frozen=True)
class ScrapeTarget:
    service: str
    addresses: Sequence[str]
    """host:port on the stack network, one per replica."""


@dataclass(frozen=True)
class PushgatewaySpec:
    """A Pushgateway on the stack network only: jobs reach it by name, nothing is published."""

    container_name: str
    image: str


@dataclass(frozen=True)
class PrometheusArgs:
    container_name: str
    image: str
    network_name: pulumi.Input[str]
    host_port: int
    rules: Mapping[str, Any]
    """A Prometheus rule file (rendered from the alert catalog)."""
    pushgateway: PushgatewaySpec
    targets: Sequence[ScrapeTarget] = field(default_factory=tuple)
    exporters: Mapping[str, str] = field(default_factory=dict)
    """Job name -> host:port of an exporter on the stack network (the database's)."""
    stack: str = ""


def prometheus_config(
    stack: str,
    targets: Sequence[ScrapeTarget],
    pushgateway: str,
    exporters: Mapping[str, str],
) -> dict[str, Any]:
    """`pushgateway` is its host:port; its series keep the job labels they were pushed with
    (honor_labels), not the scrape job's. Exporters get no `service` label: their series describe
    the database, and the service rules select by `service`.

    Raises ValueError when two jobs share a name (Prometheus would refuse the file).
    """
    own = ["prometheus", *exporters, "pushgateway"]
    jobs = [*own, *(target.service for target in targets)]
    clashes = sorted({job for job in jobs if jobs.count(job) > 1})
    if clashes:
        raise ValueError(
            f"two scrape jobs named {', '.join(clashes)}: Prometheus needs unique job names; "
            f"rename the service ({', '.join(own)} are the platform's own jobs)"
        )
    return {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": "15s",
            "external_labels": {"stack": stack},
        },
        "rule_files": [RULES_PATH],
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"localhost:{PORT}"]}]},
            *(
                {
                    "job_name": target.service,
                    "static_configs": [
                        {"targets": list(target.addresses), "labels": {"service": target.service}}
                    ],
                }
                for target in targets
            ),
            *(
                {"job_name": job, "static_configs": [{"targets": [address]}]}
                for job, address in exporters.items()
            ),
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway]}],
            },
        ],
    }


class Prometheus(pulumi.ComponentResource):
    """Outputs: `url` (this machine), `rule_groups`, and `pushgateway_url` (on the stack network,
    resolved once the Pushgateway container is healthy)."""

    url: pulumi.Output[str]
    rule_groups: list[str]
    pushgateway_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: PrometheusArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(DOCKER_PROMETHEUS, name, None, opts)
        self._name = name
        self._args = args
        self.pushgateway_url = self._pushgateway(args.pushgateway)
        pushgateway = f"{args.pushgateway.container_name}:{PUSHGATEWAY_PORT}"
        image = pulled_image(f"{name}-image", args.image, self)
        container = docker.Container(
            f"{name}-server",
            name=args.container_name,
            image=image.image_id,
            command=[
                f"--config.file={CONFIG_PATH}",
                "--storage.tsdb.path=/prometheus",
                f"--web.listen-address=:{PORT}",
            ],
            uploads=[
                docker.ContainerUploadArgs(
                    file=CONFIG_PATH,
                    content=yaml.safe_dump(
                        prometheus_config(args.stack, args.targets, pushgateway, args.exporters)
                    ),
                ),
                docker.ContainerUploadArgs(
                    file=RULES_PATH, content=yaml.safe_dump(dict(args.rules))
                ),
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            ports=[
                docker.ContainerPortArgs(internal=PORT, external=args.host_port, ip="127.0.0.1")
            ],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "wget", "-q", "--spider", f"http://127.0.0.1:{PORT}/-/ready"],
                interval=docker_duration(10),
                timeout=docker_duration(3),
                retries=5,
                start_period=docker_duration(10),
            ),
            wait=True,
            wait_timeout=90,
            restart="unless-stopped",
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.url = container.id.apply(lambda _: f"http://127.0.0.1:{args.host_port}")
        self.rule_groups = [group["name"] for group in args.rules.get("groups", [])]
        self.register_outputs(
            {
                "url": self.url,
                "rule_groups": self.rule_groups,
                "pushgateway_url": self.pushgateway_url,
            }
        )

    def _pushgateway(self, spec: PushgatewaySpec) -> pulumi.Output[str]:
        image = pulled_image(f"{self._name}-pushgateway-image", spec.image, self)
        container = docker.Container(
            f"{self._name}-pushgateway",
            name=spec.container_name,
            image=image.image_id,
            command=[f"--web.listen-address=:{PUSHGATEWAY_PORT}"],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self._args.network_name)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=[
                    "CMD",
                    "wget",
                    "-q",
                    "--spider",
                    f"http://127.0.0.1:{PUSHGATEWAY_PORT}/-/ready",
                ],
                interval=docker_duration(10),
                timeout=docker_duration(3),
                retries=5,
                start_period=docker_duration(10),
            ),
            wait=True,
            wait_timeout=60,
            restart="unless-stopped",
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        return container.name.apply(lambda host: f"http://{host}:{PUSHGATEWAY_PORT}")
