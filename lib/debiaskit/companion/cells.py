"""Full-profile results kept cell by cell, with their provenance, across runs, machines and commits.

A measured cell is one JSON file under ``figures/cells/<artifact>/`` named by the cell and a digest of its settings,
``cm99_s0_vanilla-1a2b3c4d.json``: the cell, the settings it ran with, its values and where they came from
(commit, the hash of every module of the package at that moment, device, seconds, date). Nothing overwrites a cell of
other settings, so the evidence of a schedule that was tried and left stays beside the one in use.

The artifact's full result is assembled from the cells whose settings are the full profile's today
(:func:`assemble`): the mean over the seeds measured, with the seeds counted. A cell never measured is not there; a
cell whose code changed since it was measured (:func:`code_changed`) stays in the report as dated evidence, marked.
"""

from __future__ import annotations

import datetime
import json
import statistics
from functools import lru_cache
from pathlib import Path

from debiaskit.core.io import atomic_write_json
from debiaskit.experiments.cells import METRICS, Table1Cell, table1_grid, table1_settings
from debiaskit.experiments.code_closure import PACKAGE_DIR, digest, module_hash

CELLS_DIR = Path("figures") / "cells"
CELL_ARTIFACTS = ("pgd/table1",)
"""The artifacts whose full profile is kept cell by cell (the others record whole full-profile runs)."""
MEASURED_BY = ("debiaskit.experiments.cells",)
"""The module that measures a cell: the import closure of it is the code a cell's numbers depend on."""


def cell_dir(root: Path, artifact_id: str) -> Path:
    return Path(root) / CELLS_DIR / artifact_id


def settings_digest(settings: dict) -> str:
    """8 hex digits of a cell's settings (:func:`debiaskit.experiments.cells.table1_settings`)."""
    return digest(settings)[:8]


def cell_path(root: Path, artifact_id: str, cell: Table1Cell, settings: dict) -> Path:
    return cell_dir(root, artifact_id) / f"{cell.key}-{settings_digest(settings)}.json"


def package_hashes(package_dir: Path | None = None) -> dict[str, str]:
    """``{"pgd/debias.py": hash}`` of every module of the package (comments and docstrings do not count), read from
    the files alone (no import graph needed: a campaign may run where ``grimp`` is not installed)."""
    package_dir = PACKAGE_DIR if package_dir is None else Path(package_dir)
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir)
        module = ".".join(("debiaskit",) + rel.with_suffix("").parts)
        module = module.removesuffix(".__init__")
        out[rel.as_posix()] = module_hash(module, package_dir)
    return out


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_cell(root: Path, artifact_id: str, cell: Table1Cell, settings: dict, values: dict[str, float], *,
               seconds: float, device: str, commit: str | None, code: dict[str, str] | None,
               cpu_seconds: float | None = None, finished: str | None = None, note: str | None = None) -> Path:
    """Store one measured cell (atomically: an interrupted write leaves the previous file or none). ``seconds``: its
    wall-clock time; ``cpu_seconds``: the CPU time of the process that measured it (on a loaded machine the two
    differ), when known."""
    path = cell_path(root, artifact_id, cell, settings)
    record = {"artifact": artifact_id, "cell": cell.as_dict(), "key": cell.key, "settings": settings,
              "values": {k: round(float(v), 4) for k, v in values.items()},
              "provenance": {"commit": commit, "device": device, "seconds": round(float(seconds), 1),
                             **({"cpu_seconds": round(float(cpu_seconds), 1)} if cpu_seconds is not None else {}),
                             "finished": finished or now_utc(), "measured_by": list(MEASURED_BY), "code": code,
                             **({"note": note} if note else {})}}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, record)
    return path


def load_cells(root: Path, artifact_id: str) -> list[dict]:
    """Every stored cell of ``artifact_id``, each with its ``file`` (relative to ``root``); a file that is not a cell
    record is a ``ValueError`` naming it."""
    out = []
    for path in sorted(cell_dir(root, artifact_id).glob("*.json")):
        try:
            record = json.loads(path.read_text())
            Table1Cell(**record["cell"])
            record["values"], record["settings"], record["provenance"]  # noqa: B018 (present)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a cell record ({exc}); remove it or write it with write_cell") from exc
        record["file"] = path.relative_to(root).as_posix()
        out.append(record)
    return out


def todays_settings(record: dict, params: dict, grid: set[Table1Cell]) -> dict | None:
    """The settings the profile ``params`` (whose grid is ``grid``) gives the record's cell today; ``None`` when the
    cell is not in that grid."""
    cell = Table1Cell(**record["cell"])
    return table1_settings(params, cell) if cell in grid else None


def current_records(records: list[dict], params: dict) -> list[dict]:
    """The stored cells of the profile ``params``' grid that ran with the settings ``params`` give their cell today."""
    grid = set(table1_grid(params))
    return [r for r in records if r["settings"] == todays_settings(r, params, grid)]


def cell_modules(record: dict) -> list[str]:
    """The modules a stored cell's numbers depend on (``["baselines/rubi.py", ...]``): the import closure of the code
    that measured it (:data:`MEASURED_BY`), not entering the other compared methods' modules, so that what only they
    import does not count either. A method's module only defines and registers its ``fit``
    (``tests/test_campaign.py`` checks), so importing it changes no other method's numbers; a method named among the
    cell's options (AFLite's ``features="vanilla"``: the Vanilla model it filters with) is one of its own."""
    from debiaskit.baselines import COMPARED_METHODS

    options = (record.get("settings") or {}).get("options") or {}
    own = {record["cell"]["method"]} | {v for v in options.values() if isinstance(v, str)}
    others = frozenset(m.fit.__module__ for name, m in COMPARED_METHODS.items() if name not in own)
    return _closure_without(tuple(record["provenance"].get("measured_by") or MEASURED_BY), others)


@lru_cache(maxsize=64)
def _closure_without(roots: tuple[str, ...], others: frozenset[str]) -> list[str]:
    """The static import closure of ``roots`` (each module's packages included: Python runs their ``__init__``) that
    never enters a module of ``others``, as relative file names."""
    from debiaskit.experiments.code_closure import direct_imports, module_path, package_modules, relative_name

    known = set(package_modules("debiaskit"))
    todo, seen = list(roots), set()
    while todo:
        module = todo.pop()
        if module in seen or module not in known or module in others:
            continue
        seen.add(module)
        path = module_path(module)
        todo.extend(direct_imports(module, path.read_text(), known, path.name == "__init__.py"))
        todo.extend(module.rsplit(".", i)[0] for i in range(1, module.count(".") + 1))
    return sorted(relative_name(m) for m in seen)


def code_changed(record: dict, current: dict[str, str] | None = None) -> list[str]:
    """The modules of the cell's code (:func:`cell_modules`) whose hash differs from the one recorded when it was
    measured; ``["recorded before code fingerprints"]`` when none was recorded."""
    recorded = (record.get("provenance") or {}).get("code")
    if not recorded:
        return ["recorded before code fingerprints"]
    current = package_hashes() if current is None else current
    return [n for n in cell_modules(record) if recorded.get(n) != current.get(n)]


def assemble(records: list[dict], params: dict) -> tuple[dict[str, float], dict[str, int]]:
    """Table 1's values from the cells measured under today's settings: ``(values, seeds)``, each keyed like the
    notebook's (``cm99_pgd_minor``, :func:`debiaskit.experiments.suite.value_key`); a value is the mean over the
    seeds measured, ``seeds[key]`` how many there were."""
    from debiaskit.experiments.suite import value_key

    groups: dict[str, list[float]] = {}
    for r in current_records(records, params):
        c = r["cell"]
        for metric in METRICS:
            groups.setdefault(value_key(c["dataset"], c["bias_ratio"], c["method"], metric), []).append(
                float(r["values"][metric]))
    values = {k: round(statistics.fmean(v), 2) for k, v in groups.items()}
    return values, {k: len(v) for k, v in groups.items()}


def measured_keys(records: list[dict]) -> set[tuple]:
    """``(key, settings digest)`` of every stored cell (what a campaign need not measure again)."""
    return {(r["key"], settings_digest(r["settings"])) for r in records}


def current_rows(records: list[dict], params: dict) -> list[dict]:
    """One row per cell stored under today's settings of ``params``' grid: ``dataset``, ``bias_ratio``, ``seed``,
    ``method`` and the three values (what :func:`debiaskit.experiments.suite.summarise` averages over seeds)."""
    return [{**r["cell"], **{m: float(r["values"][m]) for m in METRICS}} for r in current_records(records, params)]


def settings_label(settings: dict, current: dict | None) -> str:
    """``"the full profile's"`` when a cell's settings are today's for its cell, else its own values of the settings
    that differ from today's (``"other: batch_size 256, lr 0.01"``)."""
    if current is not None and settings == current:
        return "the full profile's"
    if current is None:
        return "not in the full profile's grid"
    parts = [f"{name} {settings['train'].get(name)}" for name in sorted(set(settings["train"]) | set(current["train"]))
             if settings["train"].get(name) != current["train"].get(name)]
    parts += [f"{k} {settings.get(k)!r}" for k in sorted(set(settings) | set(current))
              if k != "train" and settings.get(k) != current.get(k)]
    return "other: " + ", ".join(parts)


def cell_table(records: list[dict], params: dict, paper: dict[str, float], paper_std: dict[str, float],
               current_code: dict[str, str] | None = None) -> list[dict]:
    """Every stored cell beside the paper's mean ± std of its values, its settings against today's full profile
    (:func:`settings_label`), where and when it was measured, and what changed in its code since
    (:func:`code_changed`)."""
    from debiaskit.experiments.suite import value_key

    grid = set(table1_grid(params))
    current_code = package_hashes() if current_code is None else current_code
    rows = []
    for r in records:
        cell = Table1Cell(**r["cell"])
        current = todays_settings(r, params, grid)
        prov = r["provenance"]
        row = {"cell": cell.key, "cell_fields": (cell.dataset, cell.bias_ratio, cell.method),
               "settings": settings_label(r["settings"], current), "counted": r["settings"] == current}
        for m in METRICS:
            key = value_key(cell.dataset, cell.bias_ratio, cell.method, m)
            row[m] = float(r["values"][m])
            row[f"paper_{m}"] = paper.get(key)
            row[f"paper_{m}_std"] = paper_std.get(key)
        row.update(finished=prov.get("finished"), device=prov.get("device"), commit=(prov.get("commit") or "?")[:7],
                   minutes=None if prov.get("seconds") is None else prov["seconds"] / 60,
                   code_changed=code_changed(r, current_code), file=r["file"])
        rows.append(row)
    return rows
