"""The notebook side of an artifact: where its figure and numbers go, and paper vs reproduced.

A notebook calls::

    run = start("pgd/fig2", globals())   # reads the manifest entry and the notebook's parameters
    ...
    run.save_figure(fig)                  # figures/pgd/fig2.png and .pdf
    run.record({"minor@0.5": 23.1, ...})  # figures/pgd/fig2.json, atomically, with provenance
    run.comparison()                      # DataFrame: paper | reproduced | difference
    run.claims()                          # DataFrame: claim | status

Quick-profile outputs go to ``figures/<paper>/``; other profiles to ``figures/<profile>/<paper>/``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from debiaskit.companion.claims import check_claim
from debiaskit.companion.manifest import Artifact, find_root, load_manifest
from debiaskit.companion.notebook_params import notebook_parameters
from debiaskit.companion.provenance import device_description, git_revision, package_versions
from debiaskit.core.io import atomic_write_bytes, atomic_write_json


def results_dir(root: Path, profile: str, paper: str) -> Path:
    """Folder of an artifact's figure and result file for ``profile``."""
    base = root / "figures"
    return base / paper if profile == "quick" else base / profile / paper


PROTOCOL_FIGURE = "_protocol"
"""The suffix of the figure that sets an artifact's stored protocol cells beside the paper (``table1_protocol.png``)."""


def result_path(root: Path, artifact: Artifact, profile: str) -> Path:
    return results_dir(root, profile, artifact.paper) / f"{artifact.name}.json"


def figure_path(root: Path, artifact: Artifact, profile: str, suffix: str = "") -> Path:
    """The PNG that :meth:`ArtifactRun.save_figure` writes for ``suffix`` (its PDF is beside it)."""
    return results_dir(root, profile, artifact.paper) / f"{artifact.name}{suffix}.png"


def load_result(root: Path, artifact: Artifact, profile: str) -> dict | None:
    """The recorded result of ``artifact`` for ``profile``, or ``None`` when there is none (or it is unreadable)."""
    path = result_path(root, artifact, profile)
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class ArtifactRun:
    """One execution of an artifact's notebook under a profile."""

    def __init__(self, artifact: Artifact, params: dict, root: Path) -> None:
        self.artifact = artifact
        self.params = params
        self.root = root
        self.profile = str(params.get("profile", "quick"))
        self.out_dir = results_dir(root, self.profile, artifact.paper)
        self.started = time.perf_counter()
        self.values: dict | None = None

    def save_figure(self, fig, suffix: str = "") -> Path:
        """Save ``fig`` as PNG (150 dpi) and PDF next to the result file; returns the PNG path."""
        import io

        stem = figure_path(self.root, self.artifact, self.profile, suffix).with_suffix("")
        for ext, kwargs in ((".png", {"dpi": 150}), (".pdf", {})):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext[1:], bbox_inches="tight", metadata=_fixed_metadata(ext), **kwargs)
            atomic_write_bytes(stem.with_suffix(ext), buf.getvalue())
        return stem.with_suffix(".png")

    def record(self, values: dict[str, float], tables: dict | None = None, seeds: list[int] | None = None,
               extra: dict | None = None) -> Path:
        """Write the artifact's numbers with their provenance, atomically."""
        self.values = {k: (None if v is None else float(v)) for k, v in values.items()}
        doc = {
            "artifact": self.artifact.id,
            "profile": self.profile,
            "parameters": self.params,
            "seeds": seeds if seeds is not None else _seeds(self.params),
            "values": self.values,
            "tables": tables or {},
            "extra": extra or {},
            "versions": package_versions(),
            "device": device_description(),
            "git_revision": git_revision(self.root),
            "fingerprint": None,  # stamped by `debiaskit reproduce` once the whole notebook has run
            "runtime_seconds": round(time.perf_counter() - self.started, 1),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        return atomic_write_json(self.out_dir / f"{self.artifact.name}.json", doc)

    def comparison(self, decimals: int = 1):
        """A DataFrame of the paper's values beside the reproduced ones, with their difference."""
        import pandas as pd

        values = self.values or {}
        keys = list(self.artifact.paper_values) + [k for k in values if k not in self.artifact.paper_values]
        rows = []
        for key in keys:
            paper = self.artifact.paper_values.get(key)
            ours = values.get(key)
            diff = None if paper is None or ours is None else ours - paper
            rows.append({"value": key, "paper": paper, "reproduced": ours, "difference": diff})
        return pd.DataFrame(rows).set_index("value").astype(float).round(decimals)

    def say(self, template: str, **names):
        """The findings paragraph, rendered from this run's numbers so that the prose cannot disagree with them.

        ``template`` is Markdown with :meth:`str.format` fields: ``{v[key]:.1f}`` a recorded value, ``{p[key]:.1f}``
        the paper's, ``{held}``/``{failed}`` the claims of this profile that held / failed (as a list), ``{claims}``
        both as one sentence ("Claims that held: ... Claims that failed: ..."), and any other ``names`` given (values
        computed in the notebook). Returns an ``IPython.display.Markdown`` to show.
        """
        from IPython.display import Markdown

        if self.values is None:
            raise RuntimeError("say() renders recorded numbers: call run.record(...) first")
        outcomes = [check_claim(c.id, c.text, c.check, self.values, c.tolerance)
                    for c in self.artifact.claims if self.profile in c.profiles]
        held = _claim_list(o for o in outcomes if o.status == "held")
        failed = _claim_list(o for o in outcomes if o.status == "failed")
        fields = {"v": _Values(self.values, "recorded"), "p": _Values(self.artifact.paper_values, "paper"),
                  "held": held, "failed": failed,
                  "claims": f"Claims that held: {held}. Claims that failed: {failed}.", **names}
        return Markdown(template.format(**fields))

    def claims(self):
        """A DataFrame of the artifact's claims for this profile: held, failed or not run."""
        import pandas as pd

        rows = []
        for c in self.artifact.claims:
            if self.profile not in c.profiles:
                continue
            o = check_claim(c.id, c.text, c.check, self.values, c.tolerance)
            rows.append({"claim": o.text, "status": o.status})
        return pd.DataFrame(rows, columns=["claim", "status"])


class _Values(dict):
    """A mapping whose missing key names the artifact's keys instead of a bare ``KeyError``."""

    def __init__(self, values: dict, kind: str) -> None:
        super().__init__(values)
        self.kind = kind

    def __missing__(self, key):
        raise KeyError(f"no {self.kind} value {key!r}; the {self.kind} values are {sorted(self)}")


def _claim_list(outcomes) -> str:
    texts = [o.text.rstrip(".") for o in outcomes]
    return "; ".join(texts) if texts else "none"


def _seeds(params: dict) -> list:
    for key in ("seeds", "seed"):
        if key in params:
            value = params[key]
            return list(value) if isinstance(value, (list, tuple)) else [value]
    return []


def _fixed_metadata(ext: str) -> dict:
    """Drop creation dates so that re-running a notebook gives byte-identical figures where possible."""
    if ext == ".pdf":
        return {"CreationDate": None, "ModDate": None}
    return {"Software": None}


def start(artifact_id: str, namespace: dict, root: str | Path | None = None) -> ArtifactRun:
    """Begin recording ``artifact_id`` with the notebook's parameters taken from ``namespace``."""
    root = Path(root) if root else find_root()
    artifact = load_manifest(root / "papers.yaml").artifact(artifact_id)
    names = notebook_parameters(artifact.notebook)
    params = {name: namespace[name] for name in names if name in namespace}
    return ArtifactRun(artifact, params, root)
