"""Resource types whose replacement or deletion loses data or breaks what depends on them.

A type list, not a guess from properties: a PreviewDigest cannot tell a Docker container running
PostgreSQL from one running nginx, but it always names the type. Patterns are fnmatch globs over
type tokens (`<package>:<module>:<Type>`).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cache

from components.type_tokens import AWS_DATABASE, DOCKER_DATABASE

STATEFUL_TYPES: tuple[str, ...] = (
    # Databases and their snapshots
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:rds/snapshot:Snapshot",
    "aws:rds/clusterSnapshot:ClusterSnapshot",
    "aws:rds/globalCluster:GlobalCluster",
    "aws:dynamodb/table:Table",
    "aws:dynamodb/globalTable:GlobalTable",
    "aws:elasticache/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:docdb/cluster:Cluster",
    "aws:redshift/cluster:Cluster",
    "aws:opensearch/domain:Domain",
    # Storage
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:s3/bucketObject:BucketObject",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/directoryBucket:DirectoryBucket",
    "aws:efs/fileSystem:FileSystem",
    "aws:ebs/volume:Volume",
    "aws:ecr/repository:Repository",
    "aws:sqs/queue:Queue",
    "aws:backup/vault:Vault",
    "docker:index/volume:Volume",
    # Keys and secrets: losing them makes other data unreadable or logs everyone out
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "random:index/randomPassword:RandomPassword",
    # Logs and the public entry point (its DNS name changes on replacement)
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    # PostgreSQL objects inside the server
    "postgresql:index/database:Database",
    "postgresql:index/schema:Schema",
    "postgresql:index/role:Role",
    "postgresql:index/grant:Grant",
    "postgresql:index/defaultPrivileges:DefaultPrivileges",
)


@cache
def is_stateful(resource_type: str) -> bool:
    return any(fnmatchcase(resource_type, pattern) for pattern in STATEFUL_TYPES)


# Components that hold a database: replacing or deleting any of their resources (the server's
# container on docker, its parameter group on AWS) restarts or rebuilds the database.
STATEFUL_COMPONENTS: tuple[str, ...] = (
    DOCKER_DATABASE,
    AWS_DATABASE,
)


def stateful_component(parent_types: tuple[str, ...]) -> str | None:
    """The first stateful component among a resource's ancestors, or None."""
    return next((t for t in parent_types if t in STATEFUL_COMPONENTS), None)
