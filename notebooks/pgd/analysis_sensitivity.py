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
# # PGD, Appendix H: hyperparameter sensitivity, unbiased data, training time and |m|/|D| = 0.7
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/analysis_sensitivity.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Appendix H.
#
# **Claims.**
# * **Figure 12**: over learning rates {0.005, 0.01, 0.02} x epochs {50, 100} on CM, every method keeps
#   high validation and majority accuracy; PGD's minority accuracy varies least (shortest error bar).
# * **Table 13**: on unbiased (|M|/|D| = 10% = 1/#classes) and rarely biased (70/80/90%) Colored MNIST,
#   every method is close to Vanilla: PGD costs nothing when there is no bias to remove.
# * **Table 14**: PGD trains in about 3x Vanilla's time, 1.45x RUBi's and 0.72x REPAIR's.
# * **Table 15** ("|m|/|D| = 0.7"): Vanilla, RUBi, REPAIR and PGD on a mildly biased set; read here as
#   Watermarked MNIST at |M|/|D| = 70% (see `deviations`).
#
# **Setup.** Simple ConvNet-1 for every method, the methods of `debiaskit.baselines` (each trained once
# per configuration and cached), PGD as `debiaskit.pgd.debias` (Algorithm 2).

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
difficulty = 0.0001
wm_difficulty = 8
sens_ratio = 0.95  # Figure 12: CM |M|/|D| (not stated in the draft)
sens_methods = ["vanilla", "learned_mixin", "rubi", "lff", "repair", "rebias", "aflite", "pgd"]
sens_lrs = [0.02, 0.05]  # the draft: 0.005, 0.01, 0.02
sens_epochs = [3]  # the draft: 50, 100
sens_n_train = 5000
unbiased_ratios = [0.1, 0.7, 0.8, 0.9]  # Table 13: |M|/|D|
unbiased_methods = ["vanilla", "pgd"]
unbiased_n_train = 5000
unbiased_epochs = 6  # Table 13: de-biased (and Vanilla) training epochs; the other studies use epochs
unbiased_seeds = [0, 1, 2]  # Table 13: seeds of the 10% column (its claim); the other columns use seeds
t15_ratio = 0.7  # Table 15: WM |M|/|D|
t15_methods = ["vanilla", "rubi", "repair", "pgd"]
t15_n_train = 3000
timing_ratio = 0.99  # Table 14: WM
timing_methods = ["vanilla", "rubi", "learned_mixin", "lff", "repair", "pgd"]
timing_n_train = 2000
timing_epochs = 1
n_test = 4000
epochs = 3
lr = 0.05
lr_decay = 0.1
lr_milestones = [0.67]
momentum = 0.8
weight_decay = 0.001
batch_size = 64
biased_epochs = 5  # PGD's GCE-biased model
biased_lr = 0.05
biased_lr_decay = 0.1
biased_lr_milestones = []
biased_batch_size = 64  # as the de-biased model (the draft uses one batch size for both)
dataset_settings = {}  # {"colored_mnist"|"watermarked_mnist": {lr, momentum, weight_decay, batch_size, lr_decay, lr_milestones, epochs}}: over the flat schedule, biased and de-biased models alike; a study's own lr / epochs still win
k = 100
lam = 1.0
target_ess = "auto"  # p_s: the samples S ranks first, as many as f_b gets wrong, share half of the mass
method_options = {"aflite": {"num_partitions": 8}}
seeds = [0]
workers = "auto"  # processes training models at once: auto is one per CPU core (1 on a GPU), 1 trains in this kernel
data_root = None
device = "auto"

# %%
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd

from debiaskit.baselines import DISPLAY_NAMES, run_method
from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import mark_paper_values, use_style
from debiaskit.core.config import seed_everything
from debiaskit.core.models import simple_convnet1
from debiaskit.core.training import TrainConfig
from debiaskit.data.colored_mnist import colored_mnist
from debiaskit.data.watermarked_mnist import watermarked_mnist
from debiaskit.experiments.analysis_runs import accuracy_row
from debiaskit.experiments.parallel import warm_cache
from debiaskit.experiments.runs import trained_model
from debiaskit.pgd.analysis import ratios_to, timed
from debiaskit.pgd.analysis.figures import plot_grouped_bars

use_style()
runs = {name: start(f"pgd/{name}", globals()) for name in ("fig12", "table13", "table14", "table15")}


SCHEDULE_FIELDS = ("lr", "momentum", "weight_decay", "batch_size", "lr_decay", "lr_milestones", "epochs")


def config(dataset, seed, biased=False, **changes):
    """The training configuration of a model on ``dataset`` ("colored_mnist" or "watermarked_mnist"; a
    benchmark's ``meta["dataset"]``): the flat schedule (``biased_*`` for PGD's biased model, trained without
    augmentation), ``dataset_settings[dataset]`` over it, then the study's own ``changes`` (Figure 12's grid,
    Table 13's and 14's epochs)."""
    unknown = {d: sorted(set(s) - set(SCHEDULE_FIELDS)) for d, s in dataset_settings.items()
               if d not in ("colored_mnist", "watermarked_mnist") or set(s) - set(SCHEDULE_FIELDS)}
    if unknown:
        raise ValueError(f"dataset_settings: unknown data sets or fields {unknown}; data sets: colored_mnist, "
                         f"watermarked_mnist; fields: {list(SCHEDULE_FIELDS)}")
    if biased:
        schedule = {"epochs": biased_epochs, "batch_size": biased_batch_size, "lr": biased_lr,
                    "lr_decay": biased_lr_decay, "lr_milestones": biased_lr_milestones}
    else:
        schedule = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "lr_decay": lr_decay,
                    "lr_milestones": lr_milestones}
    settings = {**schedule, "momentum": momentum, "weight_decay": weight_decay,
                **dataset_settings.get(dataset, {}), **changes}
    settings["lr_milestones"] = tuple(settings["lr_milestones"])
    return TrainConfig(**settings, augment=not biased, seed=seed, device=device)


def options(name, dataset, seed):
    """Method options: PGD gets its biased-model stage on ``dataset`` and its scores' settings."""
    opts = dict(method_options.get(name, {}))
    if name == "pgd":
        opts.update(biased_cfg=config(dataset, seed, biased=True), k=k, lam=lam, target_ess=target_ess)
    return opts


def train_and_score(name, bench, cfg, seed):
    return accuracy_row(trained_model(name, bench, cfg, options(name, bench.meta["dataset"], seed)), bench)


def warm(bench, jobs, seed):
    """Train the (method, config) models of ``jobs`` on ``workers`` processes into the cache."""
    warm_cache([(trained_model, (name, bench, cfg, options(name, bench.meta["dataset"], seed)), {"progress": False})
                for name, cfg in jobs], workers, desc=bench.name)


# %% [markdown]
# ## Figure 12: hyperparameter sensitivity (CM)
# Every method at every (learning rate, epochs) setting; the bars are means over the grid and the error
# bars its standard deviation, as in the draft.

# %%
rows12 = []
for seed in seeds:
    seed_everything(seed)
    bench = colored_mnist(sens_ratio, difficulty, seed=seed, n_train=sens_n_train, n_test=n_test, root=data_root)
    warm(bench, [(name, config("colored_mnist", seed, lr=rate, epochs=n_epochs)) for rate in sens_lrs
                 for n_epochs in sens_epochs for name in sens_methods], seed)
    for rate in sens_lrs:
        for n_epochs in sens_epochs:
            for name in sens_methods:
                row = train_and_score(name, bench, config("colored_mnist", seed, lr=rate, epochs=n_epochs), seed)
                rows12.append({"seed": seed, "lr": rate, "epochs": n_epochs, "method": name, **row})
grid12 = pd.DataFrame(rows12)
mean12 = grid12.groupby("method", sort=False)[["val", "major", "minor"]].mean()
std12 = grid12.groupby("method", sort=False)[["val", "major", "minor"]].std(ddof=0)
pd.concat({"mean": mean12, "std over the grid": std12}, axis=1).round(2)

# %% tags=["nbval-check-output"]
values = {}
for name in sens_methods:
    for col in ("val", "major", "minor"):
        values[f"{col}@{name}"] = mean12.loc[name, col]
    values[f"minor_std@{name}"] = std12.loc[name, "minor"]
runs["fig12"].record(values, tables={"grid": rows12}, seeds=seeds)
print(runs["fig12"].comparison().to_string())
print(runs["fig12"].claims().to_string(index=False))

# %%
baseline_minor = mean12.loc[[m for m in sens_methods if m not in ("pgd", "learned_mixin")], "minor"]
runs["fig12"].say(
    "**Findings (this run), Figure 12.** Averaged over the grid (lr in {lrs} x epochs in {epoch_list}), the "
    "baselines other than LearnedMixin+H reach {base_low:.1f}-{base_high:.1f}% minority accuracy; LearnedMixin+H "
    "gets {v[major@learned_mixin]:.1f}% majority and {v[minor@learned_mixin]:.1f}% minority accuracy. PGD gets "
    "{v[minor@pgd]:.1f}% on the minority (majority {v[major@pgd]:.1f}%, validation {v[val@pgd]:.1f}%); highest "
    "minority accuracy: {best}. Over the grid PGD's minority accuracy has a standard deviation of "
    "{v[minor_std@pgd]:.1f} points, rank {pgd_std_rank} of {n_methods} from the largest (the draft shows PGD's "
    "error bar as the shortest).",
    lrs="{" + ", ".join(f"{x:g}" for x in sens_lrs) + "}",
    epoch_list="{" + ", ".join(f"{x:g}" for x in sens_epochs) + "}",
    base_low=baseline_minor.min(), base_high=baseline_minor.max(),
    best=DISPLAY_NAMES.get(mean12["minor"].idxmax(), mean12["minor"].idxmax()),
    pgd_std_rank=list(std12["minor"].sort_values(ascending=False).index).index("pgd") + 1,
    n_methods=len(sens_methods),
)

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
labels = [DISPLAY_NAMES.get(m, m) for m in sens_methods]
palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
for ax, col, title in zip(axes, ("val", "major", "minor"), ("(a) Validation", "(b) Majority", "(c) Minority")):
    ax.bar(range(len(sens_methods)), mean12[col].to_numpy(), yerr=std12[col].to_numpy(), capsize=3,
           color=[palette[i % len(palette)] for i in range(len(sens_methods))])
    ax.set_xticks(range(len(sens_methods)), labels, rotation=45, ha="right")
    ax.set_ylim(0, 100)
    ax.set_title(title)
axes[0].set_ylabel("Accuracy (%)")
fig.suptitle(f"Hyperparameter sensitivity, CM {100 * sens_ratio:g}%: lr in {sens_lrs}, epochs in {sens_epochs}", y=1.02)
runs["fig12"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Table 13: unbiased (10%) and rarely biased (70, 80, 90%) Colored MNIST
# The claim compares PGD with Vanilla within 2 points at 10%, closer than one short run's seed-to-seed
# spread, so that column is averaged over `unbiased_seeds` (each seed draws its own data set, model and
# batches); the table shows the mean and, below it, the spread of the seeds.

# %%
def seeds_of(ratio):
    """Seeds of one Table 13 column: the unbiased one (1/#classes = 10%) carries the claim."""
    return unbiased_seeds if abs(ratio - 0.1) < 1e-9 else seeds


rows13 = []
for ratio in unbiased_ratios:
    for seed in seeds_of(ratio):
        seed_everything(seed)
        bench = colored_mnist(ratio, difficulty, seed=seed, n_train=unbiased_n_train, n_test=n_test, root=data_root)
        cfg = config("colored_mnist", seed, epochs=unbiased_epochs)
        warm(bench, [(name, cfg) for name in unbiased_methods], seed)
        for name in unbiased_methods:
            rows13.append({"seed": seed, "ratio": ratio, "method": name, **train_and_score(name, bench, cfg, seed)})
per_seed13 = pd.DataFrame(rows13)
mean13 = per_seed13.groupby(["method", "ratio"], sort=False)[["major", "minor"]].mean()
table13 = mean13.unstack("ratio")
table13 = table13.reorder_levels([1, 0], axis=1).sort_index(axis=1, level=0)
table13.round(2)

# %%
# each seed of the unbiased column, and the PGD - Vanilla difference the claim bounds
unbiased13 = per_seed13[(per_seed13.ratio - 0.1).abs() < 1e-9].pivot(index="seed", columns="method", values=["major", "minor"])
for col in ("major", "minor"):
    unbiased13[(col, "pgd - vanilla")] = unbiased13[(col, "pgd")] - unbiased13[(col, "vanilla")]
unbiased13.round(2)

# %% tags=["nbval-check-output"]
values = {f"{name}:{col}@{100 * ratio:g}": mean13.loc[(name, ratio), col]
          for name in unbiased_methods for ratio in unbiased_ratios for col in ("major", "minor")}
runs["table13"].record(values, tables={"per_seed": rows13}, seeds=sorted(set(seeds) | set(unbiased_seeds)))
print(runs["table13"].comparison().to_string())
print(runs["table13"].claims().to_string(index=False))

# %%
paper13 = runs["table13"].artifact.paper_values
rare = [r for r in unbiased_ratios if abs(r - 0.1) >= 1e-9]


def listed(source, name, col, ratios=rare):
    """``"a / b / c"``: ``source``'s ``<name>:<col>@<ratio>`` values at ``ratios``."""
    return " / ".join(f"{source[f'{name}:{col}@{100 * r:g}']:.2f}" for r in ratios)


def major_cost(source):
    """PGD's majority accuracy minus Vanilla's over the rarely biased columns, as a range."""
    gaps = [source[f"pgd:major@{100 * r:g}"] - source[f"vanilla:major@{100 * r:g}"] for r in rare]
    return f"{min(gaps):+.2f} to {max(gaps):+.2f} points"


runs["table13"].say(
    "**Findings (this run), Table 13.** On unbiased data (|M|/|D| = 10%, mean over {n_seeds} seed(s)) PGD gets "
    "{v[pgd:major@10]:.2f}/{v[pgd:minor@10]:.2f} (majority/minority) against Vanilla's {v[vanilla:major@10]:.2f}/"
    "{v[vanilla:minor@10]:.2f}, a difference of {gap_major:+.2f}/{gap_minor:+.2f} points (per seed, PGD - Vanilla: "
    "{per_seed_gaps}); the draft's 100-epoch PGD is {paper_gap_major:+.2f}/{paper_gap_minor:+.2f} points from its "
    "Vanilla. On the rarely biased sets ({rare_ratios}%) PGD's minority accuracy is {pgd_rare} against Vanilla's "
    "{vanilla_rare}; PGD's majority accuracy differs from Vanilla's by {cost} (the draft: {paper_cost}). "
    "{claims}",
    n_seeds=len(unbiased_seeds),
    gap_major=values["pgd:major@10"] - values["vanilla:major@10"],
    gap_minor=values["pgd:minor@10"] - values["vanilla:minor@10"],
    per_seed_gaps="; ".join(f"seed {s} {unbiased13.loc[s, ('major', 'pgd - vanilla')]:+.2f}/"
                            f"{unbiased13.loc[s, ('minor', 'pgd - vanilla')]:+.2f}" for s in unbiased13.index),
    paper_gap_major=paper13["pgd:major@10"] - paper13["vanilla:major@10"],
    paper_gap_minor=paper13["pgd:minor@10"] - paper13["vanilla:minor@10"],
    rare_ratios=" / ".join(f"{100 * r:g}" for r in rare),
    pgd_rare=listed(values, "pgd", "minor"), vanilla_rare=listed(values, "vanilla", "minor"),
    cost=major_cost(values), paper_cost=major_cost(paper13),
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for ax, col in zip(axes, ("major", "minor")):
    tab = mean13[col].unstack("method").reindex(columns=unbiased_methods)
    tab.index = [f"{100 * r:g}%" for r in tab.index]
    paper = pd.DataFrame({m: {f"{100 * r:g}%": run_value for r in unbiased_ratios
                              if (run_value := runs["table13"].artifact.paper_values.get(f"{m}:{col}@{100 * r:g}")) is not None}
                          for m in unbiased_methods})
    plot_grouped_bars(ax, tab.set_axis([DISPLAY_NAMES.get(m, m) for m in tab.columns], axis=1),
                      paper=paper.set_axis([DISPLAY_NAMES.get(m, m) for m in paper.columns], axis=1),
                      title=f"Table 13, {'majority' if col == 'major' else 'minority'}", ylim=(0, 101))
    ax.set_xlabel("|M|/|D|")
axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
runs["table13"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Table 15: |M|/|D| = 70% on Watermarked MNIST

# %%
rows15 = []
for seed in seeds:
    seed_everything(seed)
    bench = watermarked_mnist(t15_ratio, wm_difficulty, seed=seed, n_train=t15_n_train, n_test=n_test, root=data_root)
    warm(bench, [(name, config("watermarked_mnist", seed)) for name in t15_methods], seed)
    for name in t15_methods:
        rows15.append({"seed": seed, "method": name,
                       **train_and_score(name, bench, config("watermarked_mnist", seed), seed)})
table15 = pd.DataFrame(rows15).groupby("method", sort=False)[["major", "minor"]].mean()
table15.round(2)

# %% tags=["nbval-check-output"]
values = {f"{name}:{col}": table15.loc[name, col] for name in t15_methods for col in ("major", "minor")}
runs["table15"].record(values, tables={"per_seed": rows15}, seeds=seeds)
print(runs["table15"].comparison().to_string())
print(runs["table15"].claims().to_string(index=False))

# %%
paper_t15 = runs["table15"].artifact.paper_values
runs["table15"].say(
    "**Findings (this run), Table 15.** Majority/minority accuracy: {rows}; the paper: {paper_rows}. Majority "
    "accuracy here ranges from {major_low:.1f} to {major_high:.1f}%.",
    rows=", ".join(f"{DISPLAY_NAMES.get(m, m)} {values[f'{m}:major']:.2f}/{values[f'{m}:minor']:.2f}"
                   for m in t15_methods),
    paper_rows=", ".join(f"{DISPLAY_NAMES.get(m, m)} {paper_t15[f'{m}:major']:.2f}/{paper_t15[f'{m}:minor']:.2f}"
                         for m in t15_methods if f"{m}:major" in paper_t15 and f"{m}:minor" in paper_t15),
    major_low=min(values[f"{m}:major"] for m in t15_methods), major_high=max(values[f"{m}:major"] for m in t15_methods),
)

# %%
paper15 = pd.DataFrame({col: {m: runs["table15"].artifact.paper_values.get(f"{m}:{col}") for m in t15_methods}
                        for col in ("major", "minor")})
fig, ax = plt.subplots(figsize=(5, 3.2))
plot_grouped_bars(ax, table15.rename(index=DISPLAY_NAMES), paper=paper15.rename(index=DISPLAY_NAMES),
                  title=f"Table 15: WM |M|/|D| = {100 * t15_ratio:g}%", ylim=(0, 101))
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
runs["table15"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Table 14: training time on WM, as multiples of Vanilla
# Each method trains once from scratch on the same small WM subset (`timing_n_train` images,
# `timing_epochs` epochs; PGD includes its biased model and the per-sample gradients). Wall-clock
# times depend on the machine and its load, so this cell's output is not compared between runs
# (`nbval-ignore-output`); the ratios are what Table 14 is about.

# %% tags=["nbval-ignore-output"]
bench = watermarked_mnist(timing_ratio, wm_difficulty, seed=seeds[0], n_train=timing_n_train, n_test=n_test, root=data_root)
cfg = config("watermarked_mnist", seeds[0], epochs=timing_epochs)
seconds = {}
for name in timing_methods:
    opts = options(name, "watermarked_mnist", seeds[0])
    if name == "pgd":
        opts["biased_cfg"] = dataclasses.replace(opts["biased_cfg"], epochs=timing_epochs)
    _, seconds[name] = timed(lambda: run_method(name, lambda: simple_convnet1(1, 10), bench.train, cfg, progress=False,
                                                **opts))
ratios = ratios_to(seconds, "vanilla")
runs["table14"].record({f"{name}": r for name, r in ratios.items()}, extra={"seconds": seconds}, seeds=seeds[:1])
print(runs["table14"].comparison(decimals=2).to_string())

# %%
paper14 = runs["table14"].artifact.paper_values
fig, ax = plt.subplots(figsize=(5.5, 3.2))
names = [m for m in timing_methods]
ax.bar(range(len(names)), [ratios[m] for m in names], color="#4c72b0", label="measured here")
mark_paper_values(ax, range(len(names)), [paper14.get(m) for m in names], label="paper (Table 14)", marker="x",
                  color="0.2", zorder=5, size=plt.rcParams["lines.markersize"] ** 2)
ax.set_xticks(range(len(names)), [DISPLAY_NAMES.get(m, m) for m in names], rotation=30, ha="right")
ax.set_ylabel("training time / Vanilla's")
ax.set_title("Table 14: training time on WM")
ax.legend(fontsize=8)
runs["table14"].save_figure(fig)
plt.show()

# %% [markdown]
# ## What differs and why
# * **Scale.** The quick profile trains 3 epochs (batch 64, lr 0.05) on 5k CM / 3k WM images with one
#   seed (three for Table 13's unbiased column, whose models train 6 epochs); Figure 12's grid is scaled to lr {0.02, 0.05} x 3 epochs (the full profile runs the draft's
#   lr {0.005, 0.01, 0.02} x epochs {50, 100} on all images, three seeds). Table 13 in the quick profile
#   compares Vanilla and PGD only; the full profile adds LfF, ReBias and REPAIR. AFLite uses 8 instead of
#   64 partitions in the quick profile. Under the full profile Colored MNIST (Figure 12, Table 13) runs the
#   authors' code's schedule (lr 0.02, batch 128, momentum 0.9, x0.1 at 40% and 80% of the epochs, through
#   `dataset_settings`; Figure 12's grid keeps its own lr and epochs) and Watermarked MNIST (Tables 14, 15)
#   Table 4's (see pgd/table4's deviations).
# * **Timing.** Our times are for a small subset and one epoch on a shared CPU; the draft's are full
#   100-epoch runs on a GPU. The ratios are comparable only roughly: fixed costs (PGD's per-sample
#   gradients, REPAIR's weight learning) weigh differently at this scale.
# * **Table 15.** Its caption reads "|m|/|D| = 0.7"; we read it as the 70% rarely-biased setting of
#   Watermarked MNIST (see `deviations`).
# * **Figure 12's ratio** is not stated in the draft; the quick profile uses CM 95%.
#
# **Why the quick profile comes out as it does** (the numbers are in the findings paragraphs above). Figure 12:
# three epochs are few enough that a baseline that still classifies by colour stays near 0% on the minority,
# and LearnedMixin+H does not train at these learning rates (see its accuracies above). Where PGD's minority
# accuracy varies more over the grid than the draft's short error bar suggests, the short runs magnify its
# dependence on the learning rate.
#
# Table 13 (6 epochs; PGD's biased model 5): the gap between PGD and Vanilla on unbiased data is a matter of
# training time. Measured before debiaskit's PreciseBN (recorded in commit 817c76d of 2026-12-01; not this
# run), it was 2.6/2.7 points (majority/minority) after 3 epochs, Figure 12's budget (the claim failed there),
# 0.85/0.5 after 6 and +0.2/+0.3 after 10. p_s gives half of its mass to the samples S ranks first, as many as
# the biased model gets wrong; on unbiased data those are simply the hard digits (its training error was about
# 20% in commit ca2d916 of 2026-12-01), so p_s is mild (then 4x weight on a fifth of the set) but not flat, and
# the de-biased model sees the easy part less often. (The rank form at a fixed 2% ESS, an earlier default of
# this method, cost 50 points at 3 epochs, recorded in commit 3cdc579 of 2026-12-01.) On the rarely biased
# 70-90% sets, whatever majority accuracy PGD gives up comes from the same short training, where the draft's
# 100-epoch runs lose almost nothing. Table 15: 3 epochs on 3k WM images leave every method under-trained (see
# the majority accuracies above), so only the full profile can be compared with the draft's numbers.
