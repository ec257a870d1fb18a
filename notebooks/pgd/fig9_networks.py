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
# # PGD, Figure 9: the two Simple ConvNets, drawn from the networks that train
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/notebooks/pgd/fig9_networks.ipynb)
#
# **Paper.** *Mitigating Dataset Bias Using Per-Sample Gradients from A Biased Classifier* (ICLR 2022
# submission), Appendix A.1 and Figure 9: "For MNIST variants, three convolution layers with filter size 4 and
# average pooling with size 2 are used (see Simple ConvNet-1). For Cartoon, 5 convolution layers with filter
# size [6, 6, 5, 5, 4] for each layer with average pooling size 2 are used (see Simple ConvNet-2)." We apply
# "batch normalization, dropout for regularization". **Claim:** the networks every notebook trains
# (`debiaskit.core.models.simple_convnet1` / `simple_convnet2`) have exactly these layers. The diagram is read off one
# forward pass through the modules themselves, so it cannot drift from the code.

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
seed = 0
inputs = {"colored_mnist": [3, 28, 28], "watermarked_mnist": [1, 56, 56], "cartoon": [3, 64, 64]}
data_root = None

# %%
import matplotlib.pyplot as plt

from debiaskit.companion.artifacts import start
from debiaskit.companion.plotting import use_style
from debiaskit.core.models import simple_convnet1, simple_convnet2
from debiaskit.pgd.analysis.architecture import layer_table, plot_architecture

use_style()
run = start("pgd/fig9", globals())
tables = {"convnet1_cm": layer_table(simple_convnet1(3, 10), tuple(inputs["colored_mnist"])),
          "convnet1_wm": layer_table(simple_convnet1(1, 10), tuple(inputs["watermarked_mnist"])),
          "convnet2_ct": layer_table(simple_convnet2(3, 4), tuple(inputs["cartoon"]))}
tables["convnet1_cm"]

# %% [markdown]
# ## The diagrams
# Each box is a layer with its output shape. A convolution's box also names the BatchNorm, ReLU and dropout
# that follow it.

# %%
titles = {"convnet1_cm": "(a) Simple ConvNet-1 (Colored MNIST, 3×28×28)",
          "convnet1_wm": "Simple ConvNet-1 (Watermarked MNIST, 1×56×56)",
          "convnet2_ct": "(b) Simple ConvNet-2 (Cartoon, 3×64×64)"}
fig, axes = plt.subplots(1, 3, figsize=(12, 6.5))
for ax, (name, table) in zip(axes, tables.items()):
    plot_architecture(ax, table, titles[name])
fig.tight_layout()
run.save_figure(fig)
plt.show()

# %% [markdown]
# ## Paper vs reproduced
# The paper's values are the text's counts and sizes. The filter counts (8, 32, 64 and 8, 16, 16, 32, 32) are
# read from Figure 9's layer labels, which survive only partly in the draft's text.

# %% tags=["nbval-check-output"]
values = {}
for name, key in (("convnet1_cm", "convnet1"), ("convnet2_ct", "convnet2")):
    t = tables[name]
    convs, pools = t[t.type == "Conv2d"], t[t.type == "AvgPool2d"]
    values[f"{key}_convs"] = len(convs)
    values |= {f"{key}_kernel{i + 1}": int(k) for i, k in enumerate(convs.kernel)}
    values |= {f"{key}_filters{i + 1}": int(o[0]) for i, o in enumerate(convs.output)}
    values[f"{key}_pool"] = int(pools.kernel.max())
    values[f"{key}_batchnorm_per_conv"] = int((t.type == "BatchNorm2d").sum()) / len(convs)
    values[f"{key}_dropout_per_conv"] = int((t.type == "Dropout").sum()) / len(convs)
    values[f"{key}_params"] = int(t.params.sum())
values["convnet1_wm_params"] = int(tables["convnet1_wm"].params.sum())
run.record(values, tables={k: t.astype({"output": str}).to_dict(orient="records") for k, t in tables.items()})
print(run.comparison().to_string())
print(run.claims().to_string(index=False))

# %% [markdown]
# ## What differs and why
# * **Padding and the last pooling.** The draft gives neither. Our convolutions pad by half the kernel, and a
#   global average pooling feeds the linear layer, whose weight is 10 × 64 as in the authors' code. So the
#   shapes between the layers are ours, not read from the figure.
# * **Dropout** is debiaskit's own inverted dropout (p = 0.1; `debiaskit.core.models.Dropout`, see `benchmarks/`), placed
#   after every convolution. The draft says only that dropout is used.
