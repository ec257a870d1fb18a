"""The full-profile campaign: measure the cells nobody has measured yet, most important first, within a time limit.

``debiaskit campaign --minutes M`` (or ``python -m debiaskit.companion.campaign``, for a machine with torch,
torchvision, numpy, scipy, scikit-learn, pandas, pyyaml and tqdm but no Jupyter) walks ``papers.yaml``'s
``campaign`` list in order, skips every cell already stored under today's settings (:mod:`debiaskit.companion.cells`),
and measures the others, ``workers`` at a time, each in a process of its own. A cell is written the moment it is done;
at the limit the cells still running are stopped and nothing is stored for them, so nothing measured is lost. A cell
whose time -- measured on a device of this kind, else estimated from a short probe of the cell run now
(:mod:`debiaskit.companion.estimate`) -- would overrun the limit is not started. ``--dated`` also measures again the
stored cells whose code changed since they were measured. Cells are not packed into one process: on a CPU packing
measured slower (``benchmarks/packed_training.py``, 0.54x), on a GPU it is not measured yet.

Data: the MNIST variants read ``MNIST/raw`` under the data root (``$DEBIASKIT_DATA``; four ``.gz`` files, 12 MB).
To take them to another machine, ``make campaign-data`` copies them into the checkout's ignored ``build/data``; point
``$DEBIASKIT_DATA`` at ``build/data`` there. Cartoon's cells need Cartoon Set under the data root (not offline here).
"""

from __future__ import annotations

import argparse
import fnmatch
import multiprocessing
import os
import queue
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from debiaskit.companion.cells import (
    CELL_ARTIFACTS,
    code_changed,
    load_cells,
    measured_keys,
    package_hashes,
    settings_digest,
    write_cell,
)
from debiaskit.companion.estimate import Duration, cell_duration, cells_finishing, device_kind
from debiaskit.companion.manifest import Manifest, find_root, load_manifest
from debiaskit.companion.notebook_params import notebook_parameters
from debiaskit.experiments.cells import Table1Cell, table1_grid, table1_settings

MARGIN_SECONDS = 20.0
"""Stop this long before the limit: the time to stop the workers and write what is done."""
HEARTBEAT_SECONDS = 600.0
"""How often a campaign says which cells are still running, for how long, against their expected time."""


@dataclass(frozen=True)
class Planned:
    """One cell to measure: its artifact, the cell, the settings it runs with and why it is in the plan."""

    artifact: str
    cell: Table1Cell
    settings: dict
    note: str


def full_parameters(manifest: Manifest, artifact_id: str) -> dict:
    """The full profile's parameters of an artifact's notebook (its defaults, then the profile's values)."""
    art = manifest.artifact(artifact_id)
    return {**notebook_parameters(art.notebook), **art.profiles["full"], "profile": "full"}


def _selected(params: dict, select: dict) -> dict:
    out = dict(params)
    for name, wanted in (select or {}).items():
        out[name] = [v for v in params.get(name) or [] if v in wanted]
    return out


def _stored_keys(records: list[dict], dated: bool) -> set[tuple]:
    """The stored cells a campaign need not measure: all of them, or with ``dated`` those whose code is unchanged."""
    if not dated:
        return measured_keys(records)
    current = package_hashes()  # hashed once, not once per stored cell
    return measured_keys([r for r in records if not code_changed(r, current)])


def plan_campaign(manifest: Manifest, *, overrides: dict | None = None, cells: list[str] | None = None,
                  dated: bool = False) -> list[Planned]:
    """Every cell of ``manifest.campaign``'s entries, in order, that is not stored yet under the settings it would
    run with. ``overrides`` change every cell's training settings (e.g. ``{"epochs": 1}``) and data
    (``n_train``/``n_test``), for a smoke test: such cells are stored under their own settings and never count as
    the full profile's. ``cells``: only the cells whose key matches one of these shell patterns (``cm99_s0_*``).
    ``dated``: also the stored cells whose code changed since they were measured (:func:`code_changed`); measured
    again, a cell's file is replaced."""
    overrides = dict(overrides or {})
    data_overrides = {k: overrides.pop(k) for k in ("n_train", "n_test") if k in overrides}
    stored: dict[str, set] = {}
    seen: set[tuple] = set()
    out = []
    for entry in manifest.campaign:
        artifact = entry["artifact"]
        if artifact not in CELL_ARTIFACTS:
            raise ValueError(f"papers.yaml's campaign names {artifact}, whose full profile is not kept cell by cell "
                             f"(only {', '.join(CELL_ARTIFACTS)} are)")
        if artifact not in stored:
            stored[artifact] = _stored_keys(load_cells(manifest.root, artifact), dated)
        params = _selected(full_parameters(manifest, artifact), entry.get("select") or {})
        for cell in table1_grid(params):
            settings = table1_settings(params, cell)
            settings["train"].update((entry.get("settings") or {}).get(cell.dataset) or {})
            settings["train"].update(overrides)
            settings.update(data_overrides)
            key = (cell.key, settings_digest(settings))
            if cells and not any(fnmatch.fnmatchcase(cell.key, pattern) for pattern in cells):
                continue
            if key in stored[artifact] or (artifact, *key) in seen:
                continue
            seen.add((artifact, *key))
            out.append(Planned(artifact, cell, settings, entry.get("note", "")))
    return out


def _measure(cell: dict, settings: dict, threads: int, results) -> None:
    """A worker process: measure one cell and put ``{"status", "cell", "values" or "error", "seconds",
    "cpu_seconds", "device", "code"}`` on ``results``. ``seconds`` is wall-clock time; ``cpu_seconds`` the process's
    CPU time (all its threads), which tells a slow cell from a loaded machine; ``code`` the hash of every module when
    the worker started (what it imported: a file edited during a long campaign counts for the cells started after)."""
    import torch

    from debiaskit.companion.provenance import device_description

    torch.set_num_threads(threads)
    start, cpu_start = time.perf_counter(), time.process_time()
    message: dict = {"cell": cell, "code": package_hashes()}  # the code this process imports, as it is now
    try:
        from debiaskit.experiments.cells import measure_table1_cell

        message.update(status="done", values=measure_table1_cell(Table1Cell(**cell), settings, progress=False),
                       device=device_description())
    except Exception as exc:  # reported by the parent, the campaign goes on
        message.update(status="error", error=f"{type(exc).__name__}: {exc}")
    results.put({**message, "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start})


def default_threads(workers: int) -> int:
    """Torch threads per worker: the cores shared out on a CPU, one on a GPU."""
    import torch

    return 1 if torch.cuda.is_available() else max(1, (os.cpu_count() or 1) // workers)


def _set_up(root: Path | None, *, minutes: float, workers: int, threads: int | None, overrides: dict | None,
            cells: list[str] | None, dated: bool, plan: list[Planned] | None = None
            ) -> tuple[Manifest, list[Planned], int, str, dict[str, list[dict]]]:
    """What a campaign and its ``--dry-run`` start from, the limits checked: the manifest, the plan (default:
    :func:`plan_campaign`'s), the threads per worker, the device kind (``"cuda: <name>"`` or ``"cpu: <processor>"``)
    and the stored cells of each artifact in the plan."""
    from debiaskit.companion.provenance import device_description

    _check_limits(minutes, workers)
    manifest = load_manifest(Path(root or find_root()) / "papers.yaml")
    plan = plan_campaign(manifest, overrides=overrides, cells=cells, dated=dated) if plan is None else plan
    records = {a: load_cells(manifest.root, a) for a in {p.artifact for p in plan}}
    return manifest, plan, threads or default_threads(workers), device_kind(device_description()), records


def _check_limits(minutes: float, workers: int) -> None:
    if minutes <= 0:
        raise ValueError(f"--minutes must be positive, got {minutes}")
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")


def plan_cells(manifest: Manifest, artifact_id: str, params: dict) -> list[Planned]:
    """Every cell of ``params``' grid (a profile's parameters) that is not stored yet under its settings."""
    stored = measured_keys(load_cells(manifest.root, artifact_id))
    planned = [Planned(artifact_id, cell, table1_settings(params, cell), "selected") for cell in table1_grid(params)]
    return [p for p in planned if (p.cell.key, settings_digest(p.settings)) not in stored]


def run_campaign(root: Path | None = None, *, minutes: float, workers: int = 1, overrides: dict | None = None,
                 cells: list[str] | None = None, threads: int | None = None, plan: list[Planned] | None = None,
                 dated: bool = False, probe: bool = True, say: Callable[[str], None] = print) -> dict:
    """Measure the cells of ``plan`` (default: :func:`plan_campaign`'s) for at most ``minutes``, ``workers``
    processes at a time, and store each as it is done. A cell whose duration (measured on this kind of device, else
    with ``probe`` estimated from a probe of the cell run now: :func:`~debiaskit.companion.estimate.cell_duration`)
    would overrun the limit is skipped; every :data:`HEARTBEAT_SECONDS` it says which cells still run, for how long.
    Returns ``{"stored": [paths], "stopped": [cell keys], "skipped": [cell keys
    that would not fit], "errors": [...], "left": n, "seconds": s, "durations": {key: (seconds, how)}}``."""
    from debiaskit.companion.provenance import git_revision

    manifest, plan, threads, kind, records = _set_up(root, minutes=minutes, workers=workers, threads=threads,
                                                     overrides=overrides, cells=cells, dated=dated, plan=plan)
    start = time.monotonic()
    deadline = start + 60 * minutes - MARGIN_SECONDS
    commit = git_revision(manifest.root)
    say(f"campaign: {len(plan)} cells to measure, {minutes:g} min, {workers} worker(s) x {threads} thread(s)")
    rates: dict = {}  # probes, made when a cell never measured on this kind of device is about to start
    durations: dict[str, Duration] = {}
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    running: dict[str, tuple] = {}
    summary: dict = {"stored": [], "stopped": [], "errors": [], "skipped": []}
    todo = list(plan)
    next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS

    def collect(timeout: float) -> None:
        try:
            message = results.get(timeout=timeout)
        except queue.Empty:
            return
        key = Table1Cell(**message["cell"]).key
        planned, proc, _ = running.pop(key)
        proc.join()
        if message["status"] == "error":
            summary["errors"].append(f"{key}: {message['error']}")
            say(f"  {key}: failed ({message['error']})")
            return
        seconds, values = message["seconds"], message["values"]
        path = write_cell(manifest.root, planned.artifact, planned.cell, planned.settings, values, seconds=seconds,
                          cpu_seconds=message["cpu_seconds"], device=message["device"], commit=commit,
                          code=message["code"])
        records[planned.artifact] = load_cells(manifest.root, planned.artifact)
        summary["stored"].append(str(path.relative_to(manifest.root)))
        say(f"  {key}: " + ", ".join(f"{m} {v:.2f}" for m, v in values.items()) + f" in {seconds / 60:.1f} min "
            f"(CPU {message['cpu_seconds'] / 60:.1f} min) -> {path.relative_to(manifest.root)}")

    while todo or running:
        while todo and len(running) < workers and time.monotonic() < deadline:
            planned = todo.pop(0)
            expected = cell_duration(planned, records[planned.artifact], kind, rates=rates, probe=probe,
                                     threads=threads, say=say)
            if expected is not None:
                durations[planned.cell.key] = expected
            if expected is not None and time.monotonic() + expected.seconds > deadline:
                summary["skipped"].append(planned.cell.key)
                say(f"  {planned.cell.key}: not started, would not finish in time ({_about(expected)})")
                continue
            proc = ctx.Process(target=_measure, args=(planned.cell.as_dict(), planned.settings, threads, results),
                               daemon=True)
            proc.start()
            running[planned.cell.key] = (planned, proc, time.monotonic())
            say(f"  {planned.cell.key}: started ({planned.note}; {_about(expected)})")
        if not running:
            break
        if time.monotonic() >= deadline:
            for key, (planned, proc, _) in list(running.items()):
                proc.terminate()
                proc.join()
                summary["stopped"].append(key)
                say(f"  {key}: stopped at the limit, nothing stored")
            running.clear()
            break
        collect(timeout=min(5.0, max(0.1, deadline - time.monotonic())))
        if time.monotonic() >= next_heartbeat:
            next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
            for key, (_, _, started) in running.items():
                expected = durations.get(key)
                say(f"  {key}: running, {(time.monotonic() - started) / 60:.0f} min"
                    + (f" of {_about(expected)}" if expected else ""))
    summary["left"] = len(todo) + len(summary["stopped"]) + len(summary["skipped"])
    summary["seconds"] = round(time.monotonic() - start, 1)
    summary["durations"] = {k: (round(d.seconds, 1), d.how) for k, d in durations.items()}
    cells_per_hour = 3600 * len(summary["stored"]) / max(summary["seconds"], 1e-9)
    say(f"campaign: {len(summary['stored'])} cells stored in {summary['seconds'] / 60:.1f} min "
        f"({cells_per_hour:.1f} cells/hour), {summary['left']} left, {len(summary['errors'])} failed")
    return summary


def measure_missing_cells(root: Path, artifact_id: str, params: dict, *, workers: int = 1) -> dict:
    """Measure every cell of ``params``' grid (a notebook's full-profile parameters) not stored yet, ``workers`` at a
    time, storing each as it is done (:func:`run_campaign` without a time limit)."""
    manifest = load_manifest(Path(root) / "papers.yaml")
    plan = plan_cells(manifest, artifact_id, params)
    if not plan:
        return {"stored": [], "stopped": [], "skipped": [], "errors": [], "left": 0, "seconds": 0.0}
    return run_campaign(root, minutes=10**7, workers=workers, plan=plan, probe=False)


def _about(duration: Duration | None) -> str:
    if duration is None:
        return "duration unknown"
    return f"{'' if duration.measured else 'about '}{duration.seconds / 60:.1f} min, {duration.how}"


def print_plan(root: Path, *, minutes: float, workers: int, threads: int | None, overrides: dict,
               cells: list[str] | None, dated: bool, estimate: bool) -> None:
    """``--dry-run``: the cells the campaign would measure, in order, each with its duration (measured on this kind
    of device; with ``estimate`` also estimated from a probe of each run now) and whether it would finish within
    ``minutes`` at ``workers`` workers."""
    _, plan, threads, kind, records = _set_up(root, minutes=minutes, workers=workers, threads=threads,
                                              overrides=overrides, cells=cells, dated=dated)
    rates: dict = {}
    durations = {p.cell.key: d for p in plan
                 if (d := cell_duration(p, records[p.artifact], kind, rates=rates, probe=estimate, threads=threads))}
    fits = cells_finishing([d.seconds if (d := durations.get(p.cell.key)) else None for p in plan], minutes, workers)
    for p, fit in zip(plan, fits):
        print(f"{p.artifact} {p.cell.key} ({p.note}; {_about(durations.get(p.cell.key))})"
              + (f" -- within {minutes:g} min" if fit else ""))
    timed = [d.seconds for d in durations.values()]
    print(f"{len(plan)} cells not measured yet on {kind}; {sum(fits)} would finish within {minutes:g} min at "
          f"{workers} worker(s)" + (f"; the {len(timed)} timed take {sum(timed) / 3600:.1f} h one at a time, "
                                    f"{3600 * len(timed) / max(sum(timed), 1e-9) * workers:.1f} cells/hour at "
                                    f"{workers} worker(s)" if timed else "")
          + ("" if estimate else " (--estimate times the others from a probe of each on this device)"))


def parse_overrides(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected NAME=VALUE, e.g. epochs=1 or n_train=300")
        out[name] = yaml.safe_load(value)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, required=True, help="stop cleanly before this many minutes")
    parser.add_argument("--workers", type=int, default=1,
                        help="cells measured at once, one process each (default 1; on a CPU, cores / workers threads)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per worker (default: cores / workers on a CPU, 1 on a GPU)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the cells it would measure, in order, with their measured or estimated minutes")
    parser.add_argument("--estimate", action="store_true",
                        help="with --dry-run: estimate the cells never measured on this kind of device from a probe "
                             "of each method run now (seconds on a GPU, a minute or a few per method on a CPU)")
    parser.add_argument("--dated", action="store_true",
                        help="also measure again the stored cells whose code changed since they were measured")
    parser.add_argument("--no-probe", action="store_true",
                        help="start cells never measured on this kind of device without estimating them first")
    parser.add_argument("--cells", nargs="+", metavar="PATTERN",
                        help="only the cells whose key matches, e.g. 'cm99_s0_*' or cm99_s0_pgd (keys: --dry-run)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change every cell's training settings or data (epochs=1, n_train=300): a smoke test, "
                             "stored under its own settings, never counted as the full profile")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m debiaskit.companion.campaign", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n")[-1], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run_from_arguments(parser.parse_args(argv))


def run_from_arguments(args: argparse.Namespace, root: Path | None = None) -> int:
    """Run (or, with ``--dry-run``, list) the campaign the parsed arguments describe, in the checkout at ``root``
    (default: the enclosing one); exit status 0, 1 when a cell failed, 2 on bad input."""
    root = Path(root or find_root())
    try:
        overrides = parse_overrides(args.set)
        if args.estimate and not args.dry_run:
            raise ValueError("--estimate goes with --dry-run (a campaign run estimates what it needs by itself)")
        if args.dry_run:
            print_plan(root, minutes=args.minutes, workers=args.workers, threads=args.threads, overrides=overrides,
                       cells=args.cells, dated=args.dated, estimate=args.estimate)
            return 0
        summary = run_campaign(root, minutes=args.minutes, workers=args.workers, overrides=overrides, cells=args.cells,
                               threads=args.threads, dated=args.dated, probe=not args.no_probe)
    except ValueError as exc:
        print(f"campaign: {exc}", file=sys.stderr)
        return 2
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
