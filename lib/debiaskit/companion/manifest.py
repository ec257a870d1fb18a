"""``papers.yaml``: the manifest of papers, their artifacts, profiles, reported values and claims.

:func:`load_manifest` validates the whole file and raises :class:`ManifestError` with the exact
place of every problem: unknown keys, missing notebooks, profile parameters the notebook does not
define, and notebook defaults that differ from the ``quick`` profile. A paper lists its notebooks once, each with
its profiles (parameters per profile) and estimated minutes; the artifacts a notebook makes share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from debiaskit.companion.notebook_params import NotebookParameterError, notebook_parameters

PAPER_KEYS = {"id", "title", "authors", "venue", "arxiv", "document", "notebooks", "artifacts", "year"}
NOTEBOOK_KEYS = {"path", "profiles", "estimated_minutes"}
ARTIFACT_KEYS = {"id", "kind", "caption", "notebook", "paper_values", "claims", "deviations", "status"}
CLAIM_KEYS = {"id", "text", "check", "tolerance", "profiles"}
PAPER_VALUE_KEYS = {"source", "values", "unit", "std"}
KINDS = {"figure", "table"}
REQUIRED_PROFILES = ("quick", "full")
CAMPAIGN_KEYS = {"artifact", "select", "settings", "note"}
CAMPAIGN_SELECT = ("datasets", "bias_ratios", "seeds", "methods")


class ManifestError(ValueError):
    """``papers.yaml`` is malformed; the message lists every problem and where it is."""


@dataclass
class Claim:
    id: str
    text: str
    check: str
    tolerance: float = 0.0
    profiles: list[str] = field(default_factory=lambda: ["quick", "full"])


@dataclass
class Artifact:
    id: str
    paper: str
    kind: str
    caption: str
    notebook: Path
    profiles: dict[str, dict]
    paper_values: dict[str, float]
    paper_source: str
    claims: list[Claim]
    deviations: list[str]
    estimated_minutes: dict[str, float]
    unit: str = "%"
    status: str = ""
    """Why an artifact is not (fully) reproduced in some profile, shown by the report when it did not run."""
    paper_std: dict[str, float] = field(default_factory=dict)
    """The paper's spread over runs (its "± std") for those of ``paper_values`` that have one."""

    @property
    def name(self) -> str:
        """The part after ``paper/`` (used for file names)."""
        return self.id.split("/", 1)[1]


@dataclass
class Paper:
    id: str
    title: str
    authors: list[str]
    venue: str
    arxiv: str | None
    document: str
    artifacts: list[Artifact]


@dataclass
class Manifest:
    root: Path
    papers: list[Paper]
    campaign: list[dict] = field(default_factory=list)
    """The full-profile cells to measure first, in order (:mod:`debiaskit.companion.campaign`)."""

    @property
    def artifacts(self) -> list[Artifact]:
        return [a for p in self.papers for a in p.artifacts]

    def artifact(self, artifact_id: str) -> Artifact:
        for a in self.artifacts:
            if a.id == artifact_id:
                return a
        raise KeyError(f"no artifact {artifact_id!r} in papers.yaml; known: {', '.join(a.id for a in self.artifacts)}")

    def paper(self, paper_id: str) -> Paper:
        for p in self.papers:
            if p.id == paper_id:
                return p
        raise KeyError(f"no paper {paper_id!r} in papers.yaml; known: {', '.join(p.id for p in self.papers)}")


def find_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) that holds ``papers.yaml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "papers.yaml").exists():
            return folder
    raise ManifestError(f"no papers.yaml at or above {here}; run from inside a debiaskit checkout")


def _unknown(where: str, mapping: dict, allowed: set[str], errors: list[str]) -> None:
    for key in sorted(set(mapping) - allowed):
        errors.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _require(where: str, mapping: dict, keys: tuple[str, ...], errors: list[str]) -> None:
    for key in keys:
        if key not in mapping:
            errors.append(f"{where}: missing required key {key!r}")


@dataclass
class NotebookEntry:
    """A notebook of a paper: its profiles (parameters per profile) and estimated minutes, shared by its artifacts."""

    path: Path
    profiles: dict[str, dict]
    estimated_minutes: dict[str, float]


def _notebook(raw: dict, where: str, root: Path, errors: list[str]) -> NotebookEntry | None:
    _unknown(where, raw, NOTEBOOK_KEYS, errors)
    _require(where, raw, ("path", "profiles"), errors)
    if any(k not in raw for k in ("path", "profiles")):
        return None
    where = f"{where} ({raw['path']})"
    notebook = root / str(raw["path"])
    profiles = raw["profiles"] or {}
    if not isinstance(profiles, dict):
        errors.append(f"{where}: profiles must be a mapping of profile name to parameters")
        profiles = {}
    for name in REQUIRED_PROFILES:
        if name not in profiles:
            errors.append(f"{where}: missing profile {name!r} (every notebook needs {list(REQUIRED_PROFILES)})")
    if notebook.suffix != ".py":
        errors.append(f"{where}: notebook must be the jupytext .py source, got {raw['path']}")
    elif not notebook.exists():
        errors.append(f"{where}: notebook {raw['path']} does not exist")
    else:
        try:
            defaults = notebook_parameters(notebook)
        except (NotebookParameterError, SyntaxError) as exc:
            errors.append(f"{where}: {exc}")
            defaults = None
        if defaults is not None:
            for pname, params in profiles.items():
                params = params or {}
                if not isinstance(params, dict):
                    errors.append(f"{where}: profile {pname!r} must be a mapping of parameters")
                    continue
                for key in sorted(set(params) - set(defaults)):
                    errors.append(f"{where}: profile {pname!r} sets parameter {key!r}, which "
                                  f"{raw['path']} does not define (its parameters: {', '.join(sorted(defaults))})")
                if params.get("profile", pname) != pname:
                    errors.append(f"{where}: profile {pname!r} sets profile={params.get('profile')!r}")
            if defaults.get("profile") != "quick":
                errors.append(f"{where}: {raw['path']} must define profile = \"quick\" in its parameters cell")
            for key, value in (profiles.get("quick") or {}).items():
                if key in defaults and defaults[key] != value:
                    errors.append(f"{where}: {raw['path']} default {key} = {defaults[key]!r} differs from "
                                  f"the quick profile's {value!r}; the notebook's defaults must be the quick profile")
    minutes = raw.get("estimated_minutes") or {}
    if not isinstance(minutes, dict) or not all(isinstance(v, (int, float)) for v in minutes.values()):
        errors.append(f"{where}.estimated_minutes: must map profiles to minutes")
        minutes = {}
    return NotebookEntry(notebook, {k: dict(v or {}) for k, v in profiles.items() if isinstance(v, (dict, type(None)))},
                         {k: float(v) for k, v in minutes.items()})


def _artifact(raw: dict, paper_id: str, where: str, notebooks: dict[Path, NotebookEntry], root: Path,
              errors: list[str]) -> Artifact | None:
    if "id" in raw:
        where = f"{where} ({raw['id']})"
    for key in ("profiles", "estimated_minutes"):
        if key in raw:
            errors.append(f"{where}: {key!r} belongs to the paper's notebooks entry for {raw.get('notebook')} "
                          f"(shared by every artifact the notebook makes), not to the artifact")
    _unknown(where, {k: v for k, v in raw.items() if k not in ("profiles", "estimated_minutes")}, ARTIFACT_KEYS, errors)
    _require(where, raw, ("id", "kind", "caption", "notebook"), errors)
    if any(k not in raw for k in ("id", "kind", "notebook")):
        return None
    art_id = str(raw["id"])
    if not art_id.startswith(f"{paper_id}/"):
        errors.append(f"{where}: artifact id must start with '{paper_id}/'")
    if raw["kind"] not in KINDS:
        errors.append(f"{where}: kind must be one of {sorted(KINDS)}, got {raw['kind']!r}")
    notebook = root / str(raw["notebook"])
    entry = notebooks.get(notebook)
    if entry is None:
        errors.append(f"{where}: notebook {raw['notebook']} is not among the paper's notebooks "
                      f"({', '.join(str(p.relative_to(root)) for p in notebooks) or 'none'})")
        entry = NotebookEntry(notebook, {}, {})
    pv = raw.get("paper_values") or {}
    _unknown(f"{where}.paper_values", pv, PAPER_VALUE_KEYS, errors)
    values = pv.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(v, (int, float)) for v in values.values()):
        errors.append(f"{where}.paper_values.values: must map names to numbers")
        values = {}
    std = pv.get("std") or {}
    if not isinstance(std, dict) or not all(isinstance(v, (int, float)) for v in std.values()):
        errors.append(f"{where}.paper_values.std: must map names to numbers")
        std = {}
    for key in sorted(set(std) - set(values)):
        errors.append(f"{where}.paper_values.std: {key!r} has a spread but no value in paper_values.values")
    if values and not pv.get("source"):
        errors.append(f"{where}.paper_values: say where in the paper the values come from (source)")
    claims = []
    for j, c in enumerate(raw.get("claims") or []):
        cw = f"{where}.claims[{j}]"
        if not isinstance(c, dict):
            errors.append(f"{cw}: must be a mapping")
            continue
        _unknown(cw, c, CLAIM_KEYS, errors)
        _require(cw, c, ("id", "text", "check"), errors)
        if all(k in c for k in ("id", "text", "check")):
            from debiaskit.companion.claims import ClaimSyntaxError, parse_check

            try:
                parse_check(str(c["check"]))
            except ClaimSyntaxError as exc:
                errors.append(f"{cw}: {exc}")
            claims.append(Claim(str(c["id"]), str(c["text"]), str(c["check"]), float(c.get("tolerance", 0.0)),
                                list(c.get("profiles", ["quick", "full"]))))
    deviations = raw.get("deviations") or []
    if not isinstance(deviations, list):
        errors.append(f"{where}.deviations: must be a list of strings")
        deviations = []
    return Artifact(
        id=art_id, paper=paper_id, kind=str(raw["kind"]), caption=str(raw.get("caption", "")), notebook=notebook,
        profiles=entry.profiles,
        paper_values={k: float(v) for k, v in values.items()}, paper_source=str(pv.get("source", "")),
        claims=claims, deviations=[str(d) for d in deviations],
        estimated_minutes=entry.estimated_minutes,
        unit=str(pv.get("unit", "%")), status=str(raw.get("status", "")),
        paper_std={k: float(v) for k, v in std.items()},
    )


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Load and validate ``papers.yaml`` (default: the one of the enclosing checkout)."""
    path = Path(path) if path else find_root() / "papers.yaml"
    root = path.resolve().parent
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("papers"), list):
        raise ManifestError(f"{path}: the top level must be a mapping with a list under 'papers'")
    errors: list[str] = []
    _unknown(str(path.name), raw, {"papers", "campaign"}, errors)
    papers, seen = [], set()
    for i, p in enumerate(raw["papers"]):
        where = f"papers[{i}]"
        if not isinstance(p, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        _unknown(where, p, PAPER_KEYS, errors)
        _require(where, p, ("id", "title", "authors", "document"), errors)
        if "id" not in p:
            continue
        where = f"papers[{i}]"
        notebooks: dict[Path, NotebookEntry] = {}
        for j, n in enumerate(p.get("notebooks") or []):
            if not isinstance(n, dict):
                errors.append(f"{where}.notebooks[{j}]: must be a mapping")
                continue
            entry = _notebook(n, f"{where}.notebooks[{j}]", root, errors)
            if entry is not None:
                if entry.path in notebooks:
                    errors.append(f"{where}.notebooks[{j}]: {n['path']} is listed twice")
                notebooks[entry.path] = entry
        arts = []
        for j, a in enumerate(p.get("artifacts") or []):
            if not isinstance(a, dict):
                errors.append(f"{where}.artifacts[{j}]: must be a mapping")
                continue
            art = _artifact(a, str(p["id"]), f"{where}.artifacts[{j}]", notebooks, root, errors)
            if art is not None:
                if art.id in seen:
                    errors.append(f"{where}.artifacts[{j}]: duplicate artifact id {art.id!r}")
                seen.add(art.id)
                arts.append(art)
        used = {a.notebook for a in arts}
        for path in sorted(set(notebooks) - used):
            errors.append(f"{where}.notebooks: {path.relative_to(root)} makes none of the paper's artifacts")
        papers.append(Paper(str(p["id"]), str(p.get("title", "")), list(p.get("authors") or []),
                            str(p.get("venue", "")), p.get("arxiv"), str(p.get("document", "")), arts))
    campaign = _campaign(raw.get("campaign") or [], {a.id: a for p in papers for a in p.artifacts}, errors)
    if errors:
        raise ManifestError(f"{path} has {len(errors)} problem(s):\n  - " + "\n  - ".join(errors))
    return Manifest(root=root, papers=papers, campaign=campaign)


def _campaign(raw: list, artifacts: dict[str, Artifact], errors: list[str]) -> list[dict]:
    """The ``campaign`` list: entries ``{artifact, select, settings, note}`` naming an artifact with a full profile,
    ``select`` narrowing its lists (:data:`CAMPAIGN_SELECT`) and ``settings`` changing a data set's training settings."""
    if not isinstance(raw, list):
        errors.append("campaign: must be a list of entries {artifact, select, settings, note}")
        return []
    out = []
    for i, entry in enumerate(raw):
        where = f"campaign[{i}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        _unknown(where, entry, CAMPAIGN_KEYS, errors)
        art = artifacts.get(entry.get("artifact"))
        if art is None or "full" not in art.profiles:
            errors.append(f"{where}: artifact {entry.get('artifact')!r} is not an artifact with a full profile")
            continue
        select = entry.get("select") or {}
        if not isinstance(select, dict) or set(select) - set(CAMPAIGN_SELECT) or \
                not all(isinstance(v, list) for v in select.values()):
            errors.append(f"{where}.select: must map some of {list(CAMPAIGN_SELECT)} to lists, got {select!r}")
            continue
        settings = entry.get("settings") or {}
        if not isinstance(settings, dict) or not all(isinstance(v, dict) for v in settings.values()):
            errors.append(f"{where}.settings: must map data set names to training settings, got {settings!r}")
            continue
        out.append({"artifact": art.id, "select": select, "settings": settings, "note": str(entry.get("note", ""))})
    return out
