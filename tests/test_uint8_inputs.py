"""uint8 images (what `train` accepts and converts per batch) work through every public entry point that
takes images, and give exactly the numbers of the same images as float in [0, 1]."""

from __future__ import annotations

import pytest
import torch
from test_baselines import TOY_OPTIONS

from debiaskit.baselines import COMPARED_METHODS, run_method
from debiaskit.baselines.fine import fine_split
from debiaskit.core.models import simple_convnet1
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, evaluate, predict
from debiaskit.pgd import debias, denoise, denoise_split, pgd_settings, progress_bars, scorer
from debiaskit.pgd.scorers import SCORE_NAMES

CFG = TrainConfig(epochs=1, batch_size=16, device="cpu", seed=0)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _pair(n=48, seed=0) -> tuple[BiasedSplit, BiasedSplit]:
    """The same images as uint8 and as float = uint8 / 255 (what every entry point converts to)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    bias = torch.where(torch.rand(n, generator=g) < 0.9, y, (y + 1) % 10)
    x = (torch.rand(n, 3, 28, 28, generator=g) * 60).to(torch.uint8)
    x[:, 0] += (bias * 20).to(torch.uint8).view(-1, 1, 1)
    return BiasedSplit(x, y, bias), BiasedSplit(x.float().div(255.0), y, bias)


def _model_fn():
    torch.manual_seed(0)
    return simple_convnet1(3, 10)


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name", list(COMPARED_METHODS))
def test_every_method_trains_the_same_model_from_uint8(name):
    as_uint8, as_float = _pair()
    models = []
    for split in (as_uint8, as_float):
        torch.manual_seed(0)
        models.append(run_method(name, _model_fn, split, CFG, progress=False, **TOY_OPTIONS[name]).model)
    assert _same_state(*models)


@pytest.mark.parametrize("preset", [pgd_settings("published"), pgd_settings("draft", k=20, lam=1.0),
                                    pgd_settings("draft", k=20, lam=1.0, params="all")])
def test_pgd_debias_and_scores_from_uint8(preset):
    as_uint8, as_float = _pair()
    with progress_bars(False):
        outs = [debias(_model_fn, split, biased_cfg=CFG, debiased_cfg=CFG, preset=preset)
                for split in (as_uint8, as_float)]
    assert torch.equal(outs[0].p_s, outs[1].p_s) and _same_state(outs[0].debiased, outs[1].debiased)
    model = outs[1].biased
    for name in SCORE_NAMES:
        score = pgd_settings("draft", score=name).score
        a, b = (score(model, s) for s in (as_uint8, as_float))
        same = torch.equal(a.log_s, b.log_s) if name == "pgd" else torch.equal(a, b)
        assert same, name
    assert scorer("pgd") == pgd_settings("draft").score


def test_denoise_fine_predict_and_evaluate_from_uint8():
    as_uint8, as_float = _pair()
    model = _model_fn().eval()
    assert torch.equal(predict(model, as_uint8.x), predict(model, as_float.x))
    assert evaluate(model, as_uint8) == evaluate(model, as_float)
    a, b = (denoise_split(model, s.x, s.y) for s in (as_uint8, as_float))
    assert torch.equal(a.compensated, b.compensated) and torch.equal(a.clean, b.clean)
    assert torch.equal(fine_split(model, as_uint8.x, as_uint8.y).scores, fine_split(model, as_float.x, as_float.y).scores)
    outs = [denoise(_model_fn, split, CFG) for split in (as_uint8, as_float)]
    assert torch.equal(outs[0][1].clean, outs[1][1].clean) and outs[0][0].x.dtype == torch.uint8
