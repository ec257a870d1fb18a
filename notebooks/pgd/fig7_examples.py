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
# # PGD, Figure 7: examples of Colored MNIST and Watermarked MNIST
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/fig7_examples.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Figure 7 and Appendix B.1: the two controlled benchmarks. In **Colored MNIST** (CM) each
# digit class owns a colour; majority samples wear their class colour, minority samples the colour of
# another class, and every colour is jittered by $\mathcal N(C, \alpha I)$. In **Watermarked MNIST** (WM)
# the digit is scaled to 56x56 and a Fashion-MNIST object sits near the top-left corner, $\delta \sim U(0,\alpha)$
# pixels from it; for majority samples the object's class equals the digit.
#
# This notebook draws a grid of each: the top rows majority samples, the bottom row minority samples,
# as in the paper's figure.

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
bias_ratio = 0.99
cm_difficulty = 0.0001
wm_difficulty = 8
per_class = 3
cartoon_source = "standin"  # "standin": procedural avatars (Cartoon Set is not offline); "real": Cartoon Set
seed = 0
data_root = None

# %%
import matplotlib.pyplot as plt
import torch

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import image_grid, use_style
from debiaskit.data.cartoon import cartoon
from debiaskit.data.colored_mnist import colored_mnist
from debiaskit.data.watermarked_mnist import watermarked_mnist

use_style()
run = start("pgd/fig7", globals())
run1 = start("pgd/fig1", globals())
run8 = start("pgd/fig8", globals())
cm = colored_mnist(bias_ratio, cm_difficulty, seed=seed, root=data_root)
wm = watermarked_mnist(bias_ratio, wm_difficulty, seed=seed, root=data_root)
ct = cartoon(bias_ratio, seed=seed, root=data_root, source=cartoon_source)
print(cm.describe())
print(wm.describe())
print(ct.describe())


# %% [markdown]
# ## Pick examples
# For every class: `per_class - 1` majority samples and one minority sample from the biased training set.

# %%
def pick_index(split, per_class):
    """Indices [per_class, 10]: column c holds class c; the last row is a minority sample."""
    rows = []
    for r in range(per_class):
        want_major = r < per_class - 1
        row = []
        for c in range(10):
            idx = ((split.y == c) & (split.major == want_major)).nonzero(as_tuple=True)[0]
            row.append(idx[r if want_major else 0])
        rows.append(torch.stack(row))
    return torch.stack(rows)


def pick(split, per_class):
    """The images of :func:`pick_index`, row by row."""
    return split.x[pick_index(split, per_class).flatten()]


cm_grid = pick(cm.train, per_class)
wm_grid = pick(wm.train, per_class).expand(-1, 3, -1, -1)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 2.2 * per_class / 3 + 0.6), gridspec_kw={"width_ratios": [1, 1]})
image_grid(cm_grid, nrow=10, ax=axes[0])
axes[0].set_title("Colored MNIST (last row: minority)")
image_grid(wm_grid, nrow=10, ax=axes[1])
axes[1].set_title("Watermarked MNIST (last row: minority)")
fig.tight_layout()
run.save_figure(fig)
plt.show()

# %% [markdown]
# ## Figure 1: Colored MNIST
# Section 3.1's illustration: the target attribute is the digit, the bias attribute its colour. The top rows are
# majority samples ("red-digit 0"), coloured as their class; the bottom row holds minority samples ("orange-digit 0"),
# coloured as another class.

# %%
fig1, ax = plt.subplots(figsize=(6, 2.2 * per_class / 3 + 0.4))
image_grid(cm_grid, nrow=10, ax=ax)
ax.set_title("Colored MNIST: majority (top rows), minority (bottom row)")
fig1.tight_layout()
run1.save_figure(fig1)
plt.show()

# %% [markdown]
# ## Paper vs reproduced
# Figure 7 has no numbers; what can be checked is the construction: the share of minority samples in
# the training set equals $1-|M|/|D|$, and every majority sample's bias attribute equals its label.

# %% tags=["nbval-check-output"]
values = {
    "cm_minority_share": 100 * cm.train.minority_ratio,
    "wm_minority_share": 100 * wm.train.minority_ratio,
    "cm_majority_consistent": 100 * float((cm.train.bias[cm.train.major] == cm.train.y[cm.train.major]).float().mean()),
    "wm_majority_consistent": 100 * float((wm.train.bias[wm.train.major] == wm.train.y[wm.train.major]).float().mean()),
}
run.record(values)
print(run.comparison().to_string())
print(run.claims().to_string(index=False))
shown = pick_index(cm.train, per_class)
values1 = {"majority_rows_class_coloured": 100 * float((cm.train.bias[shown[:-1]] == cm.train.y[shown[:-1]]).float().mean()),
           "minority_row_other_colour": 100 * float((cm.train.bias[shown[-1]] != cm.train.y[shown[-1]]).float().mean())}
run1.record(values1)
print(run1.comparison().to_string())
print(run1.claims().to_string(index=False))

# %% [markdown]
# ## Figure 8: Cartoon
# Section 6.1.1: the target is the hair colour, the bias the face colour, each merged pairwise into four groups
# (Appendix B.1). One training avatar per (hair group, face group) cell: the diagonal is the majority M, an
# off-diagonal cell a minority sample (empty where the biased training set has none of that pair). The draft's
# example: "the face color of blond hair is black, except for a few". In the quick profile these avatars are
# the procedural stand-in, not Cartoon Set.

# %%
groups = ct.num_classes
cells = torch.full((groups, groups), -1, dtype=torch.long)
for h in range(groups):
    for f in range(groups):
        found = ((ct.train.y == h) & (ct.train.bias == f)).nonzero(as_tuple=True)[0]
        if len(found):
            cells[h, f] = found[0]
blank = torch.ones(3, *ct.train.x.shape[2:])
ct_grid = torch.stack([ct.train.x[i] if i >= 0 else blank for i in cells.flatten().tolist()])
fig8, ax = plt.subplots(figsize=(4.2, 4.4))
image_grid(ct_grid, nrow=groups, ax=ax)
ax.set_title("Cartoon" + (" (stand-in)" if cartoon_source == "standin" else "")
             + ": rows hair group, columns face group")
fig8.tight_layout()
run8.save_figure(fig8)
plt.show()

# %% [markdown]
# Figure 8's check: the share of blond-hair training avatars (merged hair group 2) whose face group is their
# majority one, and whether that face group is the darkest, measured as the median brightness of a small patch
# in the middle of the face (between the eyes) over the training avatars of each face group.

# %% tags=["nbval-check-output"]
BLOND = 2
blond = ct.train.y == BLOND
centre = ct.train.x.shape[-1] // 2
patch = ct.train.x[:, :, centre - 2:centre + 2, centre - 2:centre + 2].mean((1, 2, 3))
brightness = [float(patch[ct.train.bias == f].median()) for f in range(groups)]
values8 = {"ct_minority_share": 100 * ct.train.minority_ratio,
           "blond_majority_face_share": 100 * float((ct.train.bias[blond] == BLOND).float().mean()),
           "blond_majority_face_is_darkest": float(min(range(groups), key=brightness.__getitem__) == BLOND)}
print("median face-patch brightness per face group:", [round(b, 3) for b in brightness])
run8.record(values8)
print(run8.comparison().to_string())
print(run8.claims().to_string(index=False))

# %% [markdown]
# ## What differs and why
# The draft says the ten class colours are "uniformly sampled" but not which; we draw them uniformly
# with a fixed seed and reject palettes with near-duplicate or near-black colours. For WM the draft does
# not say how digit and object are blended; we take the pixel-wise maximum. See `deviations` in `papers.yaml`.
# Cartoon (Figure 8) is the procedural stand-in in the quick profile (`debiaskit.data.cartoon_standin`): Cartoon
# Set is not on this machine. Its palettes pair similar colours and put the darkest face group with blond hair,
# as the draft's example says; with the real set (full profile) the check tests the default pairwise merge.
