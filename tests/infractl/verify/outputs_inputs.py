"""Stack outputs the verify tests share, as `pulumi stack output --json --show-secrets` prints
them, with a password that needs URL encoding."""

from __future__ import annotations

from typing import Any

PASSWORD = "s3cr3t/Pa@ss-unit"
ENCODED = "s3cr3t%2FPa%40ss-unit"
URL = f"postgresql://shop_app:{ENCODED}@127.0.0.1:15432/shop"


def docker_outputs(**overrides: Any) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        "stack": "dev",
        "target": "docker",
        "serviceUrls": {"web": "http://127.0.0.1:3000"},
        "readinessPaths": {"web": "/api/ready"},
        "databaseHost": "127.0.0.1",
        "databasePort": 15432,
        "databaseName": "shop",
        "databaseUrl": URL,
        "prometheusUrl": "http://127.0.0.1:19090",
        "alertRuleGroups": ["platform-availability"],
    }
    outputs.update(overrides)
    return outputs


def aws_outputs() -> dict[str, Any]:
    outputs = docker_outputs(
        stack="prod",
        target="aws",
        serviceUrls={"web": "https://shop.acme.example"},
        databaseHost="shop-prod.abc.eu-west-1.rds.amazonaws.com",
        databasePort=5432,
        databaseUrl=f"postgresql://shop_app:{ENCODED}@shop-prod.abc.eu-west-1.rds.amazonaws.com:5432/shop?sslmode=require",
    )
    del outputs["prometheusUrl"], outputs["alertRuleGroups"]
    return outputs
