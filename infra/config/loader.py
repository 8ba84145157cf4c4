"""Reading a stack's `platform:` config, from the Pulumi runtime or from a stack file.

The program always reads through the Pulumi runtime (`read_platform_config`), under the CLI and
under mocks alike. Offline tools (plan, parity, tests) first load `Pulumi.<stack>.yaml` into the
runtime with `stack_file_runtime_config`, so the same read path runs in both places.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi.runtime

from infra.config.errors import ConfigError, Problem
from infra.config.project import PROJECT_NAME
from infra.config.yaml_file import YamlFileError, read_yaml_file

NAMESPACE = PROJECT_NAME
SECRET_VALUES_KEY = "secretValues"
SECRET_VALUES_CONFIG_KEY = f"{NAMESPACE}:{SECRET_VALUES_KEY}"
ENCRYPTED_PLACEHOLDER = "[encrypted in stack file: not decrypted offline]"


@dataclass(frozen=True)
class PlatformConfig:
    """The `platform:` keys of one stack: plain settings, and secret values kept apart."""

    stack: str
    values: Mapping[str, Any]
    secret_values: Mapping[str, str]


class StackFileError(Exception):
    pass


def _parse(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; scalars stay text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def split_platform_config(
    stack: str, config: Mapping[str, Any], secret_keys: Collection[str] = ()
) -> PlatformConfig:
    """Keep `platform:` keys, parse them, and set the secret values apart from everything else.

    Only `platform:secretValues` may hold secrets: a value set with `--secret` under any other key
    would flow into plain settings (a container's environment, say) and lose its secrecy.
    """
    values: dict[str, Any] = {}
    secret_values: dict[str, str] = {}
    prefix = f"{NAMESPACE}:"
    misplaced = sorted(
        key[len(prefix) :]
        for key in secret_keys
        if key.startswith(prefix) and key != f"{prefix}{SECRET_VALUES_KEY}"
    )
    if misplaced:
        raise ConfigError(
            stack,
            [
                Problem(
                    name,
                    "holds a secret, but only platform:secretValues keeps values secret; "
                    "declare the secret under `secrets`, map it in the service's `secrets`, "
                    "and set it with "
                    f"`pulumi config set --secret --path 'platform:{SECRET_VALUES_KEY}.<name>'`",
                )
                for name in misplaced
            ],
        )
    for key, raw in config.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        value = _parse(raw)
        if name == SECRET_VALUES_KEY:
            if key not in secret_keys:
                raise StackFileError(
                    f"stack '{stack}': platform:{SECRET_VALUES_KEY} is set in plain text; set "
                    "each value encrypted with `pulumi config set --stack "
                    f"{stack} --secret --path 'platform:{SECRET_VALUES_KEY}.<name>' <value>`"
                )
            if not isinstance(value, Mapping):
                raise StackFileError(
                    f"stack '{stack}': platform:{SECRET_VALUES_KEY} must be a mapping of secret "
                    "name to value, set with "
                    f"`pulumi config set --secret --path 'platform:{SECRET_VALUES_KEY}.<name>'`"
                )
            secret_values = {str(k): str(v) for k, v in value.items()}
        else:
            values[name] = value
    return PlatformConfig(stack=stack, values=values, secret_values=secret_values)


def read_platform_config(stack: str) -> PlatformConfig:
    """The running program's config: what the CLI passed in, or what a test or plan set."""
    config: dict[str, Any] = dict(pulumi.runtime.get_config_env())
    config.update(pulumi.runtime.config.CONFIG.get())
    # The CLI names secret keys in PULUMI_CONFIG_SECRET_KEYS; tests and plan set them in-process.
    secret_keys = set(pulumi.runtime.get_config_secret_keys_env())
    secret_keys.update(key for key in config if pulumi.runtime.is_config_secret(key))
    return split_platform_config(stack, config, secret_keys)


def stack_file_path(root: Path, stack: str) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def _mask_encrypted(value: Any) -> tuple[Any, bool]:
    """Replace `{secure: ...}` ciphertexts (which need the passphrase) by a marked placeholder."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return ENCRYPTED_PLACEHOLDER, True
        masked: dict[str, Any] = {}
        found = False
        for key, item in value.items():
            masked[str(key)], inner = _mask_encrypted(item)
            found = found or inner
        return masked, found
    if isinstance(value, list):
        items = [_mask_encrypted(item) for item in value]
        return [item for item, _ in items], any(inner for _, inner in items)
    return value, False


def stack_file_runtime_config(path: Path) -> tuple[dict[str, str], list[str]]:
    """A stack file's config as the CLI would pass it to the program, with its secret keys."""
    try:
        document = read_yaml_file(path) or {}
    except FileNotFoundError:
        raise StackFileError(f"no stack file {path.name} in {path.parent}") from None
    except YamlFileError as exc:
        raise StackFileError(str(exc)) from None
    if not isinstance(document, Mapping):
        raise StackFileError(f"{path.name} must be a YAML mapping with a `config:` key")
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        raise StackFileError(f"{path.name}: `config:` must be a mapping of key to value")
    runtime: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        if key == SECRET_VALUES_CONFIG_KEY:
            _refuse_plaintext_secrets(path, value)
        masked, is_secret = _mask_encrypted(value)
        if is_secret:
            secret_keys.append(str(key))
        runtime[str(key)] = (
            json.dumps(masked) if isinstance(masked, Mapping | list) else _scalar(masked)
        )
    return runtime, secret_keys


def _refuse_plaintext_secrets(path: Path, value: Any) -> None:
    """A committed stack file holds secret values only as ciphertext (`secure:`)."""
    stack = path.name[len("Pulumi.") : -len(".yaml")]
    entries = value.items() if isinstance(value, Mapping) else []
    for name, entry in entries:
        if not (isinstance(entry, Mapping) and set(entry) == {"secure"}):
            raise StackFileError(
                f"{path.name}: platform:{SECRET_VALUES_KEY}.{name} is in plain text in a file "
                "that gets committed; remove it and set it encrypted with `pulumi config set "
                f"--stack {stack} --secret --path 'platform:{SECRET_VALUES_KEY}.{name}' <value>`"
            )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
