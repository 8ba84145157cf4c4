"""Pulling an image for a container, the one way every docker component does it."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker


def pulled_image(resource_name: str, image: str, parent: pulumi.Resource) -> docker.RemoteImage:
    """The image, pulled once and kept locally, so `pulumi destroy` does not delete an image the
    developer's other work may use."""
    return docker.RemoteImage(
        resource_name,
        name=image,
        keep_locally=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
