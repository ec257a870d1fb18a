"""How long a full-profile cell takes on this device: measured where a cell like it was measured, else estimated.

A cell's time is **measured** when a stored cell of the same method, data set and training settings ran on a device
of the same kind (its ``provenance.seconds``). Otherwise it is an **estimate**, always labelled as one, the product of

* Vanilla's training time per image and epoch under the cell's data set and settings, *measured now on this device*
  by :func:`vanilla_rate`: the cell's own code (:func:`debiaskit.experiments.cells.measure_table1_cell`) on
  ``probe_images`` training images for one epoch and for three; the two extra epochs' time over their images, so
  that the fixed costs (data, evaluation) cancel;
* the cell's training images times its epochs (the one-off costs are added once, as the one-epoch probe paid them);
* the method's cost over Vanilla (:func:`method_costs`): the ratio of two stored cells, the method's and Vanilla's,
  measured on one device with the same data set and settings. A method never measured beside Vanilla gets no
  estimate.

The probe trains into a temporary model cache, so it neither reads nor leaves trained models.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from debiaskit.experiments.cells import Table1Cell

PROBE_IMAGES = 2048
"""Training images of the probe: on the 2-core CPU one Vanilla epoch of Colored MNIST takes ~0.5 s at this size."""


@dataclass(frozen=True)
class Duration:
    """A cell's expected seconds and how they were obtained (``"measured ..."`` or ``"estimate: ..."``)."""

    seconds: float
    how: str

    @property
    def measured(self) -> bool:
        return self.how.startswith("measured")


def device_kind(description: str) -> str:
    """``"cpu: x86_64"`` from ``"cpu: x86_64, 1 threads"``: the device without its thread count."""
    return str(description or "").split(",")[0]


def _same_run(record: dict, cell: Table1Cell, settings: dict) -> bool:
    return (record["cell"]["method"] == cell.method and record["cell"]["dataset"] == cell.dataset
            and record["settings"]["train"] == settings["train"])


def measured_seconds(records: Iterable[dict], cell: Table1Cell, settings: dict, kind: str) -> Duration | None:
    """The longest time a stored cell of the same method, data set and training settings took on a device of this
    ``kind`` (:func:`device_kind`); None when none was measured there."""
    runs = [r for r in records if _same_run(r, cell, settings) and device_kind(r["provenance"].get("device")) == kind
            and r["provenance"].get("seconds")]
    if not runs:
        return None
    slowest = max(runs, key=lambda r: r["provenance"]["seconds"])
    prov = slowest["provenance"]
    return Duration(float(prov["seconds"]), f"measured: {prov['device']}, {str(prov.get('finished', ''))[:10]}")


def method_costs(records: Iterable[dict]) -> dict[tuple[str, str], float]:
    """``{(data set, method): cost}``: a method's cell time over Vanilla's, from stored cells of both measured on one
    device (threads included) with the same data set, seed and training settings; the median where several pairs
    exist."""
    records = list(records)
    vanilla = {(r["cell"]["dataset"], r["cell"]["seed"], r["provenance"].get("device"),
                repr(sorted(r["settings"]["train"].items()))): float(r["provenance"]["seconds"])
               for r in records if r["cell"]["method"] == "vanilla" and r["provenance"].get("seconds")}
    ratios: dict[tuple[str, str], list[float]] = {}
    for r in records:
        key = (r["cell"]["dataset"], r["cell"]["seed"], r["provenance"].get("device"),
               repr(sorted(r["settings"]["train"].items())))
        if key in vanilla and r["provenance"].get("seconds"):
            ratios.setdefault((r["cell"]["dataset"], r["cell"]["method"]), []).append(
                float(r["provenance"]["seconds"]) / vanilla[key])
    return {k: statistics.median(v) for k, v in ratios.items()}


def _probe_settings(settings: dict, images: int, epochs: int) -> dict:
    """Vanilla's settings for a probe: the cell's data and training settings (not its method's options) at
    ``images`` training images and ``epochs`` epochs."""
    return {**settings, "options": {}, "n_train": images, "train": {**settings["train"], "epochs": epochs}}


def vanilla_rate(cell: Table1Cell, settings: dict, *, probe_images: int = PROBE_IMAGES, threads: int | None = None,
                 root: str | None = None) -> tuple[float, float, int]:
    """Vanilla under ``cell``'s data set and ``settings``, measured now on this device: ``(seconds per training image
    and epoch, seconds of the one-epoch probe, the cell's training images)``.

    Runs :func:`~debiaskit.experiments.cells.measure_table1_cell` at ``probe_images`` images for one epoch and for
    three (after a warm-up at a quarter of the size), into a temporary model cache; ``threads`` torch threads (the
    campaign's per-worker count) while it runs."""
    import torch

    from debiaskit.experiments.benchmarks import build_benchmark
    from debiaskit.experiments.cells import measure_table1_cell

    if probe_images < 64:
        raise ValueError(f"probe_images must be at least 64 to time anything, got {probe_images}")
    probe = Table1Cell(cell.dataset, cell.bias_ratio, cell.seed, "vanilla")
    threads_before = torch.get_num_threads()
    cache_before = os.environ.get("DEBIASKIT_CACHE")
    try:
        if threads:
            torch.set_num_threads(threads)
        with tempfile.TemporaryDirectory(prefix="debiaskit-probe-") as cache:
            os.environ["DEBIASKIT_CACHE"] = cache
            measure_table1_cell(probe, _probe_settings(settings, probe_images // 4, 1), root=root, progress=False)
            seconds = {}
            for epochs in (1, 3):
                start = time.perf_counter()
                measure_table1_cell(probe, _probe_settings(settings, probe_images, epochs), root=root, progress=False)
                seconds[epochs] = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads_before)
        if cache_before is None:
            os.environ.pop("DEBIASKIT_CACHE", None)
        else:
            os.environ["DEBIASKIT_CACHE"] = cache_before
    full = build_benchmark(cell.dataset, cell.bias_ratio, seed=cell.seed, difficulty=settings.get("difficulty"),
                           n_train=settings.get("n_train"), n_test=settings.get("n_test"), root=root,
                           source=settings.get("source", "real"))
    rate = max(seconds[3] - seconds[1], 0.0) / (2 * probe_images)
    return rate, seconds[1], len(full.train.y)


def cell_duration(planned, records: list[dict], kind: str, *, rates: dict, probe: bool = True,
                  threads: int | None = None, say: Callable[[str], None] = print) -> Duration | None:
    """The duration of ``planned`` (a :class:`~debiaskit.companion.campaign.Planned`) on this device ``kind``:
    measured where a stored cell of ``records`` allows, else (with ``probe``) estimated from Vanilla's rate measured
    now (:func:`vanilla_rate`) and :func:`method_costs`; None when neither is possible. ``rates`` keeps the probes
    made so far (one per data set and settings; a failed one is kept as None and said once)."""
    cell, settings = planned.cell, planned.settings
    found = measured_seconds(records, cell, settings, kind)
    if found is not None:
        return found
    cost = 1.0 if cell.method == "vanilla" else method_costs(records).get((cell.dataset, cell.method))
    if not probe or cost is None:
        return None
    group = (cell.dataset, cell.bias_ratio, repr(sorted(settings["train"].items())), settings.get("n_train"),
             settings.get("source"))
    if group not in rates:
        start = time.perf_counter()
        try:
            rates[group] = vanilla_rate(cell, settings, threads=threads)
            say(f"  probe: Vanilla on {cell.dataset} {cell.bias_ratio:g}, {1e3 * rates[group][0]:.3f} ms per image "
                f"and epoch ({time.perf_counter() - start:.0f} s)")
        except Exception as exc:  # no data here, say: its cells go untimed, the campaign goes on
            rates[group] = None
            say(f"  probe: Vanilla on {cell.dataset} {cell.bias_ratio:g} failed ({type(exc).__name__}: {exc}); "
                f"its cells are not timed")
    if rates[group] is None:
        return None
    rate, once, images = rates[group]
    epochs = int(settings["train"].get("epochs", 1))
    return Duration(cost * (rate * images * epochs + once),
                    f"estimate: Vanilla's step measured now x {images} images x {epochs} epochs x cost {cost:.2f} "
                    f"over Vanilla")


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
