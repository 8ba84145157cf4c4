"""Fixtures of the aws target's tests: staging and prod from the real stack files, and a staging
variant that exercises the optional settings; each is evaluated once (tests/conftest.py caches)."""

from __future__ import annotations

import json

import pytest

from infra.config.loader import stack_file_runtime_config
from tests.infra.targets.aws_stack import AWS_STACKS, ROOT, Evaluated, evaluate


@pytest.fixture(scope="module")
def evaluated() -> dict[str, Evaluated]:
    return {stack: evaluate(stack) for stack in AWS_STACKS}


@pytest.fixture(params=AWS_STACKS)
def stack(request: pytest.FixtureRequest, evaluated: dict[str, Evaluated]) -> Evaluated:
    return evaluated[request.param]


@pytest.fixture(scope="module")
def variant() -> Evaluated:
    """staging through an SSM tunnel, with the worker at a fixed count (no autoscaling) and its
    DNS managed outside the stack (no Route 53 zone)."""
    runtime, _ = stack_file_runtime_config(ROOT / "Pulumi.staging.yaml")
    aws = {**json.loads(runtime["platform:aws"]), "route53_zone_id": None}
    services = json.loads(runtime["platform:services"])  # the stack file's images stay
    images = {name: {"image": service["image"]} for name, service in services.items()}
    return evaluate(
        "staging",
        {
            "platform:aws": json.dumps(aws),
            "platform:database": json.dumps(
                {"admin_endpoint": {"host": "127.0.0.1", "port": 15432}}
            ),
            "platform:services": json.dumps(
                {
                    "web": {
                        **images["web"],
                        "replicas": 2,
                        "autoscaling": {"min_replicas": 2, "max_replicas": 4},
                    },
                    "worker": {**images["worker"], "replicas": 1},
                }
            ),
        },
    )
