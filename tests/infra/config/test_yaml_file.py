"""Stack files a person wrote: what YAML would silently get wrong, attacks on the reader, bytes
that are not text. Each is refused naming the file (and the line where there is one)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import yaml

from infra.config.loader import StackFileError, split_platform_config, stack_file_runtime_config
from infra.config.yaml_file import MAX_BYTES, YamlFileError, parse_yaml, read_yaml_file
from tests.paths import REPO_ROOT

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize("path", sorted(REPO_ROOT.glob("Pulumi*.yaml")), ids=lambda p: p.name)
def test_our_own_files_read_exactly_as_safe_load_reads_them(path: Path) -> None:
    assert read_yaml_file(path) == yaml.safe_load(path.read_text())


def test_a_duplicate_key_names_both_lines() -> None:
    text = (
        "config:\n  platform:services:\n    web:\n      replicas: 1\n    web:\n      replicas: 2\n"
    )
    with pytest.raises(YamlFileError) as caught:
        parse_yaml(text, "Pulumi.dev.yaml")
    assert str(caught.value) == (
        "Pulumi.dev.yaml: duplicate key 'web' at line 5 (first at line 3); "
        "YAML would silently keep only the last"
    )


@pytest.mark.parametrize(
    ("key", "meaning"),
    [("off", "the boolean false"), ("yes", "the boolean true"), ("null", "null"), ("~", "null")],
)
def test_a_key_yaml_turns_into_a_boolean_or_null_is_named_as_written(
    key: str, meaning: str
) -> None:
    with pytest.raises(YamlFileError) as caught:
        parse_yaml(f"config:\n  {key}: 1\n", "Pulumi.dev.yaml")
    assert f"key '{key}' at line 2 is read by YAML as {meaning}" in str(caught.value)
    assert parse_yaml(f"config:\n  '{key}': 1\n", "x") == {"config": {key: 1}}


def test_merge_keys_still_merge_and_override() -> None:
    text = "base: &base {a: 1, b: 1}\nx:\n  <<: *base\n  b: 2\n"
    assert parse_yaml(text, "x")["x"] == {"a": 1, "b": 2}


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    assert len(BOMB) < 1100
    with pytest.raises(YamlFileError, match="expands to more than 100,000 values"):
        parse_yaml(BOMB, "Pulumi.dev.yaml")


@pytest.mark.parametrize(
    "text", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * (i + 1) + "b:\n" for i in range(100))]
)
def test_deep_nesting_is_refused_without_a_recursion_error(text: str) -> None:
    with pytest.raises(YamlFileError, match="nests deeper than 64 levels"):
        parse_yaml(text, "Pulumi.dev.yaml")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is binary"),
        ("config:\n  platform:environment: d\xe9v\n".encode("latin-1"), "is not UTF-8 text (byte"),
        (codecs.BOM_UTF16_LE + "config: {}\n".encode("utf-16-le"), "is UTF-16 text"),
        (b"config: [\n", "is not valid YAML"),
        (b"- just\n- a list\n", "must be a YAML mapping"),
        (b"config: 3\n", "`config:` must be a mapping"),
    ],
)
def test_a_stack_file_that_is_not_a_stack_file_is_named(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(content)
    with pytest.raises(StackFileError) as caught:
        stack_file_runtime_config(path)
    assert "Pulumi.dev.yaml" in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(codecs.BOM_UTF8 + b"config:\n  platform:environment: dev\n")
    assert stack_file_runtime_config(path) == ({"platform:environment": "dev"}, [])


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"# padding\n" * (MAX_BYTES // 10 + 1))
    with pytest.raises(YamlFileError, match=r"is 1,000,010 bytes; a YAML file here is at most"):
        read_yaml_file(path)


def test_plaintext_secret_values_in_a_stack_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(
        "config:\n  platform:secretValues:\n    email_api_key:\n      secure: v1:abc\n"
        "    payments_api_key: sk_live_PLAINTEXT\n"
    )
    with pytest.raises(StackFileError) as caught:
        stack_file_runtime_config(path)
    message = str(caught.value)
    assert "platform:secretValues.payments_api_key is in plain text" in message
    assert (
        "pulumi config set --stack staging --secret --path "
        "'platform:secretValues.payments_api_key' <value>" in message
    )
    assert "sk_live_PLAINTEXT" not in message


def test_secret_values_the_cli_does_not_mark_secret_are_refused_by_the_program() -> None:
    """Under `pulumi up` the program sees only whether the whole key is secret: a file whose
    secretValues are all plain text reaches it unmarked."""
    config = {"platform:secretValues": '{"payments_api_key": "sk_live_PLAINTEXT"}'}
    with pytest.raises(StackFileError) as caught:
        split_platform_config("prod", config, secret_keys=())
    assert "platform:secretValues is set in plain text" in str(caught.value)
    assert "sk_live_PLAINTEXT" not in str(caught.value)
    marked = split_platform_config("prod", config, secret_keys=["platform:secretValues"])
    assert marked.secret_values == {"payments_api_key": "sk_live_PLAINTEXT"}
