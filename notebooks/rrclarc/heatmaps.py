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
# # RR-ClArC: attribution leaves the artifact after correction
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/rrclarc/heatmaps.ipynb)
#
# **Paper.** *From Hope to Safety: Unlearning Biases of Deep Models via Gradient Penalization in Latent
# Space* (Dreyer, Pahde et al., AAAI 2024). The abstract: the method *"explicitly reduces model
# sensitivity towards biases"*; the paper shows it with attribution heatmaps of artifact-carrying images
# before and after correction, and with $R_\text{bias}$, the share of attribution inside the artifact.
#
# Here: images of the biased class that carry the artifact, explained for the biased class's logit
# (Input x Gradient, Captum) by the biased model and by each corrected model. Red: evidence for the class;
# the artifact region is outlined.

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
    os.chdir("/content/debiaskit/notebooks/rrclarc")

# %% tags=["parameters"]
profile = "quick"
dataset = "fashion_mnist"
biased_class = 6
artifact_share = 0.9
artifact_size = 3
n_train = 8000
n_test = 2000
image_size = 128
model_name = "simple_convnet1"
pretrained = False
train_epochs = 6
train_lr = 0.05
layer = "body"
cav_type = "signal"
cav_pool = "max"
chosen_lambda = 10000.0
chosen_rrr_lambda = 0.1
finetune_epochs = 3
finetune_lr = 0.01
finetune_batch_size = 128
rrr_subset = 2000
rrr_epochs = 2
attribution = "input_x_gradient"
n_show = 8
n_rbias = 200
threads = 1
seed = 0
data_root = None

# %%
import matplotlib.pyplot as plt
import torch

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.config import seed_everything
from debiaskit.experiments.rrclarc import correction_setup, explain, fit_correction, load_benchmark
from debiaskit.rrclarc.figures import plot_heatmaps
from debiaskit.rrclarc.metrics import r_bias

torch.set_num_threads(threads)  # on the shared 2-core CPU one thread is several times faster
use_style()
seed_everything(seed)
run = start("rrclarc/heatmaps", globals())
bench = load_benchmark(dataset, biased_class, artifact_share, artifact_size, n_train, n_test, image_size, seed, data_root)
print(bench.describe())

# %% [markdown]
# ## Biased model (shared, cached), CAV and the corrected models

# %%
setup, hit = correction_setup(bench, model_name, train_epochs, train_lr, layer, cav_type, cav_pool, finetune_epochs,
                              rrr_epochs, finetune_batch_size, finetune_lr, rrr_subset, seed, pretrained)
print("cache hit" if hit else "trained")
models = {"biased model": setup.model, "Vanilla": fit_correction(setup, "Vanilla"),
          "RR-ClArC": fit_correction(setup, "RR-ClArC", chosen_lambda),
          "A-ClArC": fit_correction(setup, "A-ClArC"), "P-ClArC": fit_correction(setup, "P-ClArC")}
if bench.mask is not None:
    models["RRR"] = fit_correction(setup, "RRR", chosen_rrr_lambda)

# %% [markdown]
# ## Heatmaps and R_bias
# Test images of the biased class with the artifact pasted, explained for the biased class.

# %%
pool = bench.attacked.x[bench.attacked.y == bench.biased_class]
chosen = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n_rbias]]
maps = explain(models, chosen, bench.biased_class, attribution)
rb = {name: r_bias(m, bench.mask) for name, m in maps.items()} if bench.mask is not None else {}
print({k: round(v, 1) for k, v in rb.items()})

# %%
fig = plot_heatmaps(chosen[:n_show], {k: v[:n_show] for k, v in maps.items()}, bench.mask, rb,
                    title=f"{attribution} for class {bench.biased_class}, artifact pasted (outlined)")
run.save_figure(fig)
plt.show()

# %% [markdown]
# ## Paper vs reproduced
# The abstract gives no numbers. `*_rbias`: the share (percent) of absolute attribution inside the
# artifact's 3x3 square, averaged over `n_rbias` artifact-carrying test images of the biased class.

# %% tags=["nbval-check-output"]
short = {"biased model": "biased", "Vanilla": "vanilla", "RR-ClArC": "rrclarc", "A-ClArC": "aclarc", "P-ClArC": "pclarc",
         "RRR": "rrr"}
values = {f"{short[k]}_rbias": round(v, 1) for k, v in rb.items()}
run.record(values)
print(run.comparison().to_string())
print(run.claims().to_string(index=False))

# %%
if run.values:
    named = {s: name for name, s in short.items()}
    both = {"rrclarc_rbias", "vanilla_rbias"} <= set(run.values) and run.values["vanilla_rbias"] > 0
    rbias_text = ("**Findings (this run).** R_bias, the share (%) of absolute attribution inside the artifact's square, "
                  "mean over {n} artifact-carrying test images of the biased class: "
                  + ", ".join(f"{named[k[:-len('_rbias')]]} {{v[{k}]:.1f}}" for k in run.values) + "."
                  + (" RR-ClArC's R_bias is {ratio:.2f} times Vanilla's." if both else "")
                  + " {claims}")
    rbias_fields = {"n": len(chosen), "ratio": run.values["rrclarc_rbias"] / run.values["vanilla_rbias"] if both else 0}
else:
    rbias_text, rbias_fields = "The artifact has no pixel mask here, so R_bias is not computed: nothing to report.", {}
run.say(rbias_text, **rbias_fields)

# %% [markdown]
# ## What differs and why
# The paper's heatmaps are LRP (zennit) on VGG-16 / ResNet for ISIC, Bone Age, ImageNet and CelebA;
# here Input x Gradient (Captum) on a small CNN and a pasted 3x3 square in Fashion-MNIST "Shirt" images.
# Only the linear head changes, so the heatmaps change only through the head's weights: RR-ClArC makes
# them blind to the artifact's CAV, which is what should take relevance away from the square (the findings
# above give R_bias for every model). For the full (CelebA) profile the necktie is a real attribute without a
# pixel mask, so the heatmaps are drawn but R_bias and RRR are not computed.
