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
# # Tutorial: de-biasing your own data set and your own model
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/tutorials/own_data.ipynb)
#
# The library's methods take what a PyTorch user already has: images and labels as tensors, NumPy arrays or
# lists (or a `BiasedSplit`), a function that builds a fresh network, and training settings as a `TrainConfig`
# or a plain dict. This notebook walks through a whole study on a data set built here by our own rule:
#
# 1. a biased training set made from Fashion-MNIST: every garment class gets a coloured border, and in 99% of
#    the training images the border's colour is the class's own (the *bias attribute*); the test set pairs
#    garments and borders at random, so a model that learned the border fails there;
# 2. a small CNN defined in this notebook;
# 3. Vanilla against PGD (`debiaskit.pgd.debias`) and two compared methods (`debiaskit.baselines.run_method`),
#    with accuracy on the majority (border agrees with the class) and the minority (it does not);
# 4. how to read PGD's diagnostics: the effective sample size of its sampling distribution and how its scores
#    separate majority from minority;
# 5. what to do without any bias labels.

# %% tags=["colab"]
# In Colab: fetch the project and install it. Elsewhere this cell does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules:
    if not os.path.exists("/content/debiaskit"):
        subprocess.run(["git", "clone", "--depth", "1", "https://github.com/debiaskit/debiaskit", "/content/debiaskit"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/debiaskit"], check=True)
    sys.path.insert(0, "/content/debiaskit/lib")
    os.chdir("/content/debiaskit/notebooks/tutorials")

# %% tags=["parameters"]
profile = "quick"
bias_ratio = 0.99  # share of training images whose border has their class's colour
n_train = 10000  # Fashion-MNIST training images used
n_test = 4000
epochs = 4
batch_size = 64
lr = 0.05
methods = ["lff", "repair"]  # compared methods beside Vanilla and PGD
seed = 0
data_root = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from debiaskit.baselines import COMPARED_METHODS, DISPLAY_NAMES, run_method
from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import image_grid, use_style
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, evaluate
from debiaskit.data.sources import load_fashion_mnist
from debiaskit.pgd import debias, progress_bars

use_style()
run = start("pgd/tutorial", globals())

# %% [markdown]
# ## 1. A biased data set, built by our own rule
# Nothing here is specific to the library: images as a `[N, 3, 28, 28]` uint8 tensor, labels and bias labels as
# integer tensors. The bias labels (the border's colour class) are only needed to *evaluate* by group.

# %%
PALETTE = torch.tensor([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                        [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 190]],
                       dtype=torch.uint8)


def bordered(images: torch.Tensor, colours: torch.Tensor, width: int = 3) -> torch.Tensor:
    """Grey garments [N, 28, 28] on a coloured frame: [N, 3, 28, 28] uint8."""
    x = images.unsqueeze(1).repeat(1, 3, 1, 1)
    frame = torch.zeros(28, 28, dtype=torch.bool)
    frame[:width], frame[-width:], frame[:, :width], frame[:, -width:] = True, True, True, True
    x[:, :, frame] = colours[:, :, None]
    return x


def biased_fashion(train: bool, n: int, ratio: float, gen: torch.Generator) -> BiasedSplit:
    images, labels = load_fashion_mnist(train=train, root=data_root)
    rows = torch.randperm(len(labels), generator=gen)[:n]
    images, labels = images[rows], labels[rows]
    aligned = torch.rand(n, generator=gen) < ratio
    other = (labels + torch.randint(1, 10, (n,), generator=gen)) % 10  # any class but the garment's own
    bias = torch.where(aligned, labels, other)
    return BiasedSplit(bordered(images, PALETTE[bias]), labels, bias)


gen = torch.Generator().manual_seed(seed)
train_split = biased_fashion(True, n_train, bias_ratio, gen)
test_split = biased_fashion(False, n_test, 0.1, gen)  # borders at random: 10% agree with the class, as chance
print(f"training: {len(train_split)} images, {100 * train_split.minority_ratio:.1f}% minority; "
      f"test: {len(test_split)} images, {100 * test_split.minority_ratio:.1f}% minority")

fig, ax = plt.subplots(figsize=(7, 1.6))
image_grid(train_split.x[:16].float() / 255, nrow=16, ax=ax)
ax.set_title("training images: the border's colour gives the class away in 99% of them")
plt.show()


# %% [markdown]
# ## 2. A model of our own
# Any `nn.Module` that returns `[batch, classes]` logits works. PGD's default scores use the per-sample gradients
# of the last `nn.Linear` layer in closed form, so end the network in one (or give `debias` the preset
# `pgd_settings("draft", method="vmap")`: per-sample gradients through `torch.func`).
# The methods build several networks (a biased one, a de-biased one), so they take a *factory*: the class
# itself, or a function that returns a fresh network.

# %%
class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        return self.fc(self.body(x))


def model_fn() -> nn.Module:
    torch.manual_seed(seed)  # the same initial weights for every method
    return SmallCNN()


cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=0.9, seed=seed)  # default schedule: x0.1 at 50%, 75%
cfg

# %% [markdown]
# ## 3. Vanilla, PGD and two compared methods
# `run_method(name, model_fn, data, cfg)` trains any compared method (`COMPARED_METHODS` lists them; none sees
# the bias labels). `debias(model_fn, data, biased_cfg=..., debiased_cfg=..., preset="draft")` runs PGD (the
# draft's Algorithm 2; `preset="published"` is the ICLR 2023 version) and also returns its biased model, its
# sampling probabilities `p_s` and its diagnostics. Its steps are public too, for a biased model or scores of
# your own: `train_biased`, a scorer such as `GradientScore(k=100)`, `sampling_distribution`, `train_debiased`.
# Progress bars are switched off around a block with `progress_bars(False)`.

# %%
models = {"vanilla": run_method("vanilla", model_fn, train_split, cfg, progress=False).model}
with progress_bars(False):
    pgd_out = debias(model_fn, train_split, biased_cfg={**cfg.to_dict(), "augment": False}, debiased_cfg=cfg,
                     preset="draft")
models["pgd"] = pgd_out.debiased
for name in methods:
    models[name] = run_method(name, model_fn, train_split, cfg, progress=False).model
rows = [{"method": DISPLAY_NAMES[m], **evaluate(model, test_split)} for m, model in models.items()]
results = pd.DataFrame(rows).set_index("method")[["acc", "major", "minor"]]
results.round(1)

# %% tags=["nbval-check-output"]
values = {f"{m}:{k}": results.loc[DISPLAY_NAMES[m], k] for m in models for k in ("major", "minor")}
n = len(train_split)
values["ess_share"] = 100 * pgd_out.info["ess"] / n
values["minority_mass"] = 100 * pgd_out.info["minority_mass"]
values["minority_share"] = 100 * train_split.minority_ratio
run.record(values, extra={"methods": list(models), "compared": list(COMPARED_METHODS)})
print(run.comparison().to_string())
print(run.claims().to_string(index=False))

# %%
run.say(
    "**This run.** Vanilla reaches {v[vanilla:major]:.1f}% on the majority of the test set and {v[vanilla:minor]:.1f}% "
    "on its minority: {verdict}. PGD's de-biased model reaches {v[pgd:major]:.1f}% / {v[pgd:minor]:.1f}%; {others}. "
    "{claims}",
    verdict=("it has learned the border rather than the garment" if values["vanilla:major"] - values["vanilla:minor"] > 20
             else "no large gap, so it has not (yet) learned the border's shortcut"),
    others="; ".join(f"{DISPLAY_NAMES[m]} {results.loc[DISPLAY_NAMES[m], 'major']:.1f}% / "
                     f"{results.loc[DISPLAY_NAMES[m], 'minor']:.1f}%" for m in methods),
)

# %% [markdown]
# ## 4. Reading PGD's diagnostics
# PGD samples the training set with probabilities `p_s` computed from the biased model's per-sample gradients.
# Two numbers say whether it is doing anything:
#
# * the **effective sample size** `info["ess"]` (`(sum p)^2 / sum p^2`): equal to the training set's size when
#   `p_s` is uniform (no re-weighting at all), much smaller when the sampler concentrates on a few images;
# * the **minority mass** `info["minority_mass"]`: the share of the sampling mass on minority images (needs bias
#   labels), against their share of the data set.
#
# The left panel counts the images at each `p_s` (both axes logarithmic): the minority should sit to the right. The
# right panel sets each group's share of the training images beside its share of the sampling mass.

# %%
p = pgd_out.p_s.numpy()
major = train_split.major.numpy()
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), gridspec_kw={"width_ratios": [1.4, 1]})
bins = np.logspace(np.log10(max(min(p.min(), 1e-3), 1e-6)), 0, 30)
left.hist([p[major], p[~major]], bins=bins, label=["majority", "minority"], color=["tab:blue", "tab:orange"])
left.set_xscale("log")
left.set_yscale("log")
left.set_xlabel("PGD's sampling probability p_s (max 1)")
left.set_ylabel("training images")
left.legend()
groups = ["majority", "minority"]
images = [100 * major.mean(), 100 * (~major).mean()]
mass = [100 * p[major].sum() / p.sum(), 100 * p[~major].sum() / p.sum()]
pos = np.arange(2)
right.bar(pos - 0.2, images, 0.38, label="share of the images", color="lightgray")
right.bar(pos + 0.2, mass, 0.38, label="share of PGD's sampling", color="tab:green")
right.set_xticks(pos, groups)
right.set_ylabel("%")
right.set_ylim(0, 105)
right.legend(loc="upper right")
fig.suptitle("Where PGD's sampling goes: the few minority images get a large share")
fig.tight_layout()
run.save_figure(fig)
plt.show()

# %%
run.say(
    "**Diagnostics of this run.** The effective sample size is {v[ess_share]:.1f}% of the training set, and "
    "{v[minority_mass]:.1f}% of the sampling mass lies on the minority, which is {v[minority_share]:.1f}% of the "
    "images ({factor:.0f}x its share)."
    , factor=values["minority_mass"] / max(values["minority_share"], 1e-9))

# %% [markdown]
# ## 5. Without any bias labels
# No method above used the bias labels: `run_method` and `debias` take just `(x, y)`. Only the accuracy *by group*
# needs them. Without them:
#
# * `evaluate(model, (x, y))` still gives the overall accuracy (`major` and `minor` are then NaN);
# * the images PGD up-weights most are its candidates for the minority: look at them, label a few, and evaluate on
#   that small labelled sample (or on any test set where the suspected shortcut is broken).

# %%
unlabelled = (train_split.x, train_split.y)  # what a user without bias labels has
print(evaluate(models["pgd"], (test_split.x, test_split.y)))
top = torch.argsort(pgd_out.p_s, descending=True)[:16]
fig, ax = plt.subplots(figsize=(7, 1.6))
image_grid(train_split.x[top].float() / 255, nrow=16, ax=ax)
ax.set_title("the 16 training images PGD samples most: their borders mostly disagree with the class")
plt.show()
run.say("Of the 16 images PGD samples most, {k} are minority images (border not of the garment's class).",
        k=int((~train_split.major[top]).sum()))
