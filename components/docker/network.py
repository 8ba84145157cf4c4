"""The stack's private Docker network: services reach each other and the database by alias."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.type_tokens import DOCKER_NETWORK


@dataclass(frozen=True)
class DockerNetworkArgs:
    network_name: str


class DockerNetwork(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: DockerNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(DOCKER_NETWORK, name, None, opts)
        network = docker.Network(
            f"{name}-bridge",
            name=args.network_name,
            driver="bridge",
            attachable=True,
            labels=[docker.NetworkLabelArgs(label="managed-by", value="pulumi")],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = network.name
        self.register_outputs({"name": self.name})
