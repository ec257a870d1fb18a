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
# # PGD, Figure 2: accuracy against the minority ratio |m|/|D|
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/fig2_minority_ratio.ipynb)
#
# **Claim (Section 3.2).** A model trained on a biased set learns the easy bias attribute (colour)
# instead of the target (digit shape) when the bias is strong. As the share of minority samples
# |m|/|D| shrinks, the accuracy on minority test samples falls, while the accuracy on majority
# samples stays near 100%.
#
# **Setup (Appendix A.2).** Colored MNIST with difficulty 0.0001 at several minority ratios; a Vanilla
# Simple ConvNet-1 trained with cross-entropy; test accuracy on majority and minority samples and
# their average. The models are cached by configuration and reused by the Figure 3 notebook.

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
minority_ratios = [0.5, 1.0, 2.0, 5.0]  # |m|/|D| in percent
difficulty = 0.0001
n_train = 10000  # MNIST training images used (None: all 60k)
epochs = 8
lr = 0.05
lr_decay = 0.1
lr_milestones = [0.5, 0.75]
momentum = 0.8
weight_decay = 0.001
batch_size = 32  # quick: small batches, so that 8 epochs give 2,500 SGD steps (Table 4: 256)
seeds = [0]
data_root = None
device = "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import mark_paper_values, use_style
from debiaskit.core.training import TrainConfig, evaluate
from debiaskit.data.colored_mnist import colored_mnist
from debiaskit.experiments.runs import trained_model

use_style()
run = start("pgd/fig2", globals())

# %% [markdown]
# ## Train a Vanilla model per minority ratio and seed

# %%
rows = []
for ratio in minority_ratios:
    for seed in seeds:
        bench = colored_mnist(1 - ratio / 100, difficulty, seed=seed, n_train=n_train, root=data_root)
        cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay,
                          lr_decay=lr_decay, lr_milestones=tuple(lr_milestones), seed=seed, device=device)
        acc = evaluate(trained_model("vanilla", bench, cfg), bench.test)
        rows.append({"ratio": ratio, "seed": seed, "major": acc["major"], "minor": acc["minor"],
                     "average": (acc["major"] + acc["minor"]) / 2})
results = pd.DataFrame(rows)
summary = results.groupby("ratio")[["major", "minor", "average"]].agg(["mean", "std"])
summary.round(2)

# %% [markdown]
# ## Paper vs reproduced
# The draft's Figure 2 is not legible in its text; its Vanilla numbers at the same ratios appear in
# Table 1 (|m|/|D| = 0.5%, 1%, 5%), which we compare against.

# %% tags=["nbval-check-output"]
mean = results.groupby("ratio").mean()
values = {}
for ratio in minority_ratios:
    for col in ("major", "minor", "average"):
        values[f"{col}@{ratio:g}"] = mean.loc[ratio, col]
run.record(values, tables={"per_seed": rows})
print(run.comparison().to_string())
print(run.claims().to_string(index=False))

# %%
fig, ax = plt.subplots(figsize=(5, 3.6))
x = np.arange(len(minority_ratios))
styles = {"major": ("o-", "Major"), "minor": ("s-", "Minor"), "average": ("^--", "Average")}
for col, (style, label) in styles.items():
    m = summary[(col, "mean")].to_numpy()
    s = np.nan_to_num(summary[(col, "std")].to_numpy())
    ax.errorbar(x, m, yerr=s, fmt=style, capsize=3, label=label)
paper = run.artifact.paper_values
for col in styles:  # ratios the paper's Table 1 has no column for are left out
    mark_paper_values(ax, x, [paper.get(f"{col}@{r:g}") for r in minority_ratios], marker="x", color="gray", zorder=5,
                      size=plt.rcParams["lines.markersize"] ** 2, label="paper (Table 1)" if col == "major" else None)
ax.set_xticks(x, [f"{r:g}" for r in minority_ratios])
ax.set_xlabel("|m|/|D| (%)")
ax.set_ylabel("Accuracy (%)")
ax.set_ylim(0, 102)
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))  # outside: the curves fill the axes
ax.set_title("Vanilla on Colored MNIST")
run.save_figure(fig)
plt.show()

# %%
below = [values[key] < paper_value for key, paper_value in run.artifact.paper_values.items()
         if key.startswith("minor@") and key in values]
run.say(
    "**Findings (this run).** Minority accuracy is {minor_by_ratio} at |m|/|D| = {ratios}% (the paper's Table 1: "
    "{p[minor@5]:.1f}, {p[minor@1]:.1f} and {p[minor@0.5]:.1f} at 5, 1 and 0.5%), so at the ratios the paper reports "
    "it is {direction} the paper's; majority accuracy is between {major_low:.1f} and {major_high:.1f}%. "
    "{claims}",
    minor_by_ratio=", ".join(f"{values[f'minor@{r:g}']:.1f}" for r in minority_ratios),
    ratios=", ".join(f"{r:g}" for r in minority_ratios),
    direction="below" if all(below) else "above" if not any(below) else "partly below and partly above",
    major_low=min(values[f"major@{r:g}"] for r in minority_ratios),
    major_high=max(values[f"major@{r:g}"] for r in minority_ratios),
)

# %% [markdown]
# ## What differs and why
# The quick profile trains on a 10k-image subset of MNIST for 8 epochs of batch 32 with one seed, far fewer
# SGD steps than the paper's 100-epoch runs, and minority accuracy grows with the number of steps: that is
# why the quick profile's minority accuracies are not expected to reach the paper's (the findings above say
# where they stand). The trend (minority accuracy falls as |m|/|D| shrinks, majority stays near 100%) is the
# claim, and it is checked above. The `full` profile runs Table 4's protocol (100 epochs, three seeds, all
# 60k images).
