"""Prometheus in a container, scraping the stack's services, with the catalog's rules loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker
import yaml

PORT = 9090
CONFIG_PATH = "/etc/prometheus/prometheus.yml"
RULES_PATH = "/etc/prometheus/rules/platform.yml"


@dataclass(frozen=True)
class ScrapeTarget:
    service: str
    addresses: Sequence[str]
    """host:port on the stack network, one per replica."""


@dataclass(frozen=True)
class PrometheusArgs:
    container_name: str
    image: str
    network_name: pulumi.Input[str]
    host_port: int
    rules: Mapping[str, Any]
    """A Prometheus rule file (rendered from the alert catalog)."""
    targets: Sequence[ScrapeTarget] = field(default_factory=tuple)
    stack: str = ""


def prometheus_config(stack: str, targets: Sequence[ScrapeTarget]) -> dict[str, Any]:
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
        ],
    }


class Prometheus(pulumi.ComponentResource):
    url: pulumi.Output[str]
    rule_groups: list[str]

    def __init__(
        self, name: str, args: PrometheusArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("platform:docker:Prometheus", name, None, opts)
        image = docker.RemoteImage(
            f"{name}-image",
            name=args.image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
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
                    content=yaml.safe_dump(prometheus_config(args.stack, args.targets)),
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
                interval="10s",
                timeout="3s",
                retries=5,
                start_period="10s",
            ),
            wait=True,
            wait_timeout=90,
            restart="unless-stopped",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = container.id.apply(lambda _: f"http://127.0.0.1:{args.host_port}")
        self.rule_groups = [group["name"] for group in args.rules.get("groups", [])]
        self.register_outputs({"url": self.url, "rule_groups": self.rule_groups})
