"""Choosing which parameters a per-sample gradient is taken over, and the model mode it is taken in.

The PGD draft (Section 4, "the model computes gradients of all the samples") differentiates with
respect to all parameters; the published version and the authors' code use only the last linear
layer. Both are spelled here as a *selection*: ``"all"``, ``"last_linear"``, a list of parameter
names, or a predicate on names.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, Union

import torch
from torch import nn

ParamSelection = Union[str, Sequence[str], Callable[[str], bool]]


def last_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    """The classifier layer: ``model.fc`` when it is an ``nn.Linear`` (every debiaskit model), else the
    last ``nn.Linear`` in module registration order. Returns ``(qualified name, module)``."""
    fc = getattr(model, "fc", None)
    if isinstance(fc, nn.Linear):
        return "fc", fc
    found: tuple[str, nn.Linear] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            found = (name, module)
    if found is None:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer, so 'last_linear' is undefined")
    return found


def select_parameters(model: nn.Module, params: ParamSelection = "all") -> list[str]:
    """Names (in ``named_parameters`` order) of the parameters selected by ``params``.

    ``"all"``: every parameter that requires grad; ``"last_linear"``: weight and bias of
    :func:`last_linear`; a sequence of names; or a predicate ``name -> bool``.
    """
    named = dict(model.named_parameters())
    if isinstance(params, str):
        if params == "all":
            names = [n for n, p in named.items() if p.requires_grad]
        elif params == "last_linear":
            prefix, _ = last_linear(model)
            names = [n for n in named if n.rsplit(".", 1)[0] == prefix]
        elif params in named:
            names = [params]
        else:
            raise ValueError(f"unknown parameter selection {params!r}: use 'all', 'last_linear', names or a predicate")
    elif callable(params):
        names = [n for n in named if params(n)]
    else:
        wanted = list(params)
        missing = [n for n in wanted if n not in named]
        if missing:
            raise ValueError(f"no parameters named {missing} in {type(model).__name__}")
        names = [n for n in named if n in set(wanted)]
    if not names:
        raise ValueError(f"the selection {params!r} matches no parameter of {type(model).__name__}")
    return names


def parameter_sizes(model: nn.Module, names: Sequence[str]) -> list[int]:
    """Number of entries of each named parameter (the widths of the flattened gradient blocks)."""
    named = dict(model.named_parameters())
    return [named[n].numel() for n in names]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode (BatchNorm uses its running statistics, dropout is off) and
    restore each submodule's own ``training`` flag afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter (CPU for a parameterless module)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")
