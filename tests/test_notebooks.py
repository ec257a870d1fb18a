"""Every notebook is a jupytext .py paired with an .ipynb in step with it, and is in the manifest."""

from pathlib import Path

import jupytext
import pytest

from debiaskit.companion.manifest import load_manifest
from debiaskit.companion.notebook_params import notebook_parameters

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").rglob("*.py"))


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("source", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_pair_in_step(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.relative_to(ROOT)} is missing: run `debiaskit reproduce` for its artifact"
    assert _cells(jupytext.read(source)) == _cells(jupytext.read(paired)), (
        f"{paired.relative_to(ROOT)} is out of step with its .py source: "
        "re-run `debiaskit reproduce --artifact <id>` (or `jupytext --sync`)")


@pytest.mark.parametrize("source", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_notebook_conventions(source):
    text = source.read_text()
    params = notebook_parameters(source)
    assert params.get("profile") == "quick" and "data_root" in params and ("seed" in params or "seeds" in params)
    assert "colab-badge.svg" in text, "each notebook carries an Open in Colab badge"
    assert 'tags=["colab"]' in text, "each notebook starts with the Colab install cell"
    assert "nbval-check-output" in text, "the paper-vs-reproduced cell is checked by nbval"


def test_every_notebook_is_in_the_manifest():
    used = {a.notebook.resolve() for a in load_manifest(ROOT / "papers.yaml").artifacts}
    orphans = [str(p.relative_to(ROOT)) for p in SOURCES if p.resolve() not in used]
    assert not orphans, f"notebooks not referenced by papers.yaml: {orphans}"


def test_committed_results_exist_for_every_artifact():
    m = load_manifest(ROOT / "papers.yaml")
    missing = [a.id for a in m.artifacts if not (ROOT / "figures" / a.paper / f"{a.name}.json").exists()]
    assert not missing, f"quick-profile results not committed for {missing}: run `debiaskit reproduce`"
