"""Run the program for one stack in-process under Pulumi's mock runtime, recording every
registration: no CLI, no engine, no credentials, no Docker. `plan`, `parity` and the tests all
evaluate stacks through here, from the real `Pulumi.<stack>.yaml`."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings

from infra.config.loader import SECRET_VALUES_CONFIG_KEY, stack_file_path, stack_file_runtime_config
from infra.config.models import StackConfig
from infra.config.project import PROJECT_NAME
from infra.config.secrets import OnMissing
from infra.program import run
from infra.sparse_sdk import enable as enable_sparse_sdk

MOCK_ACCOUNT = "123456789012"
ALB_ZONE_ID = "Z32O12XQLNTSW2"
"""The canonical hosted zone of ALBs in eu-west-1: the zone an alias record to an ALB names."""
MOCK_RDS_MASTER_SECRET = '{"username":"platform_admin","password":"mock-rds-master-password"}'


@dataclass(frozen=True)
class Registration:
    """One resource as the program registered it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: Mapping[str, Any]
    """Deserialized inputs; secret values stay wrapped (see `rpc.is_rpc_secret`)."""
    dependencies: tuple[str, ...]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    provider: str
    ignore_changes: tuple[str, ...] = ()

    @property
    def parent_type(self) -> str:
        return self.parent.split("::")[2].split("$")[-1] if self.parent else ""


@dataclass(frozen=True)
class StackRun:
    stack: str
    config: StackConfig
    resources: list[Registration]
    outputs: Mapping[str, tuple[Any, bool]]
    """Output name -> (value, is_secret)."""
    placeholders: tuple[str, ...] = ()

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registration:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(f"no resource named {name!r}")


def in_tree_order(registrations: Sequence[Registration]) -> list[Registration]:
    """Parents before children, siblings by type and name: the same order on every run, where
    registration order depends on which worker thread the SDK ran each resource on."""
    children: dict[str, list[Registration]] = {}
    for registration in registrations:
        children.setdefault(registration.parent, []).append(registration)
    known = {registration.urn for registration in registrations}
    ordered: list[Registration] = []
    stack = sorted(
        (r for r in registrations if r.parent not in known),
        key=lambda r: (r.type, r.name, r.urn),
        reverse=True,
    )
    while stack:
        registration = stack.pop()
        ordered.append(registration)
        stack += sorted(
            children.get(registration.urn, []), key=lambda r: (r.type, r.name, r.urn), reverse=True
        )
    return ordered


def _mock_id(name: str) -> str:
    return f"{name}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


class PlatformMocks(pulumi.runtime.Mocks):
    """Deterministic ids and the computed outputs the program reads back (camelCase, as the
    providers return them)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        resource_id = _mock_id(args.name)
        kind = args.typ
        if kind == "random:index/randomPassword:RandomPassword":
            state["result"] = f"mock-password-{args.name}"
        elif kind == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = f"sha256:{hashlib.sha256(args.inputs['name'].encode()).hexdigest()}"
        elif kind == "docker:index/container:Container" and args.inputs.get("attach"):
            state["exitCode"] = 0
        elif kind.startswith("aws:"):
            state.setdefault(
                "arn",
                f"arn:aws:{kind.split(':')[1].split('/')[0]}:eu-west-1:{MOCK_ACCOUNT}:{args.name}",
            )
            state = {**_aws_computed(kind, args.name), **state}
        if kind == "aws:ecr/repository:Repository":
            registry = f"{MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
            state["repositoryUrl"] = f"{registry}/{args.inputs.get('name', args.name)}"
        if kind == "aws:s3/bucket:Bucket":  # global names: no region or account in the ARN
            state["arn"] = f"arn:aws:s3:::{args.inputs.get('bucket', args.name)}"
        if kind == "aws:secretsmanager/secretVersion:SecretVersion":
            # AWS mints a new version id for every new value; so does this mock.
            value = rpc.unwrap_rpc_secret(args.inputs.get("secretString", ""))
            state["versionId"] = hashlib.sha256(f"{args.name}:{value}".encode()).hexdigest()[:32]
        return resource_id, state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
            return {"names": zones, "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)]}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": MOCK_ACCOUNT, "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/ci"}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "eu-west-1", "region": "eu-west-1"}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, []
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            secret_id = args.args.get("secretId", "")
            return {
                "arn": secret_id,
                "id": secret_id,
                "secretId": secret_id,
                "secretString": MOCK_RDS_MASTER_SECRET,
                "versionId": "mock-version",
                "versionStages": ["AWSCURRENT"],
            }, []
        return {}, []


def _aws_computed(kind: str, name: str) -> dict[str, Any]:
    """Outputs AWS computes that the program uses as inputs elsewhere."""
    if kind == "aws:rds/instance:Instance":
        host = f"{name}.abcdefgh.eu-west-1.rds.amazonaws.com"
        return {
            "address": host,
            "endpoint": f"{host}:5432",
            "port": 5432,
            "masterUserSecrets": [
                {"secretArn": f"arn:aws:secretsmanager:eu-west-1:{MOCK_ACCOUNT}:secret:rds!{name}"}
            ],
        }
    if kind == "aws:lb/loadBalancer:LoadBalancer":
        return {
            "dnsName": f"{name}-1234567890.eu-west-1.elb.amazonaws.com",
            "arnSuffix": f"app/{name}/abc",
            "zoneId": ALB_ZONE_ID,
        }
    if kind == "aws:lb/targetGroup:TargetGroup":
        return {"arnSuffix": f"targetgroup/{name}/def"}
    if kind == "aws:ecs/cluster:Cluster":
        return {"name": name}
    if kind in ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup"):
        return {"name": name}  # auto-named by the provider; the instance references it by name
    return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps what the engine would see: parent, dependencies, options."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    dependencies=tuple(request.dependencies),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    provider=request.provider,
                    ignore_changes=tuple(request.ignoreChanges),
                )
            )
        return response


@dataclass
class _Holder:
    outputs: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    config: StackConfig | None = None
    placeholders: tuple[str, ...] = ()


def run_stack(
    root: Path,
    stack: str,
    on_missing_secrets: OnMissing = "placeholder",
    config_overrides: Mapping[str, str] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> StackRun:
    """Evaluate `Pulumi.<stack>.yaml` from `root` under mocks and return what was registered.

    `config_overrides` replaces runtime config keys (JSON text for objects), as
    `pulumi config set` would, so tests can vary one key of a real stack file.
    """
    config, secret_keys = stack_file_runtime_config(stack_file_path(root, stack))
    config.update(config_overrides or {})
    # An override of the secret values is a secret, as `pulumi config set --secret` makes it.
    secret_keys += [key for key in config_overrides or {} if key == SECRET_VALUES_CONFIG_KEY]
    return run_config(stack, config, secret_keys, on_missing_secrets, mocks)


def run_config(
    stack: str,
    config: Mapping[str, str],
    secret_keys: list[str],
    on_missing_secrets: OnMissing = "placeholder",
    mocks: pulumi.runtime.Mocks | None = None,
) -> StackRun:
    # pulumi_aws's service packages load only the submodules the program reads (about half a
    # second less per aws stack); off with PLATFORM_SPARSE_SDK=0. Never for `pulumi up`.
    enable_sparse_sdk()
    monitor = RecordingMonitor(mocks or PlatformMocks())
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_all_config(dict(config), secret_keys)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT_NAME, stack=stack, preview=False, monitor=monitor
    )
    holder = _Holder()

    async def resolve(outputs: Mapping[str, Any]) -> None:
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            holder.outputs[key] = (
                await output.future(with_unknowns=True),
                await output.is_secret(),
            )

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> Any:
        result = run(on_missing_secrets)
        holder.config = result.config
        holder.placeholders = result.placeholders
        return resolve(result.outputs)

    collector_was_on = gc.isenabled()
    gc.disable()  # the program builds thousands of short-lived objects and no cycles worth a pass
    try:
        program()
    finally:
        if collector_was_on:
            gc.enable()
    if holder.config is None:
        raise RuntimeError(f"the program for stack '{stack}' returned without a config")
    return StackRun(
        stack=stack,
        config=holder.config,
        resources=in_tree_order(monitor.registrations),
        outputs=holder.outputs,
        placeholders=holder.placeholders,
    )
