"""papers.yaml validation: the real manifest loads, and every kind of mistake is named precisely."""

from pathlib import Path

import pytest
import yaml
from conftest import with_notebook_entries

from debiaskit.companion.manifest import ManifestError, load_manifest

NOTEBOOK = '''# %% [markdown]
# # t

# %% tags=["parameters"]
profile = "quick"
epochs = 2
seed = 0

# %%
x = 1
'''


def write(tmp_path: Path, artifact_overrides: dict | None = None, paper_extra: dict | None = None, text=None) -> Path:
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    (tmp_path / "notebooks" / "nb.py").write_text(NOTEBOOK)
    art = {"id": "p/a", "kind": "figure", "caption": "c", "notebook": "notebooks/nb.py",
           "profiles": {"quick": {"profile": "quick", "epochs": 2}, "full": {"profile": "full", "epochs": 100}},
           "paper_values": {"source": "Table 1", "values": {"acc": 90.0}},
           "claims": [{"id": "c1", "text": "acc high", "check": 'v["acc"] > 50'}]}
    art.update(artifact_overrides or {})
    paper = {"id": "p", "title": "T", "authors": ["A"], "document": "d.txt", "artifacts": [art], **(paper_extra or {})}
    path = tmp_path / "papers.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(with_notebook_entries({"papers": [paper]})))
    return path


def test_repository_manifest_is_valid(repo_root):
    m = load_manifest(repo_root / "papers.yaml")
    assert {p.id for p in m.papers} == {"pgd", "rrclarc", "patchattr"}
    for art in m.artifacts:
        assert {"quick", "full"} <= set(art.profiles), art.id


def test_minimal_manifest_loads(tmp_path):
    m = load_manifest(write(tmp_path))
    assert m.artifact("p/a").paper_values == {"acc": 90.0}


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ManifestError, match=r"papers\[0\]\.artifacts\[0\] \(p/a\): unknown key 'colour'"):
        load_manifest(write(tmp_path, {"colour": "red"}))


def test_unknown_paper_key(tmp_path):
    with pytest.raises(ManifestError, match="unknown key 'editor'"):
        load_manifest(write(tmp_path, paper_extra={"editor": "x"}))


def test_profiles_live_in_the_papers_notebooks_entry(tmp_path):
    path = write(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["papers"][0]["artifacts"][0]["profiles"] = doc["papers"][0]["notebooks"][0]["profiles"]
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ManifestError, match="'profiles' belongs to the paper's notebooks entry"):
        load_manifest(path)
    del doc["papers"][0]["artifacts"][0]["profiles"]
    doc["papers"][0]["notebooks"] = []
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ManifestError, match="notebook notebooks/nb.py is not among the paper's notebooks"):
        load_manifest(path)


def test_artifacts_of_one_notebook_share_its_profiles(repo_root):
    m = load_manifest(repo_root / "papers.yaml")
    fig7, fig1 = m.artifact("pgd/fig7"), m.artifact("pgd/fig1")
    assert fig7.notebook == fig1.notebook and fig7.profiles is fig1.profiles


def test_missing_notebook(tmp_path):
    with pytest.raises(ManifestError, match="notebook notebooks/nope.py does not exist"):
        load_manifest(write(tmp_path, {"notebook": "notebooks/nope.py"}))


def test_profile_parameter_not_defined_by_notebook(tmp_path):
    profiles = {"quick": {"profile": "quick", "epochs": 2}, "full": {"profile": "full", "epocs": 100}}
    with pytest.raises(ManifestError, match="profile 'full' sets parameter 'epocs', which .* does not define"):
        load_manifest(write(tmp_path, {"profiles": profiles}))


def test_notebook_defaults_must_equal_quick_profile(tmp_path):
    profiles = {"quick": {"profile": "quick", "epochs": 3}, "full": {"profile": "full", "epochs": 100}}
    with pytest.raises(ManifestError, match="default epochs = 2 differs from the quick profile's 3"):
        load_manifest(write(tmp_path, {"profiles": profiles}))


def test_missing_full_profile(tmp_path):
    with pytest.raises(ManifestError, match="missing profile 'full'"):
        load_manifest(write(tmp_path, {"profiles": {"quick": {"epochs": 2}}}))


def test_bad_claim_syntax(tmp_path):
    claims = [{"id": "c", "text": "t", "check": "import os"}]
    with pytest.raises(ManifestError, match=r"claims\[0\]: check 'import os' is not an expression"):
        load_manifest(write(tmp_path, {"claims": claims}))


def test_invalid_yaml(tmp_path):
    with pytest.raises(ManifestError, match="is not valid YAML"):
        load_manifest(write(tmp_path, text="papers: [\n  - id: p\n  bad"))


def test_all_problems_reported_at_once(tmp_path):
    with pytest.raises(ManifestError, match="has 2 problem") as info:
        load_manifest(write(tmp_path, {"colour": "red", "kind": "movie"}))
    assert "kind must be one of" in str(info.value)
