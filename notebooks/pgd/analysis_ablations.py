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
# # PGD, Appendix H ablations: lambda, reweighting, other metrics, GCE and the published variant
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/analysis_ablations.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Appendix H. One GCE-biased model per data set; every de-biased model below differs only
# in how its per-sample scores are used.
#
# **Claims.**
# * **Table 11** (CM 99%): the method is robust to the balancing weight lambda of S(i) in {0, 1, 10, 100}.
# * **Adjusting objective vs resampling** (CM, WM): weighting the loss by p_s / mean(p_s) is worse than
#   resampling with p_s, as An et al. (2020) argue.
# * **Other metrics**: resampling by softmax response, logit or loss gives lower accuracy than the
#   gradient score.
# * **Impact of GCE** (WM 99.5%): a CE-trained biased model works, but a GCE-trained one works better.
# * **Beyond the paper**: the published PGD (ICLR 2023: last-layer gradient norm, sampling proportional
#   to it with replacement, de-biased model started from the biased one) beside the draft's method.
#
# **Setup.** Colored MNIST (difficulty 0.0001) and Watermarked MNIST (difficulty 8); Simple ConvNet-1;
# the biased models are GCE-trained on raw mini-batches (Algorithm 2, step 1) and cached, so the other
# analysis notebooks reuse them; de-biased models train with the draft's augmentation.

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
lambda_ratio = 0.99  # Table 11: CM |M|/|D|
cm_ratio = 0.99  # adjusting objective, other metrics, published variant on CM
wm_ratio = 0.99  # adjusting objective, impact of GCE, published variant on WM
difficulty = 0.0001
wm_difficulty = 8
n_train = 10000  # MNIST images for CM (None: all 60k)
wm_n_train = 6000  # MNIST images for WM
n_test = 4000  # test images (None: all 10k)
biased_epochs = 5
biased_lr = 0.05
biased_lr_decay = 0.1
biased_lr_milestones = []
epochs = 3
lr = 0.05
lr_decay = 0.1
lr_milestones = [0.67]
momentum = 0.8
weight_decay = 0.001
batch_size = 64
biased_batch_size = 64  # as the de-biased model (the draft uses one batch size for both)
dataset_settings = {}  # {"colored_mnist"|"watermarked_mnist": {lr, momentum, weight_decay, batch_size, lr_decay, lr_milestones, epochs}}: over the flat schedule, biased and de-biased models alike
q = 0.7
k = 100
lambdas = [0, 1, 10, 100]
lam = 1.0
metrics = ["softmax", "logit", "loss"]
target_ess = "auto"  # p_s: the samples S ranks first, as many as f_b gets wrong, share half of the mass
p_norm = 0.7  # published variant: p of the gradient p-norm
baselines = ["vanilla"]  # further rows of the adjusting-objective table
seeds = [0]
workers = "auto"  # processes training models at once: auto is one per CPU core (1 on a GPU), 1 trains in this kernel
data_root = None
device = "auto"

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch

from debiaskit import pgd
from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.config import seed_everything
from debiaskit.core.training import TrainConfig
from debiaskit.data.colored_mnist import colored_mnist
from debiaskit.data.watermarked_mnist import watermarked_mnist
from debiaskit.experiments.analysis_runs import accuracy_row, biased_model, debiased_model
from debiaskit.experiments.parallel import warm_cache
from debiaskit.experiments.runs import trained_model
from debiaskit.pgd.analysis import gradient_profile, lambda_probability, metric_probability
from debiaskit.pgd.analysis.figures import plot_grouped_bars

use_style()
runs = {name: start(f"pgd/{name}", globals()) for name in ("table11", "adjusting", "metrics", "gce", "published")}


SCHEDULE_FIELDS = ("lr", "momentum", "weight_decay", "batch_size", "lr_decay", "lr_milestones", "epochs")
DATASETS = {"CM": "colored_mnist", "CM-lambda": "colored_mnist", "WM": "watermarked_mnist"}  # key of dataset_settings


def configs(dataset, seed):
    """The (biased, de-biased) TrainConfigs on ``dataset`` ("colored_mnist" or "watermarked_mnist"): the flat
    schedule (``biased_*`` for the biased model) with ``dataset_settings[dataset]`` put over both."""
    unknown = {d: sorted(set(s) - set(SCHEDULE_FIELDS)) for d, s in dataset_settings.items()
               if d not in set(DATASETS.values()) or set(s) - set(SCHEDULE_FIELDS)}
    if unknown:
        raise ValueError(f"dataset_settings: unknown data sets or fields {unknown}; data sets: "
                         f"{sorted(set(DATASETS.values()))}, fields: {list(SCHEDULE_FIELDS)}")

    def make(augment, **schedule):
        settings = {**schedule, "momentum": momentum, "weight_decay": weight_decay, **dataset_settings.get(dataset, {})}
        settings["lr_milestones"] = tuple(settings["lr_milestones"])
        return TrainConfig(**settings, augment=augment, seed=seed, device=device)

    biased = make(False, epochs=biased_epochs, batch_size=biased_batch_size, lr=biased_lr, lr_decay=biased_lr_decay,
                  lr_milestones=biased_lr_milestones)
    debiased = make(True, epochs=epochs, batch_size=batch_size, lr=lr, lr_decay=lr_decay, lr_milestones=lr_milestones)
    return biased, debiased


# %% [markdown]
# ## Train
# Per seed and data set: the biased model(s), the per-sample gradient scores, then one de-biased model
# per variant. Everything is cached by configuration; a variant that two tables share is trained once.
# Run alone on a CPU, the biased models and then the de-biased ones train `workers` at a time in worker
# processes, one thread each (`debiaskit.experiments.parallel.warm_cache`); the list comprehension then reads them from
# the cache. Under `debiaskit reproduce --jobs N` each kernel has one thread and trains them itself.

# %%
def minority_share(weights, major):
    """Percentage of the sampling mass of ``weights`` on the training minority."""
    w = torch.as_tensor(weights, dtype=torch.float64)
    return 100 * float(w[~major].sum() / w.sum())


rows, p_mass, metric_mass = [], [], []
for seed in seeds:
    plan = []  # one (data set, variant, benchmark, function, args, keywords) per de-biased model of this seed
    seed_everything(seed)
    cfgs = {ds: configs(DATASETS[ds], seed) for ds in DATASETS}  # ds -> (biased, de-biased)
    data = {"CM": colored_mnist(cm_ratio, difficulty, seed=seed, n_train=n_train, n_test=n_test, root=data_root),
            "CM-lambda": colored_mnist(lambda_ratio, difficulty, seed=seed, n_train=n_train, n_test=n_test,
                                       root=data_root),
            "WM": watermarked_mnist(wm_ratio, wm_difficulty, seed=seed, n_train=wm_n_train, n_test=n_test,
                                    root=data_root)}
    biased = [(ds, "gce") for ds in data] + [("WM", "ce")]  # "ce": the impact of GCE
    warm_cache([(biased_model, (data[ds], cfgs[ds][0], loss, q), {"progress": False}) for ds, loss in biased],
               workers, desc="biased models")
    for ds, bench in data.items():
        print(bench.describe())
        biased_cfg, cfg = cfgs[ds]
        f_b = biased_model(bench, biased_cfg, "gce", q)
        prof = gradient_profile(f_b, bench.train, k=k, lam=lam)

        def add(name, fn, *args, **kwargs):
            plan.append((ds, name, bench, fn, args, kwargs))

        if ds == "CM-lambda":  # Table 11
            for value in lambdas:
                add(f"lambda={value:g}", debiased_model, bench, cfg, lambda_probability(prof, value, target_ess),
                    desc=f"lambda {value:g}")
            continue
        p_s = lambda_probability(prof, lam, target_ess)
        p_mass.append({"data": ds, "seed": seed, "mass": minority_share(p_s, bench.train.major)})
        add("PGD", debiased_model, bench, cfg, p_s, desc=f"PGD {ds}")
        add("PGD (reweight)", debiased_model, bench, cfg, p_s, mode="reweight", desc=f"reweight {ds}")
        for name in baselines:
            add(name, trained_model, name, bench, cfg)
        add("published", debiased_model, bench, cfg,
            metric_probability(f_b, bench.train.x, bench.train.y, "gradnorm", p_norm),
            sampler="published", init=f_b, desc=f"published {ds}")
        if ds == "CM":  # Appendix H, other metrics; and the gradient magnitude sampled the way they are
            weights = {metric: metric_probability(f_b, bench.train.x, bench.train.y, metric) for metric in metrics}
            weights["grad-norm"] = prof.norm  # ||g_i|| on the k dominant coordinates, proportionally
            metric_mass.append({"seed": seed, "metric": "gradient", "mass": p_mass[-1]["mass"]})
            for metric, w in weights.items():
                metric_mass.append({"seed": seed, "metric": metric, "mass": minority_share(w, bench.train.major)})
                add(metric, debiased_model, bench, cfg, w, desc=metric)
        if ds == "WM":  # impact of GCE: the same method on a CE-trained biased model
            f_ce = biased_model(bench, biased_cfg, "ce")
            p_ce = lambda_probability(gradient_profile(f_ce, bench.train, k=k, lam=lam), lam, target_ess)
            add("PGD (CE-biased)", debiased_model, bench, cfg, p_ce, desc="PGD CE-biased")
    warm_cache([(fn, args, {**kw, "progress": False}) for *_, fn, args, kw in plan], workers, desc="de-biased models")
    rows += [{"seed": seed, "data": ds, "variant": name, **accuracy_row(fn(*args, **kw), bench)}
             for ds, name, bench, fn, args, kw in plan]
results = pd.DataFrame(rows)
mean = results.groupby(["data", "variant"])[["val", "major", "minor", "avg"]].mean()
std = results.groupby(["data", "variant"])[["val", "major", "minor", "avg"]].std()
mean.round(2)


# %%
def pick(ds, variants, cols=("major", "minor", "avg")):
    """Mean accuracies of ``variants`` on data set ``ds`` as a table (rows: variants)."""
    return mean.loc[ds].reindex(variants)[list(cols)]


# %% [markdown]
# ## Table 11: ablation on lambda (CM)

# %%
lam_names = [f"lambda={v:g}" for v in lambdas]
table11 = pick("CM-lambda", lam_names)
table11

# %% tags=["nbval-check-output"]
values = {}
for v, name in zip(lambdas, lam_names):
    values[f"major@lam{v:g}"] = table11.loc[name, "major"]
    values[f"minor@lam{v:g}"] = table11.loc[name, "minor"]
values["minor_spread"] = table11["minor"].max() - table11["minor"].min()
runs["table11"].record(values, tables={"per_seed": results[results.data == "CM-lambda"].to_dict("records")}, seeds=seeds)
print(runs["table11"].comparison().to_string())
print(runs["table11"].claims().to_string(index=False))

# %%
runs["table11"].say(
    "**Findings (this run), Table 11.** Minority accuracy is {minor_by_lambda} at lambda = {lambda_list} (majority "
    "{major_by_lambda}): a spread of {v[minor_spread]:.2f} points, lambda = 0 (the magnitude score alone) included. "
    "The paper reports {p[minor@lam0]:.2f} at lambda = 0 and {p[minor@lam1]:.2f} at lambda = 1. "
    "{claims}",
    lambda_list=" / ".join(f"{x:g}" for x in lambdas),
    minor_by_lambda=" / ".join(f"{table11.loc[n, 'minor']:.2f}" for n in lam_names),
    major_by_lambda=" / ".join(f"{table11.loc[n, 'major']:.2f}" for n in lam_names),
)

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
plot_grouped_bars(ax, table11[["major", "minor"]].set_axis([f"{v:g}" for v in lambdas]), title=f"Table 11: CM {100 * lambda_ratio:g}%")
ax.set_xlabel("$\\lambda$")
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
runs["table11"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Adjusting objective (†, loss weights p_s / mean p_s) vs resampling, average of majority and minority accuracy

# %%
adjust_rows = [*baselines, "PGD (reweight)", "PGD"]
adjusting = pd.DataFrame({ds: pick(ds, adjust_rows)["avg"] for ds in ("CM", "WM")})
adjusting

# %% tags=["nbval-check-output"]
values = {f"{ds.lower()}_{name.replace('PGD (reweight)', 'pgd_reweight').replace('PGD', 'pgd')}": adjusting.loc[name, ds]
          for ds in adjusting.columns for name in adjusting.index}
for ds in ("CM", "WM"):
    for col in ("major", "minor"):
        values[f"{ds.lower()}_pgd_{col}"] = mean.loc[(ds, "PGD"), col]
        values[f"{ds.lower()}_pgd_reweight_{col}"] = mean.loc[(ds, "PGD (reweight)"), col]
minority_mass = pd.DataFrame(p_mass).groupby("data")["mass"].mean()  # share of p_s on the minority (%)
for ds in ("CM", "WM"):
    values[f"{ds.lower()}_minority_mass"] = minority_mass[ds]
print("share of p_s on the training minority (%):", minority_mass.round(1).to_dict())
runs["adjusting"].record(values, seeds=seeds)
print(runs["adjusting"].comparison().to_string())
print(runs["adjusting"].claims().to_string(index=False))

# %%
def planned_weights(ds, variant):
    """The sampling weights (float64) of ``variant`` on data set ``ds`` in the last seed's plan."""
    weights = next(args[2] for d, name, _, _, args, _ in plan if d == ds and name == variant)
    return torch.as_tensor(weights, dtype=torch.float64)


# The last seed's biased models (from the cache): how much of each training set they get wrong decides the size
# of p_s's first group, and so where p_s puts its mass.
biased_error = {(ds, loss): 100 * pgd.training_error(biased_model(data[ds], cfgs[ds][0], loss, q),
                                                     data[ds].train.x, data[ds].train.y)
                for ds, loss in (("CM", "gce"), ("WM", "gce"), ("WM", "ce"))}
p_of = {"CM": planned_weights("CM", "PGD"), "WM": planned_weights("WM", "PGD"),
        "WM-ce": planned_weights("WM", "PGD (CE-biased)")}
ess = {name: 100 * pgd.effective_sample_size(w) / len(w) for name, w in p_of.items()}
runs["adjusting"].say(
    "**Findings (this run), adjusting objective.** Average of majority and minority accuracy on CM: resampling with "
    "p_s {v[cm_pgd]:.2f} against {v[cm_pgd_reweight]:.2f} for weighting the loss by p_s / mean(p_s) (majority "
    "{v[cm_pgd_major]:.2f} vs {v[cm_pgd_reweight_major]:.2f}, minority {v[cm_pgd_minor]:.2f} vs "
    "{v[cm_pgd_reweight_minor]:.2f}); on WM {v[wm_pgd]:.2f} against {v[wm_pgd_reweight]:.2f}, a difference of "
    "{wm_gap:+.2f} points. Baselines (CM / WM): {baseline_rows}. The paper, at 99.5%: {p[cm_pgd]:.2f} vs "
    "{p[cm_pgd_reweight]:.2f} on CM, {p[wm_pgd]:.2f} vs {p[wm_pgd_reweight]:.2f} on WM. Under seed {seed}'s GCE-biased "
    "models, p_s's first group (as many samples as the biased model misclassifies) is {err_cm:.1f}% of the CM "
    "training set, whose minority is {cm_minority:.1f}% of it, and {err_wm:.1f}% of WM's ({wm_minority:.1f}% "
    "minority). p_s puts {v[cm_minority_mass]:.1f}% of its mass on CM's training minority and "
    "{v[wm_minority_mass]:.1f}% on WM's (mean over seeds); on seed {seed} its effective sample size is {ess_cm:.0f}% "
    "of N on CM and {ess_wm:.0f}% on WM, and reweighting on CM gives each first-group sample {cm_weight_ratio:.0f}x "
    "the weight of any other. {claims}",
    seed=seed, wm_gap=values["wm_pgd"] - values["wm_pgd_reweight"],
    baseline_rows=", ".join(f"{name} {adjusting.loc[name, 'CM']:.2f} / {adjusting.loc[name, 'WM']:.2f}"
                            for name in baselines),
    err_cm=biased_error[("CM", "gce")], err_wm=biased_error[("WM", "gce")],
    cm_minority=100 * data["CM"].train.minority_ratio, wm_minority=100 * data["WM"].train.minority_ratio,
    ess_cm=ess["CM"], ess_wm=ess["WM"], cm_weight_ratio=float(p_of["CM"].max() / p_of["CM"].min()),
)

# %%
paper = pd.DataFrame({"CM": {"vanilla": 64.56, "lff": 77.82, "repair": 82.37, "PGD (reweight)": 95.33, "PGD": 98.14},
                      "WM": {"vanilla": 73.26, "lff": 74.13, "repair": 84.86, "PGD (reweight)": 86.67, "PGD": 91.23}})
fig, ax = plt.subplots(figsize=(5.5, 3.2))
plot_grouped_bars(ax, adjusting, paper=paper, ylabel="Avg. of major and minor (%)",
                  title="Adjusting objective (reweight) vs resampling")
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
runs["adjusting"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Other metrics (Appendix H): resampling by softmax response, logit and loss vs the gradient score (CM)

# %%
metric_rows = ["PGD", *metrics, "grad-norm"]
table_metrics = pick("CM", metric_rows).rename(index={"PGD": "gradient"})
table_metrics["minority mass (%)"] = pd.DataFrame(metric_mass).groupby("metric")["mass"].mean()
table_metrics

# %% tags=["nbval-check-output"]
values = {f"{col}@{name}": table_metrics.loc[name, col] for name in table_metrics.index for col in ("major", "minor", "avg")}
values.update({f"mass@{name}": table_metrics.loc[name, "minority mass (%)"] for name in table_metrics.index})
runs["metrics"].record(values, seeds=seeds)
print(runs["metrics"].comparison().to_string())
print(runs["metrics"].claims().to_string(index=False))

# %%
def beating(col):
    """The metrics whose ``col`` accuracy is above the method's p_s row (``gradient``), or ``"none"``."""
    return ", ".join(m for m in metrics if table_metrics.loc[m, col] > table_metrics.loc["gradient", col]) or "none"


def standing(col):
    """Where the ``grad-norm`` row stands among all rows on ``col``, and its margin over the best other row."""
    rank = int((table_metrics[col] > table_metrics.loc["grad-norm", col]).sum()) + 1
    margin = table_metrics.loc["grad-norm", col] - table_metrics[col].drop("grad-norm").max()
    return f"rank {rank} of {len(table_metrics)} ({margin:+.2f} points from the best other row)"


runs["metrics"].say(
    "**Findings (this run), other metrics.** Minority accuracy: the method's p_s (row gradient) "
    "{v[minor@gradient]:.2f}, {minor_by_metric}; average: {v[avg@gradient]:.2f}, {avg_by_metric}. Above the "
    "gradient score on the minority: {beat_minor}; on the average (what the draft's own statement is about): "
    "{beat_avg}. Share of the sampling mass on the training minority: p_s {v[mass@gradient]:.1f}%, {mass_by_metric}; "
    "the majority accuracy is {v[major@gradient]:.2f} with p_s, {major_by_metric}. The gradient magnitude sampled "
    "proportionally (row grad-norm) puts {v[mass@grad-norm]:.1f}% of the mass on the minority and gets "
    "{v[minor@grad-norm]:.2f} on the minority and {v[avg@grad-norm]:.2f} on average: {grad_norm_minor} on the "
    "minority, {grad_norm_avg} on the average. {claims}",
    minor_by_metric=", ".join(f"{m} {table_metrics.loc[m, 'minor']:.2f}" for m in metrics),
    avg_by_metric=", ".join(f"{m} {table_metrics.loc[m, 'avg']:.2f}" for m in metrics),
    mass_by_metric=", ".join(f"{m} {table_metrics.loc[m, 'minority mass (%)']:.1f}%" for m in metrics),
    major_by_metric=", ".join(f"{m} {table_metrics.loc[m, 'major']:.2f}" for m in metrics),
    beat_minor=beating("minor"), beat_avg=beating("avg"),
    grad_norm_minor=standing("minor"), grad_norm_avg=standing("avg"),
)

# %%
err = std.loc["CM"].reindex(metric_rows)[["major", "minor", "avg"]].rename(index={"PGD": "gradient"})
fig, ax = plt.subplots(figsize=(5.5, 3.2))
plot_grouped_bars(ax, table_metrics[["major", "minor", "avg"]], errors=err.fillna(0.0) if len(seeds) > 1 else None,
                  title=f"Resampling by other metrics, CM {100 * cm_ratio:g}%")
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
runs["metrics"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Impact of GCE (WM): the method on a CE-trained vs a GCE-trained biased model

# %%
table_gce = pick("WM", ["PGD (CE-biased)", "PGD"], ("major", "minor")).rename(index={"PGD (CE-biased)": "CE", "PGD": "GCE"})
table_gce

# %% tags=["nbval-check-output"]
values = {f"{col}_{name.lower()}": table_gce.loc[name, col] for name in table_gce.index for col in ("major", "minor")}
runs["gce"].record(values, seeds=seeds)
print(runs["gce"].comparison().to_string())
print(runs["gce"].claims().to_string(index=False))

# %%
runs["gce"].say(
    "**Findings (this run), impact of GCE.** On WM's minority the method gets {v[minor_gce]:.2f} with a GCE-trained "
    "biased model and {v[minor_ce]:.2f} with a CE-trained one, a difference of {gce_gap:+.2f} points (majority "
    "{v[major_gce]:.2f} vs {v[major_ce]:.2f}; the paper, at 99.5%: {p[minor_gce]:.2f} vs {p[minor_ce]:.2f} on the "
    "minority). Seed {seed}'s CE-trained biased model misclassifies {err_ce:.1f}% of the WM training set and its p_s "
    "puts {mass_ce:.1f}% of the mass on the minority (ESS {ess_ce:.0f}% of N); the GCE-trained one {err_gce:.1f}% and "
    "{mass_gce:.1f}%. {claims}",
    seed=seed, gce_gap=values["minor_gce"] - values["minor_ce"],
    err_ce=biased_error[("WM", "ce")], err_gce=biased_error[("WM", "gce")], ess_ce=ess["WM-ce"],
    mass_ce=minority_share(p_of["WM-ce"], data["WM"].train.major),
    mass_gce=minority_share(p_of["WM"], data["WM"].train.major),
)

# %%
fig, ax = plt.subplots(figsize=(4, 3.2))
plot_grouped_bars(ax, table_gce, title=f"Impact of GCE, WM {100 * wm_ratio:g}%",
                  paper=pd.DataFrame({"major": {"CE": 99.15, "GCE": 99.35}, "minor": {"CE": 81.72, "GCE": 83.10}}))
ax.set_xlabel("loss of the biased model")
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
runs["gce"].save_figure(fig)
plt.show()

# %% [markdown]
# ## Beyond the paper: the published PGD (ICLR 2023) beside the draft's method

# %%
table_pub = pd.concat({ds: pick(ds, ["PGD", "published"], ("major", "minor", "avg")) for ds in ("CM", "WM")})
table_pub = table_pub.rename(index={"PGD": "draft (M, D, S; Algorithm 1)", "published": "published (grad norm)"})
table_pub

# %% tags=["nbval-check-output"]
values = {}
for ds in ("CM", "WM"):
    for name, tag in (("PGD", "draft"), ("published", "published")):
        for col in ("major", "minor"):
            values[f"{ds.lower()}_{tag}_{col}"] = mean.loc[(ds, name), col]
runs["published"].record(values, seeds=seeds)
print(runs["published"].comparison().to_string())
print(runs["published"].claims().to_string(index=False))

# %%
def versus(ds):
    """How the published variant's minority accuracy on ``ds`` compares with the draft's method's."""
    gap = values[f"{ds}_published_minor"] - values[f"{ds}_draft_minor"]
    return f"{'above' if gap > 0 else 'not above'} the draft's method on {ds.upper()}'s minority ({gap:+.2f} points)"


runs["published"].say(
    "**Findings (this run), the published variant.** The published PGD (gradient norm, started from the biased "
    "model) gets {v[cm_published_major]:.2f}/{v[cm_published_minor]:.2f} (majority/minority) on CM and "
    "{v[wm_published_major]:.2f}/{v[wm_published_minor]:.2f} on WM; the draft's method "
    "{v[cm_draft_major]:.2f}/{v[cm_draft_minor]:.2f} and {v[wm_draft_major]:.2f}/{v[wm_draft_minor]:.2f} (the paper's "
    "'Ours' at 99.5%: {p[cm_draft_major]:.2f}/{p[cm_draft_minor]:.2f} and {p[wm_draft_major]:.2f}/"
    "{p[wm_draft_minor]:.2f}). The published variant is {cm_versus} and {wm_versus}.",
    cm_versus=versus("cm"), wm_versus=versus("wm"),
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
for ax, ds in zip(axes, ("CM", "WM")):
    plot_grouped_bars(ax, pick(ds, ["PGD", "published"], ("major", "minor")).rename(index={"PGD": "draft"}),
                      title=f"{ds} {100 * (cm_ratio if ds == 'CM' else wm_ratio):g}%")
axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
runs["published"].save_figure(fig)
plt.show()

# %% [markdown]
# ## What differs and why
# * **Scale.** The quick profile uses 10k (CM) and 6k (WM) MNIST images, 5 epochs for the biased model
#   and 3 for each de-biased model (both batch 64, lr 0.05), one seed, and both data sets at 99%; the
#   draft trains 100 epochs on all images with three seeds (the `full` profile), Table 11 at 99% and the
#   other studies at 99.5%. Absolute accuracies are therefore not expected to reach the draft's; the
#   comparisons between variants are the point. Under the full profile Colored MNIST runs the authors' code's
#   schedule (lr 0.02, batch 128, momentum 0.9, x0.1 at 40% and 80% of the epochs, biased and de-biased models
#   alike, through `dataset_settings`) and Watermarked MNIST Table 4's (see pgd/table4's deviations).
# * **Stabilised p_s.** The draft's literal p_s = min S / S collapses onto a few samples; every gradient
#   variant here uses the method's balanced p_s: the samples S ranks first, as many as the biased model
#   misclassifies on the training set, share half of the mass uniformly and all others the other half
#   (uniform when the biased model is wrong on half of the set or more). Because the vMF direction score
#   spans far more orders of magnitude than the magnitude score (the Figure 14 findings of
#   `analysis_gradients` give a run's spans), S(i) for any lambda > 0 orders the samples almost as D(i)
#   does: lambda = 0 (magnitude only) is the one that differs, and only through which samples it puts in
#   the first group.
# * The draft's adjusting-objective table also lists LfF and REPAIR; the quick profile lists Vanilla
#   only (`baselines`), the full profile all three.
#
# **Why the quick profile's studies come out as they do.** Each study's findings paragraph above gives its
# numbers and which of its checked claims held; where one fails we say so rather than tune it away.
#
# 1. **Lambda.** With two flat groups, a score matters only through which samples it puts in the first
#    group, and M and S agree on them when both rank the minority first (Figure 4c); so lambda = 0
#    (magnitude only) and lambda > 0 can differ only there.
# 2. **Resampling vs reweighting on CM.** When the CM biased model gets about as many samples wrong as the 1%
#    minority holds (findings above), p_s's first group is about that minority, a hundred or so of the 10k
#    images, and weighting the loss by p_s / mean(p_s) gives each of them a weight far above a majority
#    sample's (the ratio is in the findings) inside shuffled batches: a batch's gradient swings with the one
#    minority sample it may hold, and the majority accuracy falls. Resampling spreads the same emphasis evenly
#    over the batches.
# 3. **On WM nothing is decided.** When the 5-epoch GCE-biased model gets a large share of the WM training set
#    wrong while p_s puts little of its mass on the minority (findings above), it has learnt the digits about as
#    much as the watermark: its first group is mostly majority samples, p_s is close to uniform, and every WM
#    row is a near-Vanilla model. The CE-trained biased model (findings of the GCE study) reads the same way:
#    where it fits the set through the digits rather than the watermark, its p_s gives the minority little
#    mass too. Differences of a point or two between such near-Vanilla models are reversed by a change of
#    random stream or of host, so they are not evidence either way, and neither is a WM claim that holds.
#    Dated measurements, not this run (resampling vs reweighting on the average; GCE vs CE on the minority):
#    54.5 vs 54.05 and 30.25 vs 32.35 in the first run on 2026-12-02, 54.43 vs 53.87 and 30.6 vs 30.8 in the
#    second (15:10-15:47 UTC); on 2026-12-01's host the same one-thread run gave 54.3 vs 54.4 (failing) and
#    30.5 vs 32.0, and there, run alone on two threads, this very notebook gave 55.1 vs 54.2 and 30.8 vs 30.65:
#    both held. Before debiaskit's PreciseBN (runs of 2026-12-01, before commit e1be836) they read 51.8 vs 53.2
#    and 30.5 vs 28.4; before its own dropout layer (before commit ca2d916 of 2026-12-01) 53.1 vs 52.1 and
#    30.8 vs 29.4. Ten biased epochs (recorded in commit e1be836 of 2026-12-02: 91.7% training accuracy, 44% on
#    the training minority) still put only 2.5% of the mass there: on this WM the digit is learnt as early as
#    the watermark.
# 4. **Other metrics.** What decides it is the mass, not the score: sampled proportionally, a metric that
#    ranks the minority first can put most of the mass on the 1% minority (column "minority mass" and the
#    findings), while the method's p_s puts half of it on its first group, by design, and keeps the
#    majority. Training longer widened the gap (recorded in commit e1be836 of 2026-12-02): at 6 de-biased epochs
#    the gradient score got 99.4/75.3 (majority/minority), the loss 96.1/88.4, the softmax 98.5/85.8. Sampled
#    the way Appendix H samples the other metrics (proportionally to the score), the **gradient magnitude**
#    itself (row `grad-norm`: ||g_i|| on the k = 100 dominant coordinates) can put its mass where the loss and
#    the softmax response do (column "minority mass"); where it leads the rows, that is the draft's ordering
#    of the scores once they share the probability rule. That order among the three high-mass rows does not
#    survive a change of host (dated, not this run: in the first run on 2026-12-02 grad-norm led all five rows
#    on both, 85.65 and 90.73; in the second, 15:10-15:47 UTC, it got 83.65 and 89.9, just below the softmax
#    response's 84.65 and 90.47 and, on the minority, the loss's 84.0). That row is ours, added beside the
#    checked claim rather than in its place; its margins are one seed's, so they settle neither the direction
#    nor a gap. Where it leads, it also supports the published variant's choice (probability proportional to
#    the gradient norm) over the draft's two-score p_s in its stabilised form here.
# 5. **The published variant** samples by the gradient norm and starts the de-biased model from the biased
#    one; on WM, where that model has learnt the digits (point 3), it starts from useful features, which is
#    where its margin on the minority comes from when it has one.
