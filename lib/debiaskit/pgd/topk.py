"""Per-sample gradients over a whole data set in two streaming passes, never holding N x d.

Pass 1 accumulates, per coordinate j, ``sum_i |g_ij|`` and, per sample, ``||g_i||_2``; the k coordinates
with the largest sums are the draft's "k-dominant sub-dimensions" (Section 4.1:
``K = argmax_{|K| = k} sum_{j in K} sum_i |g_ij|``). Pass 2 recomputes the gradients chunk by chunk and
keeps only those k columns, giving the N x k sub-gradients the scores are computed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

from debiaskit.pgd.closed_form import iter_last_layer_grads, linear_parts
from debiaskit.pgd.grads import LossFn, iter_per_sample_grads, sample_cross_entropy
from debiaskit.pgd.params import ParamSelection, parameter_sizes, select_parameters


@dataclass
class GradientStats:
    """Result of pass 1: ``abs_sum`` [d] = ``sum_i |g_ij|`` and ``norms`` [N] = ``||g_i||_2`` (float64, CPU)."""

    abs_sum: torch.Tensor
    norms: torch.Tensor
    names: list[str]
    sizes: list[int]


@dataclass
class TopKGradients:
    """The N x k sub-gradients ``grads`` on the coordinates ``index`` (flat, ascending) of the selected
    parameters ``names``; ``norms`` are the full-gradient norms of pass 1 and ``abs_sum`` its sums."""

    grads: torch.Tensor
    index: torch.Tensor
    norms: torch.Tensor
    abs_sum: torch.Tensor
    names: list[str]
    sizes: list[int]

    def coordinate_names(self) -> list[tuple[str, int]]:
        """``(parameter name, offset inside it)`` of each chosen coordinate."""
        return [locate(int(j), self.names, self.sizes) for j in self.index]


def locate(flat: int, names: list[str], sizes: list[int]) -> tuple[str, int]:
    """Map a flat coordinate of the concatenated gradient to ``(parameter name, offset)``."""
    for name, size in zip(names, sizes):
        if flat < size:
            return name, flat
        flat -= size
    raise IndexError("coordinate beyond the selected parameters")


def resolve_method(model: nn.Module, names: list[str], loss_fn: LossFn, method: str) -> str:
    """``"closed_form"`` or ``"vmap"``; ``"auto"`` takes the closed form when only the last linear layer
    is selected and the loss is the default cross-entropy."""
    if method not in ("auto", "vmap", "closed_form"):
        raise ValueError(f"method must be 'auto', 'vmap' or 'closed_form', got {method!r}")
    closed_ok = loss_fn is sample_cross_entropy and linear_parts(model, names) is not None
    if method == "closed_form" and not closed_ok:
        raise ValueError("the closed form needs the default cross-entropy loss and only last-linear-layer parameters")
    if method == "auto":
        return "closed_form" if closed_ok else "vmap"
    return method


def iter_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, names: list[str], batch_size: int,
               loss_fn: LossFn, device, method: str, chunk_size: int | None = None
               ) -> Iterator[tuple[slice, list[torch.Tensor]]]:
    """Stream per-sample gradient chunks by the resolved ``method`` as ``(rows, blocks)``: ``blocks`` are
    [B, d_b] pieces that concatenate (in order) to the flat gradient, so no concatenation copy is made."""
    if resolve_method(model, names, loss_fn, method) == "closed_form":
        for rows, g in iter_last_layer_grads(model, x, y, linear_parts(model, names), max(batch_size, 1024), device):
            yield rows, [g]
        return
    for rows, g in iter_per_sample_grads(model, x, y, names, batch_size, loss_fn, device, chunk_size, flatten=False):
        yield rows, [g[n].reshape(rows.stop - rows.start, -1) for n in names]


def _check_data(x: torch.Tensor, y: torch.Tensor) -> None:
    if len(x) == 0:
        raise ValueError("cannot compute per-sample gradients of an empty data set")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")


def gradient_statistics(model: nn.Module, x: torch.Tensor, y: torch.Tensor, params: ParamSelection = "all",
                        batch_size: int = 512, loss_fn: LossFn = sample_cross_entropy, device=None,
                        method: str = "auto", chunk_size: int | None = None) -> GradientStats:
    """Pass 1 (Section 4.1): ``sum_i |g_ij|`` per coordinate and ``||g_i||_2`` per sample, streaming."""
    _check_data(x, y)
    names = select_parameters(model, params)
    sizes = parameter_sizes(model, names)
    abs_sum: torch.Tensor | None = None
    norms = torch.empty(len(x), dtype=torch.float64)
    for rows, blocks in iter_grads(model, x, y, names, batch_size, loss_fn, device, method, chunk_size):
        part = torch.cat([b.abs().sum(0, dtype=torch.float64) for b in blocks])
        abs_sum = part if abs_sum is None else abs_sum + part
        squares = sum(torch.linalg.vector_norm(b, dim=1, dtype=torch.float64) ** 2 for b in blocks)
        norms[rows] = torch.sqrt(squares).cpu()
    assert abs_sum is not None
    return GradientStats(abs_sum.cpu(), norms, names, sizes)


def dominant_coordinates(abs_sum: torch.Tensor, k: int) -> torch.Tensor:
    """The k coordinates with the largest ``sum_i |g_ij|`` (Section 4.1), ascending; k is capped at d."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not torch.isfinite(abs_sum).all():
        raise ValueError("the gradient sums contain NaN or inf: the model or the data produce non-finite gradients")
    k = min(k, abs_sum.numel())
    return torch.topk(abs_sum, k).indices.sort().values


def gather_coordinates(model: nn.Module, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor,
                       params: ParamSelection = "all", batch_size: int = 512,
                       loss_fn: LossFn = sample_cross_entropy, device=None, method: str = "auto",
                       chunk_size: int | None = None) -> torch.Tensor:
    """Pass 2: the sub-gradients g_i[index] for every sample, [N, k] in the model's dtype, on the CPU.

    Only the parameters that hold a chosen coordinate are differentiated (the backward still runs
    down to the earliest of them).
    """
    _check_data(x, y)
    names = select_parameters(model, params)
    sizes = parameter_sizes(model, names)
    offsets = torch.tensor([0] + sizes).cumsum(0)
    index = index.cpu().long()
    block = torch.bucketize(index, offsets[1:], right=True)  # which parameter each coordinate is in
    keep = sorted(set(block.tolist()))
    kept_names = [names[b] for b in keep]
    kept_offsets = torch.tensor([0] + [sizes[b] for b in keep]).cumsum(0)
    position = {b: i for i, b in enumerate(keep)}
    local = torch.tensor([int(kept_offsets[position[int(b)]]) + int(j - offsets[b]) for j, b in zip(index, block)],
                         dtype=torch.long)
    out: torch.Tensor | None = None
    for rows, blocks in iter_grads(model, x, y, kept_names, batch_size, loss_fn, device, method, chunk_size):
        if out is None:
            out = torch.empty(len(x), len(index), dtype=blocks[0].dtype)
        start = 0
        for b in blocks:  # columns of each block, written straight into the output
            inside = (local >= start) & (local < start + b.shape[1])
            if bool(inside.any()):
                out[rows, inside] = b[:, (local[inside] - start).to(b.device)].cpu()
            start += b.shape[1]
    assert out is not None
    return out


def topk_per_sample_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, k: int = 100,
                          params: ParamSelection = "all", batch_size: int = 512,
                          loss_fn: LossFn = sample_cross_entropy, device=None, method: str = "auto",
                          chunk_size: int | None = None) -> TopKGradients:
    """Both passes: the N x k sub-gradients on the k dominant coordinates (Section 4.1).

    Memory is O(batch_size * d + N * k). ``method="auto"`` uses the closed form for a last-linear-layer
    selection, ``vmap`` otherwise. Table 4's k is 100 (MNIST variants, Cartoon) or 500 (real-world).
    """
    stats = gradient_statistics(model, x, y, params, batch_size, loss_fn, device, method, chunk_size)
    index = dominant_coordinates(stats.abs_sum, k)
    grads = gather_coordinates(model, x, y, index, stats.names, batch_size, loss_fn, device, method, chunk_size)
    return TopKGradients(grads, index, stats.norms, stats.abs_sum, stats.names, stats.sizes)
