"""Several small models of one architecture trained at once on one device: the seeds x settings of one method.

A Simple ConvNet step on a GPU is a few hundred microseconds of kernel launches on a device that stays mostly
idle. :func:`train_packed` stacks K models' parameters (``torch.func.stack_module_state``) and takes one
``vmap``-ed step for all of them, each model on its own mini-batch, its own augmentation and its own dropout
masks, and applies :func:`debiaskit.core.training.make_optimizer`'s update (SGD with momentum, weight decay and step
decay, Appendix A.1) with each model's own settings. It trains the same models as K calls of
:func:`debiaskit.core.training.train` (tests/test_packing.py): every random draw comes from the generator that call
would have used, so the models differ only by fp32 reduction order (a vmapped convolution is a grouped one).
:func:`debiaskit.experiments.suite.warm_trained_models` uses it for the Vanilla models of ``pack`` seeds/settings.

Requirements, checked with a clear message: one architecture, the same number of epochs and one device for
all K; every step's batches of equal size (true for the default shuffled sampler when the data set and the
batch size are shared); BatchNorm statistics re-estimated after training (``precise_bn``, the default), since
running averages cannot be updated in place under ``vmap``. The objective may only call ``model(x)``.
"""

from __future__ import annotations

import copy
import time
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap
from tqdm.auto import tqdm

from debiaskit.core.augment import AugmentConfig, augment_batch
from debiaskit.core.config import resolve_device
from debiaskit.core.models import Dropout, draw_keep_mask, dropout_masks
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import (
    Objective,
    Sampler,
    TrainConfig,
    TrainResult,
    _is_tracking_batchnorm,
    _recalibration_batches,
    as_float_images,
    cross_entropy,
    gather_batch,
    lr_milestones,
    recalibrate_batchnorm,
    shuffled_batches,
    stage_on_device,
)


class PackingError(ValueError):
    """The models or settings cannot be trained together; train them one at a time instead."""


class _Stateless(nn.Module):
    """``base`` evaluated with ``params`` (one model's slice inside ``vmap``), for objectives that call ``model(x)``."""

    def __init__(self, base: nn.Module, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.__dict__["base"] = base
        self.__dict__["params"] = params

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, self.params, (x,))


def _batch_statistics_only(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose BatchNorm layers normalise by the batch and keep no running averages (what
    training mode computes anyway; the averages are re-estimated afterwards)."""
    base = copy.deepcopy(model)
    for m in base.modules():
        if _is_tracking_batchnorm(m):
            m.track_running_stats = False
            m.running_mean = m.running_var = m.num_batches_tracked = None
    return base


def _check(models: Sequence[nn.Module], cfgs: Sequence[TrainConfig], samplers) -> None:
    if not models:
        raise PackingError("train_packed needs at least one model")
    if len(cfgs) != len(models) or (samplers is not None and len(samplers) != len(models)):
        raise PackingError(f"need one configuration (and sampler) per model: {len(models)} models, "
                           f"{len(cfgs)} configurations")
    shapes = [{k: v.shape for k, v in m.named_parameters()} for m in models]
    if any(s != shapes[0] for s in shapes) or any(type(m) is not type(models[0]) for m in models):
        raise PackingError("packed models must share one architecture (same class, same parameter shapes)")
    for field in ("epochs", "device", "augment"):
        if len({getattr(c, field) for c in cfgs}) > 1:
            raise PackingError(f"packed models must share {field!r}; got {[getattr(c, field) for c in cfgs]}")
    if any(_is_tracking_batchnorm(m) for m in models[0].modules()) and not all(c.precise_bn for c in cfgs):
        raise PackingError("packed training re-estimates BatchNorm statistics after training; set precise_bn=True "
                           "or train these models one at a time")


def _dropout_shapes(base: nn.Module, x: torch.Tensor) -> list[tuple[torch.Size, int]]:
    """The (input shape, threshold) of every dropout draw of one training forward pass on ``x``, in order."""
    seen: list[tuple[torch.Size, int]] = []

    def record(shape: torch.Size, threshold: int, device: torch.device) -> torch.Tensor:
        seen.append((shape, threshold))
        return torch.ones(shape, dtype=torch.bool, device=device)

    if any(isinstance(m, Dropout) for m in base.modules()):
        with torch.no_grad(), dropout_masks(record):
            base(x)
    return seen


def _learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """``make_optimizer``'s MultiStepLR value during ``epoch`` (multiplied by ``lr_decay`` at each milestone)."""
    lr = cfg.lr
    for m in lr_milestones(cfg):
        if epoch >= m:
            lr *= cfg.lr_decay
    return lr


def _per_model(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A (K,) vector of per-model settings as a view that broadcasts over stacked parameters ``like``."""
    return values.view(-1, *([1] * (like.dim() - 1)))


def train_packed(
    models: Sequence[nn.Module],
    data: BiasedSplit | tuple[torch.Tensor, torch.Tensor],
    cfgs: Sequence[TrainConfig],
    objective: Objective = cross_entropy,
    samplers: Sequence[Sampler] | None = None,
    augment: AugmentConfig | None = AugmentConfig(),
    progress: bool = True,
    desc: str = "packed",
) -> list[TrainResult]:
    """Train ``models[k]`` with ``cfgs[k]`` (and ``samplers[k]``) on ``data``, all K in one vmapped step per
    iteration; returns one :class:`TrainResult` per model (each with the packed run's wall time).

    Same contract as :func:`debiaskit.core.training.train` for each model: model k's shuffles, augmentation and
    dropout masks come from generators seeded with ``cfgs[k].seed`` exactly as ``train`` seeds them (dropout
    from torch's global generator there, from a private one here: the same stream), so the result equals
    ``train(models[k], data, cfgs[k], ...)`` up to fp32 reduction order.
    """
    _check(models, cfgs, samplers)
    x_all, y_all = (data.x, data.y) if hasattr(data, "x") else data
    if len(x_all) == 0:
        raise ValueError("cannot train on an empty data set")
    k_models, epochs = len(models), cfgs[0].epochs
    device = resolve_device(cfgs[0].device)
    for m in models:
        m.to(device)
    x_all, y_all = stage_on_device(x_all, device), stage_on_device(y_all, device)
    gen_aug = [torch.Generator().manual_seed(c.seed + 1) for c in cfgs]
    gen_drop = [torch.Generator(device).manual_seed(c.seed) for c in cfgs]
    samplers = list(samplers) if samplers is not None else [
        shuffled_batches(len(x_all), c.batch_size, torch.Generator().manual_seed(c.seed)) for c in cfgs]

    base = _batch_statistics_only(models[0]).train()
    params, _ = stack_module_state(list(models))
    params = {k: v.detach().clone() for k, v in params.items()}
    like = next(iter(params.values()))
    setting = lambda values: torch.tensor(values, dtype=like.dtype, device=like.device)  # noqa: E731
    weight_decay, momentum = setting([c.weight_decay for c in cfgs]), setting([c.momentum for c in cfgs])
    momentum_buf: dict[str, torch.Tensor | None] = {k: None for k in params}
    shape_cache: dict[tuple, list] = {}

    def loss_of(p: dict, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, masks: list[torch.Tensor]):
        supply = iter(masks)
        with dropout_masks(lambda shape, threshold, dev: next(supply)):
            return objective(_Stateless(base, p), x, y, idx)

    step = vmap(grad_and_value(loss_of), randomness="error")
    histories: list[list[dict]] = [[] for _ in models]
    start = time.perf_counter()
    for epoch in tqdm(range(epochs), desc=f"{desc} ({k_models} models)", disable=not progress, leave=False):
        lrs = setting([_learning_rate(c, epoch) for c in cfgs])  # one copy per epoch, not per step
        totals, count = torch.zeros(k_models, dtype=torch.float64), 0
        for batch in _aligned(samplers, epoch):
            sizes = {len(i) for i in batch}
            if len(sizes) > 1:
                raise PackingError(f"packed models need equal batch sizes at every step; got {sorted(sizes)} in "
                                   f"epoch {epoch}. Give them the same data and batch size, or train one at a time")
            idx = torch.stack(batch)
            xs = []
            for k in range(k_models):
                x = as_float_images(gather_batch(x_all, idx[k], device))
                xs.append(augment_batch(x, augment, gen_aug[k]) if cfgs[k].augment and augment is not None else x)
            x = torch.stack(xs)
            y = torch.stack([gather_batch(y_all, i, device) for i in idx])
            key = tuple(x.shape[1:])
            if key not in shape_cache:
                shape_cache[key] = _dropout_shapes(base, x[0])
            masks = [torch.stack([draw_keep_mask(shape, threshold, device, g) for g in gen_drop])
                     for shape, threshold in shape_cache[key]]
            grads, losses = step(params, x, y, idx.to(device), masks)
            _sgd_step(params, grads, momentum_buf, lrs, momentum, weight_decay)
            totals += losses.detach().double().cpu() * len(batch[0])
            count += len(batch[0])
        for k in range(k_models):
            histories[k].append({"epoch": epoch + 1, "loss": float(totals[k]) / max(count, 1),
                                 "lr": _learning_rate(cfgs[k], epoch + 1)})
    seconds = time.perf_counter() - start
    results = []
    for k, model in enumerate(models):
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(params[name][k])
        if cfgs[k].precise_bn and epochs > 0:
            recalibrate_batchnorm(model, _recalibration_batches(x_all, samplers[k], epochs, device))
        model.eval()
        results.append(TrainResult(model=model, history=histories[k], seconds=seconds))
    return results


def _aligned(samplers: Sequence[Sampler], epoch: int):
    """The K samplers' batches of ``epoch``, step by step; an error when one runs out before the others."""
    try:
        yield from zip(*(s(epoch) for s in samplers), strict=True)
    except ValueError as exc:
        if "zip()" not in str(exc):
            raise
        raise PackingError(f"packed models need the same number of steps per epoch ({exc}); give them the same "
                           "data and batch size, or train them one at a time") from None


@torch.no_grad()
def _sgd_step(params: dict, grads: dict, bufs: dict, lrs: torch.Tensor, momentum: torch.Tensor,
              weight_decay: torch.Tensor) -> None:
    """``torch.optim.SGD.step`` (momentum, no dampening, weight decay added to the gradient) on stacked
    parameters, each model with its own learning rate, momentum and weight decay (``(K,)`` vectors)."""
    for name, p in params.items():
        d = grads[name] + _per_model(weight_decay, p) * p
        buf = bufs[name]
        if buf is None:
            bufs[name] = buf = d.clone()
        else:
            buf.mul_(_per_model(momentum, p)).add_(d)
        p.sub_(_per_model(lrs, p) * buf)
