"""A service runs a pinned registry image or, on dev, an image built from the repository; aws
stacks run only images pinned by digest, the bytes the pipeline verified."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.errors import ConfigError
from infra.config.layering import resolve_stack_config

DIGEST = "sha256:" + "ab" * 32
AWS = {
    "aws": {
        "region": "eu-west-1",
        "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/abc",
        "public_hostnames": {"web": "shop.acme.example"},
    }
}


def resolve(stack: str, services: dict[str, Any]) -> Any:
    environment = stack if stack in ("dev", "staging", "prod") else "dev"
    extra = AWS if environment != "dev" else {}
    return resolve_stack_config(stack, {"environment": environment, **extra, "services": services})


def error_line(stack: str, services: dict[str, Any], key: str) -> str:
    with pytest.raises(ConfigError) as caught:
        resolve(stack, services)
    lines = [ln for ln in str(caught.value).splitlines() if f"platform:{key}:" in ln]
    assert lines, str(caught.value)
    return lines[0]


def test_dev_builds_the_product_from_the_repository() -> None:
    cfg = resolve("dev", {})
    assert cfg.services["web"].image is None
    build = cfg.services["web"].build
    assert build is not None
    assert (build.context, build.target) == ("app", "web")


def test_a_service_needs_an_image_or_a_build() -> None:
    line = error_line("dev", {"web": {"build": None}}, "services.web.image")
    assert "neither an image nor a build" in line


@pytest.mark.parametrize("context", ["../elsewhere", "app/../..", "/abs/app", "has space"])
def test_a_build_context_stays_inside_the_project(context: str) -> None:
    line = error_line("dev", {"web": {"build": {"context": context}}}, "services.web.build.context")
    assert "climbs out" in line or "does not match" in line


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize(
    ("image", "shown"),
    [
        ("ghcr.io/acme/shop-web:1.4.2", "'ghcr.io/acme/shop-web:1.4.2'"),
        (None, "no image (aws stacks never build)"),
    ],
)
def test_aws_stacks_run_images_pinned_by_digest(stack: str, image: str | None, shown: str) -> None:
    line = error_line(stack, {"web": {"image": image}}, "services.web.image")
    assert shown in line
    assert "repo@sha256:<64 hex>" in line


def test_a_digest_satisfies_aws_and_wins_over_the_build() -> None:
    image = f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/platform-prod-web@{DIGEST}"
    worker = f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/platform-prod-worker@{DIGEST}"
    cfg = resolve("prod", {"web": {"image": image}, "worker": {"image": worker}})
    assert cfg.services["web"].image == image


@pytest.mark.parametrize(
    ("worker", "key", "message"),
    [
        ({"port": 3001, "metrics_port": 9464}, "metrics_port", "serves /metrics on it"),
        ({"env": {"METRICS_PORT": "9464"}}, "env.METRICS_PORT", "set that instead"),
        ({"metrics_port": 80}, "metrics_port", "greater than or equal to 1024"),
    ],
)
def test_a_metrics_port_is_only_for_a_portless_service(
    worker: dict[str, Any], key: str, message: str
) -> None:
    extra = {"readiness": {"path": "/ready"}} if "port" in worker else {}
    line = error_line("dev", {"worker": {**worker, **extra}}, f"services.worker.{key}")
    assert message in line
