"""Names that say they hold a secret: one rule for env vars in the config, for property names in
the tools' reports, and for what parity may print. Imports nothing, so every tool can use it."""

from __future__ import annotations

import re

SECRET_SUBSTRINGS = re.compile(
    r"password|passwd|passphrase|secret|token|api_?key|private_?key|access_?key|credential"
    r"|connection_?string",
    re.IGNORECASE,
)
"""Wherever these sit in a name (DBPASSWORD, STRIPE_API_KEY, clientSecret)."""
SECRET_WORDS = frozenset(
    {"pass", "pwd", "pw", "key", "keys", "auth", "cred", "creds", "dsn", "salt", "pepper", "otp"}
)
"""Short words that hold a secret when they stand alone (DB_PASS, SIGNING_KEY, stripeKey,
SENTRY_DSN); as substrings they would catch PASSENGER or MONKEY."""
NAMING_WORDS = frozenset({"id", "ids", "arn", "name", "pair", "alias", "type", "spec", "usage"})
"""After `key`, these make the name an identifier of a key (kmsKeyId, keyName), not a key."""
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def name_words(name: str) -> list[str]:
    """`DB_PASS` -> [db, pass]; `stripeKey` -> [stripe, key]; `APIKey` -> [api, key]."""
    return [word.lower() for word in _WORD.findall(name)]


def looks_secret(name: str) -> bool:
    """A name that says it carries a secret; a public key does not."""
    if SECRET_SUBSTRINGS.search(name):
        return True
    words = name_words(name)
    if "public" in words:
        return False
    following = [*words[1:], ""] if words else []
    return any(
        word in SECRET_WORDS and not (word.startswith("key") and after in NAMING_WORDS)
        for word, after in zip(words, following, strict=True)
    )
