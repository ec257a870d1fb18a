"""One call in a worker process or a Ray task, under the caller's data and cache roots."""

from __future__ import annotations

import os
from typing import Any, Callable

from debiaskit.core.config import CACHE_ENV, DATA_ENV


def caller_settings() -> dict[str, str | None]:
    """This process's data and cache roots, which a worker (started earlier) must use for each call."""
    return {name: os.environ.get(name) for name in (DATA_ENV, CACHE_ENV)}


def run_call(fn: Callable[..., Any], args: tuple, kwargs: dict, settings: dict[str, str | None]) -> None:
    """One call in a worker (a pool process or a Ray task), under the caller's data and cache roots."""
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    fn(*args, **kwargs)  # the result is in the cache; the model is not sent back
