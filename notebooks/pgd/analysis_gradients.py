# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # PGD, Figures 4 and 14: what per-sample gradients of a biased model reveal
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/analysis_gradients.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Section 4.1, Figure 4 and Appendix H, Figure 14.
#
# **Claims.** (Figure 4) Under a model trained on a biased set, minority samples sit far from the
# minimum the model converged to: their loss landscapes fall steeply along their gradient (4a, 4b), and
# they have *larger gradient magnitudes* and *lower gradient-direction likelihoods* (the per-class vMF
# density of the unit gradient) than majority samples (4c). (Figure 14) Turning the scores into
# sampling probabilities -- p_M from the magnitude score, p_D from the direction score, p_S from their
# harmonic mean -- mixes the (label, colour) pairs that the raw set binds together, and **p_S gives the
# most uniform sampling matrix**.
#
# **Setup (Appendix A.2).** Colored MNIST (difficulty 0.0001) at |M|/|D| = 99% and 99.5%; one GCE-biased
# Simple ConvNet-1 per ratio (Algorithm 2, step 1), shared with the other analysis notebooks through the
# model cache, and for Figure 14 one per seed of `matrix_seeds` at 99.5% (seeds 0, 1, 2 in the quick and
# full profiles: seed 0's is the 99.5% model above, each other seed draws its own data set and trains its
# own biased model); per-sample gradients of all parameters on the k = 100 dominant coordinates (Section 4.1).
# We measure how uniform a sampling matrix is with the mean normalised entropy of its rows (1: every
# label drawn with every colour equally often; 0: one colour per label), see
# `debiaskit.pgd.analysis.sampling_matrix`.

# %% tags=["colab"]
# In Colab: fetch the project and install it. Elsewhere this cell does nothing.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    if not os.path.exists("/content/debiaskit"):
        subprocess.run(["git", "clone", "--depth", "1", "https://github.com/debiaskit/debiaskit", "/content/debiaskit"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/debiaskit"], check=True)
    sys.path.insert(0, "/content/debiaskit/lib")
    os.chdir("/content/debiaskit/notebooks/pgd")

# %% tags=["parameters"]
profile = "quick"
bias_ratios = [0.99, 0.995]  # Figure 4c: one biased model per ratio
matrix_ratio = 0.995  # Figure 14 and Figure 4a/b
matrix_seeds = [0, 1, 2]  # Figure 14: one biased model per seed; the table averages them, the figure shows the first
difficulty = 0.0001
n_train = 10000  # MNIST training images used (None: all 60k)
n_test = 4000  # test images (None: all 10k)
biased_epochs = 5
biased_lr = 0.05
biased_lr_decay = 0.1
biased_lr_milestones = []
momentum = 0.8
weight_decay = 0.001
batch_size = 256
q = 0.7  # GCE
k = 100  # dominant gradient coordinates (Table 4)
lam = 1.0
target_ess = "auto"  # p_M, p_D, p_S: the samples each ranks first, as many as f_b gets wrong, share half of the mass
landscape_classes = [0, 1]  # Appendix A.2: the gradient property test uses classes 0 and 1
landscape_set_size = 256  # majority samples averaged in Figure 4b
landscape_span = 0.3
landscape_steps = 15
bins = 10
seed = 0
data_root = None
device = "auto"

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from debiaskit import pgd
from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.config import seed_everything
from debiaskit.core.training import TrainConfig, evaluate
from debiaskit.data.colored_mnist import colored_mnist
from debiaskit.experiments.analysis_runs import biased_model
from debiaskit.pgd.analysis import (
    bin_shares,
    gradient_landscape,
    gradient_profile,
    quantile_bins,
    sampling_matrix,
    score_probabilities,
    separation_auc,
    uniformity,
)
from debiaskit.pgd.analysis.figures import plot_bin_shares, plot_landscape, plot_matrix

use_style()
seed_everything(seed)
run4 = start("pgd/fig4", globals())
run14 = start("pgd/fig14", globals())
biased_cfg = TrainConfig(epochs=biased_epochs, batch_size=batch_size, lr=biased_lr, momentum=momentum,
                         weight_decay=weight_decay, lr_decay=biased_lr_decay, lr_milestones=tuple(biased_lr_milestones),
                         augment=False, seed=seed, device=device)

# %% [markdown]
# ## The biased models and their per-sample gradients
# Algorithm 2, step 1: a GCE-trained Simple ConvNet-1 per bias ratio (raw mini-batches). Then, for every
# training sample, the gradient of its cross-entropy w.r.t. all parameters, restricted to the k dominant
# coordinates, and the draft's scores M, D and S per class.

# %%
benches, models, profiles = {}, {}, {}
for ratio in sorted(set(bias_ratios) | {matrix_ratio}):
    bench = colored_mnist(ratio, difficulty, seed=seed, n_train=n_train, n_test=n_test, root=data_root)
    model = biased_model(bench, biased_cfg, loss="gce", q=q)
    benches[ratio], models[ratio] = bench, model
    profiles[ratio] = gradient_profile(model, bench.train, k=k, lam=lam)
    acc = evaluate(model, bench.test)
    print(f"{bench.describe()}\n  biased model: majority {acc['major']:.1f}%, minority {acc['minor']:.1f}%")

# %% [markdown]
# ## Figure 4(c): majority and minority samples per bin of direction likelihood and magnitude
# Bins are the deciles of each quantity over the training set (bin 1: the lowest tenth). A group spread
# like the data would put 10% in every bin; the draft finds the minority piled up in the low-likelihood
# and high-magnitude bins. The AUROC says the same in one number: the chance that a random minority
# sample has the larger magnitude (or the lower likelihood) than a random majority sample.

# %%
hist, rows = {}, []
for ratio in bias_ratios:
    prof = profiles[ratio]
    hist[ratio] = {
        "direction": bin_shares(quantile_bins(prof.log_direction, bins), prof.major, bins),
        "magnitude": bin_shares(quantile_bins(prof.norm.log(), bins), prof.major, bins),
    }
    rows.append({"|M|/|D|": f"{100 * ratio:g}%",
                 "minority median norm / majority median norm": float(prof.norm[~prof.major].median() / prof.norm[prof.major].median()),
                 "AUROC magnitude (%)": separation_auc(prof.norm, prof.major),
                 "AUROC low direction likelihood (%)": separation_auc(-prof.log_direction, prof.major),
                 "minority in top magnitude bin (%)": 100 * hist[ratio]["magnitude"]["minority"][-1],
                 "minority in lowest likelihood bin (%)": 100 * hist[ratio]["direction"]["minority"][0]})
pd.DataFrame(rows).set_index("|M|/|D|").round(2)

# %% [markdown]
# ## Figure 4(a, b): loss landscapes along the gradient direction
# As in Appendix A.2, samples of classes 0 and 1 of the 99.5% set. (a) one majority and one minority
# sample; (b) the mean loss of the majority and of the minority samples of those classes. Each surface is
# the loss difference from the converged model along its own (filter-normalised) negative gradient (x)
# and a random filter-normalised direction (y), after Li et al. (2018). The red arrow runs from the
# converged model (centre) to the lowest point of the grid.

# %%
split = benches[matrix_ratio].train
model = models[matrix_ratio]
in_classes = torch.isin(split.y, torch.tensor(landscape_classes))
major_idx = (in_classes & split.major).nonzero(as_tuple=True)[0]
minor_idx = (in_classes & ~split.major).nonzero(as_tuple=True)[0]
gen = torch.Generator().manual_seed(seed)
set_major = major_idx[torch.randperm(len(major_idx), generator=gen)[:landscape_set_size]]
panels = {
    "sample, majority": split.subset(major_idx[:1]),
    "sample, minority": split.subset(minor_idx[:1]),
    "set, majority": split.subset(set_major),
    "set, minority": split.subset(minor_idx),
}
landscapes = {name: gradient_landscape(model, s.x, s.y, landscape_span, landscape_steps, seed)
              for name, s in panels.items()}
pd.DataFrame({name: {"samples": len(panels[name]), "loss at the biased model": land.loss,
                     "gradient norm": land.grad_norm, "lowest loss difference": land.minimum[2],
                     "arrow length": land.arrow_length} for name, land in landscapes.items()}).T.round(3)

# %%
fig = plt.figure(figsize=(15, 6))
grid = fig.add_gridspec(2, 4, width_ratios=[1, 1, 1.1, 1.1], wspace=0.6, hspace=0.6)
for col, kind in enumerate(("sample", "set")):
    for row, group in enumerate(("majority", "minority")):
        ax = fig.add_subplot(grid[row, col])
        cs = plot_landscape(ax, landscapes[f"{kind}, {group}"], f"({'ab'[col]}) {group}, {'per-sample' if kind == 'sample' else 'aggregated'}")
        fig.colorbar(cs, ax=ax, fraction=0.046, pad=0.04)
for row, ratio in enumerate(bias_ratios):
    for col, quantity in enumerate(("direction", "magnitude")):
        ax = fig.add_subplot(grid[row, 2 + col])
        plot_bin_shares(ax, hist[ratio][quantity], f"(c) CM {100 * ratio:g}%: {quantity}",
                        "Bin index (low -> high " + ("likelihood)" if quantity == "direction" else "norm)"))
        if row == 0 and col == 0:
            ax.legend(fontsize=7)
fig.suptitle("Loss difference from the biased model along its gradient (a, b); share of samples per decile (c)", y=0.99)
run4.save_figure(fig)
plt.show()

# %% [markdown]
# ## Figure 4: paper vs reproduced
# Figure 4 has no legible numbers in the draft's text; the reproduced values are the AUROCs above and the
# landscape summaries.

# %% tags=["nbval-check-output"]
values4 = {}
for ratio in bias_ratios:
    prof, tag = profiles[ratio], f"{100 * ratio:g}"
    values4[f"norm_auc@{tag}"] = separation_auc(prof.norm, prof.major)
    values4[f"dir_auc@{tag}"] = separation_auc(-prof.log_direction, prof.major)
    values4[f"minor_top_norm_bin@{tag}"] = 100 * hist[ratio]["magnitude"]["minority"][-1]
    values4[f"major_top_norm_bin@{tag}"] = 100 * hist[ratio]["magnitude"]["majority"][-1]
    values4[f"minor_low_dir_bin@{tag}"] = 100 * hist[ratio]["direction"]["minority"][0]
    values4[f"major_low_dir_bin@{tag}"] = 100 * hist[ratio]["direction"]["majority"][0]
for name, land in landscapes.items():
    key = name.replace(", ", "_")
    values4[f"{key}_loss_drop"] = -land.minimum[2]
    values4[f"{key}_arrow"] = land.arrow_length
run4.record(values4, tables={"landscape": {n: l.surface.round(5).tolist() for n, l in landscapes.items()}})
print(run4.comparison(decimals=2).to_string())
print(run4.claims().to_string(index=False))

# %%
def per_ratio(key, digits=1):
    """``"a% and b%"``: the recorded ``<key>@<ratio>`` values at every ratio of ``bias_ratios``."""
    return " and ".join(f"{values4[f'{key}@{100 * r:g}']:.{digits}f}%" for r in bias_ratios)


run4.say(
    "**Findings (this run), Figure 4.** At |M|/|D| = {ratios}%, {minor_top} of the minority samples fall in the top "
    "magnitude decile (majority: {major_top}) and {minor_low} in the lowest likelihood decile (majority: "
    "{major_low}); the AUROC of the magnitude is {norm_auc}, that of the low direction likelihood {dir_auc}. Along "
    "its own gradient, the minority sample's loss drops by {v[sample_minority_loss_drop]:.2f} nats and the minority "
    "set's mean loss by {v[set_minority_loss_drop]:.2f}; the majority sample's by {v[sample_majority_loss_drop]:.3f} "
    "and the majority set's by {v[set_majority_loss_drop]:.3f}. {claims}",
    ratios=" and ".join(f"{100 * r:g}" for r in bias_ratios),
    minor_top=per_ratio("minor_top_norm_bin"), major_top=per_ratio("major_top_norm_bin"),
    minor_low=per_ratio("minor_low_dir_bin"), major_low=per_ratio("major_low_dir_bin"),
    norm_auc=per_ratio("norm_auc", 2), dir_auc=per_ratio("dir_auc", 2),
)

# %% [markdown]
# ## Figure 14: (label, colour) sampling matrices
# Each cell holds the share of a label's sampling mass that goes to samples of a colour: (a) without
# resampling (every sample once), (b) p_M, (c) p_D, (d) p_S. Taken literally, p_D and p_S put all mass on
# a handful of samples (the vMF concentrations are large; the findings below give this run's); like the
# method itself (`debiaskit.pgd`, `"balanced"` stabilisation), each probability gives the samples its score
# ranks first, as many as the biased model misclassifies, half of the mass uniformly and all other samples
# the other half. The literal p_S is reported beside it. The table averages over the biased models of
# `matrix_seeds` (the per-seed uniformities are printed above it); the figure shows the first seed's matrices.

# %%
def matrix_summary(prof):
    """The (label, colour) sampling matrices of one biased model's scores and, per probability, the matrix's
    uniformity, the share of the mass on the minority and the effective sample size."""
    probabilities = {"w/o": torch.ones(len(prof.y), dtype=torch.float64), **score_probabilities(prof, target_ess)}
    probabilities["p_S literal"] = pgd.sampling_probability(prof.log_s, "literal")[0]
    matrices = {name: sampling_matrix(p, prof.y, prof.bias, 10) for name, p in probabilities.items()}
    summary = pd.DataFrame({name: {"uniformity": uniformity(matrices[name]),
                                   "minority mass (%)": 100 * float(p[~prof.major].sum() / p.sum()),
                                   "effective sample size": pgd.effective_sample_size(p)}
                            for name, p in probabilities.items()}).T
    return matrices, summary


per_seed = {}
for s in matrix_seeds:
    if s == seed:
        prof = profiles[matrix_ratio]
    else:  # another draw of the data set and another biased model
        bench_s = colored_mnist(matrix_ratio, difficulty, seed=s, n_train=n_train, n_test=n_test, root=data_root)
        model_s = biased_model(bench_s, dataclasses.replace(biased_cfg, seed=s), loss="gce", q=q)
        prof = gradient_profile(model_s, bench_s.train, k=k, lam=lam)
    per_seed[s] = matrix_summary(prof)
matrices = per_seed[matrix_seeds[0]][0]
per_seed_uniformity = pd.DataFrame({s: 100 * summ["uniformity"] for s, (_, summ) in per_seed.items()}).T
per_seed_uniformity.index.name = "seed"
print("uniformity U (%) per seed:")
print(per_seed_uniformity.round(2).to_string())
summary14 = pd.concat([summ for _, summ in per_seed.values()]).groupby(level=0, sort=False).mean()
summary14.round(3)

# %%
fig, axes = plt.subplots(1, 4, figsize=(14, 3.9))
for ax, (name, letter) in zip(axes, (("w/o", "a"), ("p_M", "b"), ("p_D", "c"), ("p_S", "d"))):
    label = {"w/o": "w/o", "p_M": "$p_M(i)$", "p_D": "$p_D(i)$", "p_S": "$p_S(i)$"}[name]
    plot_matrix(ax, matrices[name], f"({letter}) {label}, {100 * matrix_ratio:g}%, seed {matrix_seeds[0]}  "
                                    f"U = {100 * uniformity(matrices[name]):.1f}",
                vmax=1.0)
fig.tight_layout()
run14.save_figure(fig)
plt.show()

# %% [markdown]
# ## Figure 14: paper vs reproduced
# The draft's Figure 14 cells are not legible in its text; it states that p_S is the most uniform.

# %% tags=["nbval-check-output"]
values14 = {f"uniformity_{name.replace('/', '').replace('p_', 'p')}": 100 * summary14.loc[name, "uniformity"]
            for name in summary14.index if name != "p_S literal"}
values14["uniformity_pS_literal"] = 100 * summary14.loc["p_S literal", "uniformity"]
for name in ("p_M", "p_D", "p_S"):
    values14[f"minority_mass_{name.replace('p_', 'p')}"] = summary14.loc[name, "minority mass (%)"]
run14.record(values14, tables={**{name: m.round(4).tolist() for name, m in matrices.items()},
                               "uniformity_per_seed": per_seed_uniformity.reset_index().to_dict("records")},
             seeds=matrix_seeds)
print(run14.comparison(decimals=1).to_string())
print(run14.claims().to_string(index=False))

# %%
def seed_list(name):
    """``"a / b / c"``: the uniformity (%) of probability ``name`` on every seed of ``matrix_seeds``."""
    return " / ".join(f"{per_seed_uniformity.loc[s, name]:.2f}" for s in matrix_seeds)


def median_span(log_score):
    """Median over classes of the range (nats) of a per-class log score under the biased model of ``seed``."""
    prof = profiles[matrix_ratio]
    return float(np.median([float(log_score[prof.y == c].max() - log_score[prof.y == c].min())
                            for c in prof.y.unique()]))


u = per_seed_uniformity
spread = (u.max() - u.min())[["p_M", "p_S"]]
run14.say(
    "**Findings (this run), Figure 14.** Averaged over the {n_seeds} seed(s) {seeds} (each its own data draw and "
    "biased model), the uniformity U is {v[uniformity_pS]:.2f} for p_S, {v[uniformity_pD]:.2f} for p_D and "
    "{v[uniformity_pM]:.2f} for p_M (raw set: {v[uniformity_wo]:.2f}; literal p_S: {v[uniformity_pS_literal]:.2f}), "
    "with {v[minority_mass_pS]:.1f}%, {v[minority_mass_pD]:.1f}% and {v[minority_mass_pM]:.1f}% of the mass on the "
    "minority. Per seed, p_S gives U = {ps_seeds} and p_M {pm_seeds} (spreads {ps_spread:.2f} and "
    "{pm_spread:.2f}); p_S is the most uniform on {n_ps_best} of the {n_seeds} seed(s), and p_M beats it on "
    "seed(s): {pm_beats}. Under seed {seed}'s biased model, the first group (as many samples as it misclassifies) "
    "is {first_group:.2f}% of the training set, the per-class vMF concentrations kappa run from {kappa_low:,.0f} "
    "to {kappa_high:,.0f}, and within a class log D spans {d_span:.0f} nats (median over classes) against "
    "{m_span:.1f} for log M; p_S and p_D {ps_pd}. {claims}",
    n_seeds=len(matrix_seeds), seeds=", ".join(str(s) for s in matrix_seeds),
    ps_seeds=seed_list("p_S"), pm_seeds=seed_list("p_M"), ps_spread=spread["p_S"], pm_spread=spread["p_M"],
    n_ps_best=sum(bool(u.loc[s, "p_S"] >= u.loc[s, ["p_M", "p_D"]].max()) for s in matrix_seeds),
    pm_beats=", ".join(str(s) for s in matrix_seeds if u.loc[s, "p_M"] > u.loc[s, "p_S"]) or "none",
    seed=seed, first_group=100 * profiles[matrix_ratio].error_rate,
    kappa_low=min(profiles[matrix_ratio].kappa.values()), kappa_high=max(profiles[matrix_ratio].kappa.values()),
    d_span=median_span(profiles[matrix_ratio].log_d), m_span=median_span(profiles[matrix_ratio].log_m),
    ps_pd=("have the same uniformity" if abs(values14["uniformity_pS"] - values14["uniformity_pD"]) < 0.005
           else f"differ by {abs(values14['uniformity_pS'] - values14['uniformity_pD']):.2f} in U"),
)

# %% [markdown]
# ## What differs and why
# * **Stabilised probabilities.** The draft's p_D and p_S are the literal 1/D and 1/S; with the vMF
#   concentrations a GCE-biased network produces (large kappa; the Figure 14 findings give this run's) they
#   put all mass on a few samples (see the literal p_S row). We give every probability the method's two-group
#   profile: the samples a score ranks first, as many as the biased model misclassifies, share half of the
#   mass (`deviations` in `papers.yaml`), so the three are compared by which samples they put first.
# * **Scale.** The quick profile trains the biased models on a 10k-image subset for 5 epochs (lr 0.05);
#   the draft trains for 100 epochs on all of MNIST. The full profile does too, with the authors' code's
#   Colored MNIST schedule (lr 0.02, batch 128, momentum 0.9, x0.1 at 40% and 80% of the epochs) rather than
#   Table 4's column read literally (see pgd/table4's deviations). The landscapes use the 10-class biased model
#   and its samples of classes 0 and 1, where the draft trained a separate model on classes 0 and 1.
# * **Bins.** The draft does not say how its bins are cut; we use deciles of the pooled values, so each
#   group's shares sum to 1 and 10% per bin means "no difference".
#
# **Why the quick profile comes out as it does** (the numbers are in the findings paragraphs above). With every
# probability on the same two-group profile, the three matrices differ only by which samples their scores put in
# the first group (as many as the biased model misclassifies), so p_M, p_D and p_S can come out close, and which
# is most uniform on a single seed is decided by a few samples. One seed does not decide the claim. Dated
# measurements of seed 0 alone (the matrices shown), not this run: p_S and p_M were 49.58 vs 49.53 on
# 2026-12-01's host, 48.44 vs 49.53 in the first run on 2026-12-02, 48.12 vs 49.75 in the second (15:10-15:47
# UTC; the same code, other floating-point kernels) and 48.44 vs 49.53 again on 2026-12-05's host; earlier
# versions moved it either way (48.5 for p_M against 47.6 in an earlier version of this stabilisation, commit
# 96b0149 of 2026-12-01; 48.7 against 50.1 before debiaskit's PreciseBN, commit ca2d916 of 2026-12-01). The vMF
# direction score spans far more nats per class than the magnitude score (the vMF concentrations a GCE-biased
# network gives are large; the findings above give this run's), so the harmonic mean S orders the samples as D
# does, which is why p_S and p_D coincide or nearly so. The literal p_S (no stabilisation) puts its mass on a
# handful of samples, which is why its U is near 0.
