"""Figure 9 of the PGD draft, drawn from the networks themselves: every layer of a model with its output shape
and parameter count, read off one forward pass (forward hooks), and a block diagram of it."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return f"Conv {module.out_channels}×{module.kernel_size[0]}×{module.kernel_size[1]}"
    if isinstance(module, nn.AvgPool2d):
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        return f"AvgPool {k}×{k}"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "Global AvgPool"
    if isinstance(module, nn.Linear):
        return f"FC {module.in_features}→{module.out_features}"
    if isinstance(module, nn.BatchNorm2d):
        return "BatchNorm"
    p = getattr(module, "p", None)
    return f"{type(module).__name__}" + (f" {p:.2g}" if isinstance(p, float) else "")


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> pd.DataFrame:
    """One row per leaf module in execution order: ``layer`` (e.g. "Conv 8×4×4"), ``type``, ``kernel`` (for
    convolutions and pooling), ``output`` (shape without the batch), ``params``. Runs one eval-mode forward
    pass on zeros of ``(1, *input_shape)``."""
    rows, hooks = [], []
    leaves = [m for m in model.modules() if not list(m.children())]
    for module in leaves:
        def hook(mod, _inp, out, mod_ref=module):
            kernel = getattr(mod_ref, "kernel_size", None)
            rows.append({"layer": _describe(mod_ref), "type": type(mod_ref).__name__,
                         "kernel": (kernel if isinstance(kernel, int) else kernel[0]) if kernel is not None else None,
                         "output": tuple(out.shape[1:]), "params": sum(p.numel() for p in mod_ref.parameters())})
        hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return pd.DataFrame(rows)


def plot_architecture(ax, table: pd.DataFrame, title: str, skip: tuple[str, ...] = ("BatchNorm2d", "ReLU", "Dropout")):
    """A vertical block diagram of ``table`` (:func:`layer_table`): one box per layer, input at the top, with its
    output shape; layers of the ``skip`` types are folded into the preceding convolution's box."""
    from matplotlib.patches import FancyBboxPatch

    blocks: list[list] = []
    for _, r in table.iterrows():
        if r["type"] in skip and blocks:
            blocks[-1][1].append(r["type"].replace("2d", ""))
            continue
        blocks.append([r, []])
    colours = {"Conv2d": "#c6dbef", "AvgPool2d": "#fdd0a2", "AdaptiveAvgPool2d": "#fdd0a2", "Linear": "#c7e9c0"}
    n = len(blocks)
    for i, (r, extra) in enumerate(blocks):
        y = n - 1 - i
        ax.add_patch(FancyBboxPatch((0.05, y + 0.12), 0.9, 0.76, boxstyle="round,pad=0.02",
                                    fc=colours.get(r["type"], "#eeeeee"), ec="black", lw=0.6))
        label = r["layer"] + (" + " + " + ".join(extra) if extra else "")
        ax.text(0.5, y + 0.58, label, ha="center", va="center", fontsize=7.5)
        shape = "×".join(str(s) for s in r["output"])
        ax.text(0.5, y + 0.3, f"→ {shape}" + (f"   ({r['params']:,} params)" if r["params"] else ""), ha="center",
                va="center", fontsize=6.5, color="#333333")
        if i:
            ax.annotate("", xy=(0.5, y + 0.88), xytext=(0.5, y + 1.12), arrowprops={"arrowstyle": "->", "lw": 0.6})
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.1, n)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
