"""A result goes stale only when code it depends on changed (issue 27, section 1): run fingerprints and model-cache
keys follow the normalised import closure of the code, computed from the code, with no hand-kept module lists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT

from debiaskit.companion.manifest import load_manifest
from debiaskit.companion.reproduce import plan, stale_reasons
from debiaskit.experiments import code_closure
from debiaskit.experiments.cache import cached_model


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the installed package that the hashes read instead of the real one, so edits stay in the test."""
    copy = tmp_path / "debiaskit"
    shutil.copytree(code_closure.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(code_closure, "PACKAGE_DIR", copy)
    return copy


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _runs() -> dict:
    """Notebook -> (fingerprint, parts) for every quick-profile run of the manifest."""
    return {r.notebook.relative_to(ROOT).as_posix(): (r.fingerprint, r.parts)
            for r in plan(load_manifest(ROOT / "papers.yaml"), "quick")}


def _stale(before: dict, after: dict) -> dict:
    """Notebook -> the reasons its run would be stale, for the runs whose fingerprint changed."""
    return {nb: stale_reasons({"depends_on": before[nb][1]}, after[nb][1]) for nb in before
            if before[nb][0] != after[nb][0]}


def test_normalised_source_ignores_docstrings_and_comments_but_not_code():
    base = normalise = code_closure.normalised_source
    plain = 'def f(x):\n    return x + 1\n'
    assert base('"""Module."""\n' + plain) == normalise(plain)
    assert base('def f(x):\n    """Adds one."""\n    # a comment\n    return x + 1  # inline\n') == normalise(plain)
    assert base('def f(x):\n    return x + 2\n') != normalise(plain)
    assert base('def f(x):\n    """Only a docstring."""\n') == normalise('def f(x):\n    pass\n')
    assert base('X = 1\n"""What X is."""\nif X:\n    """A note."""\n    y = 2\n') == normalise('X = 1\nif X:\n    y = 2\n')


def test_closure_follows_imports_inside_functions_and_package_inits():
    deps = code_closure.closure(["debiaskit.pgd.analysis.gradients"])
    assert "debiaskit.pgd" in deps and "debiaskit.pgd.analysis" in deps  # the package __init__s run on import
    assert "debiaskit.pgd.debias" in deps  # via `from debiaskit import pgd` inside a function, then pgd/__init__
    assert not any(m.startswith(("debiaskit.companion", "debiaskit.rrclarc", "debiaskit.patchattr")) for m in deps)


def test_notebook_imports_are_read_from_its_code_cells():
    found = code_closure.imported_modules("import torch\n%matplotlib inline\nfrom debiaskit.data import colored_mnist\n"
                                          "from debiaskit.core.training import TrainConfig, train\n")
    assert found == {"debiaskit.data", "debiaskit.data.colored_mnist", "debiaskit.core.training"}


def test_every_result_records_its_modules_and_every_run_reaches_only_its_papers_code():
    for notebook, (_, parts) in _runs().items():
        deps = parts["dependencies"]
        assert deps and all(len(h) == 16 for h in deps.values())
        paper = notebook.split("/")[1]
        others = {"pgd": ("rrclarc/", "patchattr/"), "rrclarc": ("pgd/", "patchattr/", "baselines/"),
                  "patchattr": ("pgd/", "rrclarc/", "baselines/"), "tutorials": ("rrclarc/", "patchattr/")}[paper]
        assert not [m for m in deps if m.startswith(others)], notebook


def test_a_docstring_or_comment_edit_leaves_every_run_up_to_date(package_copy):
    before = _runs()
    _edit(package_copy / "pgd" / "debias.py", '"""Algorithm 2 of the draft in one call', '"""Algorithm 2, reworded,')
    _edit(package_copy / "core" / "training.py", "\nimport ", "\n# a new comment\nimport ")
    _edit(package_copy / "data" / "faces.py", "from __future__", "# comment\nfrom __future__")
    assert _stale(before, _runs()) == {}


def test_a_code_edit_in_patch_attribution_stales_only_its_runs(package_copy):
    before = _runs()
    (package_copy / "patchattr" / "grid.py").write_text((package_copy / "patchattr" / "grid.py").read_text()
                                                         + "\nEDITED = 1\n")
    stale = _stale(before, _runs())
    assert stale and all(nb.startswith("notebooks/patchattr/") for nb in stale)
    assert all(reasons == ["patchattr/grid.py"] for reasons in stale.values())
    assert not any(nb.startswith("notebooks/pgd/") for nb in stale)


def test_an_edit_in_the_faces_reader_stales_pgds_real_world_run(package_copy):
    before = _runs()
    (package_copy / "data" / "faces.py").write_text((package_copy / "data" / "faces.py").read_text() + "\nEDITED = 1\n")
    stale = _stale(before, _runs())
    assert "notebooks/pgd/realworld_tables.py" in stale
    assert stale["notebooks/pgd/realworld_tables.py"] == ["data/faces.py"]
    assert "notebooks/pgd/fig2_minority_ratio.py" not in stale  # Colored MNIST does not read faces


def test_stale_reasons_name_what_changed():
    parts = {"code": "a", "params": "b", "profile": "quick", "dependencies": {"pgd/debias.py": "1", "core/io.py": "2"}}
    assert stale_reasons(None, parts) == ["no result"]
    assert stale_reasons({"depends_on": parts}, parts) == []
    newer = {**parts, "params": "c", "dependencies": {"pgd/debias.py": "9", "data/bar.py": "3"}}
    assert stale_reasons({"depends_on": parts}, newer) == ["parameters", "core/io.py", "data/bar.py", "pgd/debias.py"]
    assert stale_reasons({"fingerprint": "old"}, parts) == ["recorded before module-level fingerprints"]


def test_a_cached_model_is_reused_after_a_docstring_edit_and_retrained_after_a_code_edit(package_copy, isolated_cache):
    from debiaskit.pgd.losses import gce_objective

    fits = []

    def fit(model):
        fits.append(1)
        torch.nn.init.constant_(model.weight, 1.0)

    def get():
        return cached_model({"k": "closure-test"}, lambda: torch.nn.Linear(2, 2), fit, trains=gce_objective)[1]

    assert get() is False and get() is True
    _edit(package_copy / "pgd" / "losses.py", '"""', '"""Reworded. ')
    assert get() is True  # a docstring edit keeps the entry
    (package_copy / "pgd" / "losses.py").write_text((package_copy / "pgd" / "losses.py").read_text() + "\nEDITED = 1\n")
    assert get() is False  # a code edit in the method retrains
    (package_copy / "rrclarc" / "cav.py").write_text((package_copy / "rrclarc" / "cav.py").read_text() + "\nEDITED = 1\n")
    assert get() is True  # an edit elsewhere does not
    assert len(fits) == 2


def test_the_import_contract_holds():
    """Imports run one way (companion > experiments > methods > data > core), with no cycles: import-linter's
    contracts in pyproject.toml."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run([lint, "--no-cache", "--config", str(ROOT / "pyproject.toml")], cwd=ROOT / "lib",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_the_import_graph_read_from_the_syntax_trees_is_grimps():
    """The package's own import graph (no library needed where the campaign runs) against grimp's, module by module:
    the same direct imports, so the same closures and fingerprints."""
    grimp = pytest.importorskip("grimp")
    from debiaskit.experiments import code_closure

    theirs = grimp.build_graph("debiaskit", cache_dir=None)
    ours = code_closure._graph()
    assert set(ours) == set(theirs.modules)
    assert {m: ours[m] for m in ours} == {m: set(theirs.find_modules_directly_imported_by(m)) for m in ours}


def test_relative_imports_resolve_against_the_module_s_package():
    from debiaskit.experiments.code_closure import direct_imports

    known = {"debiaskit", "debiaskit.pgd", "debiaskit.pgd.scores", "debiaskit.pgd.vmf", "debiaskit.core"}
    assert direct_imports("debiaskit.pgd.scores", "from .vmf import fit\nfrom .. import core", known) == {
        "debiaskit.pgd.vmf", "debiaskit.core"}
    assert direct_imports("debiaskit.pgd", "from . import scores", known, is_package=True) == {"debiaskit.pgd.scores"}
    assert direct_imports("debiaskit.pgd.vmf", "def f():\n    import debiaskit.pgd.scores\n", known) == {
        "debiaskit.pgd.scores"}
