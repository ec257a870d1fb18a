"""RR-ClArC loss against finite differences (float64) and a per-sample autograd loop; the latent
head; the baselines' building blocks; head-only fine-tuning."""

import copy

import pytest
import torch
import torch.nn.functional as F

from debiaskit.core.models import simple_convnet1
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig
from debiaskit.rrclarc.correction import (
    a_clarc_objective,
    concept_level,
    finetune,
    freeze_all_but_linear,
    latent_gradient,
    logit_scalar,
    p_clarc,
    random_signs,
    rr_clarc_objective,
    rr_penalty,
    rrr_objective,
    shift_along,
)
from debiaskit.rrclarc.latent import LatentHead, forward_with_latent, image_head, latent_head


def _model(classes=3):
    torch.manual_seed(0)
    return simple_convnet1(1, classes).double().eval()


def _data(n=5, size=12):
    gen = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, size, size, generator=gen, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0])[:n]


def _cav(c):
    gen = torch.Generator().manual_seed(2)
    v = torch.randn(c, generator=gen, dtype=torch.float64)
    return v / v.norm()


def _loss(model, x, y, layer, kind, signs, lam=3.0):
    a, _ = forward_with_latent(model, layer, x)
    head = image_head(model, layer, x)
    cav = _cav(a.shape[1])
    return F.cross_entropy(head(a), y) + lam * rr_penalty(head, a, cav, kind, y, 2, signs)


@pytest.mark.parametrize("kind", ["random_signs", "target", "class", "log_prob"])
@pytest.mark.parametrize("layer", ["body", "body.4"])
def test_rr_loss_gradient_matches_finite_differences(kind, layer):
    """End to end: the gradient reaches the fc layer and a convolution below the latent layer."""
    model, (x, y) = _model(), _data()
    signs = random_signs((len(x), 3), torch.Generator().manual_seed(3))
    loss = _loss(model, x, y, layer, kind, signs)
    model.zero_grad()
    loss.backward()
    eps = 1e-6
    for name in ("fc.weight", "body.0.weight"):
        p = dict(model.named_parameters())[name]
        for flat in (0, 5):
            idx = (flat // p[0].numel(), *torch.unravel_index(torch.tensor(flat % p[0].numel()), p.shape[1:]))
            analytic = float(p.grad[idx])
            with torch.no_grad():
                p[idx] += eps
                up = float(_loss(model, x, y, layer, kind, signs))
                p[idx] -= 2 * eps
                down = float(_loss(model, x, y, layer, kind, signs))
                p[idx] += eps
            assert analytic == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-7), (name, flat)


def test_latent_gradient_equals_a_per_sample_autograd_loop():
    model, (x, y) = _model(), _data()
    a, _ = forward_with_latent(model, "body", x)
    got = latent_gradient(image_head(model, "body", x), a, "target", y)
    for i in range(len(x)):
        ai = a[i:i + 1].detach().requires_grad_(True)
        logit = model.fc(ai.mean((2, 3)))[0, y[i]]
        (g,) = torch.autograd.grad(logit, ai)
        torch.testing.assert_close(got[i], g[0].mean((1, 2)))


def test_fast_latent_head_equals_the_model_and_the_hook_head():
    model, (x, _) = _model(), _data()
    a, logits = forward_with_latent(model, "body", x)
    torch.testing.assert_close(latent_head(model, "body")(a), logits)
    torch.testing.assert_close(LatentHead(model)(a), logits)
    torch.testing.assert_close(image_head(model, "body", x)(a), logits)
    assert latent_head(model, "body.4") is None


def test_penalty_vanishes_when_the_head_is_blind_to_the_cav():
    model, (x, y) = _model(), _data()
    a, _ = forward_with_latent(model, "body", x)
    cav = _cav(a.shape[1])
    with torch.no_grad():
        model.fc.weight -= (model.fc.weight @ cav)[:, None] * cav  # rows orthogonal to h
    head = latent_head(model, "body")
    assert float(rr_penalty(head, a, cav, "random_signs", signs=random_signs((5, 3))).detach()) < 1e-20
    assert float(rr_penalty(head, a, _cav(a.shape[1]).roll(1), "class", class_index=1).detach()) > 1e-8


def test_logit_scalar_variants_and_errors():
    logits = torch.tensor([[1.0, 3.0, -2.0], [0.5, -1.0, 2.0]])
    y = torch.tensor([0, 2])
    assert logit_scalar(logits, "target", y).tolist() == [1.0, 2.0]
    assert logit_scalar(logits, "class", class_index=1).tolist() == [3.0, -1.0]
    assert logit_scalar(logits, "max").tolist() == [3.0, 2.0]
    signs = torch.tensor([[1, -1, 1], [-1, -1, 1]])
    assert logit_scalar(logits, "random_signs", signs=signs).tolist() == [-4.0, 2.5]
    torch.testing.assert_close(logit_scalar(logits, "log_prob", y), F.log_softmax(logits, 1)[[0, 1], [0, 2]])
    with pytest.raises(ValueError, match="class_index"):
        logit_scalar(logits, "class")
    with pytest.raises(ValueError, match="unknown scalar"):
        logit_scalar(logits, "sum")


def test_shift_along_sets_the_projection_everywhere():
    a = torch.randn(4, 6, 3, 3, dtype=torch.float64)
    cav = _cav(6)
    shifted = shift_along(a, cav, 2.5)
    torch.testing.assert_close(torch.einsum("nchw,c->nhw", shifted, cav), torch.full((4, 3, 3), 2.5, dtype=torch.float64))
    rest = shifted - a
    torch.testing.assert_close(rest - torch.einsum("nchw,c->nhw", rest, cav)[:, None] * cav[None, :, None, None],
                               torch.zeros_like(a))
    assert concept_level(shifted, cav) == pytest.approx(2.5)


def test_p_clarc_moves_activations_to_the_clean_level():
    model, (x, _) = _model(), _data()
    cav = _cav(64)
    edited = p_clarc(model, "body", cav, 0.7)
    a, _ = forward_with_latent(model, "body", x)
    torch.testing.assert_close(edited(x), model.fc(shift_along(a, cav, 0.7).mean((2, 3))))


def test_rrr_without_masks_is_cross_entropy_and_with_masks_is_larger():
    model, (x, y) = _model(), _data()
    idx = torch.arange(len(x))
    empty = torch.zeros(len(x), 12, 12, dtype=torch.bool)
    ce = F.cross_entropy(model(x), y)
    torch.testing.assert_close(rrr_objective(empty, 10.0)(model, x, y, idx), ce)
    full = empty.clone()
    full[:, :3, :3] = True
    assert float(rrr_objective(full, 10.0)(model, x, y, idx).detach()) > float(ce.detach())


def test_finetune_trains_only_linear_layers_on_a_copy():
    model = simple_convnet1(1, 3).eval()
    model_before = copy.deepcopy(model.state_dict())
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(32, 64, 2, 2, generator=gen)
    y = torch.randint(0, 3, (32,), generator=gen)
    data = BiasedSplit(maps, y, torch.zeros(32, dtype=torch.long))
    cfg = TrainConfig(epochs=2, batch_size=8, lr=0.1, momentum=0.0, weight_decay=0.0, lr_milestones=(), augment=False,
                      device="cpu")
    for objective in (rr_clarc_objective(_cav(64).float(), 10.0), a_clarc_objective(_cav(64).float(), 1.0)):
        tuned = finetune(model, data, objective, cfg, on_latents=True)
        after = tuned.state_dict()
        for k, v in model_before.items():
            assert torch.equal(model.state_dict()[k], v), f"the original model changed at {k}"
            if k.startswith("fc."):
                assert not torch.equal(after[k], v)
            else:
                assert torch.equal(after[k], v), f"frozen parameter {k} changed"
    assert freeze_all_but_linear(copy.deepcopy(model)) == ["fc.weight", "fc.bias"]
