"""One rule for names that say they hold a secret, used by the config, report and parity."""

from __future__ import annotations

import pytest

from infra.config.secret_names import looks_secret, name_words


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True), ("DB_PASS", True), ("SIGNING_KEY", True), ("SENTRY_DSN", True),
        ("stripeKey", True), ("APIKey", True), ("clientSecret", True), ("authToken", True),
        ("PASSENGER_LIMIT", False), ("MONKEY_MODE", False), ("KEYBOARD_LAYOUT", False),
        ("PUBLIC_KEY", False), ("publicKey", False), ("kmsKeyId", False), ("keyName", False),
        ("author", False), ("LOG_LEVEL", False),
        # Found in review: a passphrase, and "public" beside a real secret word.
        ("GPG_PASSPHRASE", True), ("PUBLIC_KEY_PASSWORD", True),
        # Found by the report fuzz: a name with no word in it crashed the rule.
        ("", False), ("-", False), ("__", False),
    ],
)  # fmt: skip
def test_looks_secret(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_words_split_snake_camel_and_acronyms() -> None:
    assert name_words("DB_PASS") == ["db", "pass"]
    assert name_words("stripeKey") == ["stripe", "key"]
    assert name_words("APIKey") == ["api", "key"]
