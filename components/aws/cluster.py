"""The stack's ECS cluster (Fargate only), with Container Insights as the config says.

Container Insights publishes `ECS/ContainerInsights` metrics (running vs desired task counts)
that the restarts alarm reads; `infra/config/models.py` refuses to turn it off while that alert
is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.type_tokens import AWS_CLUSTER


@dataclass(frozen=True)
class ClusterArgs:
    cluster_name: str
    container_insights: bool


class Cluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_CLUSTER, name, None, opts)
        cluster = aws.ecs.Cluster(
            f"{name}-ecs",
            name=args.cluster_name,
            settings=[
                aws.ecs.ClusterSettingArgs(
                    name="containerInsights",
                    value="enabled" if args.container_insights else "disabled",
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = cluster.name
        self.arn = cluster.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
