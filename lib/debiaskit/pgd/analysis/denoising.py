"""How well a clean/noisy split separates flipped labels from clean rare samples (PGD draft, Section 5,
Figure 6, Appendix E's Figures 10-11 and Appendix I's Table 16).

The four groups are clean/noisy label x majority/minority (of the true label). A split is a bool mask of
the samples it keeps (D_clean); its quality is read off as D_noise's precision and recall for flipped
labels, the share of each group it keeps, and rank separations (AUROC) of the per-sample scores.
"""

from __future__ import annotations

import torch

from debiaskit.core.splits import BiasedSplit
from debiaskit.data.label_noise import group_masks, noise_groups
from debiaskit.pgd.denoise import DenoiseSplit

GROUPS = ("clean_major", "clean_minor", "noisy_major", "noisy_minor")
GROUP_LABELS = {"clean_major": "Clean, M", "clean_minor": "Clean, m", "noisy_major": "Noise, M", "noisy_minor": "Noise, m"}


def auroc(positive: torch.Tensor, negative: torch.Tensor) -> float | None:
    """P(score of a positive > score of a negative), ties counted half (the Mann-Whitney AUROC, computed
    with scikit-learn); ``None`` when either group is empty. ``inf`` scores are ranked above every finite one."""
    from sklearn.metrics import roc_auc_score

    if len(positive) == 0 or len(negative) == 0:
        return None
    scores = torch.cat([positive, negative]).double()
    finite_max = scores[torch.isfinite(scores)].abs().max() if torch.isfinite(scores).any() else torch.tensor(0.0)
    scores = torch.nan_to_num(scores, posinf=float(finite_max) * 2 + 1)
    labels = torch.cat([torch.ones(len(positive)), torch.zeros(len(negative))])
    return float(roc_auc_score(labels.numpy(), scores.numpy()))


def kept_counts(data: BiasedSplit, keep: torch.Tensor) -> dict[str, int]:
    """Table 16's row for a cleansing that keeps ``keep`` (bool mask over ``data``)."""
    return noise_groups(data.subset(keep))


def split_quality(data: BiasedSplit, keep: torch.Tensor) -> dict[str, float | None]:
    """Percentages for a cleansing of ``data`` that keeps ``keep``: D_noise's precision and recall for flipped
    labels, and the share of each of the four groups kept (``None`` for an empty group)."""
    masks = group_masks(data)
    noisy = masks["noisy_major"] | masks["noisy_minor"]
    dropped = ~keep
    out: dict[str, float | None] = {
        "noise_precision": 100.0 * float((dropped & noisy).sum()) / float(dropped.sum()) if dropped.any() else None,
        "noise_recall": 100.0 * float((dropped & noisy).sum()) / float(noisy.sum()) if noisy.any() else None,
    }
    for name, mask in masks.items():
        out[f"kept_{name}"] = 100.0 * float((keep & mask).sum()) / float(mask.sum()) if mask.any() else None
    return out


def separation(data: BiasedSplit, split: DenoiseSplit) -> dict[str, float | None]:
    """Rank separations of the noise model's scores: AUROC of the loss L and of the compensated loss L~
    (Eq. 2) between flipped labels and clean samples, and between flipped labels and clean minority
    samples (the rare samples a de-biasing method must keep)."""
    masks = group_masks(data)
    noisy = masks["noisy_major"] | masks["noisy_minor"]
    clean = ~noisy
    out = {}
    for name, score in (("loss", split.loss), ("compensated", split.compensated)):
        out[f"auroc_{name}_noisy_vs_clean"] = auroc(score[noisy], score[clean])
        out[f"auroc_{name}_noisy_vs_clean_minor"] = auroc(score[noisy], score[masks["clean_minor"]])
    return out


def group_means(data: BiasedSplit, split: DenoiseSplit) -> dict[str, float | None]:
    """Mean loss L and mean entropy H of each group, both divided by their maximum over ``data`` (as Figure 6's
    axes are): where the groups sit in the plot. ``None`` for an empty group."""
    l_max = float(split.loss.max()) or 1.0
    h_max = float(split.entropy.max()) or 1.0
    out: dict[str, float | None] = {}
    for name, mask in group_masks(data).items():
        out[f"mean_loss_{name}"] = float(split.loss[mask].mean()) / l_max if mask.any() else None
        out[f"mean_entropy_{name}"] = float(split.entropy[mask].mean()) / h_max if mask.any() else None
    return out


def plot_entropy_vs_loss(ax, data: BiasedSplit, split: DenoiseSplit, title: str, max_points: int = 4000,
                         seed: int = 0) -> None:
    """Figure 6's scatter: softmax entropy against CE loss, both divided by their maximum, one colour per
    group, with Eq. 2's threshold L = delta H as a line (D_clean below it). At most ``max_points`` samples
    of the clean majority are drawn (a seeded subsample); every other group is drawn whole."""
    masks = group_masks(data)
    loss, entropy = split.loss, split.entropy
    l_max = float(loss.max()) or 1.0
    h_max = float(entropy.max()) or 1.0
    gen = torch.Generator().manual_seed(seed)
    styles = {"clean_major": ("tab:blue", 4, 0.25), "clean_minor": ("tab:green", 12, 0.9),
              "noisy_major": ("tab:red", 10, 0.6), "noisy_minor": ("tab:purple", 18, 0.9)}
    for name in GROUPS:
        idx = masks[name].nonzero(as_tuple=True)[0]
        if name == "clean_major" and len(idx) > max_points:
            idx = idx[torch.randperm(len(idx), generator=gen)[:max_points]]
        colour, size, alpha = styles[name]
        ax.scatter(entropy[idx] / h_max, loss[idx] / l_max, s=size, alpha=alpha, c=colour, linewidths=0,
                   label=f"{GROUP_LABELS[name]} ({int(masks[name].sum())})")
    if split.threshold != float("inf"):
        h = torch.linspace(0, 1, 50)
        ax.plot(h, (split.threshold * h * h_max / l_max).clamp(max=1.05), color="black", lw=1.2, label="L = δ·H")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("Entropy (normalised)")
    ax.set_ylabel("Loss (normalised)")
    ax.set_title(title, fontsize=9)
