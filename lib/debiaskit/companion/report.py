"""The paper-vs-reproduced report: every artifact's numbers side by side, every claim's status."""

from __future__ import annotations

import math

from debiaskit.companion.artifacts import load_result, result_path
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
"""Profiles that scale the paper's protocol down; a result under any other (``full``, ``spot``) ran the protocol."""


def _protocol_results(manifest: Manifest):
    """``(artifact, profile, result)`` of every recorded run of a profile outside :data:`PAPER_PROFILES`."""
    for art in manifest.artifacts:
        for profile in art.profiles:
            result = None if profile in PAPER_PROFILES else load_result(manifest.root, art, profile)
            if result:
                yield art, profile, result


def protocol_cells(manifest: Manifest) -> list[dict]:
    """Every paper value that a result of the paper's own protocol (a profile outside :data:`PAPER_PROFILES`)
    reproduced, beside the paper's mean and spread: ``within`` holds when the difference is at most two of the
    paper's standard deviations or two points, whichever is larger."""
    cells = []
    for art, profile, result in _protocol_results(manifest):
        code_changed = _code_changed(art, profile, result)  # one fingerprint per result, shared by its cells
        for key, ours in (result.get("values") or {}).items():
            paper = art.paper_values.get(key)
            if paper is None or ours is None:
                continue
            std = art.paper_std.get(key)
            diff = ours - paper
            cells.append({"artifact": art.id, "profile": profile, "value": key, "paper": paper, "paper_std": std,
                          "reproduced": ours, "difference": diff, "in_std": None if not std else diff / std,
                          "within": abs(diff) <= max(2 * (std or 0.0), 2.0),
                          "git_revision": result.get("git_revision"), "finished": result.get("finished"),
                          "runtime_seconds": result.get("runtime_seconds"), "device": result.get("device"),
                          "result_file": str(result_path(manifest.root, art, profile).relative_to(manifest.root)),
                          "code_changed": code_changed})
    return cells


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
    """The claims of every profile outside :data:`PAPER_PROFILES` that has a result (e.g. ``spot``'s claims
    that PGD beats Vanilla and that both land near the paper), checked on that result."""
    claims = []
    for art, profile, result in _protocol_results(manifest):
        for c in art.claims:
            if profile in c.profiles:
                checked = check_claim(c.id, c.text, c.check, result.get("values") or {}, c.tolerance).__dict__
                claims.append({"artifact": art.id, "profile": profile, **checked})
    return claims


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
    return {"profile": profile, "claims": counts, "papers": papers, "protocol_cells": protocol_cells(manifest),
            "protocol_claims": protocol_claims(manifest)}


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"


_MARK = {"held": "✅ held", "failed": "❌ failed", "not run": "⏸ not run"}


def to_markdown(report: dict) -> str:
    c = report["claims"]
    out = [f"# Reproduction report ({report['profile']} profile)", "",
           f"Claims: **{c['held']} held**, **{c['failed']} failed**, {c['not run']} not run. "
           "Regenerate with `debiaskit reproduce`; this file is written by `debiaskit report`.", ""]
    out += _protocol_section(report.get("protocol_cells") or [], report.get("protocol_claims") or [])
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


def _protocol_section(cells: list[dict], claims: list[dict] = ()) -> list[str]:
    """The cells measured with the paper's own protocol, beside the paper's mean ± std, and the claims checked
    on those runs."""
    if not cells and not claims:
        return []
    out = ["## Measured with the paper's own protocol", "",
           "Cells of a `full` or `spot` run (the paper's hyperparameters, epochs and data), not the scaled-down "
           "quick profile. *Within* means at most two of the paper's standard deviations or two points away. A cell "
           "whose code changed since it ran stays here as dated evidence (\"code changed since\") until it runs again.",
           "",
           "| artifact | profile | value | paper | reproduced | difference | in paper std | within | run |",
           "|---|---|---|---:|---:|---:|---:|---|---|"]
    for c in cells:
        paper = _fmt(c["paper"]) + (f" ± {c['paper_std']:.2f}" if c["paper_std"] else "")
        in_std = "–" if c["in_std"] is None else f"{c['in_std']:+.1f}"
        run = f"{(c['finished'] or '')[:10]}, {c['device'] or '?'}, rev {(c['git_revision'] or '?')[:7]}"
        if c["runtime_seconds"]:
            run += f", {c['runtime_seconds'] / 60:.0f} min"
        if c.get("code_changed"):
            run += ", code changed since"
        out.append(f"| `{c['artifact']}` | {c['profile']} | {c['value']} | {paper} | {_fmt(c['reproduced'])} "
                   f"| {_fmt(c['difference'])} | {in_std} | {'yes' if c['within'] else '**no**'} "
                   f"| [{run}]({c['result_file'].removeprefix('figures/')}) |")
    if claims:
        out += ["", "| artifact | profile | claim | status | check |", "|---|---|---|---|---|"]
        out += [f"| `{c['artifact']}` | {c['profile']} | {c['text']} | {_MARK[c['status']]} | `{c['detail']}` |"
                for c in claims]
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
