"""Mini-batch samplers for :func:`debiaskit.core.training.train` (``sampler(epoch) -> iterable of index tensors``).

* :func:`rejection_sampler` is Algorithm 1 of the draft (Section 4.2): propose i ~ U{1..N} and
  u ~ U(0, 1), accept i when u < p_s(i), until the batch holds ``batch_size`` indices. The draft adds
  an accepted index to a *set* (B = B u {i}), so a repeat within a batch is dropped; ``unique=False``
  keeps repeats instead. Proposals are drawn in vectorised blocks, but accepted indices are consumed
  strictly in proposal order and leftovers carry over to the next batch, so the batches have exactly
  the distribution of the one-at-a-time loop.
* :func:`multinomial_sampler` draws the same distributions directly: with ``replacement=True`` each
  index is i.i.d. with probability p_s(i) / sum p_s (Algorithm 1 with ``unique=False``); with
  ``replacement=False`` a batch is successive sampling without replacement proportional to p_s, which
  is exactly what Algorithm 1's set semantics produce.
* :func:`published_sampler`: the published version's scheme, N draws with replacement per epoch with
  probability proportional to the score.

Every sampler seeds a fresh generator per epoch from ``(seed, epoch)``: reproducible and independent
of how often it is called.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Iterable, Iterator

import torch

from debiaskit.pgd.probability import check_weights

Sampler = Callable[[int], Iterable[torch.Tensor]]

LOW_ACCEPTANCE = 1e-4
"""A mean acceptance rate below this (more than 10^4 proposals per accepted sample) warns."""
MIN_USEFUL_ACCEPTANCE = 1e-4
"""Algorithm 1 with distinct samples needs a batch's worth of samples at least this likely to be accepted."""


def _generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch)) % (2**63 - 1))


def _num_batches(n: int, batch_size: int, num_batches: int | None) -> int:
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return math.ceil(n / batch_size) if num_batches is None else int(num_batches)


def check_acceptance(p_s: torch.Tensor) -> torch.Tensor:
    """Validate Algorithm 1's acceptance probabilities: finite, in [0, 1], max > 0 (else a clear error:
    a max of 0 or NaN means the loop would never accept). Values above 1 by rounding (< 1e-9) are clipped."""
    p = check_weights(p_s, "acceptance probabilities p_s")
    if p.max() > 1 + 1e-9:
        raise ValueError(f"acceptance probabilities must be <= 1 (max is {float(p.max()):.4g}); divide by the max "
                         "(acceptance_from_weights) or use sampling_probability")
    return p.clamp(max=1.0)


def _first_unique(stream: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The first k distinct values of ``stream`` in order of first appearance, and the rest of the
    stream after the k-th new value; ``None`` when fewer than k distinct values are present."""
    length = min(len(stream), 2 * k)
    while True:  # look at a growing prefix only: the work per batch stays O(k log k)
        head = stream[:length]
        values, inverse = torch.unique(head, return_inverse=True)
        if len(values) >= k:
            break
        if length == len(stream):
            return None
        length = min(len(stream), 2 * length)
    first = torch.full((len(values),), length, dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(length), reduce="amin")
    positions = first.sort().values[:k]
    return head[positions], stream[int(positions[-1]) + 1:]


def rejection_sampler(p_s: torch.Tensor, batch_size: int, num_batches: int | None = None, unique: bool = True,
                      seed: int = 0, block_size: int | None = None, max_proposals: int = 10**9) -> Sampler:
    """Algorithm 1 (uniform sampler) as a ``sampler(epoch)``; ``num_batches`` per epoch defaults to
    ceil(N / batch_size) (as many steps as a plain epoch).

    Guards: p_s with max 0 or NaN raises ``ValueError`` up front; with ``unique`` a batch larger than
    the number of samples with p_s >= ``MIN_USEFUL_ACCEPTANCE`` raises; a batch that needs more than
    ``max_proposals`` proposals raises ``RuntimeError`` instead of looping (practically) forever. A mean
    acceptance rate below 1e-4 warns.
    """
    p = check_acceptance(p_s)
    n = len(p)
    steps = _num_batches(n, batch_size, num_batches)
    reachable = int((p >= MIN_USEFUL_ACCEPTANCE).sum())
    if unique and reachable < batch_size:
        raise ValueError(f"batch_size {batch_size} exceeds the {reachable} samples with p_s >= "
                         f"{MIN_USEFUL_ACCEPTANCE:g} ({int((p > 0).sum())} have p_s > 0): a batch of distinct samples "
                         "could never be completed, or only after astronomically many proposals. Spread p_s "
                         "(e.g. sampling_probability(..., min_ess=2 * batch_size)) or lower the batch size")
    rate = float(p.mean())
    if rate < LOW_ACCEPTANCE:
        warnings.warn(f"Algorithm 1's acceptance rate is {rate:.2e}: about {1 / rate:.3g} proposals per accepted "
                      "sample (stabilise p_s, e.g. sampling_probability(method='rank'))", stacklevel=2)
    block = block_size or int(min(max(4 * batch_size / rate, 4096), 2**22))

    def sample(epoch: int) -> Iterator[torch.Tensor]:
        gen = _generator(seed, epoch)
        stream = torch.empty(0, dtype=torch.long)
        for _ in range(steps):
            proposals = 0
            while True:
                taken = _first_unique(stream, batch_size) if unique else (
                    (stream[:batch_size], stream[batch_size:]) if len(stream) >= batch_size else None)
                if taken is not None:
                    batch, stream = taken
                    break
                if proposals >= max_proposals:
                    raise RuntimeError(f"Algorithm 1 made {proposals} proposals without completing a batch of "
                                       f"{batch_size}; p_s is too concentrated (ESS too small): stabilise it")
                i = torch.randint(0, n, (block,), generator=gen)
                u = torch.rand(block, generator=gen, dtype=torch.float64)
                stream = torch.cat([stream, i[u < p[i]]])
                proposals += block
            yield batch

    return sample


def multinomial_sampler(p: torch.Tensor, batch_size: int, num_batches: int | None = None,
                        replacement: bool = False, seed: int = 0) -> Sampler:
    """Batches drawn with ``torch.multinomial`` proportionally to ``p`` (any non-negative scale).

    ``replacement=False``: each batch is distinct indices by successive sampling, the distribution of
    Algorithm 1 with its set semantics; ``replacement=True``: i.i.d. draws (Algorithm 1, ``unique=False``).
    """
    w = check_weights(p, "sampling weights")
    steps = _num_batches(len(w), batch_size, num_batches)
    if not replacement and batch_size > int((w > 0).sum()):
        raise ValueError(f"batch_size {batch_size} exceeds the {int((w > 0).sum())} samples with weight > 0")

    def sample(epoch: int) -> Iterator[torch.Tensor]:
        gen = _generator(seed, epoch)
        if replacement:
            yield from torch.multinomial(w, steps * batch_size, replacement=True, generator=gen).split(batch_size)
            return
        for _ in range(steps):
            yield torch.multinomial(w, batch_size, replacement=False, generator=gen)

    return sample


def published_sampler(weights: torch.Tensor, batch_size: int, seed: int = 0) -> Sampler:
    """The published PGD's sampler: each epoch N indices drawn with replacement with probability
    proportional to ``weights`` (the gradient norms), cut into batches (the last one may be short)."""
    w = check_weights(weights, "sampling weights")
    n = len(w)
    _num_batches(n, batch_size, None)

    def sample(epoch: int) -> Iterator[torch.Tensor]:
        gen = _generator(seed, epoch)
        return iter(torch.multinomial(w, n, replacement=True, generator=gen).split(batch_size))

    return sample
