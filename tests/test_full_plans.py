"""benchmarks/full_plans: every notebook with a `full` profile has a training plan, computed from its parameters."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

from debiaskit.companion.manifest import load_manifest
from debiaskit.companion.reproduce import run_parameters

sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "full_plans"))

import full_profile_minutes  # noqa: E402

MANIFEST = load_manifest(ROOT / "papers.yaml")
PLANS = full_profile_minutes.all_plans()
NOTEBOOKS = sorted({str(a.notebook.relative_to(ROOT)) for a in MANIFEST.artifacts if "full" in a.profiles})


def _artifact(notebook: str):
    return next(a for a in MANIFEST.artifacts if str(a.notebook.relative_to(ROOT)) == notebook)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_full_profile_has_a_plan(notebook):
    assert notebook in PLANS, f"{notebook} has a full profile but no plan in benchmarks/full_plans"
    for profile in ("full", "quick"):
        for t in PLANS[notebook](run_parameters(_artifact(notebook), profile)):
            assert t.count >= 0 and t.epochs >= 0 and t.n_images >= 0 and t.batch > 0, t


def test_plans_follow_the_parameters():
    """More seeds, more trainings: the counts are computed from the profile, not written down."""
    art = _artifact("notebooks/pgd/table1_controlled.py")
    params = run_parameters(art, "full", {"datasets": ["colored_mnist"], "bias_ratios": [0.99], "seeds": [0],
                                          "methods": ["vanilla", "pgd"]})
    one = sum(t.count for t in PLANS[str(art.notebook.relative_to(ROOT))](params) if t.method != "other")
    three = sum(t.count for t in PLANS[str(art.notebook.relative_to(ROOT))]({**params, "seeds": [0, 1, 2]})
                if t.method != "other")
    assert (one, three) == (3, 9)  # Vanilla, PGD's GCE model, PGD


def test_estimate_sums_count_epochs_and_batches():
    from common import Training

    plan = [Training("simple_convnet1", (3, 28, 28), 1000, 10, 256, "vanilla", 2),  # 4 batches of 256 per epoch
            Training("simple_convnet1", (3, 28, 28), 512, 1, 256, "other"),          # a third of a step per image
            Training("linear_probe", (64, 1, 1), 10, 1, 10, "head")]                 # ignored
    per_image = {("simple_convnet1", (3, 28, 28)): 0.001}
    minutes = full_profile_minutes.estimate(plan, per_image, {"vanilla": 1.0})
    assert minutes == pytest.approx((2 * 10 * 1024 * 0.001 + 512 * 0.001 / 3) / 60)


def test_each_stored_cell_is_estimated_from_its_own_selection_beside_its_measured_minutes():
    from collections import defaultdict

    from debiaskit.companion.cells import load_cells

    per_image, factors = defaultdict(lambda: 1e-4), defaultdict(lambda: 1.0)
    lines = [x for x in full_profile_minutes._cell_check(MANIFEST, PLANS, per_image, factors) if x]
    records = load_cells(MANIFEST.root, "pgd/table1")
    assert len(lines) == len(records) > 0
    pgd = next(r for r in records if r["cell"]["method"] == "pgd")
    art = MANIFEST.artifact("pgd/table1")
    plan = PLANS["notebooks/pgd/table1_controlled.py"](run_parameters(art, "full", {
        "datasets": ["colored_mnist"], "bias_ratios": [0.99], "seeds": [0], "methods": ["pgd"],
        "train_settings": {"colored_mnist": pgd["settings"]["train"]}}))
    assert {t.method for t in plan} >= {"gce", "pgd"}
    minutes = full_profile_minutes.estimate(plan, per_image, factors)
    line = next(x for x in lines if f"`{pgd['key']}`" in x and str(pgd["settings"]["train"]) in x)
    assert f"estimated {minutes:,.0f} min" in line and f"measured {pgd['provenance']['seconds'] / 60:,.0f} min" in line
