"""Batch regeneration: execute artifact notebooks with papermill, skip what is up to date.

Artifacts that share a notebook and parameters are produced by one execution. A run is *up to date*
when every artifact it records has a result file whose fingerprint -- a hash of the notebook's code cells,
the parameters, the profile and the library modules its code depends on (their import closure, each hashed
without docstrings or comments; :mod:`debiaskit.experiments.code_closure`) -- matches. Each result file keeps
those module hashes, so a stale run can say which modules changed. Results are written atomically by
the notebooks themselves, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from debiaskit.companion.artifacts import load_result, result_path
from debiaskit.companion.manifest import Artifact, Manifest
from debiaskit.companion.notebook_params import NotebookParameterError, check_overrides, notebook_parameters
from debiaskit.core.io import atomic_write_json, atomic_write_text
from debiaskit.experiments.code_closure import changed, dependency_hashes, digest, imported_modules, normalised_cell


class ReproduceError(RuntimeError):
    """A notebook failed, or ran without recording the artifacts it is responsible for."""


@dataclass
class Run:
    notebook: Path
    profile: str
    params: dict
    artifacts: list[Artifact] = field(default_factory=list)
    fingerprint: str = ""
    up_to_date: bool = False
    parts: dict = field(default_factory=dict)
    stale_because: list[str] = field(default_factory=list)

    @property
    def estimated_minutes(self) -> float:
        return max((a.estimated_minutes.get(self.profile, 0.0) for a in self.artifacts), default=0.0)

    @property
    def label(self) -> str:
        return ", ".join(a.id for a in self.artifacts)


def _kind(default) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list",
            tuple: "a list", dict: "a mapping"}.get(type(default), type(default).__name__)


def _type_problem(name: str, default, value) -> str | None:
    """Why ``value`` cannot stand where the notebook's ``default`` stands, or ``None`` when it can. ``None`` fits
    anywhere and anything fits a ``None`` default; an integer fits a float; ``"auto"`` defaults also take an
    integer (``workers``); lists are checked element-wise against the default's first element, mappings key by key."""
    if value is None or default is None:
        return None
    ok = {bool: lambda v: isinstance(v, bool),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          str: lambda v: isinstance(v, str) or (default == "auto" and isinstance(v, int) and not isinstance(v, bool)),
          list: lambda v: isinstance(v, (list, tuple)), tuple: lambda v: isinstance(v, (list, tuple)),
          dict: lambda v: isinstance(v, dict)}.get(type(default), lambda v: True)
    if not ok(value):
        return f"{name} expects {_kind(default)} (its default is {default!r}), got {value!r}"
    if isinstance(default, (list, tuple)) and default:
        for i, item in enumerate(value):
            if (problem := _type_problem(f"{name}[{i}]", default[0], item)):
                return problem
    if isinstance(default, dict):
        for key in set(default) & set(value):
            if (problem := _type_problem(f"{name}[{key!r}]", default[key], value[key])):
                return problem
    return None


def check_override_types(notebook: Path, overrides: dict, defaults: dict | None = None) -> None:
    """Raise :class:`NotebookParameterError` naming every ``--set`` value whose type does not fit the notebook's
    default for that parameter (``--set epochs=abc`` where ``epochs = 8``)."""
    defaults = notebook_parameters(notebook) if defaults is None else defaults
    problems = [p for name, value in overrides.items() if name in defaults
                and (p := _type_problem(name, defaults[name], value))]
    if problems:
        raise NotebookParameterError(f"{Path(notebook).name}: " + "; ".join(problems))


def notebook_code(notebook: Path) -> list[str]:
    """The sources of a notebook's code cells, in order: what can change its numbers (its prose cannot)."""
    return [cell.source for cell in notebook_as_ipynb(notebook).cells if cell.cell_type == "code"]


def notebook_dependencies(notebook: Path) -> dict[str, str]:
    """``{"pgd/debias.py": hash, ...}``: the library modules a notebook's code cells import, with their import
    closure, each hashed in normalised form."""
    modules = set().union(*(imported_modules(cell) for cell in notebook_code(notebook)))
    return dependency_hashes(modules)


def fingerprint_parts(notebook: Path, params: dict, profile: str) -> dict:
    """What a run's results depend on: the digest of its code cells (comments and markdown do not count), of its
    parameters, its profile, and the hash of every library module its code reaches."""
    return {"code": digest([normalised_cell(c) for c in notebook_code(notebook)]), "params": digest(params),
            "profile": profile, "dependencies": notebook_dependencies(notebook)}


def run_fingerprint(notebook: Path, params: dict, profile: str, parts: dict | None = None) -> str:
    """Hash of :func:`fingerprint_parts`: equal exactly when nothing a run's results depend on has changed."""
    return digest(parts or fingerprint_parts(notebook, params, profile))


def stale_reasons(recorded: dict | None, parts: dict) -> list[str]:
    """Why a recorded result no longer matches ``parts``: ``no result``, ``notebook code``, ``parameters``,
    ``profile``, or the library modules that changed (``pgd/debias.py``)."""
    if recorded is None:
        return ["no result"]
    old = recorded.get("depends_on")
    if not isinstance(old, dict):
        return ["recorded before module-level fingerprints"]
    reasons = [label for key, label in (("code", "notebook code"), ("params", "parameters"), ("profile", "profile"))
               if old.get(key) != parts[key]]
    return reasons + changed(old.get("dependencies"), parts["dependencies"])


def run_parameters(art: Artifact, profile: str, overrides: dict | None = None, fallback: str | None = None,
                   defaults: dict | None = None) -> dict:
    """Every parameter of ``art``'s notebook under ``profile``: the notebook's defaults (``defaults`` when the
    caller has parsed them already), then the profile's values (``fallback``'s when ``art`` has no such profile),
    then ``overrides``."""
    values = art.profiles[profile] if fallback is None or profile in art.profiles else art.profiles[fallback]
    defaults = notebook_parameters(art.notebook) if defaults is None else defaults
    return {**defaults, **values, **(overrides or {}), "profile": profile}


def notebook_as_ipynb(notebook: Path):
    """The jupytext source ``notebook`` as an nbformat notebook with a Python 3 kernelspec."""
    import jupytext

    nb = jupytext.read(notebook)
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    return nb


def plan(manifest: Manifest, profile: str = "quick", paper: str | list[str] | None = None,
         artifact: str | list[str] | None = None, overrides: dict | None = None, force: bool = False) -> list[Run]:
    """The executions needed for the selected artifacts, in manifest order: every artifact, those of the
    named paper(s), or the named artifact(s) (which take precedence over ``paper``)."""
    papers = [paper] if isinstance(paper, str) else list(paper or [])
    artifacts = [artifact] if isinstance(artifact, str) else list(artifact or [])
    selected = manifest.artifacts
    if papers:
        for name in papers:
            manifest.paper(name)  # raises a helpful KeyError for unknown ids
        selected = [a for a in selected if a.paper in papers]
    if artifacts:
        chosen = {manifest.artifact(name).id for name in artifacts}
        selected = [a for a in manifest.artifacts if a.id in chosen]
    def run_key(art: Artifact, params: dict) -> tuple:
        return str(art.notebook), json.dumps(params, sort_keys=True, default=str)

    parsed: dict[Path, dict] = {}  # each notebook's parameters cell, parsed once

    def params_of(art: Artifact) -> dict:
        if art.notebook not in parsed:
            parsed[art.notebook] = notebook_parameters(art.notebook)
        return run_parameters(art, profile, overrides, defaults=parsed[art.notebook])

    runs: dict[tuple, Run] = {}
    for art in selected:
        if profile not in art.profiles:
            raise KeyError(f"artifact {art.id} has no profile {profile!r}; it has {sorted(art.profiles)}")
        params = params_of(art)
        if overrides:
            check_overrides(art.notebook, overrides, parsed[art.notebook])
            check_override_types(art.notebook, overrides, parsed[art.notebook])
        runs.setdefault(run_key(art, params), Run(art.notebook, profile, params))
    # A notebook records every artifact it makes, so each run takes all of them, in manifest order: the
    # selected ones and their siblings (same notebook, same parameters), which are then stamped with it
    # rather than rewritten and left stale.
    for art in manifest.artifacts:
        if profile in art.profiles:
            run = runs.get(run_key(art, params_of(art)))
            if run is not None:
                run.artifacts.append(art)
    for run in runs.values():
        run.parts = fingerprint_parts(run.notebook, run.params, profile)
        run.fingerprint = run_fingerprint(run.notebook, run.params, profile, run.parts)
        results = [load_result(manifest.root, a, profile) for a in run.artifacts]
        run.up_to_date = not force and not overrides and all(
            r is not None and r.get("fingerprint") == run.fingerprint for r in results)
        if not run.up_to_date:
            run.stale_because = sorted({reason for r in results for reason in stale_reasons(r, run.parts)
                                        if r is None or r.get("fingerprint") != run.fingerprint}) \
                or (["forced"] if force else ["overridden parameters"])
    return list(runs.values())


KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)
"""Extra arguments of the kernels that :func:`execute` starts. ipykernel (7.x) logs "Kernel is running over TCP
without encryption ... susceptible to eavesdropping" at WARNING each time a kernel starts on jupyter_client's default
TCP transport without CurveZMQ keys; its log goes to our stderr, once per notebook. It is harmless for these kernels:
jupyter_client binds them to the loopback interface only (it refuses to launch on a non-local address), every message
is signed with the random key of a connection file only this user can read (so no one else can send them code), and
reading loopback traffic takes root on this machine. ERROR drops that warning and keeps the kernel's errors. (nbval
starts its own kernels and sends their stderr to /dev/null.)"""


def execute(run: Run, manifest: Manifest, build_dir: Path, quick_outputs_to_pair: bool = True) -> float:
    """Execute one run with papermill; return its wall time in seconds."""
    import jupytext
    import papermill

    rel = run.notebook.relative_to(manifest.root)
    nb = notebook_as_ipynb(run.notebook)
    src = build_dir / run.profile / "input" / rel.with_suffix(".ipynb")
    out = build_dir / run.profile / "executed" / rel.with_suffix(".ipynb")
    src.parent.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, src)
    # The quick profile is the notebook's defaults: no injected cell, so the executed notebook can be
    # committed as the paired .ipynb. Other profiles inject their parameters.
    params = {} if run.profile == "quick" and run.params == notebook_parameters(run.notebook) else run.params
    start = time.perf_counter()
    started_ns = time.time_ns()
    try:
        papermill.execute_notebook(str(src), str(out), parameters=params, cwd=str(run.notebook.parent),
                                   kernel_name="python3", progress_bar=False, log_output=False,
                                   extra_arguments=list(KERNEL_ARGUMENTS))  # a fresh list: nbclient appends to it
    except papermill.PapermillExecutionError as exc:
        raise ReproduceError(f"{rel} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
                             f"  the executed notebook with the traceback is at {out}") from None
    except Exception as exc:  # kernel start-up, bad notebook metadata, ...
        raise ReproduceError(f"{rel} could not be executed: {type(exc).__name__}: {exc}") from None
    seconds = time.perf_counter() - start
    # Stamp each result this run wrote with the run's fingerprint (after the fact, so that runs can
    # execute concurrently); a result not rewritten during the run means the notebook did not record it.
    for art in run.artifacts:
        path = result_path(manifest.root, art, run.profile)
        result = load_result(manifest.root, art, run.profile)
        if result is None or path.stat().st_mtime_ns < started_ns:
            raise ReproduceError(f"{rel} ran but did not record {art.id} (call start({art.id!r}, globals()) "
                                 f"and run.record(...) in the notebook)")
        result["fingerprint"] = run.fingerprint
        result["depends_on"] = run.parts
        atomic_write_json(path, result)
    if run.profile == "quick" and not params and quick_outputs_to_pair:
        atomic_write_text(run.notebook.with_suffix(".ipynb"), out.read_text())
    return seconds
