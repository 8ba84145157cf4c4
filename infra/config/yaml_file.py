"""Reading a YAML file a person wrote (a stack file, Pulumi.yaml) without accepting what they
did not mean or what attacks the reader.

PyYAML's `safe_load` takes the last of two duplicate keys, turns a bare `off:` key into the
boolean False, and builds an alias bomb's shared references happily (the blow-up comes later,
when anything walks the result). Stack files are committed and read by `plan` on every pull
request, forks included, so each of these is refused here with the file and line named.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 1_000_000
"""A stack file is a few kilobytes; a megabyte is not one."""
MAX_NODES = 100_000
"""Values after expanding every alias: far above any real stack file, far below a bomb."""
MAX_DEPTH = 64

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlFileError(ValueError):
    """The file cannot be read as the YAML its author meant; str() names the file and why."""


def read_yaml_file(path: Path) -> Any:
    """The document in `path`, or YamlFileError. A missing file raises FileNotFoundError."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise YamlFileError(
                f"{path.name} is {size:,} bytes; a YAML file here is at most {MAX_BYTES:,}"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise YamlFileError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    return parse_yaml(decode_text(raw, path.name), path.name)


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), or YamlFileError naming the first bad byte."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise YamlFileError(f"{name} is UTF-16 text; save it as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise YamlFileError(f"{name} is binary (a NUL byte at offset {nul}), not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlFileError(
            f"{name} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None


def parse_yaml(text: str, name: str) -> Any:
    """One YAML document: duplicate keys, boolean/null keys, bombs and deep nesting refused."""
    try:
        _check_depth(text, name)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        _check_size(node, name)
        return _StrictLoader(text, name).construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlFileError(f"{name} is not valid YAML: {_describe(exc)}") from None


def _describe(exc: yaml.YAMLError) -> str:
    """PyYAML's problem and line, without its multi-line excerpt of the file."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{exc.problem}{where}"
    return " ".join(str(exc).split())


def _check_depth(text: str, name: str) -> None:
    """Nesting, from the parser's events: it is iterative, where composing recurses per level."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise YamlFileError(f"{name} nests deeper than {MAX_DEPTH} levels (line {line})")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_size(root: Node, name: str) -> None:
    """Count values as if every alias were expanded (memoised, so a bomb costs its own size)."""
    expanded: dict[int, int] = {}

    def size(node: Node) -> int:
        known = expanded.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        if total > MAX_NODES:
            raise YamlFileError(
                f"{name} expands to more than {MAX_NODES:,} values through its aliases "
                f"(line {_line(node)}); a stack file has no use for that many"
            )
        expanded[id(node)] = total
        return total

    size(root)


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keys YAML would turn into booleans or null."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.source_name = name

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # `<<: *base` merges; keys written here override the base's
                self._refuse_surprising_key(key_node)
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, list | dict):
                    continue  # SafeLoader reports an unhashable key as it always has
                if key in seen:
                    raise YamlFileError(
                        f"{self.source_name}: duplicate key '{key_node.value}' at line "
                        f"{_line(key_node)} (first at line {seen[key]}); YAML would silently "
                        "keep only the last"
                    )
                seen[key] = _line(key_node)
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]

    def _refuse_surprising_key(self, key_node: Node) -> None:
        if not isinstance(key_node, ScalarNode) or key_node.style is not None:
            return
        if key_node.tag not in (_BOOL_TAG, _NULL_TAG):
            return
        meaning = "null"
        if key_node.tag == _BOOL_TAG:
            meaning = f"the boolean {str(self.construct_yaml_bool(key_node)).lower()}"
        raise YamlFileError(
            f"{self.source_name}: key '{key_node.value}' at line {_line(key_node)} is read by "
            f"YAML as {meaning}, not as the text written; quote it: '{key_node.value}':"
        )
