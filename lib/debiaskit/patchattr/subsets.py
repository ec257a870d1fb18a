"""Biased and balanced subsets for the confounder experiment of Section 4.1.

Training: men (target 1) only without the confounder (3000), women (target 0) 2000 with and 1000
without. Balanced training baseline: the same size, each gender half with and half without the
confounder (capped by what exists, e.g. only 1387 blond men in CelebA: 54/46). Test: every
(gender, confounder) cell equally large (182 images each on CelebA's validation split).
"""

from __future__ import annotations

import torch

PAPER_BIASED_COUNTS = {(1, 0): 3000, (1, 1): 0, (0, 1): 2000, (0, 0): 1000}


def _draw(cell: torch.Tensor, n: int, gen: torch.Generator, what: str) -> torch.Tensor:
    pool = cell.nonzero(as_tuple=True)[0]
    if n > len(pool):
        raise ValueError(f"{what}: asked for {n} images but only {len(pool)} exist; lower the counts")
    return pool[torch.randperm(len(pool), generator=gen)[:n]]


def biased_indices(target: torch.Tensor, confounder: torch.Tensor, counts: dict[tuple[int, int], int] | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices with ``counts[(target, confounder)]`` images per cell (default: the paper's), sorted."""
    counts = PAPER_BIASED_COUNTS if counts is None else counts
    gen = generator or torch.Generator().manual_seed(0)
    parts = [_draw((target == t) & (confounder == c), n, gen, f"cell target={t}, confounder={c}")
             for (t, c), n in sorted(counts.items()) if n > 0]
    return torch.cat(parts).sort().values


def balanced_indices(target: torch.Tensor, confounder: torch.Tensor, per_target: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``per_target`` images of each target class, half with and half without the confounder; a cell
    that is too small is filled up from the other one (the paper's Blond-Hair men: 54/46)."""
    gen = generator or torch.Generator().manual_seed(0)
    parts = []
    for t in (0, 1):
        with_c = int(((target == t) & (confounder == 1)).sum())
        without_c = int(((target == t) & (confounder == 0)).sum())
        if with_c + without_c < per_target:
            raise ValueError(f"target {t}: only {with_c + without_c} images, need {per_target}")
        n_with = min(per_target // 2, with_c)
        n_without = per_target - n_with
        if n_without > without_c:
            n_without = without_c
            n_with = per_target - n_without
        parts += [_draw((target == t) & (confounder == 1), n_with, gen, f"target {t} with confounder"),
                  _draw((target == t) & (confounder == 0), n_without, gen, f"target {t} without confounder")]
    return torch.cat(parts).sort().values


def balanced_test_indices(target: torch.Tensor, confounder: torch.Tensor, per_cell: int = 182,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """``per_cell`` images for each of the four (target, confounder) cells (Section 4.1's test set)."""
    counts = {(t, c): per_cell for t in (0, 1) for c in (0, 1)}
    return biased_indices(target, confounder, counts, generator)
