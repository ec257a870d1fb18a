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
# # PGD, Tables 3, 8, 9 and 10: the real-world benchmarks
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/realworld_tables.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Section 6.2 "Real-world benchmarks", Appendix B.2 and Appendix F: Vanilla, LfF, REPAIR and the
# proposed method (PGD) train an ImageNet-pretrained ResNet-18 on Biased Action Recognition (six actions biased
# to places; the test images show unusual places), CelebA (target HeavyMakeup, bias Male) and ImageNet-9
# (tested on ImageNet-A). **Claims (Section 6.2):** "the proposed method gained the best performance on
# average among classes" on BAR, "a 5.06% increase from the vanilla algorithm and 2.53% increase from the
# second-best accuracy"; it "helped improve vanilla by 3.64% and 2.87% for the CelebA and ImageNet/ImageNet-A
# cases", and on CelebA (Table 8) it lifts the minority accuracy above Vanilla's while its majority accuracy
# drops by less than the minority rises.
#
# BAR is real in every profile (it is on this machine). CelebA and ImageNet are not: the quick profile runs
# stand-ins that keep their structure (a face set with a make-up-like target tied to a gender-like cue; a
# background-biased object set whose test images have unusual backgrounds), named as such in every table.

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
seeds = {"bar": [0, 1], "celeba": [0], "imagenet9": [0]}  # per data set
datasets = ["bar", "celeba", "imagenet9"]
sources = {"bar": "real", "celeba": "standin", "imagenet9": "standin"}
image_size = {"bar": 32, "celeba": 32, "imagenet9": 32}
standin = {"celeba": {"n_train": 1600, "n_test": 800}, "imagenet9": {"n_train": 1800, "n_test": 900}}
pretrained = "auto"  # True: ImageNet weights (downloaded once); "auto": only if torch's cache has them
train_settings = {
    "bar": {"epochs": 6, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005, "batch_size": 64, "lr_decay": 0.1, "lr_milestones": [0.67]},
    "celeba": {"epochs": 5, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005, "batch_size": 64, "lr_decay": 0.1, "lr_milestones": [0.6]},
    "imagenet9": {"epochs": 5, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005, "batch_size": 64, "lr_decay": 0.1, "lr_milestones": [0.6]},
}
methods = ["vanilla", "lff", "repair", "pgd", "pgd_scratch"]  # pgd_scratch: PGD with f_d not started from f_b (a variant)
method_options = {"lff": {"ema": 0.7}, "pgd": {"preset": "published"}}
workers = "auto"  # processes training models at once: auto is one per CPU core (1 on a GPU), 1 trains in this kernel
data_root = None

# %%

import matplotlib.pyplot as plt
import pandas as pd

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import mark_paper_values, use_style
from debiaskit.experiments.realworld import (
    TITLES,
    VARIANTS,
    class_names,
    evaluation_row,
    method_of,
    real_world_benchmark,
    row_name,
    value_key,
    warm_real_world,
)
from debiaskit.experiments.runs import train_config, trained_model

use_style()
runs = {name: start(f"pgd/{name}", globals()) for name in ("table3", "table8", "table9", "table10")}

# %% [markdown]
# ## The data sets and the network
# Each benchmark is built once per seed (the seed draws the 10% validation split and, for a stand-in, its
# images). ResNet-18 is torchvision's; `pretrained="auto"` loads ImageNet weights only when torch's cache has
# them, and otherwise trains from scratch: the cell below says which ran. Never read a from-scratch run as the
# draft's pretrained protocol.

# %%
benches = {(d, s): real_world_benchmark(d, seed=s, source=sources[d], image_size=image_size.get(d),
                                        pretrained=pretrained, root=data_root, standin=standin.get(d))
           for d in datasets for s in seeds[d]}
for (d, s), bench in benches.items():
    if s == seeds[d][0]:
        print(bench.describe(), "| source:", bench.meta["source"], "| ResNet-18",
              "ImageNet-pretrained" if bench.meta["network"]["pretrained"] else "from scratch (no ImageNet weights)")
pretrained_used = all(b.meta["network"]["pretrained"] for b in benches.values())

# %% [markdown]
# ## Train every method once per (data set, seed)
# Quick profile: 32-pixel images, ResNet-18 from scratch (this machine has no ImageNet weights), a short
# schedule (6 epochs on BAR, 5 on the stand-ins) with one decay step, two seeds on BAR and one on each stand-in.
# The full profile is Table 4's
# protocol: pretrained ResNet-18 at 224 pixels (BAR) and Table 4's learning rate, decay epochs, momentum,
# weight decay, batch size and epochs, three seeds, on the real CelebA and ImageNet. All models train in a
# pool of worker processes (one thread each) and are cached by configuration.

# %%
cfgs = {(d, s): train_config(train_settings[d], seed=s) for d in datasets for s in seeds[d]}
warm_real_world([(m, benches[key], cfgs[key]) for key in benches for m in methods], method_options, workers)
rows = []
for (d, s), bench in benches.items():
    for m in methods:
        method, options = method_of(m, method_options)
        model = trained_model(method, bench, cfgs[d, s], options, progress=True)
        rows.append(dict(evaluation_row(model, bench), dataset=d, method=m, seed=s))
frame = pd.DataFrame(rows)
frame.groupby(["dataset", "method"], sort=False)[["val", "test", "major", "minor", "avg"]].mean().round(2)

# %% [markdown]
# ## Paper vs reproduced
# Means over seeds, with their spread (std over seeds) beside them. Keys are `<data set>_<method>_<metric>`:
# `bar_pgd_avg` (Table 10's mean over the six actions), `bar_pgd_climbing`, `celeba_pgd_minor`,
# `imagenet9_pgd_avg` (accuracy on ImageNet-A). The CelebA and IN/IN-A cells of the quick profile come from
# the stand-ins: compare their *ordering* with the paper's, not their values.

# %%
METRICS = {"bar": ["avg"] + [f"class{c}" for c in range(6)], "celeba": ["major", "minor", "avg"], "imagenet9": ["avg"]}
means = frame.groupby(["dataset", "method"], sort=False).mean(numeric_only=True)
spread = frame.groupby(["dataset", "method"], sort=False).std(numeric_only=True)  # NaN with one seed
names = {d: class_names(benches[d, seeds[d][0]]) for d in datasets}


def metric_name(d: str, metric: str) -> str:
    return names[d][int(metric[5:])].lower() if metric.startswith("class") else metric


values, stds = {}, {}
for d in datasets:
    for m in methods:
        for metric in METRICS[d]:
            key = value_key(d, m, metric_name(d, metric))
            values[key] = round(float(means.loc[(d, m), metric]), 2)
            std = float(spread.loc[(d, m), metric])
            stds[key] = None if std != std else round(std, 2)


def table(d: str) -> pd.DataFrame:
    cols = {metric_name(d, k).capitalize(): k for k in [k for k in METRICS[d] if k != "avg"] + ["avg"]}
    cell = (lambda m, k: f"{means.loc[(d, m), k]:.2f} ± {spread.loc[(d, m), k]:.2f}") if len(seeds[d]) > 1 else (
        lambda m, k: f"{means.loc[(d, m), k]:.2f} (one seed)")
    return pd.DataFrame({c: [cell(m, k) for m in methods] for c, k in cols.items()},
                        index=[row_name(m) for m in methods])


for d in datasets:
    print(f"{TITLES[d]} ({'real data' if sources[d] == 'real' else 'stand-in'}):")
    print(table(d).to_string(), "\n")

# %% tags=["nbval-check-output"]
ARTIFACT_DATA = {"table3": datasets, "table8": ["celeba"], "table9": ["imagenet9"], "table10": ["bar"]}
for name, run in runs.items():
    keep = [d for d in ARTIFACT_DATA[name] if d in datasets]
    prefixes = tuple(f"{d}_" for d in keep)
    mine = {k: v for k, v in values.items() if k.startswith(prefixes) and (name != "table3" or k.endswith("_avg"))}
    run.record(mine, tables={"per_seed": frame[frame["dataset"].isin(keep)].round(2).to_dict(orient="records"),
                             "std_over_seeds": {k: stds[k] for k in mine}},
               seeds=sorted({s for d in keep for s in seeds[d]}), extra={"pretrained": pretrained_used, "sources": {d: sources[d] for d in keep}})
    print(f"--- pgd/{name}")
    comparison = run.comparison()
    print(comparison[comparison["reproduced"].notna()].to_string())
    print(run.claims().to_string(index=False))

# %% [markdown]
# ## The averages beside the paper's
# Each bar is a method's average on one benchmark (mean over seeds, the whiskers one std over seeds); the black
# ticks are the draft's Table 3 and the dotted line the accuracy of guessing. The stand-ins' absolute values are not comparable with the draft's; the order
# of the methods is what the claims test.

# %%
paper = runs["table3"].artifact.paper_values
fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
for ax, d in zip(axes[0], datasets):
    pos = range(len(methods))
    ax.bar(pos, [means.loc[(d, m), "avg"] for m in methods], 0.6,
           yerr=[spread.loc[(d, m), "avg"] if len(seeds[d]) > 1 else 0.0 for m in methods], color="tab:blue", label="reproduced")
    mark_paper_values(ax, list(pos), [paper.get(value_key(d, m, "avg")) for m in methods], label="paper (Table 3)",
                      size=400)
    chance = 100 / benches[d, seeds[d][0]].num_classes
    ax.axhline(chance, color="grey", linestyle=":", label="chance (1 / number of classes)")
    ax.set_xticks(list(pos), [row_name(m) for m in methods], rotation=30, ha="right")
    ax.set_ylabel("Average test accuracy (%)")
    ax.set_title(TITLES[d] + ("" if sources[d] == "real" else " (stand-in)"))
handles, labels = axes[0][0].get_legend_handles_labels()
fig.legend(handles, labels, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 1.08))
fig.tight_layout()
runs["table3"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Can the quick run decide the claims?
# A claim's margin (PGD's average minus the best other method's) means little when it is smaller than the
# methods' spread over seeds. The cell below prints both for each benchmark.

# %%
baselines = [m for m in methods if m not in ("pgd", *VARIANTS)]
for row in [m for m in methods if m == "pgd" or m in VARIANTS]:
    for d in datasets:
        best = max(baselines, key=lambda m: means.loc[(d, m), "avg"])
        margin = means.loc[(d, row), "avg"] - means.loc[(d, best), "avg"]
        noise = max(spread.loc[(d, m), "avg"] for m in (*baselines, row)) if len(seeds[d]) > 1 else float("nan")
        verdict = (("decided" if abs(margin) > 2 * noise else "NOT decided within the seeds' spread") if len(seeds[d]) > 1
                   else "one seed: no spread to judge by")
        print(f"{TITLES[d]}: {row_name(row)} - {row_name(best)} = {margin:+.2f} points; largest std over "
              f"{len(seeds[d])} seed(s) {noise:.2f}: {verdict}")


# %%
def validation(d: str, m: str) -> float:
    """Mean validation accuracy (%) over the seeds of data set ``d``, method row ``m``."""
    return float(means.loc[(d, m), "val"])


def title(d: str) -> str:
    return TITLES[d] + ("" if sources[d] == "real" else " stand-in")


found = ["**Findings (this run).** ResNet-18 ran {network}. Claims of Table 3 that held: {held}. Claims that "
         "failed: {failed}.", ""]
fields = {"network": "ImageNet-pretrained" if pretrained_used else "from scratch (no ImageNet weights)"}
if "bar" in datasets:
    per_seed = frame[frame.dataset == "bar"]
    best = max(baselines, key=lambda m: means.loc[("bar", m), "avg"])
    noise = max(spread.loc[("bar", m), "avg"] for m in (*baselines, "pgd")) if len(seeds["bar"]) > 1 else float("nan")
    margin = means.loc[("bar", "pgd"), "avg"] - means.loc[("bar", best), "avg"]
    found.append(
        "* **BAR**: the methods' averages over the six actions are {bar_lo:.1f}-{bar_hi:.1f}% per seed on the "
        "bias-conflicting test images (chance {bar_chance:.1f}%). Vanilla's and LfF's validation accuracy is "
        "{bar_val_lo:.0f}-{bar_val_hi:.0f}% per seed, PGD's {bar_pgd_val:.0f}%. PGD's average is "
        "{v[bar_pgd_avg]:.2f}% (paper {p[bar_pgd_avg]:.2f}%), {bar_margin:+.1f} points from the best other method's "
        "({bar_best}){bar_noise}.")
    fields.update(bar_lo=per_seed["avg"].min(), bar_hi=per_seed["avg"].max(),
                  bar_chance=100 / benches["bar", seeds["bar"][0]].num_classes,
                  bar_val_lo=per_seed[per_seed.method.isin(["vanilla", "lff"])]["val"].min(),
                  bar_val_hi=per_seed[per_seed.method.isin(["vanilla", "lff"])]["val"].max(),
                  bar_pgd_val=validation("bar", "pgd"), bar_margin=margin, bar_best=row_name(best),
                  bar_noise="" if noise != noise else (
                      f", {'more' if abs(margin) > 2 * noise else 'less'} than twice the largest std over the "
                      f"{len(seeds['bar'])} seeds ({noise:.1f})"
                      + ("" if abs(margin) > 2 * noise else ", so the BAR cells, per action too, are noise")))
if "imagenet9" in datasets:
    rivals = max(baselines, key=lambda m: means.loc[("imagenet9", m), "avg"])
    found.append(
        "* **{in_title}** ({in_seeds} seed(s)): Vanilla's validation accuracy is {in_vanilla_val:.1f}% and its accuracy "
        "on the unusual-background test images {v[imagenet9_vanilla_avg]:.1f}%. PGD gets {v[imagenet9_pgd_avg]:.1f}% "
        "and, with f_d not started from the GCE model, {v[imagenet9_pgd_scratch_avg]:.1f}%, against LfF's "
        "{v[imagenet9_lff_avg]:.1f}% and REPAIR's {v[imagenet9_repair_avg]:.1f}%: PGD {in_verdict} the three baselines. "
        "PGD's validation accuracy is {in_pgd_val:.1f}%, the variant's {in_scratch_val:.1f}%.")
    fields.update(in_title=title("imagenet9"), in_seeds=len(seeds["imagenet9"]),
                  in_vanilla_val=validation("imagenet9", "vanilla"), in_pgd_val=validation("imagenet9", "pgd"),
                  in_scratch_val=validation("imagenet9", "pgd_scratch"),
                  in_verdict="leads" if means.loc[("imagenet9", "pgd"), "avg"] > means.loc[("imagenet9", rivals), "avg"]
                  else "does not lead")
runs["table3"].say("\n".join(found), **fields)

# %%
if "celeba" in datasets:
    celeba_text = (
        "**Findings (this run), {title}** ({n} seed(s)): Vanilla's majority / minority accuracy is "
        "{v[celeba_vanilla_major]:.1f} / {v[celeba_vanilla_minor]:.1f}% (paper {p[celeba_vanilla_major]:.2f} / "
        "{p[celeba_vanilla_minor]:.2f}). PGD's average is {v[celeba_pgd_avg]:.2f}% and the variant's (f_d not from "
        "the GCE model) {v[celeba_pgd_scratch_avg]:.2f}%, against Vanilla's {v[celeba_vanilla_avg]:.2f}%; their "
        "validation accuracy is {pgd_val:.0f}% and {scratch_val:.0f}% (Vanilla's {vanilla_val:.0f}%). Claims of Table 8 "
        "that held: {held}. Claims that failed: {failed}.")
    celeba_fields = dict(title=title("celeba"), n=len(seeds["celeba"]), pgd_val=validation("celeba", "pgd"),
                         scratch_val=validation("celeba", "pgd_scratch"), vanilla_val=validation("celeba", "vanilla"))
else:
    celeba_text, celeba_fields = "CelebA (Table 8) is not run in this profile.", {}
runs["table8"].say(celeba_text, **celeba_fields)

# %% [markdown]
# ## What differs and why
# * **Why the quick profile cannot reproduce this table.** The draft fine-tunes an ImageNet-pretrained ResNet-18.
#   This machine has no ImageNet weights and no internet, so the quick profile trains ResNet-18 from scratch
#   (`pretrained="auto"` loads weights only when torch's cache has them; the findings above say which ran) for 5-6
#   epochs at 32 pixels. What that means for each benchmark:
#   - **BAR**: a network trained from scratch for a few epochs learns the training distribution, i.e. the places,
#     and not the actions, so on the bias-conflicting test images every method is expected at or near chance
#     (16.7% for six actions). PGD's de-biased model has it harder still: its resampling puts the mass on the images
#     the GCE-biased model fits worst (effective sample size 508 of 1,747, measured outside the notebook for seed 0
#     on 2026-12-05; recorded in `papers.yaml`, pgd/table3's deviations), and a from-scratch network learns nothing
#     from them in 6 epochs (final training loss 1.52 against ln 6 = 1.79, also measured outside the notebook for
#     seed 0 on 2026-12-05; not kept in a result file). Where the margin between PGD and the best other method is
#     within twice the spread over the seeds (the check above), the BAR claims cannot be decided and the per-action
#     cells are noise.
#   - **CelebA stand-in**: the same reason as on BAR. A validation accuracy of the PGD rows far below Vanilla's
#     shows networks that have not learned the resampled set.
#   - **ImageNet-9 stand-in**: here the cue is large and the objects easy, so Vanilla learns the backgrounds and
#     fails on the unusual-background test images, as in the draft. Started from the GCE model at this step size
#     (0.05), PGD's de-biased model can lose what the GCE model had learned (in a separate check of seed 0 on
#     2026-12-05, a GCE model of the same data reached 79.5% validation accuracy; not kept in a result file);
#     started from the initial weights it does not. That is why the variant row is shown; it is not the published
#     method, and its claims are separate.
#   The full profile downloads the weights (`pretrained=True`) and runs Table 4's protocol.
# * **Resolution and schedule.** 32-pixel images and 5-6 epochs with one decay step, against the draft's
#   Table 4 (100 epochs on BAR, learning rate 0.001, momentum 0.3) at 224 pixels; the quick profile's larger
#   step (0.05, momentum 0.9) is needed to learn anything from scratch in a few epochs.
# * **CelebA and ImageNet-9/ImageNet-A are stand-ins** in the quick profile (`debiaskit.data.celeba`,
#   `debiaskit.data.imagenet9`): they keep the structure (a target tied to a bias attribute in training, a
#   test set where it is not), not the images. Their numbers say whether the methods' ordering carries over,
#   not what the draft's cells are.
# * **PGD** runs the published variant (as in Table 1); the draft's K = 500 belongs to its vMF score, which the
#   full profile does not use (see pgd/table4's deviations).
