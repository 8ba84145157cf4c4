"""Sparse loading of pulumi_aws's service packages, for offline evaluation only.

`import pulumi_aws` makes each service package (`pulumi_aws.ec2`, ...) a lazy module, and the
first attribute read runs that package's whole `__init__.py`: one `from .<submodule> import *`
per resource and function (183 for ec2), about a second for the packages an aws stack touches,
which uses a few classes of each. A sparse package resolves a name by importing only the
submodule whose `__all__` lists it, from an index read off the package's own files.

Whatever the index cannot answer (a name it lacks, a layout it does not expect) runs the real
`__init__.py` into the package, with a `SparseFallbackWarning`, so every name resolves as the
plain import resolves it.

`infra.offline` enables this; `pulumi up` (infra/__main__.py) never does. Set
`PLATFORM_SPARSE_SDK=0` to evaluate with the plain import (tests compare the two).
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import types
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = "pulumi_aws"
DISABLE_VARIABLE = "PLATFORM_SPARSE_SDK"
"""Set to 0 to turn sparse loading off (the plain import of every service package)."""
NOT_SPARSE = frozenset({"config"})
"""Packages left lazy: `pulumi_aws.config`'s `__init__` swaps its own module class."""

_CHUNK = 4096
_ALL = b"\n__all__ = ["
_ALL_LIST = re.compile(r"__all__ = \[[\s\w',]*\]")
_NAME = re.compile(r"'(\w+)'")
# Searched in the text above `__all__`, with no ^ anchor: a literal prefix is much faster.
_SIBLING_IMPORT = re.compile(r"\nfrom \.(\w*) import ([^\n]+)")
_DEFINITION = re.compile(r"\n(?:class |def |@)")
_LAYOUTS: dict[Path, Layout] = {}
"""Index per package folder: the files do not change while the process runs."""


class SparseFallbackWarning(UserWarning):
    """A sparse package ran its whole `__init__.py`: correct, but as slow as the plain import."""


class LayoutError(Exception):
    """A package's files are not the generated layout the index reader understands."""


@dataclass(frozen=True)
class Layout:
    """What a service package's `__init__.py` binds, without running it."""

    header: types.CodeType
    """The `__init__`'s plain imports (`typing`, `_utilities`, ...), run as they are."""
    header_names: frozenset[str]
    owners: Mapping[str, str]
    """Exported name -> the submodule it comes from (the last star import that exports it)."""
    exports: Mapping[str, tuple[str, ...]]
    """Submodule -> the names it owns."""
    submodules: frozenset[str]


def enabled() -> bool:
    return os.environ.get(DISABLE_VARIABLE, "1") != "0"


def read_all(path: Path) -> tuple[tuple[str, ...], frozenset[str]]:
    """A generated submodule's `__all__` and the sibling modules it imports above it.

    Reads only up to the end of `__all__` (near the top), not the whole file: bytes, as opening
    a file as text (or buffered) costs more than reading its head."""
    with open(path, "rb", buffering=0) as file:
        data = b"\n" + file.read(_CHUNK)
        while (start := data.find(_ALL)) < 0 or (end := data.find(b"]", start)) < 0:
            more = file.read(len(data))
            if not more:
                raise LayoutError(f"{path}: no __all__ list at the start of a line")
            data += more
    above, statement = data[:start].decode(), data[start + 1 : end + 1].decode()
    if _DEFINITION.search(above) or not _ALL_LIST.fullmatch(statement):
        raise LayoutError(f"{path}: no __all__ list of names above its first definition")
    siblings = set()
    for module, names in _SIBLING_IMPORT.findall(above):
        siblings.update([module] if module else [n.split()[0] for n in names.split(",")])
    return tuple(_NAME.findall(statement)), frozenset(siblings)


def _statement_kind(statement: ast.stmt) -> str:
    """What one statement of a generated `__init__` is: a star import of a submodule, an import
    of submodules (`from . import outputs`) or a header import (`typing`, `_utilities`)."""
    if isinstance(statement, ast.Import):
        return "header"
    if isinstance(statement, ast.ImportFrom):
        names = [alias.name for alias in statement.names]
        if statement.level == 1 and statement.module and names == ["*"]:
            return "star"
        if statement.level == 1 and statement.module is None:
            if all(alias.asname is None for alias in statement.names):
                return "submodules"
        elif "*" not in names and (statement.level == 0 or statement.module is None):
            return "header"
    raise LayoutError(f"unexpected statement at line {statement.lineno}: {ast.unparse(statement)}")


def read_layout(package: Path) -> Layout:
    """Index one package from its `__init__.py` and its submodules' `__all__`s."""
    init = package / "__init__.py"
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"), str(init))
        kinds = [(_statement_kind(statement), statement) for statement in tree.body]
    except LayoutError as error:
        raise LayoutError(f"{init}: {error}") from None
    header: list[ast.stmt] = [statement for kind, statement in kinds if kind == "header"]
    owners: dict[str, str] = {}
    submodules: set[str] = set()
    imported: set[str] = set()
    for kind, statement in kinds:
        if isinstance(statement, ast.ImportFrom) and kind == "star":
            module = str(statement.module)
            names, siblings = read_all(package / f"{module}.py")
            owners.update(dict.fromkeys(names, module))
            submodules.add(module)
            imported |= siblings
        elif isinstance(statement, ast.ImportFrom) and kind == "submodules":
            submodules.update(alias.name for alias in statement.names)
    header_names = {
        alias.asname or alias.name.split(".")[0]
        for statement in header
        if isinstance(statement, ast.Import | ast.ImportFrom)
        for alias in statement.names
    }
    _check_collisions(init, owners, submodules | imported, header_names)
    exports: dict[str, list[str]] = {}
    for name, module in owners.items():
        exports.setdefault(module, []).append(name)
    return Layout(
        header=compile(ast.Module(body=header, type_ignores=[]), str(init), "exec"),
        header_names=frozenset(header_names),
        owners=owners,
        exports={module: tuple(names) for module, names in exports.items()},
        submodules=frozenset(submodules),
    )


def _check_collisions(
    init: Path, owners: Mapping[str, str], modules: set[str], header_names: set[str]
) -> None:
    """Importing a submodule binds its name on the package, over an export of that name from
    another submodule: the index would then disagree with the star imports' result."""
    clashes = sorted(name for name in modules if owners.get(name, name) != name)
    clashes += sorted(header_names & owners.keys())
    if clashes:
        raise LayoutError(f"{init}: names both imported and exported: {clashes}")


def layout_of(package: Path) -> Layout:
    if package not in _LAYOUTS:
        _LAYOUTS[package] = read_layout(package)
    return _LAYOUTS[package]


class SparsePackage(types.ModuleType):
    """A service package that imports a submodule only when one of its names is read."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name != "__all__":
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        try:
            return _resolve(self, layout_of(Path(self.__path__[0])), name)
        except LayoutError as error:
            return _load_fully(self, name, str(error))

    def __dir__(self) -> list[str]:
        names = set(self.__dict__)
        try:
            layout = layout_of(Path(self.__path__[0]))
        except LayoutError:
            return sorted(names)
        return sorted(names | layout.header_names | layout.owners.keys() | layout.submodules)


def _resolve(package: SparsePackage, layout: Layout, name: str) -> Any:
    """Bind `name` (with the other names of its submodule) as the star imports would."""
    if not layout.header_names <= package.__dict__.keys():
        exec(layout.header, package.__dict__)
        if name in package.__dict__:
            return package.__dict__[name]
    if name in layout.owners:
        module = layout.owners[name]
        submodule = importlib.import_module(f"{package.__name__}.{module}")
        missing = [n for n in layout.exports[module] if not hasattr(submodule, n)]
        if missing:
            raise LayoutError(f"{submodule.__name__}.__all__ lists undefined {missing}")
        package.__dict__.update((n, getattr(submodule, n)) for n in layout.exports[module])
        return package.__dict__[name]
    if name in layout.submodules:
        return importlib.import_module(f"{package.__name__}.{name}")
    raise LayoutError(f"{name!r} is in no submodule's __all__")


def _load_fully(package: types.ModuleType, name: str, reason: str) -> Any:
    """Become the plain package: run the real `__init__.py` into it, then read `name`."""
    warnings.warn(
        f"sparse loading of {package.__name__} ran its whole __init__.py: {reason}",
        SparseFallbackWarning,
        stacklevel=3,
    )
    package.__class__ = types.ModuleType
    spec = package.__spec__
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(package)
    return getattr(package, name)


def sparse_package(spec: importlib.machinery.ModuleSpec) -> SparsePackage:
    """A module with the attributes the import system gives a package, and nothing else yet."""
    package = SparsePackage(spec.name)
    package.__spec__ = spec
    package.__loader__ = spec.loader
    package.__file__ = spec.origin
    package.__cached__ = spec.cached  # type: ignore[attr-defined]
    package.__path__ = list(spec.submodule_search_locations or ())
    package.__package__ = spec.name
    return package


def lazy_module_types() -> tuple[type, ...]:
    """The classes of a lazy module that has not loaded yet (pulumi's copy and the stdlib's)."""
    pulumi_utils = sys.modules.get("pulumi._utils")
    found = (
        getattr(pulumi_utils, "_LazyModule", None),
        getattr(importlib.util, "_LazyModule", None),
    )
    return tuple(kind for kind in found if isinstance(kind, type))


def install(root: types.ModuleType | None = None) -> list[str]:
    """Replace each service package of `root` (pulumi_aws) that is still an unloaded lazy module
    with a sparse package; one already loaded or already sparse stays. Returns those replaced."""
    root = root if root is not None else sys.modules.get(ROOT)
    if root is None or not enabled():
        return []
    lazy = lazy_module_types()
    replaced = []
    for name, value in list(vars(root).items()):
        # type(), not isinstance(): reading any attribute of a lazy module loads it.
        fullname = f"{root.__name__}.{name}"
        if type(value) not in lazy or name in NOT_SPARSE or sys.modules.get(fullname) is not value:
            continue
        # importlib.util.find_spec would read the lazy module's __spec__ and load it.
        spec = importlib.machinery.PathFinder.find_spec(fullname, root.__path__)
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            continue
        package = sparse_package(spec)
        sys.modules[fullname] = package
        setattr(root, name, package)
        replaced.append(name)
    return replaced


class _InstallingLoader(importlib.abc.Loader):
    """Runs the root package's own loader, then `install` on the module it filled."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__loader__ = self.loader  # the package keeps its own loader, as if not wrapped
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        install(module)


class InstallOnImport(importlib.abc.MetaPathFinder):
    """One shot: the import of `root` installs sparse loading as soon as its `__init__` ran."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.root:
            return None
        sys.meta_path[:] = [finder for finder in sys.meta_path if finder is not self]
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _InstallingLoader(spec.loader)
        return spec


def enable(root: str = ROOT) -> None:
    """Sparse-load `root`'s service packages in this process: now if it is imported, else right
    after its import. Calling it again changes nothing."""
    if not enabled():
        return
    if root in sys.modules:
        install(sys.modules[root])
    elif not any(isinstance(f, InstallOnImport) and f.root == root for f in sys.meta_path):
        sys.meta_path.insert(0, InstallOnImport(root))
