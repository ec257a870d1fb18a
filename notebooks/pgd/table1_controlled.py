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
# # PGD, Table 1: eight methods on the controlled biased benchmarks
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/table1_controlled.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Section 6.2 and Table 1: on Colored MNIST, Watermarked MNIST and Cartoon with bias ratios
# |M|/|D| of 99.5%, 99% and 95%, Vanilla, LearnedMixin+H, RUBi, LfF, ReBias, AFLite, REPAIR and the
# proposed method (PGD) are compared by validation, majority and minority accuracy. **Claim:** every method
# keeps the majority accuracy near 100%, but only PGD lifts the minority accuracy to near the majority's
# (96.5% vs Vanilla's 26.6% at 99.5% Colored MNIST), the best of all methods in every setting.
#
# Every method is written from its own paper (`debiaskit.baselines`), trained by the one training loop,
# and never sees bias labels. The trained models are cached and reused by the Table 12, Figure 13 and
# Figure 15 notebooks.

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
seeds = [0]
datasets = ["colored_mnist", "watermarked_mnist", "cartoon"]
sources = {"cartoon": "standin"}  # Cartoon Set is not offline: "standin" draws procedural avatars, "real" reads it
bias_ratios = [0.995]
difficulty = {"colored_mnist": 0.0001, "watermarked_mnist": 8}
n_train = {"colored_mnist": 18000, "watermarked_mnist": 8000, "cartoon": 30000}  # Cartoon: avatars drawn
n_test = 2000
train_settings = {
    "colored_mnist": {"epochs": 3, "lr": 0.05, "momentum": 0.9, "batch_size": 128, "lr_milestones": [0.67]},
    "watermarked_mnist": {"epochs": 3, "lr": 0.02, "momentum": 0.9, "batch_size": 64, "lr_milestones": [0.67]},
    "cartoon": {"epochs": 3, "lr": 0.02, "momentum": 0.9, "weight_decay": 0.001, "batch_size": 64, "lr_milestones": [0.67]},
}
methods = ["vanilla", "learned_mixin", "rubi", "lff", "rebias", "aflite", "repair", "pgd"]
method_options = {
    "learned_mixin": {"gate_init": -4.0, "entropy_weight": 0.0},
    "lff": {"ema": 0.7},
    "aflite": {"features": "vanilla", "num_partitions": 8, "slice_size": 0.1, "target_fraction": 0.2},
    "pgd": {"variant": "published"},
}
workers = "auto"  # processes training models at once: auto is one per CPU core (1 on a GPU), 1 trains in this kernel
data_root = None

# %%
import matplotlib.pyplot as plt
import pandas as pd

from debiaskit.artifacts import start
from debiaskit.baselines import DISPLAY_NAMES
from debiaskit.baselines.suite import (accuracy_rows, build_benchmark, display_table, summarise, train_config,
                                       trained_model, value_key, warm_trained_models)
from debiaskit.plotting import use_style

use_style()
run = start("pgd/table1", globals())
print("Cartoon rows:", "not run in this profile" if "cartoon" not in datasets else
      "the procedural stand-in (debiaskit.data.cartoon_standin), not Cartoon Set" if sources.get("cartoon") == "standin"
      else "Cartoon Set")

# %% [markdown]
# ## Train every method once per (data set, bias ratio, seed)
# Quick profile: one seed, the 99.5% ratio, a training subset and 3 epochs, the last at lr x0.001 (a larger
# step than Table 4's), so that the notebook trains its 24 models (8 methods x CM, WM and the Cartoon stand-in) in
# about 17 minutes on one thread (16.7 measured under `make reproduce`, 2026-12-05). The
# full profile is the paper's protocol: Table 4's settings for 100 epochs, three seeds, all ratios and data
# sets. On a CPU the models of each data set train `workers` at a time in worker processes, one thread each
# (`debiaskit.parallel`); then the loop below reads them from the cache. Every model is cached by its
# configuration, so Tables 5/6, Table 12 and Figures 13/15 reuse them.

# %%
rows = []
for dataset in datasets:
    for ratio in bias_ratios:
        for s in seeds:
            bench = build_benchmark(dataset, ratio, seed=s, difficulty=difficulty.get(dataset),
                                    n_train=n_train.get(dataset), n_test=n_test, root=data_root,
                                    source=sources.get(dataset, "real"))
            print(bench.describe())
            cfg = train_config(train_settings[dataset], seed=s)
            warm_trained_models(methods, bench, [cfg], method_options, workers)
            models = {m: trained_model(m, bench, cfg, method_options.get(m), progress=True) for m in methods}
            rows += [dict(r, dataset=dataset, bias_ratio=ratio, seed=s) for r in accuracy_rows(models, bench)]
summary = summarise(rows)
display_table(summary)

# %% [markdown]
# ## Majority vs minority accuracy

# %%
TITLES = {"colored_mnist": "Colored MNIST", "watermarked_mnist": "Watermarked MNIST",
          "cartoon": "Cartoon" + (" (stand-in)" if sources.get("cartoon") == "standin" else "")}
fig, axes = plt.subplots(1, len(datasets) * len(bias_ratios), figsize=(5.5 * len(datasets) * len(bias_ratios), 3.6),
                         squeeze=False)
for ax, ((dataset, ratio), part) in zip(axes[0], summary.groupby(["dataset", "bias_ratio"], sort=False)):
    names = [DISPLAY_NAMES[m] for m in part["method"]]
    pos = range(len(part))
    ax.bar([p - 0.2 for p in pos], part["major_mean"], 0.4, yerr=part["major_std"], label="Major M")
    ax.bar([p + 0.2 for p in pos], part["minor_mean"], 0.4, yerr=part["minor_std"], label="Minor m")
    ax.set_xticks(list(pos), names, rotation=45, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel("Test accuracy (%)")
    ax.set_title(f"{TITLES[dataset]}, |M|/|D| = {100 * ratio:g}%")
handles, labels = axes[0][0].get_legend_handles_labels()
fig.legend(handles, labels, loc="upper center", ncol=2, bbox_to_anchor=(0.5, 1.06))
fig.tight_layout()
run.save_figure(fig)
plt.show()

# %% [markdown]
# ## Paper vs reproduced
# Means over seeds; keys are `<data set><ratio>_<method>_<val|major|minor>` (e.g. `cm995_pgd_minor`).
# Cells of settings this profile did not run have no reproduced value.

# %% tags=["nbval-check-output"]
values = {}
for _, r in summary.iterrows():
    for metric in ("val", "major", "minor"):
        values[value_key(r["dataset"], r["bias_ratio"], r["method"], metric)] = round(float(r[f"{metric}_mean"]), 1)
run.record(values, tables={"summary": summary.round(2).to_dict(orient="records")}, seeds=seeds)
comparison = run.comparison()
print(comparison[comparison["reproduced"].notna()].to_string())
print(run.claims().to_string(index=False))

# %% [markdown]
# ## What differs and why
# * **Scale.** The quick profile trains on an 18k (CM) / 8k (WM) subset for 3 epochs, the last one at
#   Table 4's decayed step (x0.001), with CM lr 0.05 at batch 128 and WM lr 0.02 at batch 64 (momentum 0.9),
#   and one seed. The paper trains 100 epochs on the full set with Table 4's schedule and three seeds.
#   Short training leaves Vanilla at about 1% minority accuracy, where the paper's 100 epochs let it memorise
#   part of the minority (26.6%). Every gap to Vanilla is therefore larger here, and PGD's own minority
#   accuracy is lower. The full profile runs the paper's protocol.
# * **PGD** is run as the published variant: sampling probability proportional to the last-layer gradient
#   p-norm, and the de-biased model initialised from the GCE-biased one. On this budget it beat the draft's
#   own score (rank-stabilised p_s) on CM 99.5%: 98.4/78.5 against 97.9/64.8 majority/minority, measured
#   with 4 epochs. The draft's score is compared with it in the analyses notebook.
# * **LearnedMixin+H** uses entropy weight w_H = 0, chosen on the biased validation split from {0.1, 0.01, 0}
#   (validation 46.3 / 88.7 / 95.9%). With the +H term, the product of experts explains the majority by its
#   almost perfect colour model, and the main model never learns the majority. The row is therefore
#   LearnedMixin without +H. The full profile keeps w_H = 0.1.
# * **Baselines** follow their own papers where the draft's description is thin; see `deviations` in
#   `papers.yaml`. LearnedMixin is trained jointly with its bias model, and its gate starts near zero.
#   ReBias updates both players at once. AFLite works on the Vanilla model's representation, with probes
#   fitted in torch. REPAIR's classifier sees the images, not the bias feature.
# * **Cartoon** rows come from the procedural stand-in in the quick profile (`debiaskit.data.cartoon_standin`):
#   Cartoon Set is not available offline. The stand-in draws avatars from categorical attributes, as Cartoon Set
#   does, with our own shapes and palettes; hair colour is the target and face colour the bias, merged pairwise
#   into four groups; its hair palette is muted so that, as in Cartoon Set, the face colour is the easier cue
#   (calibrated on Vanilla alone against the draft's Vanilla row, see the module docstring). 30,000 avatars are
#   drawn (the real set has 100,000), Simple ConvNet-2 trains 3 epochs at lr 0.02 (batch 64, the last epoch at
#   lr x0.001; one of the oracle grid's configurations, so Table 7 reuses these models). The full profile reads
#   the real Cartoon Set.
# * **Claims in this profile.** All five hold.
#   - At CM 99.5%, PGD's minority accuracy is 74.2%, against 0.0-3.5% for the other seven.
#   - Every method keeps majority accuracy above 95%: LearnedMixin 96.4%, PGD 98.1%, the rest 99.9-100%.
#   - On Watermarked MNIST, PGD has the best minority accuracy (34.0% against RUBi's 30.8%). Every WM model
#     is still far from converged, though (majority 23-77%), so this profile shows that claim only weakly.
#     The full profile does the paper's training.
#   - On the Cartoon stand-in at 99.5%, PGD has the best minority accuracy: 70.6% (majority 100.0%) against
#     52.6% for LfF, the next best, and 36.2-43.0% for the other six; Vanilla 98.7 / 41.1 (the draft, on Cartoon
#     Set: PGD 98.62 / 80.22, the next best 60.93, Vanilla 99.99 / 46.44). These are stand-in numbers: they show
#     that the ordering carries over to avatars whose bias is the easier colour, not the draft's cells.

# %% [markdown]
# ## The paper's own protocol, measured (`spot` profile)
# The quick profile above is scaled down by design. To check the protocol itself, the `spot` profile runs one cell
# of this table exactly as Table 4 describes it: Colored MNIST at 99%, all 54,000 training images, 100 epochs, batch 256,
# lr 0.01, momentum 0.8, weight decay 0.001, lr x0.001 at 20/40/60/80% of training, seed 0, Vanilla and PGD
# (`debiaskit reproduce --artifact pgd/table1 --profile spot`). It ran on this 2-core CPU in 91 minutes
# (2026-12-05, the two models side by side in one-thread workers; result `figures/spot/pgd/table1.json`).
#
# | CM 99%, seed 0 | validation | majority | minority |
# |---|---:|---:|---:|
# | PGD, reproduced | 99.08 | 99.24 | **96.92** |
# | PGD, paper (mean ± std of 3) | 98.91 ± 0.05 | 99.24 ± 0.19 | 97.76 ± 0.36 |
# | Vanilla, reproduced | 98.85 | 100.00 | **4.62** |
# | Vanilla, paper | 99.37 ± 0.05 | 99.97 ± 0.05 | 51.97 ± 0.84 |
#
# * **PGD lands on the paper's cell**: every value is within 2 points (minority 0.84 below the mean). Its claim
#   that PGD beats Vanilla's minority accuracy by at least 30 points holds by a far wider margin than the paper's.
# * **Vanilla does not**: majority and validation match, but its minority accuracy is 4.6%, not 52%. Read
#   literally, Table 4's schedule multiplies the step by 0.001 at each milestone, so after epoch 20 the step is
#   1e-5 or less and 80 of the 100 epochs change almost nothing. In 20 epochs at lr 0.01 the network learns
#   the colour and does not memorise the bias-conflicting training images: it classifies only 6.6% of the 527 of
#   them correctly (measured on the cached model, un-augmented), so nothing of them carries over to the test
#   minority. The claim `spot-vanilla-matches-paper` stays failed for this reason.
# * **Which schedule gives the paper's Vanilla row?** Vanilla alone, same cell, same seed
#   (`benchmarks/full_protocol_cell.py --methods vanilla --setting ...`, results in `benchmarks/results/`):
#
#   | schedule (100 epochs, all 54,000 images) | validation | majority | minority |
#   |---|---:|---:|---:|
#   | Table 4 literally: lr 0.01, batch 256, momentum 0.8, x0.001 at 20/40/60/80% | 98.85 | 100.00 | 4.62 |
#   | Table 4 with x0.1 per milestone | 98.87 | 100.00 | 7.04 |
#   | the authors' code: lr 0.02, batch 128, momentum 0.9, x0.1 at epochs 40 and 80 | 99.37 | 100.00 | **52.50** |
#   | paper | 99.37 ± 0.05 | 99.97 ± 0.05 | 51.97 ± 0.84 |
#
#   Neither reading of the draft's text reproduces Vanilla; the authors' code's settings reproduce it to half a
#   point. All methods share the schedule, so choosing it on Vanilla alone cannot favour PGD. Whether PGD still
#   lands on its row under these settings is not measured yet: the `spot_code` profile runs that cell
#   (`--profile spot_code`, about 2 hours on this CPU), with claims of its own. Until it has, the `full` profile
#   keeps Table 4's column, under which PGD's cell is measured to match (a deviation in `papers.yaml` records this).
