"""Training time of each method relative to Vanilla (PGD draft, Appendix H "Training Time", Table 14)."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``(fn(), wall-clock seconds)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def ratios_to(times: dict[str, float], reference: str = "vanilla") -> dict[str, float]:
    """Every entry of ``times`` divided by ``times[reference]`` (Table 14 read as multiples of Vanilla)."""
    if reference not in times:
        raise KeyError(f"no time for the reference {reference!r}; have {sorted(times)}")
    base = float(times[reference])
    if not base > 0:
        raise ValueError(f"the reference time must be positive, got {base}")
    for name, t in times.items():
        if not t >= 0:
            raise ValueError(f"time of {name!r} must be non-negative, got {t}")
    return {name: float(t) / base for name, t in times.items()}


def parse_minutes(text: str) -> float:
    """Seconds of a duration written as in Table 14, ``12' 26"`` (minutes ' seconds ")."""
    cleaned = text.replace("’", "'").replace("”", '"').replace(" ", "")
    if "'" not in cleaned:
        raise ValueError(f"expected minutes'seconds\" like 12'26\", got {text!r}")
    minutes, _, rest = cleaned.partition("'")
    seconds = rest.rstrip('"') or "0"
    return 60.0 * float(minutes) + float(seconds)
