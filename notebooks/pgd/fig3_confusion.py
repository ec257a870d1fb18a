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
# # PGD, Figure 3: (target, bias) confusion matrices at |M|/|D| = 99% and 95%
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/fig3_confusion.ipynb)
#
# **Claim (Section 3.2).** The accuracy of the aligned samples (the diagonal: digit and colour agree)
# does not change with the minority ratio, but the off-diagonal (bias-conflicting) cells change a lot:
# with fewer minority samples the model predicts the colour, not the digit.
#
# **Setup.** The Vanilla Simple ConvNet-1 models of the Figure 2 notebook (same configuration, loaded
# from the model cache when that notebook ran first) on Colored MNIST at 99% and 95%; every test sample
# falls in one (digit, colour) cell, and each cell shows its accuracy.

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
bias_ratios = [0.99, 0.95]
difficulty = 0.0001
n_train = 10000  # MNIST training images used (None: all 60k)
epochs = 8
lr = 0.05
lr_decay = 0.1
lr_milestones = [0.5, 0.75]
momentum = 0.8
weight_decay = 0.001
batch_size = 32  # quick: small batches, so that 8 epochs give 2,500 SGD steps (Table 4: 256)
seed = 0
data_root = None
device = "auto"

# %%
import matplotlib.pyplot as plt
import seaborn as sns

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.metrics import cell_accuracy, diagonal_and_off
from debiaskit.core.training import TrainConfig, predict
from debiaskit.data.colored_mnist import colored_mnist
from debiaskit.experiments.runs import trained_model

use_style()
run = start("pgd/fig3", globals())

# %%
matrices = {}
for ratio in bias_ratios:
    bench = colored_mnist(ratio, difficulty, seed=seed, n_train=n_train, root=data_root)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay,
                      lr_decay=lr_decay, lr_milestones=tuple(lr_milestones), seed=seed, device=device)
    model = trained_model("vanilla", bench, cfg)
    pred = predict(model, bench.test.x).argmax(1)
    matrices[ratio] = cell_accuracy(pred, bench.test.y, bench.test.bias, bench.num_classes)

# %% [markdown]
# ## Paper vs reproduced
# The figure's cells are not legible in the draft's text; the diagonal (majority) and off-diagonal
# (minority) means correspond to Table 1's Vanilla major/minor accuracies at 99% and 95%.

# %% tags=["nbval-check-output"]
values = {}
for ratio, m in matrices.items():
    diag, off = diagonal_and_off(m)
    values[f"diagonal@{100 * ratio:g}"] = diag
    values[f"off_diagonal@{100 * ratio:g}"] = off
run.record(values, tables={f"cells@{100 * r:g}": m.tolist() for r, m in matrices.items()})
print(run.comparison().to_string())
print(run.claims().to_string(index=False))

# %%
fig, axes = plt.subplots(1, len(bias_ratios), figsize=(5.2 * len(bias_ratios), 4.6))
for ax, (ratio, m) in zip(axes, matrices.items()):
    sns.heatmap(m.numpy() / 100, ax=ax, vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".1f",
                annot_kws={"size": 6}, cbar=ax is axes[-1], square=True)
    ax.set_title(f"|M|/|D| = {100 * ratio:g}%")
    ax.set_xlabel("Bias attribute b (colour)")
    ax.set_ylabel("Target attribute y (digit)")
fig.tight_layout()
run.save_figure(fig)
plt.show()

# %% [markdown]
# ## What differs and why
# As for Figure 2, the quick profile trains briefly on a 10k subset with one seed; the paper's exact
# cell values are not recoverable from its text, so the comparison is with Table 1's Vanilla row.
