"""The product, declared once: its services, secrets, database and alert choices.

Its code is `app/` (the reference workload): dev builds each service's image from there; staging
and prod run the image the deploy workflow built once and pinned by digest in their stack files.

Every stack starts from this; its tier's defaults (`infra/config/layering.py`) and its own
`Pulumi.<stack>.yaml` change only what differs. A key here must be a key `StackConfig` accepts.
"""

from __future__ import annotations

from typing import Any

MIGRATE = ["npx", "prisma", "migrate", "deploy"]

PRODUCT: dict[str, Any] = {
    "services": {
        "web": {
            "build": {"context": "app", "target": "web"},
            "port": 3000,
            "public": True,
            "replicas": 1,
            "cpu": 256,
            "memory_mb": 512,
            "env": {"NODE_ENV": "production", "LOG_LEVEL": "info", "PORT": "3000"},
            "secrets": {
                "PAYMENTS_API_KEY": "payments_api_key",
                "EMAIL_API_KEY": "email_api_key",
                "SESSION_SECRET": "session_secret",
            },
            "readiness": {"path": "/api/ready", "interval_seconds": 10, "timeout_seconds": 5},
            "migration": {"command": MIGRATE},
            "health_check_grace_seconds": 60,
        },
        "worker": {
            "build": {"context": "app", "target": "worker"},
            "command": ["node", "src/worker.js"],
            "metrics_port": 9464,
            "replicas": 1,
            "cpu": 256,
            "memory_mb": 512,
            "env": {"NODE_ENV": "production", "LOG_LEVEL": "info"},
            "secrets": {
                "PAYMENTS_API_KEY": "payments_api_key",
                "EMAIL_API_KEY": "email_api_key",
            },
            "liveness": {"command": ["node", "src/healthcheck.js"]},
        },
    },
    "secrets": {
        "payments_api_key": {
            "source": "config",
            "description": "payments provider API key (live in prod, test elsewhere)",
        },
        "email_api_key": {"source": "config", "description": "transactional e-mail API key"},
        "session_secret": {
            "source": "generated",
            "description": "signs session cookies",
            "length": 48,
        },
    },
    "database": {
        "name": "shop",
        "engine_version": "16",
        "roles": {"owner": "shop_owner", "app": "shop_app", "readonly": "shop_readonly"},
    },
    "flags": {
        "new_checkout": {
            "type": "bool",
            "default": False,
            "per_environment": True,
            "description": "the redesigned checkout flow, turned on stack by stack",
        },
        "orders_page_size": {
            "type": "int",
            "default": 20,
            "description": "orders a page of GET /api/orders lists",
        },
    },
    "alerts": {"runbook_base_url": "https://github.com/acme/platform/blob/main/docs/runbooks"},
}
