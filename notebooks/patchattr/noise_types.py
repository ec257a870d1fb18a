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
# # Patch attribution, Figure 6: the four ways to hide a confounder
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/patchattr/noise_types.ipynb)
#
# **Paper.** *Mitigating Bias Using Model-Agnostic Data Attribution*, Section 4.1 and Figure 6: the
# attribution maps of a confounding attribute decide which pixels to hide from a classifier. **General**
# uses the data set's mean map (one region for every image), **Specific** each image's own map; **Mask**
# greys the pixels out (sets them to the mean colour), **Noise** adds Gaussian noise with standard
# deviation 0.5. The pixels hidden are those above the quantile $q$ of the map ($q = 0.7$: the top 30%).
#
# This notebook shows the four on one image per attribute of the offline stand-in (see the
# `region_attributions` notebook), reusing its cached region classifiers.

# %% tags=["colab"]
# In Colab: fetch the project and install it. Elsewhere this cell does nothing.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    if not os.path.exists("/content/debiaskit"):
        subprocess.run(["git", "clone", "--depth", "1", "https://github.com/debiaskit/debiaskit", "/content/debiaskit"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/debiaskit[baselines]"], check=True)
    sys.path.insert(0, "/content/debiaskit/lib")
    os.chdir("/content/debiaskit/notebooks/patchattr")

# %% tags=["parameters"]
profile = "quick"
datasets = {"standin": ["band", "corner"]}
image_size = 32
patch = 8
per_side = 13
backbone = "small"
region_images = 6000
region_epochs = 20
region_lr = 0.003
region_step = 10
region_batch = 256
general_map_images = 500
quantile = 0.7
noise_std = 0.5
clip = False
seed = 0
data_root = None

# %%
import matplotlib.pyplot as plt
import torch

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.config import seed_everything
from debiaskit.experiments.patchattr import load_split, region_classifier_for
from debiaskit.patchattr.experiment import general_pixel_map, mean_colour, specific_pixel_maps
from debiaskit.patchattr.fitting import FitConfig, as_float_images
from debiaskit.patchattr.grid import PatchGrid
from debiaskit.patchattr.noise import NOISE_LABELS, targeted_noise
from debiaskit.patchattr.standin import MARKS, true_region

use_style()
seed_everything(seed)
grid = PatchGrid(image_size, patch, per_side)
region_fit = FitConfig(epochs=region_epochs, batch_size=region_batch, lr=region_lr, weight_decay=1e-2,
                       schedule="step", step_size=region_step, gamma=0.1, seed=seed)
run = start("patchattr/fig6", globals())

# %% [markdown]
# ## Region classifiers (from the cache) and the maps
# The General map is the normalised mean pixel map over `general_map_images` training images; the
# Specific map is the image's own pixel map.

# %%
order = ["original"] + [t for t in ("general_mask", "specific_mask", "general_noise", "specific_noise")]
rows, touched, covered = [], {}, {}
for ds, attrs in datasets.items():
    train = load_split(ds, "train", attrs, image_size, region_images, seed, data_root)
    key = {"dataset": ds, "split": "train", "images": region_images, "image_size": image_size, "seed": seed}
    for a in attrs:
        model, hit = region_classifier_for(train, a, grid, region_fit, backbone, key)
        general = general_pixel_map(model, train.images[:general_map_images], grid)
        n = int((train.labels[a] == 1).nonzero()[0, 0])  # the first training image that carries the attribute
        x = as_float_images(train.images[n:n + 1])
        specific = specific_pixel_maps(model, train.images[n:n + 1], grid)
        fill = mean_colour(train.images[:general_map_images])
        gen = torch.Generator().manual_seed(seed)
        shown = [x[0]]
        for kind in order[1:]:
            noise = targeted_noise(kind, quantile, general, specific, fill, noise_std, clip)
            shown.append(noise(x, torch.tensor([0]), gen)[0])
            hidden = noise.masks[0]
            touched[f"touched_{kind}_{a}"] = round(100 * float(hidden.float().mean()), 1)
            if a in MARKS:
                truth = true_region(a, image_size)
                covered[f"region_hidden_{kind}_{a}"] = round(100 * float(hidden[truth].float().mean()), 1)
        rows.append((a, shown, hit))

# %% [markdown]
# ## Figure 6
# From left to right: Original, General Mask, Specific Mask, General Noise, Specific Noise ($q$ = 0.7).

# %%
fig, axes = plt.subplots(len(rows), 5, figsize=(9.5, 2.1 * len(rows)), squeeze=False)
for i, (a, shown, _) in enumerate(rows):
    for j, (img, kind) in enumerate(zip(shown, order)):
        axes[i, j].imshow(img.clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
        axes[i, j].set_title(("Original" if kind == "original" else NOISE_LABELS[kind]) + ("" if j else f"\n({a})"),
                             fontsize="small")
        axes[i, j].set_axis_off()
fig.tight_layout()
run.save_figure(fig)
plt.show()

# %% [markdown]
# ## Paper vs reproduced
# Figure 6 has no numbers. What can be checked: each scheme hides a share $1-q$ of the pixels (30%), and
# on the stand-in, how much of the true mark region it hides.

# %% tags=["nbval-check-output"]
values = {**touched, **covered}
run.record(values)
print(run.comparison().to_string())
print(run.claims().to_string(index=False))

# %% [markdown]
# ## What differs and why
# The paper shows a CelebA face with its hair hidden; the stand-in shows a garment with a coloured mark
# (the region classifiers are the ones of the `region_attributions` notebook). Noise is added to images
# in [0, 1] without clipping (the paper's description); the authors' code adds it in normalised space and
# clips the whole image to [0, 1], available as `clip = True`. Pixels shown here are clipped for display only.
