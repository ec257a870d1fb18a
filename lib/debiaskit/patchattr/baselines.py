"""Model-specific attribution baselines through Captum (optional: ``pip install debiaskit[baselines]``).

Both explain a full-image classifier of the confounder, for the class it predicts:

* Captum's ``Occlusion`` with a k x k window at the grid's stride (hide a window, see the score drop: the
  complement of the region classifier, which keeps only the window);
* gradient saliency (Simonyan et al. 2014): ``|d logit / d x|``, maximum over colour channels.
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

from debiaskit.patchattr.grid import PatchGrid


def _captum():
    try:
        import captum.attr as attr
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the Captum baselines need captum: pip install 'debiaskit[baselines]' (or pip install captum)") from None
    return attr


def occlusion_maps(model: nn.Module, images: torch.Tensor, grid: PatchGrid, baseline: float = 0.0,
                   batch_size: int = 64, progress: bool = False) -> torch.Tensor:
    """Captum Occlusion attributions summed over channels: [N, H, W]."""
    attr = _captum()
    model.eval()
    occ = attr.Occlusion(model)
    out = []
    for chunk in tqdm(images.split(batch_size), desc="occlusion", disable=not progress, leave=False):
        chunk = chunk.float()
        target = model(chunk).argmax(1)
        c = chunk.shape[1]
        a = occ.attribute(chunk, sliding_window_shapes=(c, grid.patch, grid.patch),
                          strides=(c, grid.stride, grid.stride), target=target, baselines=baseline,
                          perturbations_per_eval=64)
        out.append(a.sum(1).detach())
    return torch.cat(out)


def saliency_maps(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Captum Saliency (absolute input gradient of the predicted logit), max over channels: [N, H, W]."""
    attr = _captum()
    model.eval()
    sal = attr.Saliency(model)
    out = []
    for chunk in images.split(batch_size):
        chunk = chunk.float().requires_grad_(True)
        target = model(chunk).argmax(1)
        out.append(sal.attribute(chunk, target=target, abs=True).amax(1).detach())
    return torch.cat(out)
