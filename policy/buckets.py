"""Rule 9 of the guardrails: no S3 bucket is public or unencrypted.

A bucket's protections are resources of their own (the SDK's current shape): a public access
block, a server-side encryption configuration and, when ACLs are in use, an ACL; the deprecated
inline `acl`, `grants` and encryption blocks on the bucket count too. So the rule judges a bucket
together with its `parts`, the `(type, props)` of the resources that configure it, which the pack
finds through the stack's dependency graph (`policy.pack.bucket_parts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policy.rules import Props, _items, _mapping, _truthy

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION_CONFIGURATIONS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
PARTS = (PUBLIC_ACCESS_BLOCK, *ENCRYPTION_CONFIGURATIONS, *ACLS)
"""Resource types that configure a bucket through their `bucket` input."""
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEES = frozenset(
    {
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    }
)
SSE_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})


def _label(props: Props) -> str:
    for key in ("bucket", "bucketPrefix"):
        value = props.get(key)
        if isinstance(value, str) and value:
            return f" '{value}'"
    return ""


def _of_type(parts: Iterable[tuple[str, Props]], types: Iterable[str]) -> list[Props]:
    wanted = set(types)
    return [props for resource_type, props in parts if resource_type in wanted]


def _block_gaps(parts: Sequence[tuple[str, Props]]) -> list[str]:
    """The public access block flags not on (all four when there is no block)."""
    blocks = _of_type(parts, [PUBLIC_ACCESS_BLOCK])
    gaps = [[flag for flag in BLOCK_FLAGS if not _truthy(block.get(flag))] for block in blocks]
    return min(gaps, key=len) if gaps else list(BLOCK_FLAGS)


def _public_acls(props: Props, parts: Sequence[tuple[str, Props]]) -> list[str]:
    """Every public canned ACL or grant, on the bucket itself or in an ACL resource."""
    found: list[str] = []
    for acl in [props, *_of_type(parts, ACLS)]:
        canned = acl.get("acl")
        if isinstance(canned, str) and canned in PUBLIC_CANNED_ACLS:
            found.append(f"acl {canned}")
        grants = [
            *_items(acl.get("grants")),
            *_items(_mapping(acl.get("accessControlPolicy")).get("grants")),
        ]
        for grant in map(_mapping, grants):
            grantee = _mapping(grant.get("grantee")) or grant
            if grantee.get("uri") in PUBLIC_GRANTEES:
                found.append(f"a grant to {str(grantee['uri']).rsplit('/', 1)[-1]}")
    return found


def _encryption_rules(props: Props, parts: Sequence[tuple[str, Props]]) -> list[Props]:
    """The default-encryption rules: from configuration resources, or inline on the bucket
    (`serverSideEncryptionConfiguration.rule` on Bucket, `...Configurations[].rules` on
    BucketV2)."""
    rules = [
        rule
        for part in _of_type(parts, ENCRYPTION_CONFIGURATIONS)
        for rule in _items(part.get("rules"))
    ]
    inline = _mapping(props.get("serverSideEncryptionConfiguration"))
    rules += [inline.get("rule"), *_items(inline.get("rules"))]
    for configuration in _items(props.get("serverSideEncryptionConfigurations")):
        rules += _items(_mapping(configuration).get("rules"))
    return [_mapping(rule) for rule in rules if rule]


def _encrypted(props: Props, parts: Sequence[tuple[str, Props]]) -> bool:
    return any(
        _mapping(rule.get("applyServerSideEncryptionByDefault")).get("sseAlgorithm")
        in SSE_ALGORITHMS
        for rule in _encryption_rules(props, parts)
    )


def bucket_private_and_encrypted(
    resource_type: str, props: Props, *, parts: Sequence[tuple[str, Props]] = ()
) -> list[str]:
    """A bucket blocks every kind of public access, grants nothing to everyone by ACL and has
    default encryption configured. S3 encrypts new objects by itself since 2023, but only a
    declared configuration says which key, shows in a preview and is put back by `pulumi up`."""
    if resource_type not in BUCKETS:
        return []
    what = f"S3 bucket{_label(props)}"
    messages = []
    gaps = _block_gaps(parts)
    if gaps:
        messages.append(
            f"{what} does not block public access ({', '.join(gaps)} not true); attach a "
            f"BucketPublicAccessBlock with {', '.join(BLOCK_FLAGS)} all true"
        )
    public = _public_acls(props, parts)
    if public:
        messages.append(
            f"{what} is public by ACL ({', '.join(public)}); keep ACLs private, or off with "
            "BucketOwnershipControls objectOwnership: BucketOwnerEnforced"
        )
    if not _encrypted(props, parts):
        messages.append(
            f"{what} has no default encryption; attach a "
            "BucketServerSideEncryptionConfiguration rule with sseAlgorithm AES256 or aws:kms"
        )
    return messages
