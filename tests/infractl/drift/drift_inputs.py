"""Values the drift tests share: the fake secret planted in the fixtures and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

SECRET = "sk_live_TESTSECRET123"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
