"""The full-profile campaign: measure the cells nobody has measured yet, most important first, within a time limit.

``debiaskit campaign --minutes M`` (or ``python -m debiaskit.companion.campaign``, for a machine with torch,
torchvision, numpy, scipy, scikit-learn, pandas, pyyaml and tqdm but no Jupyter) walks ``papers.yaml``'s
``campaign`` list in order, skips every cell already stored under today's settings (:mod:`debiaskit.companion.cells`),
and measures the others, ``workers`` at a time, each in a process of its own. A cell is written the moment it is done;
at the limit the cells still running are stopped and nothing is stored for them, so nothing measured is lost.

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
    load_cells,
    measured_keys,
    package_hashes,
    settings_digest,
    write_cell,
)
from debiaskit.companion.manifest import Manifest, find_root, load_manifest
from debiaskit.companion.notebook_params import notebook_parameters
from debiaskit.experiments.cells import Table1Cell, table1_grid, table1_settings

MARGIN_SECONDS = 20.0
"""Stop this long before the limit: the time to stop the workers and write what is done."""


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


def plan_campaign(manifest: Manifest, *, overrides: dict | None = None, cells: list[str] | None = None) -> list[Planned]:
    """Every cell of ``manifest.campaign``'s entries, in order, that is not stored yet under the settings it would
    run with. ``overrides`` change every cell's training settings (e.g. ``{"epochs": 1}``) and data
    (``n_train``/``n_test``), for a smoke test: such cells are stored under their own settings and never count as
    the full profile's. ``cells``: only the cells whose key matches one of these shell patterns (``cm99_s0_*``)."""
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
            stored[artifact] = measured_keys(load_cells(manifest.root, artifact))
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
    """A worker process: measure one cell and put ``(values, seconds, device)`` (or an error) on ``results``."""
    import torch

    from debiaskit.companion.provenance import device_description
    from debiaskit.experiments.cells import measure_table1_cell

    torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        values = measure_table1_cell(Table1Cell(**cell), settings, progress=False)
        results.put(("done", cell, values, time.perf_counter() - start, device_description()))
    except Exception as exc:  # reported by the parent, the campaign goes on
        results.put(("error", cell, f"{type(exc).__name__}: {exc}", time.perf_counter() - start, ""))


def estimate_seconds(records: list[dict], planned: Planned, device_kind: str) -> float | None:
    """Seconds a stored cell of the same method, data set and training settings took on a device of this kind
    (``"cpu: x86_64"``, ``"cuda: <name>"``; None: never measured there)."""
    times = [r["provenance"]["seconds"] for r in records
             if r["cell"]["method"] == planned.cell.method and r["cell"]["dataset"] == planned.cell.dataset
             and r["settings"]["train"] == planned.settings["train"]
             and str(r["provenance"].get("device", "")).split(",")[0] == device_kind]
    return max(times) if times else None


def plan_cells(manifest: Manifest, artifact_id: str, params: dict) -> list[Planned]:
    """Every cell of ``params``' grid (a profile's parameters) that is not stored yet under its settings."""
    stored = measured_keys(load_cells(manifest.root, artifact_id))
    return [Planned(artifact_id, cell, table1_settings(params, cell), "selected")
            for cell in table1_grid(params) if (cell.key, settings_digest(table1_settings(params, cell))) not in stored]


def run_campaign(root: Path | None = None, *, minutes: float, workers: int = 1, overrides: dict | None = None,
                 cells: list[str] | None = None, threads: int | None = None, plan: list[Planned] | None = None,
                 say: Callable[[str], None] = print) -> dict:
    """Measure the cells of ``plan`` (default: :func:`plan_campaign`'s) for at most ``minutes``, ``workers``
    processes at a time, and store each as it is done. Returns ``{"stored": [paths], "stopped": [cell keys],
    "skipped": [cell keys whose measured time would not fit], "errors": [...], "left": n, "seconds": s}``."""
    import torch

    from debiaskit.companion.provenance import device_description, git_revision

    if minutes <= 0:
        raise ValueError(f"--minutes must be positive, got {minutes}")
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    manifest = load_manifest(Path(root or find_root()) / "papers.yaml")
    plan = plan_campaign(manifest, overrides=overrides, cells=cells) if plan is None else plan
    start = time.monotonic()
    deadline = start + 60 * minutes - MARGIN_SECONDS
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // workers) if not torch.cuda.is_available() else 1
    commit, code = git_revision(manifest.root), package_hashes()
    device_kind = device_description().split(",")[0]  # "cuda: <name>" or "cpu: <processor>", threads aside
    say(f"campaign: {len(plan)} cells to measure, {minutes:g} min, {workers} worker(s) x {threads} thread(s)")
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    running: dict[str, tuple] = {}
    summary: dict = {"stored": [], "stopped": [], "errors": [], "skipped": []}
    todo = list(plan)
    records = {a: load_cells(manifest.root, a) for a in {p.artifact for p in plan}}

    def collect(timeout: float) -> None:
        try:
            status, cell, payload, seconds, dev = results.get(timeout=timeout)
        except queue.Empty:
            return
        key = Table1Cell(**cell).key
        planned, proc = running.pop(key)
        proc.join()
        if status == "error":
            summary["errors"].append(f"{key}: {payload}")
            say(f"  {key}: failed ({payload})")
            return
        path = write_cell(manifest.root, planned.artifact, planned.cell, planned.settings, payload, seconds=seconds,
                          device=dev, commit=commit, code=code)
        records[planned.artifact] = load_cells(manifest.root, planned.artifact)
        summary["stored"].append(str(path.relative_to(manifest.root)))
        say(f"  {key}: " + ", ".join(f"{m} {v:.2f}" for m, v in payload.items()) + f" in {seconds / 60:.1f} min "
            f"-> {path.relative_to(manifest.root)}")

    while todo or running:
        while todo and len(running) < workers and time.monotonic() < deadline:
            planned = todo.pop(0)
            guess = estimate_seconds(records[planned.artifact], planned, device_kind)
            if guess is not None and time.monotonic() + guess > deadline:
                summary["skipped"].append(planned.cell.key)
                continue
            proc = ctx.Process(target=_measure, args=(planned.cell.as_dict(), planned.settings, threads, results),
                               daemon=True)
            proc.start()
            running[planned.cell.key] = (planned, proc)
            say(f"  {planned.cell.key}: started ({planned.note})")
        if not running:
            break
        if time.monotonic() >= deadline:
            for key, (planned, proc) in list(running.items()):
                proc.terminate()
                proc.join()
                summary["stopped"].append(key)
                say(f"  {key}: stopped at the limit, nothing stored")
            running.clear()
            break
        collect(timeout=min(5.0, max(0.1, deadline - time.monotonic())))
    summary["left"] = len(todo) + len(summary["stopped"]) + len(summary["skipped"])
    summary["seconds"] = round(time.monotonic() - start, 1)
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
    return run_campaign(root, minutes=10**7, workers=workers, plan=plan)


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
    parser.add_argument("--dry-run", action="store_true", help="print the cells it would measure, in order")
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
        if args.dry_run:
            plan = plan_campaign(load_manifest(root / "papers.yaml"), overrides=overrides, cells=args.cells)
            for p in plan:
                print(f"{p.artifact} {p.cell.key} ({p.note})")
            print(f"{len(plan)} cells not measured yet")
            return 0
        summary = run_campaign(root, minutes=args.minutes, workers=args.workers, overrides=overrides, cells=args.cells,
                               threads=args.threads)
    except ValueError as exc:
        print(f"campaign: {exc}", file=sys.stderr)
        return 2
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
