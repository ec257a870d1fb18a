"""The one training loop every method uses (Vanilla, GCE-biased, PGD, the baselines).

A method differs only in three pluggable pieces:

* ``objective(model, x, y, idx) -> loss`` -- the per-batch loss (default: cross-entropy);
* ``sampler(epoch) -> iterable of index tensors`` -- which samples form each mini-batch
  (default: a seeded shuffle; PGD passes its rejection sampler);
* the model itself, which may be an ``nn.ModuleDict`` when a method trains several nets jointly.

After the last epoch the BatchNorm statistics are re-estimated with the final weights (``precise_bn``,
:func:`recalibrate_batchnorm`), so that a model evaluated after a short, large-step schedule is the model
that was trained.

The optimiser is pluggable too (default: SGD with step decay, as the PGD draft trains; the patch-attribution
paper passes AdamW through :func:`debiaskit.patchattr.fitting.fit`). Data stay in memory as tensors (uint8
images are converted per batch); augmentation runs on whole batches (:mod:`debiaskit.core.augment`). On an
accelerator the whole training set is copied to the device once (:func:`stage_on_device`), so a step makes no
host-to-device copy; on the CPU nothing moves.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from debiaskit.core.augment import AugmentConfig, augment_batch
from debiaskit.core.config import resolve_device
from debiaskit.core.inputs import as_inputs, as_split, check_logits
from debiaskit.core.splits import BiasedSplit

Objective = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Sampler = Callable[[int], Iterable[torch.Tensor]]
OptimizerFactory = Callable[[nn.Module], "tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]"]


@dataclass
class TrainConfig:
    """Optimisation settings: SGD with momentum and weight decay, the learning rate multiplied by ``lr_decay`` at
    ``lr_milestones`` (fractions of ``epochs``; Appendix A.1, Table 4's "LR decay" and "LR decay epoch").

    The defaults train sensibly for any number of epochs: x0.1 at half and at three quarters of the run. The
    papers' protocols are set explicitly by each notebook's profiles (Table 4's Colored MNIST column, for instance,
    is x0.001 at 20/40/60/80%). A schedule that keeps the step below 1% of ``lr`` for more than half of the run
    draws a warning. ``precise_bn``: re-estimate BatchNorm's statistics after training
    (:func:`recalibrate_batchnorm`); turn it off when the network's forward does not take the training images
    themselves (patch classifiers, heads on stored latents). Wrong types are refused here, with the field's name.
    """

    epochs: int = 100
    batch_size: int = 256
    lr: float = 0.01
    momentum: float = 0.8
    weight_decay: float = 1e-3
    lr_decay: float = 0.1
    lr_milestones: tuple[float, ...] = (0.5, 0.75)
    augment: bool = True
    precise_bn: bool = True
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"TrainConfig.{name} must be an integer, got {value!r} ({type(value).__name__})")
            setattr(self, name, int(value))
        for name in ("lr", "momentum", "weight_decay", "lr_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"TrainConfig.{name} must be a number, got {value!r} ({type(value).__name__})")
        for name in ("augment", "precise_bn"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"TrainConfig.{name} must be True or False, got {getattr(self, name)!r}")
        if not isinstance(self.device, (str, torch.device)):
            raise TypeError(f"TrainConfig.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if isinstance(self.lr_milestones, (int, float)) or not all(
                isinstance(f, (int, float)) and not isinstance(f, bool) for f in self.lr_milestones):
            raise TypeError(f"TrainConfig.lr_milestones must be a list of fractions of the epochs, got "
                            f"{self.lr_milestones!r}")
        self.lr_milestones = tuple(self.lr_milestones)
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError(f"TrainConfig needs epochs >= 0 and batch_size >= 1, got {self.epochs} and {self.batch_size}")
        if not (self.lr > 0 and self.lr_decay > 0 and self.weight_decay >= 0 and 0 <= self.momentum < 1):
            raise ValueError(f"TrainConfig needs lr > 0, lr_decay > 0, weight_decay >= 0 and 0 <= momentum < 1, got "
                             f"lr={self.lr}, lr_decay={self.lr_decay}, weight_decay={self.weight_decay}, "
                             f"momentum={self.momentum}")
        if self.epochs and low_step_share(self) > 0.5:
            warnings.warn(f"TrainConfig's schedule (x{self.lr_decay:g} at {list(self.lr_milestones)} of {self.epochs} "
                          f"epochs) keeps the step below 1% of lr={self.lr:g} for {low_step_share(self):.0%} of the "
                          f"run, where the model barely learns; set lr_decay / lr_milestones if that is not intended",
                          stacklevel=3)

    @classmethod
    def from_dict(cls, settings: dict) -> "TrainConfig":
        """A config from plain settings (``{"epochs": 3, "lr_milestones": [0.5]}``); unknown names are refused."""
        if isinstance(settings, cls):
            return settings
        if not isinstance(settings, dict):
            raise TypeError(f"expected a TrainConfig or a dict of its settings, got {type(settings).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown training settings {unknown}; TrainConfig has {sorted(known)}")
        return cls(**settings)

    def to_dict(self) -> dict:
        """The settings as a plain dict (``lr_milestones`` as a list), as cache keys and result files record them;
        :meth:`from_dict` reads it back."""
        d = asdict(self)
        d["lr_milestones"] = list(self.lr_milestones)
        return d


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained ``model`` (in eval mode), its ``history`` (one dict per epoch:
    ``epoch``, counted from 1; ``loss``, the epoch's mean training loss; ``lr``, the learning rate after the epoch's
    scheduler step; and whatever ``on_epoch_end`` returned) and the wall-clock ``seconds`` the training took."""

    model: nn.Module
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def as_float_images(x: torch.Tensor) -> torch.Tensor:
    """``x`` as floats: uint8 images (0-255) divided by 255 into a new float32 tensor in [0, 1]; float images are
    returned unchanged (the same tensor). The one conversion every batch loop of the library
    applies (training, prediction, scoring, per-sample gradients), so that uint8 and float data sets give the same
    numbers through every entry point."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def stage_on_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` where the training steps run: unchanged on the CPU or when already there; otherwise copied to the
    device once (uint8 images stay uint8, a quarter of float32's memory). When the device has no room for it,
    ``t`` stays in pinned host memory, so that each batch's copy is asynchronous."""
    if device.type == "cpu" or t.device == device:
        return t
    try:
        return t.to(device)
    except torch.OutOfMemoryError:
        return t.pin_memory()


def gather_batch(t: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows ``idx`` of ``t`` (from :func:`stage_on_device`) on ``device``: an index on the device itself, or a
    gather into pinned memory and an asynchronous copy when ``t`` stayed on the host."""
    if t.device == device or device.type == "cpu":
        return t[idx.to(t.device)].to(device)
    return t[idx.to(t.device)].pin_memory().to(device, non_blocking=True)


def cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The Vanilla objective: the mean cross-entropy of ``model(x)``'s logits ``[B, classes]`` against the labels
    ``y`` ``[B]``, as a scalar tensor. ``idx`` (the batch's row indices, which every objective receives) is unused."""
    return F.cross_entropy(check_logits(model(x), len(x)), y)


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator) -> Sampler:
    """The default sampler over ``n`` rows: ``sampler(epoch)`` returns an iterator of index tensors, a fresh
    permutation drawn from ``generator`` on every call (``epoch`` itself is unused) cut into batches of
    ``batch_size`` (the last one kept, however small)."""

    def sample(epoch: int) -> Iterator[torch.Tensor]:
        perm = torch.randperm(n, generator=generator)
        return iter(perm.split(batch_size))

    return sample


def low_step_share(cfg: TrainConfig, below: float = 0.01) -> float:
    """The share of ``cfg``'s epochs whose learning rate (under :func:`make_optimizer`'s schedule) is below
    ``below`` times ``cfg.lr``."""
    if cfg.epochs == 0:
        return 0.0
    steps = lr_milestones(cfg)
    return sum(cfg.lr_decay ** sum(m <= e for m in steps) < below for e in range(cfg.epochs)) / cfg.epochs


def lr_milestones(cfg: TrainConfig) -> list[int]:
    """The epochs after which the learning rate is multiplied by ``cfg.lr_decay`` (Table 4's fractional
    "LR decay epoch" of ``cfg.epochs``; a milestone at or past the last epoch is dropped)."""
    return sorted({max(1, int(round(f * cfg.epochs))) for f in cfg.lr_milestones if f * cfg.epochs < cfg.epochs})


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """SGD with momentum and weight decay, step decay at fractional milestones (Appendix A.1).

    Returns ``(optimizer, scheduler)``: SGD over ``model``'s parameters that require grad, with ``cfg.lr``,
    ``cfg.momentum`` and ``cfg.weight_decay``, and a scheduler (stepped once per epoch by :func:`train`) that
    multiplies the rate by ``cfg.lr_decay`` at the epochs :func:`lr_milestones` gives."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=lr_milestones(cfg), gamma=cfg.lr_decay)
    return opt, sched


PRECISE_BN_SAMPLES = 4096
"""Training images :func:`train` passes through the network to re-estimate BatchNorm statistics."""


def _is_tracking_batchnorm(m: nn.Module) -> bool:
    return isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats


def _has_batchnorm(net: nn.Module) -> bool:
    return any(_is_tracking_batchnorm(m) for m in net.modules())


def batchnorm_networks(model: nn.Module) -> list[nn.Module]:
    """The networks of ``model`` that hold BatchNorm layers with running statistics: ``model`` itself, or
    for an ``nn.ModuleDict`` of jointly trained networks (RUBi, LfF, ReBias, ...) each member that has one
    (every such member takes the images; gates and weight tables have none)."""
    nets = list(model.values()) if isinstance(model, nn.ModuleDict) else [model]
    return [net for net in nets if _has_batchnorm(net)]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """PreciseBN (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", Section 3.1): replace each
    BatchNorm layer's running mean and variance, an exponential average over the last ~10 training batches
    that lags the weights when the step is large, by their plain average over ``batches`` (an iterable of float
    image batches on the model's device) computed with the final weights, dropout off (the network as it is
    evaluated).

    Measured on Watermarked MNIST (99.5%, 8k images, Vanilla, 4 epochs at lr 0.02, momentum 0.9; 4096
    images, ``benchmarks/precise_bn.py``): test accuracy 40.3% (majority 52.9) with the running statistics,
    64.6% (87.3) with re-estimated ones. Every module's training flag and every layer's momentum are
    restored afterwards. Returns the number of images used (0 if ``model`` has no BatchNorm layer)."""
    nets = batchnorm_networks(model)
    if not nets:
        return 0
    layers = [m for net in nets for m in net.modules() if _is_tracking_batchnorm(m)]
    momenta = [bn.momentum for bn in layers]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for bn in layers:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches
        bn.train()
    seen = 0
    try:
        for x in batches:
            for net in nets:
                net(x)
            seen += len(x)
    finally:
        for bn, momentum in zip(layers, momenta):
            bn.momentum = momentum
        for m, training in modes:
            m.training = training
    return seen


def _recalibration_batches(x_all: torch.Tensor, sampler: Sampler, epoch: int, device: torch.device,
                           limit: int = PRECISE_BN_SAMPLES) -> Iterator[torch.Tensor]:
    """Un-augmented images of one more epoch of ``sampler`` (the training distribution as the model saw it,
    e.g. PGD's resampled one), at most ``limit`` of them."""
    seen = 0
    for idx in sampler(epoch):
        if seen >= limit:
            return
        idx = idx[: limit - seen]
        seen += len(idx)
        yield as_float_images(gather_batch(x_all, idx, device))


def train(
    model: nn.Module,
    data: BiasedSplit | tuple[torch.Tensor, torch.Tensor],
    cfg: TrainConfig,
    objective: Objective = cross_entropy,
    sampler: Sampler | None = None,
    augment: AugmentConfig | None = AugmentConfig(),
    on_epoch_end: Callable[[int, nn.Module], dict | None] | None = None,
    progress: bool = True,
    desc: str = "train",
    optimizer: OptimizerFactory | None = None,
) -> TrainResult:
    """Train ``model`` on ``data`` (a split or an ``(images, labels)`` pair) for ``cfg.epochs`` epochs and
    return it with its history.

    ``model`` is trained in place, on ``cfg.device``. ``cfg``: a :class:`TrainConfig` (or a dict of its settings,
    :meth:`TrainConfig.from_dict`). ``objective(model, x, y, idx)``: the batch's loss (default
    :func:`cross_entropy`). ``sampler(epoch)``: the index batches of an epoch (default :func:`shuffled_batches`
    with ``cfg.batch_size``). ``augment``: the batch augmentation (:mod:`debiaskit.core.augment`), applied when
    ``cfg.augment`` is on; ``None`` for none. ``on_epoch_end(epoch, model)`` may return a dict that is added to the
    epoch's history row. ``progress`` shows a progress bar labelled ``desc``. ``optimizer(model)`` returns the
    optimiser and its per-epoch scheduler (default :func:`make_optimizer` with ``cfg``; the optimisation fields of
    ``cfg`` are then unused).

    Deterministic for ``cfg.seed``: the sampler's and the augmentation's generators derive from it. After the last
    epoch the BatchNorm statistics are re-estimated when ``cfg.precise_bn`` is on (:func:`recalibrate_batchnorm`).
    Returns a :class:`TrainResult`: ``model`` itself, in eval mode, with one history row per epoch and the seconds
    the training took.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"train needs the network (an nn.Module) to train, got {type(model).__name__}")
    cfg = TrainConfig.from_dict(cfg)
    data = as_split(data, "data", images=bool(cfg.augment and augment is not None))  # augmentation needs images
    x_all, y_all = data.x, data.y
    if len(x_all) == 0:
        raise ValueError("cannot train on an empty data set")
    weight = next(model.parameters(), None)
    if x_all.is_floating_point() and weight is not None and weight.is_floating_point() and x_all.dtype != weight.dtype:
        x_all = x_all.to(weight.dtype)  # float64 images for a float32 network (or the reverse): one conversion here
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model.to(device)
    x_all, y_all = stage_on_device(x_all, device), stage_on_device(y_all, device)
    gen_batches = torch.Generator().manual_seed(cfg.seed)
    gen_aug = torch.Generator().manual_seed(cfg.seed + 1)
    sampler = sampler or shuffled_batches(len(x_all), cfg.batch_size, gen_batches)
    opt, sched = optimizer(model) if optimizer is not None else make_optimizer(model, cfg)
    history: list[dict] = []
    start = time.perf_counter()
    bar = tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for idx in sampler(epoch):
            idx = idx.to(device)  # once per step: the gathers and the objective share it
            x = as_float_images(gather_batch(x_all, idx, device))
            y = gather_batch(y_all, idx, device)
            if cfg.augment and augment is not None:
                x = augment_batch(x, augment, gen_aug)
            loss = objective(model, x, y, idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        sched.step()
        row = {"epoch": epoch + 1, "loss": total / max(count, 1), "lr": opt.param_groups[0]["lr"]}
        if on_epoch_end is not None:
            row.update(on_epoch_end(epoch, model) or {})
        history.append(row)
        bar.set_postfix(loss=f"{row['loss']:.4f}")
    if cfg.precise_bn and cfg.epochs > 0:  # no step taken: the statistics still match the weights
        recalibrate_batchnorm(model, _recalibration_batches(x_all, sampler, cfg.epochs, device))
    model.eval()
    return TrainResult(model=model, history=history, seconds=time.perf_counter() - start)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024, device: str | torch.device | None = None) -> torch.Tensor:
    """Logits of ``model`` (eval mode) for every row of ``x`` (``[N, C, H, W]`` images as a tensor, array or list),
    computed in batches of ``batch_size`` rows on ``device`` (default: where ``model``'s parameters are): a
    ``[N, classes]`` float tensor on the CPU."""
    x = as_inputs(x, "x")
    device = resolve_device(device) if device is not None else next(model.parameters()).device
    model.eval()
    return torch.cat([model(as_float_images(chunk.to(device))).float().cpu() for chunk in x.split(batch_size)])


def masked_accuracy(correct: torch.Tensor, mask: torch.Tensor) -> float:
    """Accuracy in percent of the rows ``mask`` picks from the 0/1 ``correct``; NaN when it picks none."""
    return 100 * float(correct[mask].float().mean()) if bool(mask.any()) else float("nan")


def group_accuracy(correct: torch.Tensor, split: BiasedSplit) -> dict[str, float]:
    """Accuracy in percent of the 0/1 ``correct`` (one per row of ``split``) on the whole split (``acc``), its
    majority set M (``major``) and its minority set m (``minor``); the two groups are NaN without bias labels."""
    out = {"acc": 100 * float(correct.float().mean())}
    if split.major is None:
        return {**out, "major": float("nan"), "minor": float("nan")}
    for name, mask in (("major", split.major), ("minor", ~split.major)):
        out[name] = masked_accuracy(correct, mask)
    return out


def evaluate(model: nn.Module, split: BiasedSplit, batch_size: int = 1024) -> dict[str, float]:
    """Accuracy in percent of ``model`` on ``split`` (a :class:`BiasedSplit` or an ``(x, y[, bias])`` pair):
    ``{"acc", "major", "minor"}``, the whole split, its majority set M and its minority set m (NaN without bias
    labels). ``batch_size``: rows per forward pass (:func:`predict`)."""
    split = as_split(split, "split", images=False)
    return group_accuracy(predict(model, split.x, batch_size).argmax(1) == split.y, split)
