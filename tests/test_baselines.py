"""Baselines: each loss against a hand computation, the sampling/filtering rules, one tiny epoch each."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from debiaskit.baselines import COMPARED_METHODS, method_options, run_method
from debiaskit.baselines.aflite import aflite_filter, predictability
from debiaskit.baselines.hsic import gaussian_kernel, hsic, hsic_unbiased
from debiaskit.baselines.learned_mixin import learned_mixin_h_loss
from debiaskit.baselines.lff import ClassNormalisedEMA, lff_losses, relative_difficulty
from debiaskit.baselines.repair import SampleWeights, repair_loss, resample
from debiaskit.baselines.rubi import rubi_logits, rubi_loss
from debiaskit.core.models import simple_convnet1
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.3, -0.2]])
Y = torch.tensor([0, 2])


def _log_softmax(v):
    v = np.asarray(v, dtype=float)
    return v - np.log(np.exp(v).sum())


def test_learned_mixin_h_matches_hand_computation():
    log_b = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    gate = torch.tensor([0.4, -1.2])
    w_h = 0.5
    total = 0.0
    for i in range(2):
        g = math.log(1 + math.exp(float(gate[i])))  # softplus
        ens = _log_softmax(_log_softmax(LOGITS[i].numpy()) + g * log_b[i].numpy())
        q = np.exp(_log_softmax(g * log_b[i].numpy()))
        entropy = -(q * np.log(q)).sum()
        total += -ens[int(Y[i])] + w_h * entropy
    got = learned_mixin_h_loss(LOGITS, log_b, gate, Y, w_h)
    assert float(got) == pytest.approx(total / 2, rel=1e-5)
    # with w_H = 0 the entropy term vanishes, and a uniform bias model leaves plain CE
    uniform = torch.full((2, 3), math.log(1 / 3))
    assert float(learned_mixin_h_loss(LOGITS, uniform, gate, Y, 0.0)) == pytest.approx(float(F.cross_entropy(LOGITS, Y)), rel=1e-5)


def test_rubi_masks_logits_with_the_sigmoid_of_the_bias_branch():
    bias_logits = torch.tensor([[3.0, -2.0, 0.0], [-1.0, 0.5, 2.0]])
    sig = 1 / (1 + np.exp(-bias_logits.numpy()))
    fused = LOGITS.numpy() * sig
    assert np.allclose(rubi_logits(LOGITS, bias_logits).numpy(), fused, atol=1e-6)
    l_qm = np.mean([-_log_softmax(fused[i])[int(Y[i])] for i in range(2)])
    l_qo = np.mean([-_log_softmax(bias_logits[i].numpy())[int(Y[i])] for i in range(2)])
    assert float(rubi_loss(LOGITS, bias_logits, Y)) == pytest.approx(l_qm + l_qo, rel=1e-5)


def test_lff_weights_and_gce_match_hand_computation():
    biased = torch.tensor([[4.0, 0.0, 0.0], [0.0, 0.0, 0.1]])
    ce_b = np.array([-_log_softmax(biased[i].numpy())[int(Y[i])] for i in range(2)])
    ce_d = np.array([-_log_softmax(LOGITS[i].numpy())[int(Y[i])] for i in range(2)])
    w = ce_b / (ce_b + ce_d)
    assert np.allclose(relative_difficulty(torch.tensor(ce_b), torch.tensor(ce_d)).numpy(), w, atol=1e-6)
    q = 0.7
    p_y = np.exp(-ce_b)
    gce, weighted = lff_losses(biased, LOGITS, Y, q)
    assert float(gce) == pytest.approx(np.mean((1 - p_y**q) / q), rel=1e-5)
    assert float(weighted) == pytest.approx(np.mean(w * ce_d), rel=1e-5)
    # W receives no gradient: only CE_D's gradient, scaled by W, reaches f_D
    d = LOGITS.clone().requires_grad_(True)
    lff_losses(biased, d, Y, q)[1].backward()
    d2 = LOGITS.clone().requires_grad_(True)
    (torch.tensor(w, dtype=torch.float32) * F.cross_entropy(d2, Y, reduction="none")).mean().backward()
    assert torch.allclose(d.grad, d2.grad, atol=1e-6)


def test_lff_ema_is_class_normalised():
    ema = ClassNormalisedEMA(torch.tensor([0, 0, 1]), decay=0.5, num_classes=2)
    out = ema.update(torch.tensor([0, 1, 2]), torch.tensor([2.0, 4.0, 3.0]))
    assert torch.allclose(out, torch.tensor([0.5, 1.0, 1.0]))  # first visit: the loss itself / class max
    out = ema.update(torch.tensor([0]), torch.tensor([6.0]))  # 0.5 * 2 + 0.5 * 6 = 4 = new class-0 max
    assert torch.allclose(out, torch.tensor([1.0]))
    assert torch.allclose(ema.value, torch.tensor([4.0, 4.0, 3.0]))


def _hsic_u_statistic(k: np.ndarray, l: np.ndarray) -> float:
    """Song et al. (2012): HSIC_1 as the U-statistic over distinct 4-tuples (slow, independent path)."""
    m = len(k)
    total, count = 0.0, 0
    for i, j, q, r in itertools.permutations(range(m), 4):
        h = 0.0
        for t, u, v, w in itertools.permutations((i, j, q, r)):
            h += k[t, u] * l[t, u] + k[t, u] * l[v, w] - 2 * k[t, u] * l[t, v]
        total += h / 24
        count += 1
    return total / count


def test_hsic_unbiased_equals_the_u_statistic():
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    v = u[:, :2] ** 2 + 0.3 * torch.randn(7, 2, generator=gen, dtype=torch.float64)
    k, l = gaussian_kernel(u, 1.0), gaussian_kernel(v, 1.5)
    # the kernel itself, by a double loop
    k_loop = np.array([[math.exp(-float(((u[i] - u[j]) ** 2).sum()) / 2) for j in range(7)] for i in range(7)])
    assert np.allclose(k.numpy(), k_loop)
    assert float(hsic_unbiased(k, l)) == pytest.approx(_hsic_u_statistic(k.numpy(), l.numpy()), rel=1e-9, abs=1e-12)


def test_hsic_separates_dependent_from_independent():
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(256, 4, generator=gen)
    dependent = float(hsic(a, a[:, :2] + 0.1 * torch.randn(256, 2, generator=gen)))
    independent = float(hsic(a, torch.randn(256, 2, generator=gen)))
    assert dependent > 20 * abs(independent)
    with pytest.raises(ValueError, match="at least 4"):
        hsic(a[:3], a[:3])


def test_repair_gradients_descend_for_the_classifier_and_ascend_for_the_weights():
    ce = torch.tensor([0.1, 2.0, 0.5], requires_grad=True)
    weights = SampleWeights(3)
    w = weights(torch.arange(3))
    repair_loss(ce, w, weight_scale=1.0).backward()
    w0 = w.detach()
    assert torch.allclose(ce.grad, w0 / w0.sum())  # d/d CE of the weighted risk
    # weights move up the risk: the hardest sample's logit has the most negative gradient (grows under SGD)
    g = weights.logits.grad
    assert g[1] < 0 < g[0] and g[1] == g.min()
    risk = float((w0 * ce.detach()).sum() / w0.sum())
    sig_grad = w0 * (1 - w0)
    expected = -sig_grad * (ce.detach() - risk) / w0.sum()
    assert torch.allclose(g, expected, atol=1e-6)


def test_repair_s_keeps_each_sample_with_probability_w():
    w = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0])
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(5)
    for _ in range(4000):
        counts[resample(w, gen)] += 1
    assert torch.allclose(counts / 4000, w, atol=0.03)
    assert counts[0] == 0 and counts[4] == 4000
    with pytest.raises(ValueError):
        resample(torch.tensor([0.5, 1.5]), gen)


def _two_population_features(seed=0):
    """The first 40 rows are linearly predictable from their label, the last 40 are pure noise."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(4), 20)
    easy = np.eye(4)[labels[:40]] * 4 + rng.normal(size=(40, 4)) * 0.1
    hard = rng.normal(size=(40, 4))
    return np.vstack([easy, hard]), labels


def test_aflite_predictability_and_filter():
    feats, labels = _two_population_features()
    p = predictability(feats, labels, num_partitions=16, train_size=40, rng=np.random.default_rng(0))
    assert np.nanmean(p[:40]) > 0.9 and np.nanmean(p[40:]) < 0.6
    kept = aflite_filter(feats, labels, target_size=50, num_partitions=16, train_fraction=0.5, slice_size=10,
                         threshold=0.75, seed=0)
    assert len(kept) == 50
    assert (kept >= 40).sum() == 40  # every hard sample survives; only predictable ones were removed
    # early stop: a slice larger than the predictable population removes it and then stops short of the target
    kept = aflite_filter(feats, labels, target_size=10, num_partitions=16, slice_size=60, threshold=0.75, seed=0)
    assert 10 < len(kept) <= 45 and (kept < 40).sum() == 0


def _toy_split(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    bias = torch.where(torch.rand(n, generator=gen) < 0.9, y, (y + 1) % 10)
    x = torch.rand(n, 3, 28, 28, generator=gen) * 0.2
    x[:, 0] += bias.view(-1, 1, 1) / 10  # the bias: the red channel encodes it
    return BiasedSplit(x.clamp(0, 1), y, bias)


TOY_OPTIONS = {
    "vanilla": {}, "rubi": {}, "lff": {"ema": 0.7}, "rebias": {},
    "learned_mixin": {},
    "aflite": {"target_fraction": 0.5, "num_partitions": 2, "slice_size": 8, "threshold": 0.0, "feature_fraction": 0.25},
    "repair": {"weight_cfg": {"epochs": 1}},
    "pgd": {"score": "pgd", "k": 20, "lam": 1.0},
}


@pytest.mark.parametrize("name", list(COMPARED_METHODS))
def test_every_method_runs_one_tiny_epoch_through_the_same_call(name):
    split = _toy_split()
    cfg = TrainConfig(epochs=1, batch_size=16, device="cpu", seed=0)
    result = run_method(name, lambda: simple_convnet1(3, 10), split, cfg, progress=False, **TOY_OPTIONS[name])
    out = result.model(split.x[:5])
    assert out.shape == (5, 10) and torch.isfinite(out).all()
    assert not result.model.training
    assert result.history and all(math.isfinite(row["loss"]) for row in result.history)


def test_run_method_rejects_unknown_names_and_options():
    split = _toy_split(16)
    cfg = TrainConfig(epochs=1, batch_size=8, device="cpu")
    with pytest.raises(ValueError, match="unknown method 'jtt'"):
        run_method("jtt", lambda: simple_convnet1(3, 10), split, cfg)
    with pytest.raises(TypeError, match="no option 'lam'"):
        run_method("lff", lambda: simple_convnet1(3, 10), split, cfg, lam=1.0)
    assert "q" in method_options("lff") and "weight_lr" in method_options("repair")


def test_linear_probes_match_scikit_learn_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    from debiaskit.baselines.aflite import fit_linear_probes

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.3 * rng.normal(size=120) > 0).astype(int) + (x[:, 2] > 1).astype(int)
    masks = torch.zeros(2, 120, dtype=torch.bool)
    masks[0, :80] = True
    masks[1, 40:] = True
    w, b = fit_linear_probes(torch.tensor(x), torch.tensor(y), masks, 3, l2=1.0, max_iter=500)
    for j in range(2):
        rows = masks[j].numpy()
        ref = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit(x[rows], y[rows])
        ours = torch.softmax(torch.tensor(x) @ w[j] + b[j], 1).numpy()
        assert np.allclose(ours, ref.predict_proba(x), atol=2e-3)


def test_learned_mixin_accepts_a_fixed_bias_model():
    split = _toy_split(32)
    cfg = TrainConfig(epochs=1, batch_size=16, device="cpu")
    bias_model = simple_convnet1(3, 10).eval()
    result = run_method("learned_mixin", lambda: simple_convnet1(3, 10), split, cfg, progress=False,
                        biased_model=bias_model, gate_init=-4.0)
    assert result.extras["biased"] is bias_model
    assert float(result.extras["gate"].bias) != 0.0


def test_learned_mixin_does_not_depend_on_what_ran_before():
    """The random gate (no gate_init) is drawn from cfg.seed: two runs after different global RNG draws agree."""
    split = _toy_split(32)
    cfg = TrainConfig(epochs=1, batch_size=16, device="cpu")

    def model_fn():
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return simple_convnet1(3, 10)

    gates = []
    for noise in (1, 2):
        torch.manual_seed(noise)
        torch.rand(noise * 7)  # some earlier, unrelated use of the global generator
        gates.append(run_method("learned_mixin", model_fn, split, cfg, progress=False).extras["gate"].weight)
    torch.testing.assert_close(gates[0], gates[1], rtol=0, atol=0)


def test_oracle_split_is_disjoint_and_stratified():
    from debiaskit.baselines.oracle import grid_configs, split_oracle

    split = _toy_split(200, seed=3)
    val, rest = split_oracle(split, 0.5, seed=0)
    assert len(val) + len(rest) == 200
    assert abs(int((~val.major).sum()) - int((~rest.major).sum())) <= 1
    assert not set(map(tuple, val.x[:, 1, 0, :3].tolist())) & set(map(tuple, rest.x[:, 1, 0, :3].tolist()))
    configs = grid_configs(TrainConfig(), {"lr": [0.005, 0.01, 0.02], "epochs": [50, 100]})
    assert [(c.lr, c.epochs) for c in configs][:2] == [(0.005, 50), (0.005, 100)] and len(configs) == 6
    with pytest.raises(ValueError, match="unknown TrainConfig"):
        grid_configs(TrainConfig(), {"learning_rate": [1]})


def test_grad_cam_equals_the_cam_definition():
    from debiaskit.baselines.analysis import cam_reference, class_activation_maps

    torch.manual_seed(0)
    model = simple_convnet1(1, 10).eval()
    x = torch.rand(3, 1, 56, 56)
    target = torch.tensor([1, 4, 7])
    assert torch.allclose(class_activation_maps(model, x, target), cam_reference(model, x, target), atol=1e-5)


def test_value_keys_follow_the_manifest_convention():
    from debiaskit.experiments.suite import value_key

    assert value_key("colored_mnist", 0.995, "pgd", "minor") == "cm995_pgd_minor"
    assert value_key("watermarked_mnist", 0.95, "lff", "val") == "wm95_lff_val"
    assert value_key("cartoon", 0.99, "repair", "major") == "ct99_repair_major"
