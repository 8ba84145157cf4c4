"""The step op vocabulary of the Pulumi engine, and what each op means for the cloud.

Separate from the digest parser because every reader of a preview shares it: a step's `kind`,
the report and drift all go through `change_kind`, so an op a newer CLI adds is classified once
(as OTHER) instead of being read three ways.
"""

from __future__ import annotations

from enum import StrEnum


class Op(StrEnum):
    """Step ops from `pkg/resource/deploy/step.go`."""

    SAME = "same"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"
    CREATE_REPLACEMENT = "create-replacement"
    DELETE_REPLACED = "delete-replaced"
    READ = "read"
    READ_REPLACEMENT = "read-replacement"
    REFRESH = "refresh"
    DISCARD = "discard"
    DISCARD_REPLACED = "discard-replaced"
    REMOVE_PENDING_REPLACE = "remove-pending-replace"
    IMPORT = "import"
    IMPORT_REPLACEMENT = "import-replacement"
    DIFF = "diff"
    EXTEND_PARAMETERIZE = "extend-parameterize"


class ChangeKind(StrEnum):
    """What a step means for the cloud, folding the replacement-step family into one kind."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NONE = "none"
    OTHER = "other"


# Replacement steps that create or delete a managed resource. `read-replacement` and
# `discard-replaced` only swap a *read* (external) resource, so they destroy nothing.
REPLACE_OPS = frozenset(
    {Op.REPLACE, Op.CREATE_REPLACEMENT, Op.DELETE_REPLACED, Op.IMPORT_REPLACEMENT}
)
NO_CHANGE_OPS = frozenset(
    {
        Op.SAME,
        Op.READ,
        Op.READ_REPLACEMENT,
        Op.REFRESH,
        Op.DISCARD,
        Op.DISCARD_REPLACED,
        Op.REMOVE_PENDING_REPLACE,
        Op.DIFF,
        Op.EXTEND_PARAMETERIZE,
    }
)


def change_kind(op: str) -> ChangeKind:
    """Fold a raw op string into a ChangeKind; ops this version does not know become OTHER."""
    if op in REPLACE_OPS:
        return ChangeKind.REPLACE
    if op in NO_CHANGE_OPS:
        return ChangeKind.NONE
    if op in (Op.CREATE, Op.IMPORT):
        return ChangeKind.CREATE
    if op == Op.UPDATE:
        return ChangeKind.UPDATE
    if op == Op.DELETE:
        return ChangeKind.DELETE
    return ChangeKind.OTHER
