"""What a result depends on: the library modules reachable from its code, each hashed in a normalised form.

A notebook run, or a cached model, depends on the ``debiaskit`` modules its code imports and on everything
those import in turn (the static import closure, read from the source files' syntax trees, imports inside
functions included; no import graph library is needed, so the same fingerprints are computed wherever the package
runs), plus the ``__init__`` of every package on the way (Python runs it on import). Each module is
hashed by its syntax tree with docstrings removed, so editing prose, docstrings or comments changes no hash,
and a change in one paper's package leaves the other papers' results alone. No list of modules is kept by hand.
"""

from __future__ import annotations

import ast
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Callable, Iterable

PACKAGE = "debiaskit"
#: The folder of the installed ``debiaskit`` package, whose modules are hashed.
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _module_names(package_dir: Path) -> dict[str, Path]:
    """``{"debiaskit.pgd.debias": path}`` for every module file of the package (packages by their ``__init__``)."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (PACKAGE,) + path.relative_to(package_dir).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def direct_imports(module: str, source: str, known: set[str], is_package: bool = False) -> set[str]:
    """The package's modules that ``module``'s source imports anywhere (module level, functions, type checks):
    ``import a.b`` gives ``a.b``; ``from a import b`` gives ``a.b`` when that is a module, else ``a``; relative
    imports are resolved against ``module``'s package (``module`` itself when ``is_package``: an ``__init__``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                anchor = parts[: len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(base)
    return {m for m in found if m in known and m != module}


@lru_cache(maxsize=1)
def _graph() -> dict[str, set[str]]:
    """The package's import graph: ``{module: the package's modules it imports directly}``."""
    files = _module_names(PACKAGE_DIR)
    known = set(files)
    return {m: direct_imports(m, path.read_text(), known, path.name == "__init__.py") for m, path in files.items()}


def module_path(module: str, package_dir: Path | None = None) -> Path:
    """The source file of ``module`` (``debiaskit.pgd`` -> ``pgd/__init__.py``) under ``package_dir`` (default: the
    installed package, :data:`PACKAGE_DIR`)."""
    package_dir = PACKAGE_DIR if package_dir is None else package_dir
    parts = module.split(".")[1:]
    folder = package_dir.joinpath(*parts)
    return folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")


def relative_name(module: str) -> str:
    """``debiaskit.pgd.debias`` -> ``pgd/debias.py``; packages as ``pgd/__init__.py``."""
    return module_path(module).relative_to(PACKAGE_DIR).as_posix()


def normalised_source(source: str) -> str:
    """The syntax tree of ``source`` without comments, docstrings or any other bare string statement (attribute
    docstrings under an assignment included: none of them runs), as a string (``ast.dump``)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                                and isinstance(s.value.value, str))]
                setattr(node, name, kept or [ast.Pass()])
    return ast.dump(tree, include_attributes=False)


def module_hash(module: str, package_dir: Path | None = None) -> str:
    """Short hash of ``module``'s normalised source (:func:`normalised_source`) under ``package_dir``."""
    text = normalised_source(module_path(module, package_dir).read_text())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _with_ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def closure(modules: Iterable[str]) -> list[str]:
    """Every ``debiaskit`` module that importing ``modules`` runs: their static import closure, with the package
    ``__init__`` of each module on the way, sorted."""
    graph = _graph()
    known = set(graph)
    todo = [m for name in modules for m in _with_ancestors(name) if m in known]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(m for up in graph[module] for m in _with_ancestors(up) if m in known and m not in seen)
    return sorted(seen)


def dependency_hashes(modules: Iterable[str], package_dir: Path | None = None) -> dict[str, str]:
    """``{"pgd/debias.py": hash, ...}`` for the closure of ``modules``."""
    return {relative_name(m): module_hash(m, package_dir) for m in closure(modules)}


def modules_of(*items: Callable | ModuleType | str) -> list[str]:
    """The module names behind functions, classes, modules or dotted names."""
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, ModuleType):
            out.append(item.__name__)
        elif isinstance(item, (FunctionType, type)) or callable(item):
            out.append(item.__module__)
        else:
            raise TypeError(f"expected a function, class, module or module name, got {type(item).__name__}")
    return out


def imported_modules(source: str) -> set[str]:
    """The ``debiaskit`` modules a piece of code imports (``from debiaskit.data import colored_mnist`` counts
    ``debiaskit.data`` and, being a module, ``debiaskit.data.colored_mnist``). Lines IPython would treat as
    magics or shell escapes are skipped."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    known = set(_graph())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known)
    return {m for m in found if m in known}


def normalised_cell(source: str) -> str:
    """A notebook code cell as it counts for staleness: its syntax tree (comments do not count), or its text
    where it is not plain Python (magics)."""
    try:
        return ast.dump(ast.parse(source), include_attributes=False)
    except SyntaxError:
        return source


def digest(blob: object) -> str:
    """Short stable hash of a JSON-able object."""
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:20]


def changed(recorded: dict[str, str] | None, current: dict[str, str]) -> list[str]:
    """The modules whose hash differs between ``recorded`` and ``current`` (added and removed ones included)."""
    recorded = recorded or {}
    return sorted(name for name in set(recorded) | set(current) if recorded.get(name) != current.get(name))


def package_modules(package: str) -> list[str]:
    """Every module of ``package`` (``debiaskit.data``: every data set's loader), read from the import graph."""
    return sorted(m for m in _graph() if m == package or m.startswith(package + "."))
