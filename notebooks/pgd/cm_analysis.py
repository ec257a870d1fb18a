# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # PGD, Table 12 and Figure 13: what the de-biased models learned on Colored MNIST
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/cm_analysis.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Appendix H. **Table 12** (random colour test): test digits coloured with RGB ~ U(0,1)^3, so
# colour carries no information; a model that reads the shape keeps its accuracy (PGD 95.4%) while one
# that reads the colour drops to chance-like levels (Vanilla 50.8%). **Figure 13**: the accuracy of every
# (colour, label) pair; Vanilla is right only on the diagonal (the majority pairs), PGD on almost all pairs.
#
# The models are the Table 1 notebook's (99.5% Colored MNIST), loaded from the cache: this notebook only evaluates.

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
seeds = [0]
bias_ratio = 0.995
difficulty = 0.0001
n_train = 18000
n_test = 2000
train_settings = {"epochs": 3, "lr": 0.05, "momentum": 0.9, "batch_size": 128, "lr_decay": 0.001, "lr_milestones": [0.67]}
methods = ["vanilla", "learned_mixin", "rubi", "lff", "rebias", "aflite", "repair", "pgd"]
method_options = {
    "learned_mixin": {"gate_init": -4.0, "entropy_weight": 0.0},
    "lff": {"ema": 0.7},
    "aflite": {"features": "vanilla", "num_partitions": 8, "slice_size": 0.1, "target_fraction": 0.2},
    "pgd": {"preset": "published"},
}
matrix_methods = ["vanilla", "lff", "repair", "pgd"]
data_root = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from debiaskit.baselines import DISPLAY_NAMES
from debiaskit.baselines.analysis import accuracy, random_rgb_test
from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.metrics import cell_accuracy, diagonal_and_off
from debiaskit.core.training import predict
from debiaskit.experiments.benchmarks import build_benchmark
from debiaskit.experiments.runs import train_config, trained_model

use_style()
run12 = start("pgd/table12", globals())
run13 = start("pgd/fig13", globals())

# %% [markdown]
# ## The models (cached by the Table 1 notebook) and the two test sets
# `random_rgb`: the paper's test, every digit in its own colour drawn from U(0,1)^3. `random_palette`: every
# digit in one of the ten class colours drawn uniformly, so that each (colour, label) pair of Figure 13
# holds about 1/100 of the test set.

# %%
results, matrices = [], {}
for s in seeds:
    bench = build_benchmark("colored_mnist", bias_ratio, seed=s, difficulty=difficulty, n_train=n_train,
                            n_test=n_test, root=data_root)
    palette_test = build_benchmark("colored_mnist", bias_ratio, seed=s, difficulty=difficulty, n_train=n_train,
                                   n_test=None, test_minority="random", root=data_root).test
    rgb_test = random_rgb_test(difficulty, seed=s, root=data_root)
    cfg = train_config(train_settings, seed=s)
    for m in methods:
        model = trained_model(m, bench, cfg, method_options.get(m))
        results.append({"method": m, "seed": s, "random_rgb": accuracy(model, rgb_test),
                        "random_palette": accuracy(model, palette_test)})
        if m in matrix_methods:
            pred = predict(model, palette_test.x).argmax(1)
            matrices.setdefault(m, []).append(cell_accuracy(pred, palette_test.y, palette_test.bias, 10).numpy())
table = pd.DataFrame(results).groupby("method", sort=False)[["random_rgb", "random_palette"]].mean()
table.index = [DISPLAY_NAMES[m] for m in table.index]
table.round(2)

# %% [markdown]
# ## Figure 13: accuracy of every (colour, label) pair

# %%
fig, axes = plt.subplots(1, len(matrix_methods), figsize=(3.4 * len(matrix_methods), 3.6))
for ax, m in zip(np.atleast_1d(axes), matrix_methods):
    mat = np.mean(matrices[m], axis=0) / 100
    ax.imshow(mat, cmap="RdBu", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(mat):
        ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=5.5, color="white" if abs(v - 0.5) > 0.35 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("Color index")
    ax.set_ylabel("Label")
    ax.grid(False)
    ax.set_title(DISPLAY_NAMES[m])
fig.tight_layout()
run13.save_figure(fig)
plt.show()

# %% [markdown]
# ## Paper vs reproduced
# Table 12 lists Vanilla, LfF, ReBias, REPAIR and PGD; we add the other three methods and the palette
# variant. Figure 13's numbers are the mean accuracy (%) of the diagonal (majority) and off-diagonal
# (minority) cells.

# %% tags=["nbval-check-output"]
values12 = {f"random_{m}": round(float(r), 1) for m, r in
            pd.DataFrame(results).groupby("method", sort=False)["random_rgb"].mean().items()}
values12 |= {f"palette_{m}": round(float(r), 1) for m, r in
             pd.DataFrame(results).groupby("method", sort=False)["random_palette"].mean().items()}
run12.record(values12, seeds=seeds)
print(run12.comparison().to_string())
print(run12.claims().to_string(index=False))
values13 = {}
for m in matrix_methods:
    diag, off = diagonal_and_off(torch.tensor(np.mean(matrices[m], axis=0)))
    values13[f"{m}_diag"], values13[f"{m}_off"] = round(diag, 1), round(off, 1)
run13.record(values13, tables={m: np.round(np.mean(matrices[m], axis=0), 1).tolist() for m in matrix_methods},
             seeds=seeds)
print(run13.comparison().to_string())
print(run13.claims().to_string(index=False))

# %%
def listed(prefix, names):
    """``"LfF 11.8%, ..."``: the recorded ``<prefix>_<method>`` values of ``names``."""
    return ", ".join(f"{DISPLAY_NAMES[m]} {values12[f'{prefix}_{m}']:.1f}%" for m in names)


others = [m for m in methods if m not in ("pgd", "vanilla")]
run12.say(
    "**Findings (this run), Table 12.** On digits in random RGB colours PGD's model is right on "
    "{v[random_pgd]:.1f}% and Vanilla's on {v[random_vanilla]:.1f}% (the paper: {p[random_pgd]:.1f}% and "
    "{p[random_vanilla]:.1f}%), so Vanilla is {vanilla_vs_paper} the paper's; the other methods: {others}. "
    "With the ten class colours drawn at random: PGD {v[palette_pgd]:.1f}%, Vanilla {v[palette_vanilla]:.1f}%, "
    "{palette_others}. {claims}",
    vanilla_vs_paper=("below" if values12["random_vanilla"] < run12.artifact.paper_values["random_vanilla"]
                      else "not below"),
    others=listed("random", others), palette_others=listed("palette", others),
)

# %%
run13.say(
    "**Findings (this run), Figure 13.** Mean accuracy of the diagonal (majority) and off-diagonal (minority) "
    "pairs: {cells}. {claims}",
    cells="; ".join(f"{DISPLAY_NAMES[m]} {values13[f'{m}_diag']:.1f}% and {values13[f'{m}_off']:.1f}%"
                    for m in matrix_methods),
)

# %% [markdown]
# ## What differs and why
# The models come from the Table 1 notebook's quick profile (18k training images, 3 epochs with the last at lr x0.001, one seed), so
# Vanilla has had far less training than the paper's 100 epochs to learn the shape, which is why it can be
# lower on the random tests than the paper's Vanilla (the findings above compare them); PGD is the published
# variant. The paper's Figure 13 does not say which test set fills the matrix; we use the ten-colour random
# test so that all 100 pairs are equally populated.
