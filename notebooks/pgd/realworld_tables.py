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
import os, subprocess, sys
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
method_options = {"lff": {"ema": 0.7}, "pgd": {"variant": "published"}}
workers = "auto"  # processes training models at once: auto is one per CPU core (1 on a GPU), 1 trains in this kernel
data_root = None

# %%
import math

import matplotlib.pyplot as plt
import pandas as pd

from debiaskit.artifacts import start
from debiaskit.baselines.realworld import (TITLES, VARIANTS, class_names, evaluation_row, method_of,
                                           real_world_benchmark, row_name, value_key, warm_real_world)
from debiaskit.baselines.suite import train_config, trained_model
from debiaskit.plotting import use_style

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
    ticks = [paper.get(value_key(d, m, "avg")) for m in methods]
    ax.scatter([p for p, t in zip(pos, ticks) if t is not None], [t for t in ticks if t is not None],
               marker="_", s=400, color="black", zorder=3, label="paper (Table 3)")
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

# %% [markdown]
# ## What differs and why
# * **The quick profile cannot reproduce this table, and its PGD claims fail for a measured reason.** The draft
#   fine-tunes an ImageNet-pretrained ResNet-18. This machine has no ImageNet weights and no internet, so the
#   quick profile trains ResNet-18 from scratch (`pretrained="auto"` found no weights in torch's cache) for 5-6
#   epochs at 32 pixels. What that gives (quick run of 2026-12-05):
#   - **BAR**: every method is at or near chance on the bias-conflicting test images (16.7% for six actions):
#     averages 14.6-25.7% per seed. Vanilla and LfF learn the training distribution (validation 56-73%), i.e.
#     the places. PGD's de-biased model does not even fit the validation split (19%): its resampling puts the
#     mass on the images the GCE-biased model fits worst (effective sample size 508 of 1,747, measured for
#     seed 0), and a from-scratch network learns nothing from them in 6 epochs (final training loss 1.52
#     against ln 6 = 1.79). So the BAR claims fail, and the per-action cells are noise: LfF's lead over PGD
#     (-6.2 points) is smaller than twice the largest spread over the two seeds.
#   - **CelebA stand-in**: Vanilla learns the make-up cue partly (majority 89.5%, minority 42.5%); both PGD
#     rows fall below it (averages 48.5 and 47.75 against 66.0), for the same reason as on BAR: their
#     validation accuracy (58% and 51%) shows networks that have not learned the resampled set. One seed.
#   - **ImageNet-9 stand-in**: here the cue is large and the objects easy, and PGD behaves as in the draft:
#     Vanilla learns the backgrounds (validation 90.8%, 7.7% on the unusual-background test images), PGD gets
#     22.1% and, with f_d not started from the GCE model, 42.2%, against LfF's 21.3% and REPAIR's 19.6%. One
#     seed. Started from the GCE model at this step size (0.05), PGD's de-biased model loses what the GCE model
#     had learned (validation 19.0%, where a GCE model of the same data reached 79.5% in a separate check of
#     seed 0); started from the initial weights it does not (validation 30.0%).
#     That is why the variant row is shown; it is not the published method, and its claims are separate.
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
