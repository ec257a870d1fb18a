"""Sphinx configuration of debiaskit's API reference, built from the docstrings by ``make docs`` into build/docs.

The build imports the library (autodoc) but runs nothing else: no notebook is executed and nothing is fetched (no
intersphinx), so it works offline and in CI, in about 15 s on one core. Every warning is an error (``-W``), so the
checks below fail the build:

* every module of ``debiaskit`` must be on some page (:func:`_check_every_module_documented`): a new module needs an
  ``automodule`` line on the page of its area;
* every cross-reference to the library must resolve (``nitpicky``). Two kinds resolve to where the object is
  documented (:func:`_resolve_elsewhere`): a name a package re-exports (``debiaskit.pgd.debias`` is
  ``debiaskit.pgd.debias.debias``) and a short name the docstring's module imported (``TrainConfig`` in
  :mod:`debiaskit.baselines.common`).

The pages (``index.rst`` and one per package) list the modules explicitly, one ``automodule`` each.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))  # the checkout's code, installed or not

debiaskit = importlib.import_module("debiaskit")  # after the path is set

project = "debiaskit"
author = "debiaskit contributors"
copyright = "debiaskit contributors"
release = version = debiaskit.__version__

extensions = ["sphinx.ext.autodoc"]

root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "alabaster"
html_theme_options = {"description": "API reference", "fixed_sidebar": True}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_show_sourcelink = False

# An unresolved cross-reference to the library (``debiaskit.…`` or a short name) is an error; one to another
# package's dotted name (torch, numpy, the standard library: without intersphinx nothing offline links them) is not.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!debiaskit\.)[\w]+\..*")]

autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "member-order": "bysource",
    "show-inheritance": True,
}
autodoc_typehints = "signature"
autodoc_preserve_defaults = False  # done by _preserve_defaults below, for the library's own functions only
autodoc_mock_imports: list[str] = []  # everything imports (torch, captum, ray, ...); nothing is mocked
autoclass_content = "class"
autodoc_inherit_docstrings = False  # an undocumented forward() would show torch.nn.Module.forward's text
add_module_names = False
python_use_unqualified_type_names = True
suppress_warnings: list[str] = []


def _all_modules() -> set[str]:
    names = {"debiaskit"}
    for info in pkgutil.walk_packages(debiaskit.__path__, "debiaskit."):
        names.add(info.name)
    return names


def _check_every_module_documented(app, env) -> None:
    from sphinx.util import logging

    documented = set(env.get_domain("py").modules)
    for name in sorted(_all_modules() - documented):
        logging.getLogger(__name__).warning(
            "module %s is on no page of the API reference: add an automodule to the page of its area", name,
            type="debiaskit", subtype="undocumented-module",
        )


def _home_of(target: str, module: str | None):
    """Where the object a reference names is documented, when that is not where the reference looks: a name a
    package re-exports (``debiaskit.pgd.debias`` is ``debiaskit.pgd.debias.debias``), or a short name the
    docstring's module imported (``TrainConfig`` in :mod:`debiaskit.baselines.common`). The object itself for a
    type variable; ``None`` when there is nothing better to try."""
    if target.startswith("debiaskit."):
        parts = target.split(".")
        for i in range(len(parts) - 1, 0, -1):  # the longest importable prefix is the module
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            path = parts[i:]
            break
        else:
            return None
    elif module and module.startswith("debiaskit."):
        obj, path = importlib.import_module(module), target.split(".")
    else:
        return None
    for part in path:
        obj = getattr(obj, part, _MISSING)
        if obj is _MISSING:
            return None
    if isinstance(obj, typing.TypeVar):
        return obj
    home, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (isinstance(home, str) and home.startswith("debiaskit.") and name) or f"{home}.{name}" == target:
        return None
    return f"{home}.{name}"


_MISSING = object()


def _resolve_elsewhere(app, env, node, contnode):
    """``missing-reference``: retry a Python reference at the object's home (:func:`_home_of`); a type variable
    in a signature (``T``) is plain text."""
    if node.get("refdomain") != "py":
        return None
    home = _home_of(node.get("reftarget", ""), node.get("py:module"))
    if isinstance(home, typing.TypeVar):
        return contnode
    if home is None:
        return None
    node = node.deepcopy()
    node["reftarget"] = home
    node["refspecific"] = False
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"], home, node, contnode)


def _preserve_defaults(app, obj, bound_method) -> None:
    """``autodoc-before-process-signature``: show a default as written in the source (``AugmentConfig()``,
    ``cross_entropy``) rather than its repr (``<function cross_entropy>`` is no Python expression, so Sphinx would
    split the signature at every comma). Sphinx's own ``autodoc_preserve_defaults`` does this for every object, and
    fails ("pop from empty list") on decorated functions of other packages whose signature is not their source's,
    such as ``scipy.stats.entropy``; here it runs for functions of ``debiaskit`` only."""
    from sphinx.ext.autodoc.preserve_defaults import update_default_value

    if getattr(obj, "__module__", None) and obj.__module__.startswith("debiaskit"):
        update_default_value(obj, bound_method)


def _plain_factory_defaults(app, what, name, obj, options, signature, return_annotation):
    """``autodoc-process-signature``: a dataclass field's ``default_factory`` shows as ``<factory>``, which is
    no Python expression, so Sphinx would split the signature at every comma; show ``...`` instead."""
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


def _drop_object_base(app, name, obj, options, bases) -> None:
    """``autodoc-process-bases``: no "Bases: object" line under every plain class."""
    if object in bases:
        bases.remove(object)


def setup(app):
    app.connect("env-check-consistency", _check_every_module_documented)
    app.connect("missing-reference", _resolve_elsewhere)
    app.connect("autodoc-before-process-signature", _preserve_defaults)
    app.connect("autodoc-process-signature", _plain_factory_defaults)
    app.connect("autodoc-process-bases", _drop_object_base)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
