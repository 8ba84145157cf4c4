"""Sparse loading of pulumi_aws's service packages (infra/sparse_sdk.py): an offline plan must
register exactly what the plain import registers, and any name the index cannot answer must
still resolve, by running the package's real `__init__.py`.

The mechanism is tested on a throwaway package written like pulumi_aws (a root that makes each
service package lazy with pulumi's `lazy_import`); the pinned SDK's layout and the prod plan are
checked in subprocesses, so this process's modules stay as they were."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import subprocess
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import sparse_sdk
from infra.sparse_sdk import SparseFallbackWarning, SparsePackage
from tests.paths import REPO_ROOT

FAKE = "fakesdk"
FILLERS = "".join(f"    'Filler{index}Args',\n" for index in range(300))  # > one 4 KB read
FAKE_FILES = {
    "__init__.py": (
        "import typing\n"
        "from . import _utilities\n"
        "if typing.TYPE_CHECKING:\n"
        "    import fakesdk.svc as __svc\n"
        "    svc = __svc\n"
        "else:\n"
        "    svc = _utilities.lazy_import('fakesdk.svc')\n"
        "    odd = _utilities.lazy_import('fakesdk.odd')\n"
    ),
    "_utilities.py": (
        "def lazy_import(fullname):\n"
        "    import pulumi._utils as u\n"
        "    return u.lazy_import(fullname)\n"
    ),
    "svc/__init__.py": (
        "# coding=utf-8\n"
        "import builtins as _builtins\n"
        "from .. import _utilities\n"
        "import typing\n"
        "# Export this package's modules as members:\n"
        "from ._enums import *\n"
        "from .widget import *\n"
        "from .get_widget import *\n"
        "from .gadget import *\n"
        "from ._inputs import *\n"
        "from . import outputs\n"
    ),
    "svc/_enums.py": (
        "from enum import Enum\n\n__all__ = [\n    'Colour',\n]\n\n\n"
        "class Colour(str, Enum):\n    RED = 'red'\n"
    ),
    "svc/_inputs.py": (
        "from .. import _utilities\nfrom ._enums import *\n\n"
        f"__all__ = [\n    'WidgetSizeArgs',\n{FILLERS}]\n\n"
        "class WidgetSizeArgs:\n    pass\n"
        + "".join(f"Filler{index}Args = {index}\n" for index in range(300))
    ),
    "svc/outputs.py": (
        "from .. import _utilities\nfrom . import outputs\n\n"
        "__all__ = [\n    'WidgetStatus',\n]\n\nclass WidgetStatus:\n    pass\n"
    ),
    "svc/widget.py": (
        "import builtins as _builtins\nfrom .. import _utilities\nfrom . import outputs\n"
        "from ._inputs import *\n\n__all__ = ['WidgetArgs', 'Widget', 'Shared']\n\n"
        "class WidgetArgs:\n    pass\n\nclass Widget:\n"
        "    def __init__(self, name, opts=None):\n        self.name = name\n\n"
        "Shared = 'from widget'\n"
    ),
    "svc/get_widget.py": (
        "from . import outputs\n\n"
        "__all__ = ['GetWidgetResult', 'get_widget', 'get_widget_output']\n\n"
        "class GetWidgetResult:\n    pass\n\n"
        "def get_widget():\n    return GetWidgetResult()\n\n"
        "def get_widget_output():\n    return GetWidgetResult()\n"
    ),
    "svc/gadget.py": (
        "__all__ = ['Gadget', 'Shared']\n\nclass Gadget:\n    pass\n\nShared = 'from gadget'\n"
    ),
    "odd/__init__.py": (
        "import typing\nfrom .thing import *\nEXTRA = 'only the real __init__ binds this'\n"
    ),
    "odd/thing.py": "__all__ = ['Thing']\n\nclass Thing:\n    pass\n",
}


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package laid out like pulumi_aws, importable as `fakesdk` for one test."""
    for relative, text in FAKE_FILES.items():
        path = tmp_path / FAKE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(sparse_sdk.DISABLE_VARIABLE, raising=False)
    yield FAKE
    for name in [m for m in sys.modules if m == FAKE or m.startswith(f"{FAKE}.")]:
        del sys.modules[name]
    sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "root", None) != FAKE]


def loaded(package: str) -> set[str]:
    return {m.rpartition(".")[2] for m in sys.modules if m.startswith(f"{package}.")}


def installed(root: str) -> types.ModuleType:
    module = __import__(root)
    assert sorted(sparse_sdk.install(module)) == ["odd", "svc"]
    return module


def names_to_resolve(package: types.ModuleType) -> list[str]:
    """Every name `dir` lists, those that are also submodule names first: `get_ami` (the
    function) must win over `get_ami` (the module) even when nothing bound it yet."""
    submodules = sparse_sdk.layout_of(Path(package.__path__[0])).submodules
    names = [name for name in dir(package) if not name.startswith("__")]
    return sorted(names, key=lambda name: (name not in submodules, name))


def plain_namespace(package: types.ModuleType) -> dict[str, object]:
    """What the package's real `__init__.py` binds, run into a fresh namespace."""
    namespace = {"__name__": package.__name__, "__package__": package.__name__}
    source = Path(str(package.__file__)).read_text()
    exec(compile(source, str(package.__file__), "exec"), namespace)
    return {name: value for name, value in namespace.items() if not name.startswith("__")}


def test_a_name_loads_only_the_submodule_whose_all_lists_it(fake: str) -> None:
    root = installed(fake)
    svc = root.svc
    assert type(svc) is SparsePackage and sys.modules[f"{fake}.svc"] is svc
    assert svc.__path__ == [str(Path(str(svc.__file__)).parent)]
    assert loaded(f"{fake}.svc") == set()
    assert svc.Widget is sys.modules[f"{fake}.svc.widget"].Widget
    assert loaded(f"{fake}.svc") == {"widget", "outputs", "_inputs", "_enums"}
    assert svc.get_widget_output().__class__.__name__ == "GetWidgetResult"
    assert "gadget" not in loaded(f"{fake}.svc")


def test_every_name_resolves_to_what_the_star_imports_bind(fake: str) -> None:
    """Including the awkward ones: a function named like its submodule, a name two submodules
    export (the later one wins), submodules themselves, the header imports."""
    svc = installed(fake).svc
    with warnings.catch_warnings():
        warnings.simplefilter("error", SparseFallbackWarning)
        resolved = {name: getattr(svc, name) for name in names_to_resolve(svc)}
    plain = plain_namespace(svc)
    assert {n for n in plain if resolved.get(n, plain) is not plain[n]} == set()
    assert {
        n for n in resolved.keys() - plain.keys() if not isinstance(resolved[n], types.ModuleType)
    } == set()
    assert isinstance(svc.get_widget, types.FunctionType)
    assert svc.Shared == "from gadget"
    assert svc.outputs is sys.modules[f"{fake}.svc.outputs"] and svc.Filler299Args == 299
    assert type(svc) is SparsePackage


def test_dir_and_dunder_probes_load_nothing(fake: str) -> None:
    svc = installed(fake).svc
    with warnings.catch_warnings():
        warnings.simplefilter("error", SparseFallbackWarning)
        assert {"Widget", "Gadget", "get_widget", "outputs", "_inputs", "typing"} <= set(dir(svc))
        assert not hasattr(svc, "__wrapped__")
    assert loaded(f"{fake}.svc") == set()


def test_a_name_the_index_misses_runs_the_real_init(
    fake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = installed(fake).svc
    layout = sparse_sdk.layout_of(Path(svc.__path__[0]))
    owners = {name: module for name, module in layout.owners.items() if name != "Gadget"}
    missing = dataclasses.replace(layout, owners=owners)
    monkeypatch.setitem(sparse_sdk._LAYOUTS, Path(svc.__path__[0]), missing)
    with pytest.warns(SparseFallbackWarning, match="'Gadget' is in no submodule's __all__"):
        assert svc.Gadget is sys.modules[f"{fake}.svc.gadget"].Gadget
    assert type(svc) is types.ModuleType
    assert {"widget", "get_widget", "gadget"} <= loaded(f"{fake}.svc")
    assert svc.Shared == "from gadget" and isinstance(svc.get_widget, types.FunctionType)


def test_a_name_no_submodule_exports_fails_as_the_plain_import_does(fake: str) -> None:
    svc = installed(fake).svc
    with pytest.warns(SparseFallbackWarning), pytest.raises(AttributeError, match="Nope"):
        _ = svc.Nope
    assert type(svc) is types.ModuleType and svc.Widget and svc.Gadget


def test_an_init_with_more_than_imports_runs_in_full(fake: str) -> None:
    odd = installed(fake).odd
    with pytest.warns(SparseFallbackWarning, match="unexpected statement at line 3: EXTRA ="):
        assert odd.Thing is sys.modules[f"{fake}.odd.thing"].Thing
    assert odd.EXTRA == "only the real __init__ binds this"


def test_a_star_import_from_a_sparse_package_gets_every_public_name(fake: str) -> None:
    svc = installed(fake).svc
    namespace: dict[str, object] = {}
    with pytest.warns(SparseFallbackWarning, match="__all__"):
        exec(f"from {fake}.svc import *", namespace)
    public = {n for n in vars(svc) if not n.startswith("_")}
    assert public <= namespace.keys() and {"Widget", "Gadget", "WidgetSizeArgs"} <= public


def test_pulumi_lazy_import_and_getattr_find_the_class(fake: str) -> None:
    """What pulumi_aws's resource-module registry does: `Module.construct` looks the package up
    with `lazy_import(fqn)` (sys.modules), then reads the class off it."""
    from pulumi._utils import lazy_import

    svc = installed(fake).svc
    looked_up: Any = lazy_import(f"{fake}.svc")  # type: ignore[no-untyped-call]
    assert looked_up is svc and looked_up.Widget("w").name == "w"


def test_enable_installs_right_after_the_root_import_and_only_once(fake: str) -> None:
    def finders() -> int:
        return len([f for f in sys.meta_path if getattr(f, "root", None) == fake])

    sparse_sdk.enable(fake)
    sparse_sdk.enable(fake)
    assert finders() == 1 and fake not in sys.modules
    root = __import__(fake)
    assert type(root.svc) is SparsePackage and root.svc is sys.modules[f"{fake}.svc"]
    assert finders() == 0
    assert type(root.__loader__).__name__ == "SourceFileLoader"
    assert root.__spec__ is not None and root.__spec__.loader is root.__loader__
    svc = root.svc
    sparse_sdk.enable(fake)
    assert sparse_sdk.install(root) == [] and root.svc is svc


def test_the_variable_turns_sparse_loading_off(fake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sparse_sdk.DISABLE_VARIABLE, "0")
    sparse_sdk.enable(fake)
    root = __import__(fake)
    assert sparse_sdk.install(root) == []
    assert type(root.svc) in sparse_sdk.lazy_module_types()


def test_only_offline_evaluation_turns_it_on() -> None:
    """`pulumi up` runs infra/__main__.py; only infra.offline may import sparse loading."""
    importers = set()
    for path in (REPO_ROOT / "infra").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [f"{getattr(node, 'module', '')}.{alias.name}" for alias in node.names]
                if any("sparse_sdk" in name for name in names):
                    importers.add(path.relative_to(REPO_ROOT).as_posix())
    assert importers == {"infra/offline.py"}


def spawn(*command: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def python(script: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return spawn(sys.executable, "-c", script, *args, **env)


def output(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    assert "SparseFallbackWarning" not in err
    return out


PINNED_LAYOUT = """
import json, pulumi_aws
from pathlib import Path
from infra import sparse_sdk
kinds = [f"{k.__module__}.{k.__qualname__}" for k in sparse_sdk.lazy_module_types()]
folders = sorted(p.parent.name for p in Path(pulumi_aws.__path__[0]).glob("*/__init__.py"))
bound = {n: f"{type(v).__module__}.{type(v).__qualname__}" for n, v in vars(pulumi_aws).items()}
print(json.dumps({"kinds": kinds, "folders": folders, "bound": bound,
                  "replaced": sparse_sdk.install(pulumi_aws)}))
"""


def test_the_pinned_sdk_makes_every_service_package_a_lazy_module() -> None:
    """If a pulumi_aws upgrade stops making service packages lazy modules of a type
    `lazy_module_types` knows, sparse loading would silently do nothing: fail here instead."""
    found = json.loads(output(python(PINNED_LAYOUT, PLATFORM_SPARSE_SDK="1")))
    assert "pulumi._utils._LazyModule" in found["kinds"]
    unbound = [name for name in found["folders"] if name not in found["bound"]]
    assert unbound == [], "service packages pulumi_aws no longer binds lazily on its root"
    not_lazy = {
        n: found["bound"][n] for n in found["folders"] if found["bound"][n] not in found["kinds"]
    }
    assert not_lazy == {}, "service packages that are not unloaded lazy modules after the import"
    assert sorted(found["replaced"]) == sorted(set(found["folders"]) - sparse_sdk.NOT_SPARSE)
    assert len(found["replaced"]) > 200


def test_every_service_package_init_is_only_the_expected_imports() -> None:
    """Each `__init__.py` is header imports, `from .X import *` and `from . import outputs`,
    and each star-imported submodule has a list `__all__` above its first definition. An
    upgrade that changes that fails here, naming the package and what changed."""
    import pulumi_aws

    root = Path(pulumi_aws.__path__[0])
    errors = {}
    for init in sorted(root.glob("*/__init__.py")):
        try:
            sparse_sdk.read_layout(init.parent)
        except sparse_sdk.LayoutError as error:
            errors[init.parent.name] = str(error).removeprefix(f"{init}: ")
    assert errors == {
        "config": "unexpected statement at line 7: from .vars import _ExportableConfig"
    }
    ec2 = sparse_sdk.read_layout(root / "ec2")
    assert len(ec2.submodules) == len(list((root / "ec2").glob("*.py"))) - 1
    assert ec2.owners["SecurityGroup"] == "security_group" and ec2.owners["get_ami"] == "get_ami"


PLAN = ("plan", "--stack", "prod", "--json")
PLAN_AND_MODULES = """
import atexit, json, sys
from infractl.cli import main
report = lambda: print(json.dumps(sorted(m for m in sys.modules if m.startswith("pulumi_aws."))),
                       file=sys.stderr)
atexit.register(report)
sys.argv = ["infractl", *sys.argv[1:]]
sys.exit(main())
"""


def test_prod_plans_the_same_bytes_with_far_fewer_modules() -> None:
    """The plain import runs in its own process (PLATFORM_SPARSE_SDK=0); `plan --json` prints
    every registration's type, name, inputs and the stack outputs, deterministically. The
    sparse one runs infractl's entry point too, and reports the modules it loaded."""
    plain = spawn(str(Path(sys.executable).with_name("infractl")), *PLAN, PLATFORM_SPARSE_SDK="0")
    sparse = python(PLAN_AND_MODULES, *PLAN, PLATFORM_SPARSE_SDK="1")
    plain_out, (sparse_out, sparse_err) = output(plain), sparse.communicate(timeout=180)
    assert sparse.returncode == 0 and "SparseFallbackWarning" not in sparse_err, sparse_err
    document = json.loads(plain_out)
    assert len(document["resources"]) > 50 and document["outputs"]
    assert sparse_out == plain_out
    loaded = json.loads(sparse_err.splitlines()[-1])
    ec2 = [m for m in loaded if m.startswith("pulumi_aws.ec2.")]
    assert 0 < len(ec2) < 40, ec2
    assert "pulumi_aws.ec2.vpc_ipam_pool" not in loaded


PROGRAM_PACKAGES = "ec2 vpc lb ecs ecr iam rds secretsmanager cloudwatch route53 sns backup s3"
MODULES = ("_inputs", "outputs", "target")
RESOLVE_ALL = """
import json, sys, warnings, pulumi, pulumi_aws
from tests.infra.test_sparse_sdk import names_to_resolve, plain_namespace
from types import ModuleType as Module
from pulumi.runtime.rpc import get_resource_module
from infra import sparse_sdk
warnings.simplefilter("error", sparse_sdk.SparseFallbackWarning)
sparse_sdk.install(pulumi_aws)
report = {}
for name in sys.argv[1:]:
    package = getattr(pulumi_aws, name)
    assert type(package) is sparse_sdk.SparsePackage, name
    resolved = {n: getattr(package, n) for n in names_to_resolve(package)}
    plain = plain_namespace(package)
    report[name] = {
        "bound": len(plain),
        "differ": [n for n in plain if resolved.get(n) is not plain[n]],
        "extra": [n for n in resolved.keys() - plain.keys() if type(resolved[n]) is not Module],
        "still_sparse": type(package) is sparse_sdk.SparsePackage,
    }

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args): return args.name, dict(args.inputs)
    def call(self, args): return {}, []

pulumi.runtime.set_mocks(Mocks(), preview=False)
# A package nothing above read: the registry's lookup is its first.
registry = get_resource_module("aws", "appautoscaling/target", pulumi_aws._utilities.get_version())

@pulumi.runtime.test
def rebuild():
    token = "aws:appautoscaling/target:Target"
    first = pulumi.CustomResource(token, "target", {})
    return first.urn.apply(lambda urn: report.update(
        constructed=type(registry.construct("target", token, urn)).__module__))

rebuild()
report["registry_loaded"] = sorted(m for m in sys.modules if m.startswith("pulumi_aws.appauto"))
print(json.dumps(report))
"""


def test_every_name_of_the_programs_packages_resolves_as_the_plain_import_binds_it() -> None:
    """Every name each package the program uses would bind (its real `__init__` run beside
    it), read through the sparse package: the same object, with no fallback. And the SDK's
    resource-module registry (`Module.construct`) still finds a class through it."""
    report = json.loads(
        output(python(RESOLVE_ALL, *PROGRAM_PACKAGES.split(), PLATFORM_SPARSE_SDK="1"))
    )
    assert report.pop("constructed") == "pulumi_aws.appautoscaling.target"
    package = "pulumi_aws.appautoscaling"
    assert report.pop("registry_loaded") == [package, *(f"{package}.{m}" for m in MODULES)]
    for name, found in report.items():
        assert found["differ"] == [] and found["extra"] == [], name
        assert found["still_sparse"] and found["bound"] > 20, name
