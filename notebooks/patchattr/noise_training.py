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
# # Patch attribution, Table 1 and Figures 7-8: hiding the confounder closes the accuracy gap
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/patchattr/noise_training.ipynb)
#
# **Paper.** *Mitigating Bias Using Model-Agnostic Data Attribution*, Section 4. A gender classifier is
# trained on a set that is balanced for gender (3000 men, 3000 women) but not for a confounding attribute:
# no man has it, 2000 of the 3000 women do. On a test set balanced for gender *and* confounder, the model
# is much worse on one gender (Table 1's "Original" gap, 0.16-0.28). Hiding the regions that the region
# classifier finds important for the confounder (General/Specific x Mask/Noise above the quantile $q$ of
# the map) while training "yields notably improved equality in accuracy" for every confounder, for some
# noise type and quantile. Figure 7 compares the four types at $q = 0.7$, Figure 8 sweeps $q$ for Specific Mask.
#
# **Quick profile.** The offline stand-in of the `region_attributions` notebook (T-shirt = "men", pullover
# = "women"; confounders `band` and `corner`, coloured marks with known regions) at a fifth of the paper's
# counts (600 men without the mark; 400 women with, 200 without), a balanced test set of 200 per
# (gender, mark) cell, and the paper's gender CNN trained for 8 epochs with a larger learning rate.

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
men_without = 600
women_with = 400
women_without = 200
test_per_cell = 200
gender_epochs = 8
mask_epochs = 8
gender_lr = 0.003
gender_batch = 128
quantiles = [0.5, 0.7, 0.9]
figure_attribute = "band"
fig7_quantile = 0.7
fig8_quantiles = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
noise_std = 0.5
clip = False
seed = 0
data_root = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.config import seed_everything
from debiaskit.experiments.patchattr import confounder_splits, load_split, region_classifier_for
from debiaskit.patchattr.experiment import NoiseStudy, best_per_kind, general_pixel_map, specific_pixel_maps
from debiaskit.patchattr.fitting import FitConfig
from debiaskit.patchattr.grid import PatchGrid
from debiaskit.patchattr.noise import NOISE_LABELS, NOISE_TYPES

use_style()
seed_everything(seed)
grid = PatchGrid(image_size, patch, per_side)
region_fit = FitConfig(epochs=region_epochs, batch_size=region_batch, lr=region_lr, weight_decay=1e-2,
                       schedule="step", step_size=region_step, gamma=0.1, seed=seed)
gender_fit = FitConfig(epochs=gender_epochs, batch_size=gender_batch, lr=gender_lr, weight_decay=1e-3,
                       schedule="exponential", gamma=0.95, seed=seed)
counts = {(1, 0): men_without, (1, 1): 0, (0, 1): women_with, (0, 0): women_without}


def key_of(attribute):
    """Value names use the attribute in lower case (CelebA's Blond_Hair -> blond_hair, as in papers.yaml)."""
    return attribute.lower()


# %% [markdown]
# ## Data, maps and the trainings
# For each confounder: the biased and balanced training sets and the balanced test set; the region
# classifier (cached by the `region_attributions` notebook), the Specific maps of every training image and
# the General map; then the original and balanced models and every noise type at every quantile.

# %%
results, studies = {}, {}
for ds, attrs in datasets.items():
    region_train = load_split(ds, "train", attrs, image_size, region_images, seed, data_root)
    key = {"dataset": ds, "split": "train", "images": region_images, "image_size": image_size, "seed": seed}
    for a in attrs:
        model, hit = region_classifier_for(region_train, a, grid, region_fit, backbone, key)
        train, balanced, test = confounder_splits(ds, a, counts, test_per_cell, image_size, seed, data_root)
        target = {"standin": "target", "celeba": "Male", "fairface": "gender"}[ds]
        study = NoiseStudy(train.images, train.labels[target], test.images, test.labels[target],
                           specific_pixel_maps(model, train.images, grid),
                           general_pixel_map(model, region_train.images[:general_map_images], grid),
                           balanced.images, balanced.labels[target], fit=gender_fit,
                           mask_epochs=mask_epochs if mask_epochs != gender_epochs else None,
                           std=noise_std, clip=clip)
        runs = [(None, None), ("balanced", None)] + [(t, q) for t in NOISE_TYPES for q in quantiles]
        if a == figure_attribute:
            runs += [("specific_mask", q) for q in fig8_quantiles if q not in quantiles]
        rows = study.sweep(runs, seed)
        if mask_epochs != gender_epochs:  # the paper's mask rows compare with references trained as long
            rows += [{**r, "kind": r["kind"] + "@mask_epochs"} for r in
                     study.sweep([(None, None), ("balanced", None)], seed, epochs=mask_epochs)]
        results[a] = pd.DataFrame(rows)
        studies[a] = study
        print(f"{a}: region classifier {'from cache' if hit else 'trained'}; train {len(train)}, test {len(test)}")

# %% [markdown]
# ## Table 1
# Accuracy (percent) overall, for men and for women on the balanced test set, and the gap between them,
# for the original (biased) training, the balanced training and, per noise type, the quantile with the
# smallest gap. As in the paper, balanced and ours are shown as differences to the original.

# %%
run1 = start("patchattr/table1", globals())
table_rows, values1 = [], {}
for a, df in results.items():
    k = key_of(a)
    best = best_per_kind(df.to_dict("records"))
    for t in NOISE_TYPES:
        ref_suffix = "@mask_epochs" if t.endswith("mask") and (df["kind"] == "original@mask_epochs").any() else ""
        orig = df[df["kind"] == "original" + ref_suffix].iloc[0]
        bal = df[df["kind"] == "balanced" + ref_suffix].iloc[0]
        ours = best[t]
        row = {"attribute": a, "noise": NOISE_LABELS[t], "quantile": ours["quantile"]}
        for col, name in (("acc", "acc"), ("acc_men", "men"), ("acc_women", "women")):
            row[f"{name} original"] = orig[col]
            row[f"{name} Δbalanced"] = bal[col] - orig[col]
            row[f"{name} Δours"] = ours[col] - orig[col]
            values1[f"{k}_{t}_orig_{name}"] = orig[col]
            values1[f"{k}_{t}_bal_{name}"] = bal[col]
            values1[f"{k}_{t}_ours_{name}"] = ours[col]
        row.update({"gap original": orig["gap"], "gap balanced": bal["gap"], "gap ours": ours["gap"]})
        values1.update({f"{k}_{t}_orig_gap": orig["gap"], f"{k}_{t}_bal_gap": bal["gap"], f"{k}_{t}_ours_gap": ours["gap"],
                        f"{k}_{t}_q": 100 * ours["quantile"]})
        table_rows.append(row)
    values1[f"{k}_original_gap"] = float(df[df["kind"] == "original"]["gap"].iloc[0])
    values1[f"{k}_best_gap"] = float(min(best[t]["gap"] for t in NOISE_TYPES))
table1 = pd.DataFrame(table_rows).set_index(["attribute", "noise", "quantile"])
print(table1.round(1).to_string())

# %% tags=["nbval-check-output"]
values1 = {k: round(float(v), 1) for k, v in values1.items()}
run1.record(values1, tables={a: df.round(2).to_dict("records") for a, df in results.items()})
print(run1.comparison().to_string())
print(run1.claims().to_string(index=False))

# %% [markdown]
# ## Figure 7: the four noise types at $q$ = 0.7
# Accuracy for men and women (and overall) of the original, balanced and noised models, for the first
# confounder (Blond Hair in the paper; `band` on the stand-in).

# %%
run7 = start("patchattr/fig7", globals())
df = results[figure_attribute]
pick = {"Original": df[df["kind"] == "original"].iloc[0], "Balanced": df[df["kind"] == "balanced"].iloc[0]}
for t in NOISE_TYPES:
    pick[NOISE_LABELS[t]] = df[(df["kind"] == t) & np.isclose(df["quantile"].astype(float), fig7_quantile)].iloc[0]
fig, ax = plt.subplots(figsize=(8, 3.6))
xs = np.arange(len(pick))
for i, (col, label) in enumerate((("acc", "overall"), ("acc_men", "men"), ("acc_women", "women"))):
    ax.bar(xs + (i - 1) * 0.27, [r[col] for r in pick.values()], width=0.27, label=label)
ax.set_xticks(xs, list(pick))
ax.set_ylabel("test accuracy (%)")
ax.set_ylim(0, 100)
ax.set_title(f"{figure_attribute}: noise types at q = {fig7_quantile}")
ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
fig.tight_layout()
run7.save_figure(fig)
plt.show()

# %% tags=["nbval-check-output"]
short = {"Original": "original", "Balanced": "balanced", **{NOISE_LABELS[t]: t for t in NOISE_TYPES}}
values7 = {f"{short[n]}_{c}": round(float(r[col]), 1) for n, r in pick.items()
           for c, col in (("acc", "acc"), ("men", "acc_men"), ("women", "acc_women"), ("gap", "gap"))}
run7.record(values7)
print(run7.comparison().to_string())
print(run7.claims().to_string(index=False))

# %% [markdown]
# ## Figure 8: the quantile for Specific Mask
# Accuracy overall, for men and for women as the share of hidden pixels ($1-q$) changes; dotted lines
# are the original model's.

# %%
run8 = start("patchattr/fig8", globals())
sweep = df[df["kind"] == "specific_mask"].sort_values("quantile")
orig = pick["Original"]
fig, ax = plt.subplots(figsize=(6, 3.6))
for (col, label), colour in zip((("acc", "overall"), ("acc_men", "men"), ("acc_women", "women")), ("C0", "C1", "C2")):
    ax.plot(sweep["quantile"], sweep[col], "o-", color=colour, label=label)
    ax.axhline(orig[col], color=colour, ls=":", lw=1.2)
ax.set_xlabel("quantile q (pixels above it are masked)")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"Specific Mask, {figure_attribute}")
ax.legend()
fig.tight_layout()
run8.save_figure(fig)
plt.show()

# %% tags=["nbval-check-output"]
values8 = {"original_gap": round(float(orig["gap"]), 1)}
for _, r in sweep.iterrows():
    q = f"q{round(100 * r['quantile'])}"
    values8.update({f"{q}_men": round(float(r["acc_men"]), 1), f"{q}_women": round(float(r["acc_women"]), 1),
                    f"{q}_gap": round(float(r["gap"]), 1)})
values8["best_gap"] = min(v for k, v in values8.items() if k.endswith("_gap") and k.startswith("q"))
run8.record(values8)
print(run8.comparison().to_string())
print(run8.claims().to_string(index=False))

# %%
MASKS, NOISES = [t for t in NOISE_TYPES if t.endswith("mask")], [t for t in NOISE_TYPES if t.endswith("noise")]
paper_gaps = [x for k, x in run1.artifact.paper_values.items() if k.endswith("_orig_gap")]
per_attribute = []
for a in results:
    k = key_of(a)
    per_attribute.append(
        f"* **{a}**: the original model's gap is {{v[{k}_original_gap]:.1f}} points; the smallest gap per noise type is "
        + ", ".join(f"{NOISE_LABELS[t]} {{v[{k}_{t}_ours_gap]:.1f}} (q = {run1.values[f'{k}_{t}_q'] / 100:g})"
                    for t in NOISE_TYPES)
        + f"; the best Mask gap {min(run1.values[f'{k}_{t}_ours_gap'] for t in MASKS):.1f} against the best Noise gap "
        f"{min(run1.values[f'{k}_{t}_ours_gap'] for t in NOISES):.1f}.")
run1.say("**Findings (this run), Table 1.** {claims} The paper's original "
         "gaps are {paper_lo:.0f}-{paper_hi:.0f} points.\n\n" + "\n".join(per_attribute),
         paper_lo=min(paper_gaps, default=float("nan")), paper_hi=max(paper_gaps, default=float("nan")))

# %%
run7.say("**Findings (this run), Figure 7** ({attribute}, q = {q:g}). Gap between men and women: original "
         "{v[original_gap]:.1f} (men {v[original_men]:.1f}, women {v[original_women]:.1f}), balanced "
         "{v[balanced_gap]:.1f}, General Mask {v[general_mask_gap]:.1f}, Specific Mask {v[specific_mask_gap]:.1f}, "
         "General Noise {v[general_noise_gap]:.1f}, Specific Noise {v[specific_noise_gap]:.1f}; men's accuracy with the "
         "four types {v[general_mask_men]:.1f} / {v[specific_mask_men]:.1f} / {v[general_noise_men]:.1f} / "
         "{v[specific_noise_men]:.1f}. {claims}",
         attribute=figure_attribute, q=fig7_quantile)

# %%
q_gaps = sorted((int(k[1:-len("_gap")]), k) for k in run8.values if k.startswith("q") and k.endswith("_gap"))
best_q = min(q_gaps, key=lambda qk: run8.values[qk[1]])[0]
run8.say("**Findings (this run), Figure 8** (Specific Mask, {attribute}). Gap by quantile: "
         + ", ".join(f"q = {q / 100:g}: {{v[{k}]:.1f}}" for q, k in q_gaps)
         + "; the best quantile is {best_q:g} (gap {v[best_gap]:.1f}), the original model's gap {v[original_gap]:.1f}. "
           "{claims}",
         attribute=figure_attribute, best_q=best_q / 100)

# %% [markdown]
# ## What differs and why
# * **Data and scale.** CelebA is not available offline: the stand-in keeps the paper's structure (gender
#   balanced, the confounder only in two thirds of the women, a test set balanced over both) at a fifth of the
#   counts and 32 x 32 pixels. Its confounder is a clean coloured mark, so the original model's gap is expected to
#   be larger than the paper's: the biased model can take every stand-in man who carries the mark for a woman (the
#   findings above give this run's gaps beside the paper's).
# * **Training.** The paper trains the gender CNN with lr 1e-5 for 20 (noise) or 10 (mask) epochs; the
#   quick profile uses lr 3e-3 and 8 epochs for every model so that 30 models fit in a few CPU minutes.
# * **Noise vs mask.** Gaussian noise (std 0.5) on a saturated coloured mark leaves its colour visible on
#   average, so on the stand-in Noise is expected to help far less than Mask (the findings above compare their best
#   gaps); on CelebA the paper found General Noise best for Blond Hair. One seed per model: single accuracies move by
#   a few points from seed to seed.
# * **Figure 8's edge.** Specific Mask either hides the mark or misses it, so the sweep is a step: the gap
#   stays within a few points up to some quantile and jumps to the original model's beyond it. Where the
#   step falls moves with the run. Earlier committed results of this notebook (the git history of
#   `figures/patchattr/fig8.json`, same code and seed, other hosts and floating-point kernels, so slightly different
#   maps) give a gap at q = 0.8 of 4.8 on 2026-12-01 (commit 817c76d), 49.3 in 2026-12-02's 03:08-03:36 UTC run
#   (b067103), 49.5 in its 15:10-15:47 UTC run on another host (f46de6a) and 49.3 again on 2026-12-05 (2172050).
#   The best quantile moved too: 0.5 (gap 1.0) on 2026-12-01, 0.3 (gap 1.2) in the 03:08 and 2026-12-05 runs, 0.7
#   (gap 1.2) in the 15:10 run. This run's sweep is in the Figure 8 findings above.
# * **Table 1's gaps.** In several of the paper's rows the reported gap differs from |women - men|
#   computed from its own deltas (Eyeglasses SM and SN, Blond Hair GN and SN, Smiling SN); we compare
#   column by column.
