"""Getting a container's image, the one way every docker component does it: pulled from a
registry, or built on the local engine from a directory of the repository."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker


@dataclass(frozen=True)
class ImageBuildSpec:
    """An image built on the local engine, never pushed."""

    name: str
    """The local name it is tagged with; it carries the content digest, so new sources mean a
    new image and the containers on it are replaced."""
    context: str
    """As the docker provider resolves it: relative to the program's directory (its working
    directory under `pulumi up`), so plans do not depend on where the repository is checked out."""
    content_digest: str
    """sha256 of the files the build sends (the context less `.dockerignore`)."""
    dockerfile: str = "Dockerfile"
    target: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    network_mode: str | None = None
    """The build's network; None is the engine's default (an engine without a bridge, as in this
    repository's e2e tier, builds with "host")."""


ImageSource = str | ImageBuildSpec
"""A pinned registry image, or a build."""


def pulled_image(resource_name: str, image: str, parent: pulumi.Resource) -> docker.RemoteImage:
    """The image, pulled once and kept locally, so `pulumi destroy` does not delete an image the
    developer's other work may use."""
    return docker.RemoteImage(
        resource_name,
        name=image,
        keep_locally=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def built_image(
    resource_name: str, spec: ImageBuildSpec, parent: pulumi.Resource
) -> docker.RemoteImage:
    """The image, built by the engine from the repository (no registry, no push). A change of
    sources changes `name` and the trigger, so the image is rebuilt and replaced."""
    return docker.RemoteImage(
        resource_name,
        name=spec.name,
        build=docker.RemoteImageBuildArgs(
            context=spec.context,
            dockerfile=spec.dockerfile,
            target=spec.target,
            build_args=dict(spec.args) or None,
            network_mode=spec.network_mode,
        ),
        triggers={"content": spec.content_digest},
        keep_locally=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def service_image(
    resource_name: str, source: ImageSource, parent: pulumi.Resource
) -> docker.RemoteImage:
    if isinstance(source, ImageBuildSpec):
        return built_image(resource_name, source, parent)
    return pulled_image(resource_name, source, parent)
