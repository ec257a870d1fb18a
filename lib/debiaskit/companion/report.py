"""The paper-vs-reproduced report: every artifact's numbers side by side, every claim's status."""

from __future__ import annotations

import math
import statistics

from debiaskit.companion.artifacts import PROTOCOL_FIGURE, figure_path, load_result, result_path
from debiaskit.companion.campaign import full_parameters
from debiaskit.companion.cells import CELL_ARTIFACTS, assemble, cell_table, load_cells, package_hashes
from debiaskit.experiments.cells import METRICS
from debiaskit.companion.claims import check_claim
from debiaskit.companion.manifest import Artifact, Manifest

COLAB = "https://colab.research.google.com/github/debiaskit/debiaskit/blob/main/"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def artifact_report(manifest: Manifest, art: Artifact, profile: str) -> dict:
    """A JSON-able summary of one artifact under ``profile``."""
    result = load_result(manifest.root, art, profile)
    values = None if result is None else result.get("values", {})
    rows = []
    for key in list(art.paper_values) + [k for k in (values or {}) if k not in art.paper_values]:
        paper = art.paper_values.get(key)
        ours = None if values is None else values.get(key)
        diff = None if paper is None or ours is None else ours - paper
        rows.append({"value": key, "paper": paper, "reproduced": ours, "difference": diff})
    claims = [check_claim(c.id, c.text, c.check, values, c.tolerance).__dict__
              for c in art.claims if profile in c.profiles]
    return {
        "id": art.id, "kind": art.kind, "caption": art.caption, "notebook": str(art.notebook.relative_to(manifest.root)),
        # a notebook that records no numbers for an artifact (e.g. Table 7 without Cartoon Set) did not reproduce it
        "profile": profile, "ran": result is not None and bool(result.get("values")), "status": art.status,
        "runtime_seconds": None if result is None else result.get("runtime_seconds"),
        "result_file": str(result_path(manifest.root, art, profile).relative_to(manifest.root)),
        "paper_source": art.paper_source, "values": rows, "claims": claims, "deviations": art.deviations,
    }


PAPER_PROFILES = ("quick", "ci")
"""Profiles that scale the paper's protocol down; a result under any other (``full``) ran the protocol."""


def within(diff: float, std: float | None) -> bool:
    """A reproduced value agrees with the paper's when it is at most two of the paper's standard deviations or two
    points away, whichever is larger."""
    return abs(diff) <= max(2 * (std or 0.0), 2.0)


def _protocol_results(manifest: Manifest):
    """``(artifact, profile, result)`` of every recorded whole run of a profile outside :data:`PAPER_PROFILES`, for
    the artifacts not kept cell by cell."""
    for art in manifest.artifacts:
        if art.id in CELL_ARTIFACTS:
            continue
        for profile in art.profiles:
            result = None if profile in PAPER_PROFILES else load_result(manifest.root, art, profile)
            if result:
                yield art, profile, result


def protocol_values(manifest: Manifest, art: Artifact) -> dict[str, float]:
    """The values an artifact has at the paper's protocol: assembled from its stored cells of today's full-profile
    settings (:mod:`debiaskit.companion.cells`), or its recorded full run's."""
    if art.id in CELL_ARTIFACTS:
        values, _ = assemble(load_cells(manifest.root, art.id), full_parameters(manifest, art.id))
        return values
    result = load_result(manifest.root, art, "full") if "full" in art.profiles else None
    return dict((result or {}).get("values") or {})


def protocol_cells(manifest: Manifest) -> list[dict]:
    """Every paper value measured at the paper's protocol, beside the paper's mean and spread (``within``:
    :func:`within`): one row per value of every stored cell (``counted``: it ran with today's full-profile
    settings, so it counts in the artifact's full values; other settings stay as evidence), and of every recorded
    whole full run of the other artifacts."""
    from debiaskit.experiments.suite import value_key

    rows = []
    current_code = package_hashes()
    for art_id in CELL_ARTIFACTS:
        if art_id not in {a.id for a in manifest.artifacts}:
            continue
        art = manifest.artifact(art_id)
        params = full_parameters(manifest, art_id)
        for c in cell_table(load_cells(manifest.root, art_id), params, art.paper_values, art.paper_std, current_code):
            for metric in METRICS:
                key = value_key(*c["cell_fields"], metric)
                paper, std = c[f"paper_{metric}"], c[f"paper_{metric}_std"]
                if paper is None:
                    continue
                diff = c[metric] - paper
                rows.append({"artifact": art_id, "cell": c["cell"], "value": key, "paper": paper, "paper_std": std,
                             "reproduced": c[metric], "difference": diff, "in_std": None if not std else diff / std,
                             "within": within(diff, std), "settings": c["settings"], "counted": c["counted"],
                             "git_revision": c["commit"], "finished": c["finished"],
                             "runtime_seconds": None if c["minutes"] is None else 60 * c["minutes"],
                             "device": c["device"], "result_file": c["file"], "code_changed": c["code_changed"]})
    for art, profile, result in _protocol_results(manifest):
        code_changed = _code_changed(art, profile, result)  # one fingerprint per result, shared by its cells
        for key, ours in (result.get("values") or {}).items():
            paper = art.paper_values.get(key)
            if paper is None or ours is None:
                continue
            std = art.paper_std.get(key)
            diff = ours - paper
            rows.append({"artifact": art.id, "cell": profile, "value": key, "paper": paper, "paper_std": std,
                         "reproduced": ours, "difference": diff, "in_std": None if not std else diff / std,
                         "within": within(diff, std), "settings": f"the {profile} profile's", "counted": True,
                         "git_revision": (result.get("git_revision") or "?")[:7], "finished": result.get("finished"),
                         "runtime_seconds": result.get("runtime_seconds"), "device": result.get("device"),
                         "result_file": str(result_path(manifest.root, art, profile).relative_to(manifest.root)),
                         "code_changed": code_changed})
    return rows


def _code_changed(art, profile: str, result: dict) -> list[str]:
    """What changed since a protocol result was measured (``[]``: it measures today's code): the reasons
    :func:`debiaskit.companion.reproduce.stale_reasons` gives. A stale cell stays in the report as dated evidence."""
    from debiaskit.companion.reproduce import fingerprint_parts, run_fingerprint, run_parameters, stale_reasons

    params = run_parameters(art, profile)
    parts = fingerprint_parts(art.notebook, params, profile)
    if result.get("fingerprint") == run_fingerprint(art.notebook, params, profile, parts):
        return []
    return stale_reasons(result, parts)


def protocol_claims(manifest: Manifest) -> list[dict]:
    """The claims of the full profile, checked on each artifact's values at the paper's protocol
    (:func:`protocol_values`), for every artifact that has any (a claim whose values are not measured yet is
    "not run")."""
    claims = []
    for art in manifest.artifacts:
        full = [c for c in art.claims if "full" in c.profiles]
        values = protocol_values(manifest, art) if full else {}
        if not values:
            continue
        for c in full:
            checked = check_claim(c.id, c.text, c.check, values, c.tolerance).__dict__
            claims.append({"artifact": art.id, "profile": "full", **checked})
    return claims


def fidelity(manifest: Manifest, report_papers: list[dict], cells: list[dict]) -> dict:
    """How close the reproduced numbers are to the paper's: for the report's profile (every artifact value with both
    numbers) and for the protocol cells counted in the full values: ``n``, ``within`` (the share within two of the
    paper's std or two points, :func:`within`) and the ``median`` absolute difference; and per artifact the protocol
    ``coverage`` (paper values with a value at the paper's protocol, of all its paper values)."""
    def stats(pairs: list[tuple[float, float | None]]) -> dict:
        if not pairs:
            return {"n": 0, "within": None, "median": None}
        return {"n": len(pairs), "within": sum(within(d, sd) for d, sd in pairs) / len(pairs),
                "median": statistics.median(abs(d) for d, _ in pairs)}

    quick = [(r["difference"], std) for p in report_papers for a in p["artifacts"]
             for r in a["values"] for std in [manifest.artifact(a["id"]).paper_std.get(r["value"])]
             if r["difference"] is not None and not math.isnan(r["difference"])]
    counted = [(c["difference"], c["paper_std"]) for c in cells if c["counted"]]
    coverage = []
    for art in manifest.artifacts:
        measured = protocol_values(manifest, art)
        n = sum(1 for k in art.paper_values if k in measured)
        if n:
            coverage.append({"artifact": art.id, "measured": n, "paper_values": len(art.paper_values)})
    return {"profile": stats(quick), "protocol": stats(counted), "coverage": coverage}


def build_report(manifest: Manifest, profile: str = "quick") -> dict:
    papers = []
    for p in manifest.papers:
        papers.append({"id": p.id, "title": p.title, "venue": p.venue, "arxiv": p.arxiv,
                       "artifacts": [artifact_report(manifest, a, profile) for a in p.artifacts]})
    counts = {"held": 0, "failed": 0, "not run": 0}
    for p in papers:
        for a in p["artifacts"]:
            for c in a["claims"]:
                counts[c["status"]] += 1
    cells = protocol_cells(manifest)
    return {"profile": profile, "claims": counts, "papers": papers, "protocol_cells": cells,
            "protocol_claims": protocol_claims(manifest), "protocol_figures": protocol_figures(manifest),
            "fidelity": fidelity(manifest, papers, cells)}


def protocol_figures(manifest: Manifest) -> list[str]:
    """The figures of the protocol cells beside the paper that the cell-kept artifacts' notebooks drew
    (``figures/pgd/table1_protocol.png``), relative to the checkout."""
    out = []
    for art in manifest.artifacts:
        if art.id not in CELL_ARTIFACTS:
            continue
        png = figure_path(manifest.root, art, "quick", PROTOCOL_FIGURE)
        if png.exists():
            out.append(png.relative_to(manifest.root).as_posix())
    return out


def _fmt(x, decimals: int | None = None) -> str:
    """``x`` with ``decimals`` decimals (default: two below 10, else one); a dash for a missing value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if decimals is None:
        decimals = 2 if abs(x) < 10 else 1
    return f"{x:.{decimals}f}"


_MARK = {"held": "✅ held", "failed": "❌ failed", "not run": "⏸ not run"}


def to_markdown(report: dict) -> str:
    c = report["claims"]
    out = [f"# Reproduction report ({report['profile']} profile)", "",
           f"Claims: **{c['held']} held**, **{c['failed']} failed**, {c['not run']} not run. "
           "Regenerate with `debiaskit reproduce`; this file is written by `debiaskit report`.", ""]
    out += _fidelity_section(report.get("fidelity"), report["profile"])
    out += _protocol_section(report.get("protocol_cells") or [], report.get("protocol_claims") or [],
                             report.get("protocol_figures") or [])
    for p in report["papers"]:
        out += [f"## {p['title']}", f"*{p['venue']}*" + (f", arXiv {p['arxiv']}" if p["arxiv"] else ""), ""]
        if not p["artifacts"]:
            out += ["No artifacts yet.", ""]
        for a in p["artifacts"]:
            fig = a["result_file"].replace(".json", ".png")
            status = "ran" if a["ran"] else "**not run**" + (f" ({a['status']})" if a.get("status") else "")
            secs = f", {a['runtime_seconds']:.0f} s" if a["runtime_seconds"] else ""
            out += [f"### `{a['id']}` – {a['caption']}",
                    f"Notebook [`{a['notebook']}`]({'../' + a['notebook']}) "
                    f"[![Open In Colab]({BADGE})]({COLAB}{a['notebook'].replace('.py', '.ipynb')}) · {status}{secs}", ""]
            if a["ran"] and a["kind"] == "figure":
                out += [f"![{a['id']}]({fig.removeprefix('figures/')})", ""]
            if a["values"]:
                out += [f"Paper values: {a['paper_source'] or '–'}", "",
                        "| value | paper | reproduced | difference |", "|---|---:|---:|---:|"]
                out += [f"| {r['value']} | {_fmt(r['paper'])} | {_fmt(r['reproduced'])} | {_fmt(r['difference'])} |"
                        for r in a["values"]]
                out.append("")
            if a["claims"]:
                out += ["| claim | status | check |", "|---|---|---|"]
                out += [f"| {cl['text']} | {_MARK[cl['status']]} | `{cl['detail']}` |" for cl in a["claims"]]
                out.append("")
            if a["deviations"]:
                out += ["Deviations from the paper:", ""] + [f"- {d}" for d in a["deviations"]] + [""]
    return "\n".join(out) + "\n"


def _share(stats: dict) -> str:
    if not stats["n"]:
        return "none yet"
    return (f"{stats['n']} values, {100 * stats['within']:.0f}% within 2 points or 2 of the paper's std, median "
            f"difference {stats['median']:.2f} points")


def _fidelity_section(fid: dict | None, profile: str) -> list[str]:
    """How close the numbers are to the paper's, first: the report's profile, the protocol cells, and how much of
    each artifact has been measured at the paper's protocol."""
    if not fid:
        return []
    out = ["## Fidelity to the paper", "",
           f"- **{profile} profile** (scaled down by design): {_share(fid['profile'])}.",
           f"- **At the paper's protocol** (cells of today's full-profile settings): {_share(fid['protocol'])}."]
    if fid["coverage"]:
        out.append("- Protocol coverage: " + "; ".join(
            f"`{c['artifact']}` {c['measured']} of {c['paper_values']} values" for c in fid["coverage"]) +
            "; every other artifact: none yet (`debiaskit campaign --minutes M` measures the next cells).")
    return out + [""]


def _protocol_section(cells: list[dict], claims: list[dict] = (), figures: list[str] = ()) -> list[str]:
    """The cells measured with the paper's own protocol, beside the paper's mean ± std, and the full profile's
    claims checked on them."""
    if not cells and not claims:
        return []
    out = ["## Measured with the paper's own protocol", "",
           "Cells of the `full` profile (the paper's hyperparameters, epochs and data), not the scaled-down quick "
           "profile, from any machine (`figures/cells/`). *Within* means at most two of the paper's standard "
           "deviations or two points away. A cell of other settings than today's full profile is evidence kept (a "
           "schedule tried and left) and does not count in the full values; a cell whose code changed since it ran "
           "stays as dated evidence (\"code changed since\") until it runs again.",
           "",
           "| artifact | cell | value | paper | reproduced | difference | in paper std | within | settings | run |",
           "|---|---|---|---:|---:|---:|---:|---|---|---|"]
    for c in cells:
        paper = _fmt(c["paper"], 2) + (f" ± {c['paper_std']:.2f}" if c["paper_std"] else "")  # as Table 1 prints
        in_std = "–" if c["in_std"] is None else f"{c['in_std']:+.1f}"
        run = f"{(c['finished'] or '')[:10]}, {c['device'] or '?'}, rev {c['git_revision'] or '?'}"
        if c["runtime_seconds"]:
            run += f", {c['runtime_seconds'] / 60:.0f} min"
        if c.get("code_changed"):
            run += ", code changed since"
        out.append(f"| `{c['artifact']}` | {c['cell']} | {c['value']} | {paper} | {_fmt(c['reproduced'], 2)} "
                   f"| {_fmt(c['difference'], 2)} | {in_std} | {'yes' if c['within'] else '**no**'} | {c['settings']} "
                   f"| [{run}]({c['result_file'].removeprefix('figures/')}) |")
    for fig in figures:
        out += ["", f"![the protocol cells beside the paper's mean, 2 std and 2 points]({fig.removeprefix('figures/')})"]
    if claims:
        out += ["", "Claims of the full profile, on the values assembled from its cells (means over the seeds measured):",
                "", "| artifact | claim | status | check |", "|---|---|---|---|"]
        out += [f"| `{c['artifact']}` | {c['text']} | {_MARK[c['status']]} | `{c['detail']}` |" for c in claims]
    return out + [""]


def artifact_table(manifest: Manifest, report: dict) -> str:
    """The README's artifact table: one row per artifact with its Colab badge and claim status."""
    rows = ["| artifact | what | notebook | claims (quick) |", "|---|---|---|---|"]
    for p in report["papers"]:
        for a in p["artifacts"]:
            claims = a["claims"]
            held = sum(c["status"] == "held" for c in claims)
            status = f"{held}/{len(claims)} held" if a["ran"] else "not run"
            nb = a["notebook"].replace(".py", ".ipynb")
            rows.append(f"| `{a['id']}` | {a['caption'].split(':')[0]} | [![Open In Colab]({BADGE})]({COLAB}{nb}) "
                        f"[`{nb}`]({nb}) | {status} |")
    return "\n".join(rows)
