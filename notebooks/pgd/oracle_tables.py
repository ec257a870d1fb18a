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
# # PGD, Tables 5, 6 and 7: oracle validation on Colored MNIST, Watermarked MNIST and Cartoon
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/oracle_tables.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Appendix D: the same comparison as Table 1, but every method's hyperparameters are chosen on a
# validation set split into majority and minority samples (an "oracle" that needs bias labels), by the
# average of majority and minority accuracy. Bias ratios 99.5/99/98/95%; Colored MNIST at difficulties
# 0.0001 and 0.0005 (Table 5), Watermarked MNIST at 8 and 16 (Table 6), Cartoon (Table 7). **Claim:** PGD has
# the best average of majority and minority accuracy in every setting (e.g. 97.2% minority vs REPAIR's 65.0%
# at 99.5% CM), and the other methods also improve over their Table 1 results.
#
# **Quick profile: a small oracle study.** Each full table is 6 methods x 4 ratios x 2 difficulties x 3 seeds x
# a 6-configuration grid of 50-100 epochs, on the order of a thousand GPU-minutes (the full profile, Colab GPU).
# The quick profile keeps the protocol's shape at the hardest setting: Vanilla, LfF, REPAIR and PGD at 99.5% on
# Colored MNIST (difficulty 0.0001, Table 5) and Watermarked MNIST (8, Table 6), one seed, a 2-configuration
# grid (lr 0.02 / 0.05, 3 epochs with the last at lr x0.001) on Table 1's quick training sets, so one configuration of each is the Table 1
# notebook's cached model. Cartoon (Table 7) is not on this machine: the quick profile runs its procedural
# stand-in (`debiaskit.data.cartoon_standin`; 30,000 avatars drawn, Simple ConvNet-2, batch 64) with the same
# grid, and the full profile reads Cartoon Set.

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
tables = ["table5", "table6", "table7"]
sources = {"cartoon": "standin"}  # Cartoon Set is not offline: "standin" draws procedural avatars, "real" reads it
seeds = [0]
bias_ratios = [0.995]
difficulties = {"table5": [0.0001], "table6": [8], "table7": [None]}
methods = ["vanilla", "lff", "repair", "pgd"]
method_options = {"learned_mixin": {"gate_init": -4.0}, "lff": {"ema": 0.7}, "pgd": {"preset": "published"}}
base_settings = {
    "colored_mnist": {"momentum": 0.9, "batch_size": 128, "lr_decay": 0.001, "lr_milestones": [0.67]},
    "watermarked_mnist": {"momentum": 0.9, "batch_size": 64, "lr_decay": 0.001, "lr_milestones": [0.67]},
    "cartoon": {"momentum": 0.9, "weight_decay": 0.001, "batch_size": 64, "lr_decay": 0.001, "lr_milestones": [0.67]},
}
grid = {"lr": [0.02, 0.05], "epochs": [3]}
n_train = {"colored_mnist": 18000, "watermarked_mnist": 8000, "cartoon": 30000}  # a number, a dict per data set, or None (all); Cartoon: avatars drawn
n_test = 2000
workers = "auto"  # processes training models at once: auto is one per CPU core (1 on a GPU), 1 trains in this kernel
data_root = None

# %%
import pandas as pd

from debiaskit.baselines import DISPLAY_NAMES
from debiaskit.baselines.oracle import grid_configs, select_on_oracle
from debiaskit.companion.artifacts import start
from debiaskit.experiments.benchmarks import build_benchmark
from debiaskit.experiments.runs import train_config, trained_model
from debiaskit.experiments.suite import warm_trained_models

DATASET = {"table5": "colored_mnist", "table6": "watermarked_mnist", "table7": "cartoon"}
PREFIX = {"table5": "cm", "table6": "wm", "table7": "ct"}
runs = {t: start(f"pgd/{t}", globals()) for t in ("table5", "table6", "table7")}
for t in ("table5", "table6", "table7"):
    if t not in tables:
        print(f"{t}: not run in the {profile!r} profile (see the top); the full profile runs it on a GPU.")


def difficulty_tag(d) -> str:
    """``0.0001 -> '0001'``, ``8 -> '8'``, ``None -> ''`` (the value keys' difficulty part)."""
    return "" if d is None or d != d else f"{d:g}".replace("0.", "")  # None becomes NaN in a groupby key


# %% [markdown]
# ## Train the grid and select on the oracle validation set
# For every (table, difficulty, ratio, seed, method): train one model per grid configuration (cached), pick
# the one with the best mean of majority and minority accuracy on half of the balanced test split, and
# report it on the other half.

# %%
rows = []
for table in tables:
    dataset = DATASET[table]
    for d in difficulties[table]:
        for ratio in bias_ratios:
            for s in seeds:
                size = n_train.get(dataset) if isinstance(n_train, dict) else n_train
                bench = build_benchmark(dataset, ratio, seed=s, difficulty=d, n_train=size, n_test=n_test,
                                        root=data_root, source=sources.get(dataset, "real"))
                configs = grid_configs(train_config(base_settings[dataset], seed=s), grid)
                warm_trained_models(methods, bench, configs, method_options, workers)
                for m in methods:
                    candidates = {f"lr={c.lr:g}, epochs={c.epochs}": trained_model(m, bench, c, method_options.get(m))
                                  for c in configs}
                    chosen, acc = select_on_oracle(candidates, bench, seed=s)
                    rows.append({"table": table, "difficulty": d, "bias_ratio": ratio, "seed": s, "method": m,
                                 "chosen": chosen, **acc})
results = pd.DataFrame(rows, columns=["table", "difficulty", "bias_ratio", "seed", "method", "chosen", "oracle",
                                      "major", "minor"])
results.groupby(["table", "difficulty", "bias_ratio", "method"], sort=False, dropna=False)[["major", "minor"]].agg(
    ["mean", "std"]).round(2) if len(results) else "not run in this profile"

# %% [markdown]
# ## Paper vs reproduced
# Keys: `<cm|wm|ct><difficulty>_<ratio>_<method>_<major|minor>`, e.g. `cm0001_995_pgd_minor`.

# %% tags=["nbval-check-output"]
for table, run in runs.items():
    part = results[results["table"] == table]
    values = {}
    for (d, ratio, m), g in part.groupby(["difficulty", "bias_ratio", "method"], sort=False, dropna=False):
        key = f"{PREFIX[table]}{difficulty_tag(d)}_{f'{100 * ratio:g}'.replace('.', '')}_{m}"
        values[f"{key}_major"] = round(float(g["major"].mean()), 1)
        values[f"{key}_minor"] = round(float(g["minor"].mean()), 1)
    run.record(values, tables={"runs": part.round(2).to_dict(orient="records")}, seeds=seeds)
    comparison = run.comparison()
    print(table, "reproduced cells:", int(comparison["reproduced"].notna().sum()))
    print(comparison[comparison["reproduced"].notna()].to_string())
    print(run.claims().to_string(index=False))

# %%
ct = runs["table7"]
if "table7" in tables and "ct_995_pgd_minor" in ct.values:
    ct_text = ("**Findings (this run), Table 7 on {title} at 99.5%.** PGD's oracle-selected model gets "
               "{v[ct_995_pgd_major]:.1f} / {v[ct_995_pgd_minor]:.1f} (majority / minority) against {rest} (the draft, "
               "on Cartoon Set: PGD {p[ct_995_pgd_major]:.2f} / {p[ct_995_pgd_minor]:.2f}). {claims}")
    ct_fields = {"title": "the Cartoon stand-in" if sources.get("cartoon") == "standin" else "Cartoon Set",
                 "rest": ", ".join(f"{DISPLAY_NAMES[m]} {ct.values[f'ct_995_{m}_major']:.1f} / "
                                   f"{ct.values[f'ct_995_{m}_minor']:.1f}" for m in methods
                                   if m != "pgd" and f"ct_995_{m}_minor" in ct.values) or "no other method"}
else:
    ct_text, ct_fields = "Table 7's 99.5% cell is not run in this profile.", {}
ct.say(ct_text, **ct_fields)

# %% [markdown]
# ## What differs and why
# * The quick profile is the protocol at one setting per table, with a 2-point grid and one seed (see the top);
#   the full profile is the protocol above.
# * **Cartoon (Table 7)** is the procedural stand-in in the quick profile: avatars drawn from categorical
#   attributes as Cartoon Set's are, with our own shapes and palettes, hair colour the target and face colour
#   the bias. Its cells say whether the methods' ordering carries over to such data, not what the draft's cells
#   are. The quick profile runs four of the six methods, so the draft's claim (PGD best of six) is checked in
#   the full profile only; the quick profile checks PGD against the four it runs (the findings above).
# * The draft does not say what its oracle validation set is; we use a random, stratified half of the
#   balanced test split and report on the other, disjoint half, so selection never sees the reported images.
# * The grid is Figure 12's (learning rate 0.005/0.01/0.02 x 50/100 epochs) for every method; the draft
#   does not list each method's own search space. PGD is the published variant; the baselines as in Table 1.
