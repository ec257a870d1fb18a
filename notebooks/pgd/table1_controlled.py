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
seeds = [0]
datasets = ["colored_mnist", "watermarked_mnist", "cartoon"]
sources = {"cartoon": "standin"}  # Cartoon Set is not offline: "standin" draws procedural avatars, "real" reads it
bias_ratios = [0.995]
difficulty = {"colored_mnist": 0.0001, "watermarked_mnist": 8}
n_train = {"colored_mnist": 18000, "watermarked_mnist": 8000, "cartoon": 30000}  # Cartoon: avatars drawn
n_test = 2000
train_settings = {
    "colored_mnist": {"epochs": 3, "lr": 0.05, "momentum": 0.9, "batch_size": 128, "lr_decay": 0.001, "lr_milestones": [0.67]},
    "watermarked_mnist": {"epochs": 3, "lr": 0.02, "momentum": 0.9, "batch_size": 64, "lr_decay": 0.001, "lr_milestones": [0.67]},
    "cartoon": {"epochs": 3, "lr": 0.02, "momentum": 0.9, "weight_decay": 0.001, "batch_size": 64, "lr_decay": 0.001, "lr_milestones": [0.67]},
}
methods = ["vanilla", "learned_mixin", "rubi", "lff", "rebias", "aflite", "repair", "pgd"]
method_options = {
    "learned_mixin": {"gate_init": -4.0, "entropy_weight": 0.0},
    "lff": {"ema": 0.7},
    "aflite": {"features": "vanilla", "num_partitions": 8, "slice_size": 0.1, "target_fraction": 0.2},
    "pgd": {"preset": "published"},
}
workers = "auto"  # processes training models at once: auto is one per CPU core (1 on a GPU), 1 trains in this kernel
data_root = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from debiaskit.baselines import DISPLAY_NAMES
from debiaskit.companion.artifacts import PROTOCOL_FIGURE, start
from debiaskit.companion.campaign import full_parameters, measure_missing_cells
from debiaskit.companion.cell_figures import plot_protocol_cells
from debiaskit.companion.cells import cell_table, current_rows, load_cells
from debiaskit.companion.manifest import load_manifest
from debiaskit.companion.plotting import use_style
from debiaskit.experiments.benchmarks import build_benchmark
from debiaskit.experiments.parallel import default_workers
from debiaskit.experiments.runs import train_config, trained_model
from debiaskit.experiments.suite import accuracy_rows, display_table, summarise, value_key, warm_trained_models

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
# (`debiaskit.experiments.parallel`); then the loop below reads them from the cache. Every model is cached by its
# configuration, so Tables 5/6, Table 12 and Figures 13/15 reuse them.

# %%
grid = {"datasets": datasets, "bias_ratios": bias_ratios, "seeds": seeds, "methods": methods, "n_train": n_train,
        "n_test": n_test, "difficulty": difficulty, "sources": sources, "train_settings": train_settings,
        "method_options": method_options}
if profile == "full":  # the paper's protocol, kept cell by cell (figures/cells/pgd/table1/): measure what is missing
    measure_missing_cells(run.root, "pgd/table1", grid, workers=workers if isinstance(workers, int) else default_workers())
    rows = current_rows(load_cells(run.root, "pgd/table1"), grid)  # every cell measured so far, on any machine
else:
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


# %%
def span(xs) -> str:
    """``a-b%`` for a range of accuracies, ``a%`` when they are equal."""
    lo, hi = min(xs), max(xs)
    return f"{lo:.1f}%" if hi - lo < 0.05 else f"{lo:.1f}-{hi:.1f}%"


def others(prefix: str, metric: str) -> list:
    """``(value, name)`` of every method but PGD recorded under ``prefix`` (e.g. ``cm995``), highest first."""
    return sorted(((run.values[f"{prefix}_{m}_{metric}"], DISPLAY_NAMES[m]) for m in methods
                   if m != "pgd" and f"{prefix}_{m}_{metric}" in run.values), reverse=True)


findings, fields = ["**Findings (this run).**", "", "* {claims}"], {}
if "cm995_pgd_minor" in run.values and "cm995_vanilla_minor" in run.values:
    rest, lows = others("cm995", "minor"), sorted((run.values[f"cm995_{m}_major"], DISPLAY_NAMES[m].replace(" (ours)", ""))
                                                  for m in methods if f"cm995_{m}_major" in run.values)
    findings.append(
        "* At CM 99.5%, PGD's minority accuracy is {v[cm995_pgd_minor]:.1f}% (paper {p[cm995_pgd_minor]:.1f}%), against "
        "{cm_rest} for the other {cm_n}; Vanilla's is {v[cm995_vanilla_minor]:.1f}% (paper {p[cm995_vanilla_minor]:.1f}%). "
        "The lowest majority accuracies are {cm_low}{cm_high}.")
    fields.update(cm_rest=span([x for x, _ in rest]), cm_n=len(rest),
                  cm_low=" and ".join(f"{n}'s {x:.1f}%" for x, n in lows[:2]),
                  cm_high=f"; the other {len(lows) - 2} are at {span([x for x, _ in lows[2:]])}" if len(lows) > 2 else "")
if "wm995_pgd_minor" in run.values and others("wm995", "minor"):
    rest = others("wm995", "minor")
    wm_major = [run.values[k] for k in run.values if k.startswith("wm995_") and k.endswith("_major")]
    wm_paper = [run.artifact.paper_values[k] for k in run.values if k.startswith("wm995_") and k.endswith("_major")
                and k in run.artifact.paper_values]
    findings.append(
        "* On Watermarked MNIST at 99.5%, PGD's minority accuracy is {v[wm995_pgd_minor]:.1f}% (paper "
        "{p[wm995_pgd_minor]:.1f}%) against {wm_next_name}'s {wm_next:.1f}%, the best of the other {wm_n}; the models' "
        "majority accuracy is {wm_major} (paper {wm_paper}){wm_note}.")
    fields.update(wm_next=rest[0][0], wm_next_name=rest[0][1], wm_n=len(rest), wm_major=span(wm_major),
                  wm_paper=span(wm_paper),
                  wm_note=(", so they are far from converged and this profile shows the WM claim only weakly"
                           if max(wm_major) < min(wm_paper) - 10 else ""))
if "ct995_pgd_minor" in run.values and len(others("ct995", "minor")) > 1:
    rest = others("ct995", "minor")
    paper_next = max(run.artifact.paper_values[f"ct995_{m}_minor"] for m in methods if m != "pgd")
    findings.append(
        "* On {ct_title} at 99.5%, PGD's minority accuracy is {v[ct995_pgd_minor]:.1f}% (majority {v[ct995_pgd_major]:.1f}%) "
        "against {ct_next:.1f}% for {ct_next_name}, the next best, and {ct_rest} for the other {ct_n}; Vanilla "
        "{v[ct995_vanilla_major]:.1f} / {v[ct995_vanilla_minor]:.1f} (the draft, on Cartoon Set: PGD "
        "{p[ct995_pgd_major]:.2f} / {p[ct995_pgd_minor]:.2f}, the next best {ct_paper_next:.2f}, Vanilla "
        "{p[ct995_vanilla_major]:.2f} / {p[ct995_vanilla_minor]:.2f}).")
    fields.update(ct_title=TITLES["cartoon"].replace("Cartoon (stand-in)", "the Cartoon stand-in"), ct_next=rest[0][0],
                  ct_next_name=rest[0][1], ct_rest=span([x for x, _ in rest[1:]]), ct_n=len(rest) - 1,
                  ct_paper_next=paper_next)
run.say("\n".join(findings), **fields)

# %% [markdown]
# ## What differs and why
# * **Scale.** The quick profile trains on an 18k (CM) / 8k (WM) subset for 3 epochs, the last one at
#   Table 4's decayed step (x0.001), with CM lr 0.05 at batch 128 and WM lr 0.02 at batch 64 (momentum 0.9),
#   and one seed. The paper trains 100 epochs on the full set with Table 4's schedule and three seeds.
#   Short training gives Vanilla no time to memorise part of the minority, as the paper's 100 epochs let it
#   (26.6% minority accuracy at CM 99.5%), so at this scale the gaps to Vanilla are expected to come out larger,
#   and PGD's own minority accuracy lower, than the paper's (the findings above give this run's numbers). The full
#   profile runs the paper's protocol.
# * **PGD** is run as the published variant: sampling probability proportional to the last-layer gradient
#   p-norm, and the de-biased model initialised from the GCE-biased one. In a separate measurement on
#   2026-12-01 (CM 99.5%, the quick settings with 4 epochs; recorded in `papers.yaml`, pgd/table1's
#   deviations) it beat the draft's own score (rank-stabilised p_s): 98.4/78.5 against 97.9/64.8
#   majority/minority. The draft's score is compared with it in the analyses notebook.
# * **LearnedMixin+H** uses entropy weight w_H = 0, chosen on the biased validation split from {0.1, 0.01, 0}
#   (validation 46.3 / 88.7 / 95.9%, measured on 2026-12-01 on CM 99.5% with 18k images and 4 epochs; recorded
#   in `papers.yaml`, pgd/table1's deviations). With the +H term, the product of experts explains the majority
#   by its almost perfect colour model, and the main model never learns the majority. The row is therefore
#   LearnedMixin without +H. The full profile keeps w_H = 0.1.
# * **LfF and LearnedMixin+H at the paper's protocol** collapse over 100 epochs at the code's step (CM 99%, seed 0:
#   LfF 54.5 / 55.2 / 57.6, LearnedMixin+H 0.35 / 0.18 / 13.0 val / major / minor; measured by an earlier session,
#   see `papers.yaml`). Both match their papers' equations (independent float64 checks in `tests/`); probes show why:
#   LfF's GCE model grows so sure of the majority that its relative-difficulty weight W for the majority falls to
#   about 0.01 and the de-biased model gives up the majority, and the +H entropy term pushes LearnedMixin's gate
#   above 1, where the main model learns to vote against the colour. The draft selects hyperparameters on the
#   biased validation split, and the authors' code selects the model by validation loss; both would reject these
#   models, and neither is done here (a method is not tuned on the benchmark that judges it).
# * **RUBi, AFLite and ReBias at the paper's protocol** (the cells' table and figure below) each miss one column.
#   RUBi's majority drop is one class: its mask leaves nothing to push f's logit of 9 below that of 7 on a 7 of
#   colour 7. AFLite's minority is above the paper's (the draft does not say which representation, probes or slices
#   it used). ReBias's minority is below it, and its model still follows the colour on much of the minority; three of
#   its settings differ from the authors' code (g's receptive field, the kernel's bandwidth, simultaneous steps). The
#   bandwidth alone, probed on subsets (`benchmarks/rebias_bandwidth.py`), accounts for part of it; the other two are
#   not measured. `papers.yaml`'s deviations give each with its measurements.
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
#   the real Cartoon Set. The stand-in's numbers in the findings above can show whether the ordering carries over
#   to avatars whose bias is the easier colour, not what the draft's cells are.

# %% [markdown]
# ## The paper's protocol, cell by cell
# The quick profile above is scaled down by design. The full profile is the paper's protocol, and its evidence is
# kept cell by cell (`figures/cells/pgd/table1/`): one file per model (data set, ratio, seed, method) with the
# settings it ran with, its three numbers and where they came from (commit, device, minutes, date). Cells come from
# any machine: `debiaskit campaign --minutes M` measures the missing ones in the order `papers.yaml`'s `campaign`
# gives, and this notebook under its full profile measures the rest of its selection. A cell of other settings
# stays as evidence (the schedule that was tried and left), and a cell whose code changed since it ran is marked.
# The table and the figure below are rendered from those files, not from this run; the figure sets each cell of
# today's settings beside the paper's mean with bars of 2 standard deviations (black) and of 2 points where that is
# wider (grey): the report's *within*.

# %%
full_grid = {k: v for k, v in full_parameters(load_manifest(run.root / "papers.yaml"), "pgd/table1").items() if k in grid}
stored = cell_table(load_cells(run.root, "pgd/table1"), full_grid, run.artifact.paper_values, run.artifact.paper_std)
cells = pd.DataFrame(stored)
if cells.empty:
    print("no cell of the full profile is stored yet")
else:
    shown = cells.assign(
        **{m: [f"{v:.2f} (paper {p:.2f} ± {sd:.2f})" if p is not None else f"{v:.2f}"
               for v, p, sd in zip(cells[m], cells[f"paper_{m}"], cells[f"paper_{m}_std"])] for m in ("val", "major", "minor")},
        measured=[f"{(f or '')[:10]}, {d}, {c}, {mi:.0f} min" + (", code changed since" if ch else "")
                  for f, d, c, mi, ch in zip(cells["finished"], cells["device"], cells["commit"], cells["minutes"],
                                             cells["code_changed"])])
    display(shown[["cell", "settings", "val", "major", "minor", "measured"]].set_index("cell"))

# %%
counted = [row for row in stored if row["counted"]]
if counted:
    fig = plot_protocol_cells(counted, DISPLAY_NAMES)
    run.save_figure(fig, PROTOCOL_FIGURE)
    plt.show()

# %% [markdown]
# * **The schedule.** Vanilla's Colored MNIST 99% cell (seed 0) was measured under three schedules, all 54,000
#   images and 100 epochs; the rows above whose settings are not the full profile's are those readings. Read
#   literally, Table 4 multiplies the step by 0.001 at each milestone, so after epoch 20 the step is 1e-5 or less and
#   80 of the 100 epochs change almost nothing: in 20 epochs at lr 0.01 the network learns the colour and does not
#   memorise the bias-conflicting training images (the cached Vanilla model of that run classified 6.6% of the 527 of
#   them correctly, measured on 2026-12-05 outside the notebook, `benchmarks/README.md`), so nothing carries over to
#   the test minority. The authors' code's settings (lr 0.02, batch 128, momentum 0.9, x0.1 at epochs 40 and 80) give
#   the paper's Vanilla row; so the full profile trains Colored MNIST with them (`papers.yaml`, pgd/table1 and
#   pgd/table4's deviations). All methods share the schedule, so choosing it on Vanilla alone cannot favour PGD.
# * Watermarked MNIST and Cartoon have no authors' code and stay on Table 4 read literally until both readings of
#   WM's schedule are measured (the second and third entries of `papers.yaml`'s `campaign`).
# * The claims of the full profile are checked on the values assembled from the cells of today's settings (the mean
#   over the seeds measured); a value with no cell is not measured, and its claims are "not run".
