"""How long a full-profile cell takes on this device: measured where a cell like it was measured, else estimated.

A cell's time is **measured** when a stored cell of the same method, data set and training settings ran on a device
of the same kind (its ``provenance.seconds``). Otherwise it is an **estimate**, always labelled as one: the cell's own
code (:func:`debiaskit.experiments.cells.measure_table1_cell`: its method, options, data set and settings) run now on
this device (:func:`probe_rate`) for one epoch at half of ``probe_images`` training images and at all of them, and
for three epochs at all of them. A cell's time is taken as ``fixed + once * N + per_epoch * N * E`` for ``N``
training images and ``E`` epochs: the two extra epochs give ``per_epoch`` (the step), the two sizes the one-off work
that grows with the data (``once``: PGD's scoring pass, AFLite's filtering, which rounds over the whole set before any
epoch) apart from what does not (``fixed``: loading, evaluation on the test split). Where the two extra epochs are
lost in the one-off work, the step is timed over :data:`LONG_PROBE_EPOCHS`; a method whose epochs still add nothing
is not timed at all. One-off work that grows faster than the data is underestimated.

The probe trains into a temporary model cache, so it neither reads nor leaves trained models.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from debiaskit.experiments.cells import Table1Cell

PROBE_IMAGES = 2048
"""Training images of a probe: on the 2-core CPU one Vanilla epoch of Colored MNIST takes ~1 s at this size."""
SHORT_STEP_SHARE = 0.25
"""Two extra epochs adding less than this share of the one-epoch probe's time are lost in the timing noise."""
LONG_PROBE_EPOCHS = 101
"""When two extra epochs add less than :data:`SHORT_STEP_SHARE` of the one-epoch probe's time (AFLite: its filtering
took 59 s of it, its epochs on the 20% it keeps a fraction of a second, under the timing noise of a busy CPU), the
step is timed again over this many epochs."""


@dataclass(frozen=True)
class Duration:
    """A cell's expected seconds and how they were obtained (``"measured ..."`` or ``"estimate: ..."``)."""

    seconds: float
    how: str

    @property
    def measured(self) -> bool:
        return self.how.startswith("measured")


@dataclass(frozen=True)
class Rate:
    """A probe's result: seconds per training image and epoch, seconds of one-off work per training image, the fixed
    seconds (neither), and the training images of the cell probed."""

    per_image_epoch: float
    per_image_once: float
    fixed: float
    images: int

    def seconds(self, epochs: int, images: int | None = None) -> float:
        """The time of a cell of ``epochs`` epochs on ``images`` training images (default: the cell's)."""
        n = self.images if images is None else images
        return self.fixed + self.per_image_once * n + self.per_image_epoch * n * epochs


def device_kind(description: str) -> str:
    """``"cpu: x86_64"`` from ``"cpu: x86_64, 1 threads"``: the device without its thread count."""
    return str(description or "").split(",")[0]


def measured_seconds(records: Iterable[dict], cell: Table1Cell, settings: dict, kind: str) -> Duration | None:
    """The longest time a stored cell of the same method, data set and training settings took on a device of this
    ``kind`` (:func:`device_kind`); None when none was measured there."""
    runs = [r for r in records
            if r["cell"]["method"] == cell.method and r["cell"]["dataset"] == cell.dataset
            and r["settings"]["train"] == settings["train"] and r["provenance"].get("seconds")
            and device_kind(r["provenance"].get("device")) == kind]
    if not runs:
        return None
    prov = max(runs, key=lambda r: r["provenance"]["seconds"])["provenance"]
    return Duration(float(prov["seconds"]), f"measured: {prov['device']}, {str(prov.get('finished', ''))[:10]}")


def _probe_settings(settings: dict, images: int, epochs: int) -> dict:
    """The cell's settings at ``images`` training images and ``epochs`` epochs."""
    return {**settings, "n_train": images, "train": {**settings["train"], "epochs": epochs}}


def probe_rate(cell: Table1Cell, settings: dict, *, probe_images: int = PROBE_IMAGES, threads: int | None = None,
               root: str | None = None) -> Rate:
    """``cell``'s training time under ``settings``, measured now on this device (see the module's docstring).

    Runs :func:`~debiaskit.experiments.cells.measure_table1_cell` for one epoch at half of ``probe_images`` images
    and at all of them, and for three epochs at all of them (after a warm-up at a quarter of the size; for
    :data:`LONG_PROBE_EPOCHS` too where three epochs barely outlast one), into a temporary model cache, with
    ``threads`` torch threads (the campaign's per-worker count). A ``ValueError`` when the most epochs took no
    longer than one."""
    import torch

    from debiaskit.experiments.benchmarks import build_benchmark
    from debiaskit.experiments.cells import measure_table1_cell

    if probe_images < 64:
        raise ValueError(f"probe_images must be at least 64 to time anything, got {probe_images}")
    threads_before = torch.get_num_threads()
    cache_before = os.environ.get("DEBIASKIT_CACHE")
    try:
        if threads:
            torch.set_num_threads(threads)
        with tempfile.TemporaryDirectory(prefix="debiaskit-probe-") as cache:
            os.environ["DEBIASKIT_CACHE"] = cache
            measure_table1_cell(cell, _probe_settings(settings, probe_images // 4, 1), root=root, progress=False)
            seconds = {}

            def timed(images: int, epochs: int) -> float:
                start = time.perf_counter()
                measure_table1_cell(cell, _probe_settings(settings, images, epochs), root=root, progress=False)
                seconds[images, epochs] = time.perf_counter() - start
                return seconds[images, epochs]

            timed(probe_images // 2, 1)
            one = timed(probe_images, 1)
            more = 3 if timed(probe_images, 3) - one >= SHORT_STEP_SHARE * one else LONG_PROBE_EPOCHS
            if more == LONG_PROBE_EPOCHS:  # the two extra epochs drowned in the one-off work
                timed(probe_images, more)
    finally:
        torch.set_num_threads(threads_before)
        if cache_before is None:
            os.environ.pop("DEBIASKIT_CACHE", None)
        else:
            os.environ["DEBIASKIT_CACHE"] = cache_before
    n, half = probe_images, probe_images // 2
    if seconds[n, more] <= seconds[n, 1]:
        raise ValueError(f"{more} epochs took no longer than one ({seconds[n, more]:.1f} s against "
                         f"{seconds[n, 1]:.1f} s): {cell.method}'s time here is not proportional to its epochs, so a "
                         "probe cannot time it")
    per_epoch = (seconds[n, more] - seconds[n, 1]) / ((more - 1) * n)
    once_at = {m: seconds[m, 1] - per_epoch * m for m in (half, n)}  # one-off work at either size
    once = max((once_at[n] - once_at[half]) / (n - half), 0.0)
    full = build_benchmark(cell.dataset, cell.bias_ratio, seed=cell.seed, difficulty=settings.get("difficulty"),
                           n_train=settings.get("n_train"), n_test=settings.get("n_test"), root=root,
                           source=settings.get("source", "real"))
    return Rate(per_epoch, once, max(once_at[n] - once * n, 0.0), len(full.train.y))


def cell_duration(planned, records: list[dict], kind: str, *, rates: dict, probe: bool = True,
                  threads: int | None = None, say: Callable[[str], None] = print) -> Duration | None:
    """The duration of ``planned`` (a :class:`~debiaskit.companion.campaign.Planned`) on this device ``kind``:
    measured where a stored cell of ``records`` allows, else (with ``probe``) estimated from a probe run now
    (:func:`probe_rate`); None when neither is possible. ``rates`` keeps the probes made so far (one per method, data
    set and settings, whatever the bias ratio and seed; a failed one is kept as None and said once)."""
    cell, settings = planned.cell, planned.settings
    found = measured_seconds(records, cell, settings, kind)
    if found is not None or not probe:
        return found
    group = (cell.method, cell.dataset, repr(sorted(settings.items())))  # a step's time does not depend on the ratio
    if group not in rates:
        start = time.perf_counter()
        try:
            rates[group] = probe_rate(cell, settings, threads=threads)
            rate = rates[group]
            say(f"  probe: {cell.method} on {cell.dataset} {cell.bias_ratio:g}, {1e3 * rate.per_image_epoch:.3f} ms "
                f"per image and epoch, {1e3 * rate.per_image_once:.3f} ms per image once, {rate.fixed:.1f} s fixed "
                f"({time.perf_counter() - start:.0f} s)")
        except Exception as exc:  # e.g. no data here: its cells go untimed, the campaign goes on
            rates[group] = None
            say(f"  probe: {cell.method} on {cell.dataset} {cell.bias_ratio:g} failed ({type(exc).__name__}: {exc}); "
                f"its cells are not timed")
    rate = rates[group]
    if rate is None:
        return None
    epochs = int(settings["train"].get("epochs", 1))
    return Duration(rate.seconds(epochs), f"estimate: probes of its code now, scaled to {rate.images} images x "
                                          f"{epochs} epochs")


def cells_finishing(durations: list[float | None], minutes: float, workers: int) -> list[bool]:
    """Which of ``durations`` (seconds, in plan order; None: unknown) finish within ``minutes`` when ``workers``
    take them in order, each the next free one (the campaign's schedule); a cell expected to overrun is skipped, as
    the campaign skips it, and an unknown one is taken as never finishing in time but occupying its worker."""
    free = [0.0] * max(workers, 1)
    limit = 60 * minutes
    out = []
    for seconds in durations:
        i = min(range(len(free)), key=free.__getitem__)
        if seconds is None:
            free[i] = float("inf")
            out.append(False)
        elif free[i] + seconds <= limit:
            free[i] += seconds
            out.append(True)
        else:
            out.append(False)
    return out
