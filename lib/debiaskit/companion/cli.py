"""``debiaskit``: list, validate, reproduce and report the papers' artifacts::

    debiaskit list                       # papers, artifacts, profiles, estimated times
    debiaskit validate                   # check papers.yaml and every notebook's parameters
    debiaskit reproduce [--paper P ...] [--artifact A ...] [--profile quick|full] [--force] [--dry-run]
                        [--jobs N] [--set name=value ...] [--executor local|ray [--address ADDR]]
    debiaskit report [--profile P] [--json | --print]       # writes figures/REPORT*.md, prints a summary
    debiaskit nbval-prepare [--profile ci] [--out build/nbval]   # notebooks for CI's nbval run

``debiaskit COMMAND --help`` lists a command's options.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path

from debiaskit.companion.manifest import ManifestError, find_root, load_manifest
from debiaskit.companion.notebook_params import NotebookParameterError
from debiaskit.core.io import atomic_write_json, atomic_write_text

README_START, README_END = "<!-- artifacts:start -->", "<!-- artifacts:end -->"
PROFILE_HELP = ("the profile of papers.yaml to use (default: %(default)s; papers.yaml's are quick, ci and full; "
                "`debiaskit list` shows each artifact's)")


class UsageError(Exception):
    """A command-line value that only papers.yaml can judge (e.g. an unknown ``--profile``): reported like
    argparse's own errors, with the subcommand's usage and exit status 2."""


def known_profiles(m) -> list[str]:
    """Every profile that some notebook of papers.yaml defines, sorted."""
    return sorted({name for a in m.artifacts for name in a.profiles})


def _manifest(args):
    m = load_manifest(Path(args.manifest) if args.manifest else find_root() / "papers.yaml")
    profile = getattr(args, "profile", None)
    if profile is not None and profile not in (known := known_profiles(m)):
        raise UsageError(f"argument --profile: unknown profile {profile!r} (papers.yaml's profiles: "
                         f"{', '.join(known)})")
    return m


def cmd_list(args) -> int:
    m = _manifest(args)
    for p in m.papers:
        print(f"{p.id}: {p.title}")
        for a in p.artifacts:
            est = ", ".join(f"{k} ~{v:g} min" for k, v in a.estimated_minutes.items())
            print(f"  {a.id:<24} {a.kind:<6} {a.notebook.relative_to(m.root)}  [{', '.join(a.profiles)}] {est}")
    return 0


def cmd_validate(args) -> int:
    m = _manifest(args)
    n_claims = sum(len(a.claims) for a in m.artifacts)
    print(f"papers.yaml is valid: {len(m.papers)} papers, {len(m.artifacts)} artifacts, {n_claims} claims")
    return 0


def _parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--set expects name=value, got {item!r}")
        name, raw = item.split("=", 1)
        try:
            out[name] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[name] = raw
    return out


def report_files(m, profile: str) -> tuple[Path, Path]:
    """The report's markdown and JSON files for ``profile``: figures/REPORT.md and figures/report.json for quick,
    figures/REPORT-<profile>.md and figures/report-<profile>.json for the others."""
    name = "REPORT.md" if profile == "quick" else f"REPORT-{profile}.md"
    return m.root / "figures" / name, m.root / "figures" / name.replace(".md", ".json").lower()


def write_report(m, profile: str, written: list[Path] | None = None) -> dict:
    """Write the report files (and, for quick, README.md's artifact table); append their paths to ``written``."""
    from debiaskit.companion.report import artifact_table, build_report, to_markdown

    rep = build_report(m, profile)
    md, js = report_files(m, profile)
    atomic_write_text(md, to_markdown(rep))
    atomic_write_json(js, rep)
    paths = [md, js]
    readme = m.root / "README.md"
    if profile == "quick" and readme.exists():
        text = readme.read_text()
        if README_START in text and README_END in text:
            head, rest = text.split(README_START, 1)
            _, tail = rest.split(README_END, 1)
            atomic_write_text(readme, f"{head}{README_START}\n{artifact_table(m, rep)}\n{README_END}{tail}")
            paths.append(readme)
    if written is not None:
        written.extend(paths)
    return rep


def _rel(m, path: Path) -> str:
    path = Path(path)
    try:
        return str(path.relative_to(m.root))
    except ValueError:
        return str(path)


def claims_summary(m, rep: dict, written: list[Path]) -> list[str]:
    """A few lines for the terminal: the claims' counts, the files written, and each failed claim as ``artifact: claim
    id`` (those of the profile's own runs, then those checked on runs of the paper's protocol); the report has the
    claims' texts and checks."""
    c = rep["claims"]
    lines = [f"claims ({rep['profile']} profile): {c['held']} held, {c['failed']} failed, {c['not run']} not run",
             f"wrote {', '.join(_rel(m, p) for p in written)}"]
    failed = [(a["id"], cl) for p in rep["papers"] for a in p["artifacts"] for cl in a["claims"]
              if cl["status"] == "failed"]
    if failed:
        lines.append("failed claims:")
        lines += [f"  {art}: {cl['id']}" for art, cl in failed]
    protocol = [cl for cl in rep.get("protocol_claims") or [] if cl["status"] == "failed"]
    if protocol:
        lines.append("failed claims of the paper-protocol runs (not counted above):")
        lines += [f"  {cl['artifact']} [{cl['profile']}]: {cl['id']}" for cl in protocol]
    return lines


def _claims_exit(rep: dict) -> int:
    failed = rep["claims"]["failed"]
    if failed:
        print(f"exit 1: {failed} claim{'s' if failed != 1 else ''} failed", file=sys.stderr)
        return 1
    return 0


def cmd_reproduce(args) -> int:
    from tqdm.auto import tqdm

    from debiaskit.companion.reproduce import ReproduceError, execute, plan

    m = _manifest(args)
    overrides = _parse_sets(args.set or [])
    if overrides and not args.artifact:
        raise SystemExit("--set needs --artifact: parameters differ between notebooks")
    if args.executor == "ray":
        from debiaskit.companion.ray_executor import RAY_MISSING, available

        if not available():
            raise SystemExit(f"debiaskit: error: {RAY_MISSING}")
    if args.address and args.executor != "ray":
        raise SystemExit("--address is the Ray cluster's: give it with --executor ray")
    if overrides and len({m.artifact(a).notebook for a in args.artifact}) > 1:
        raise SystemExit("--set applies to one notebook: give --artifact only for artifacts of that notebook")
    runs = plan(m, args.profile, args.paper, args.artifact, overrides, args.force)
    todo = [r for r in runs if not r.up_to_date]
    total = sum(r.estimated_minutes for r in todo)
    print(f"{len(runs)} notebook run(s) for profile {args.profile!r}: {len(todo)} to run "
          f"(estimated {total:.1f} min), {len(runs) - len(todo)} up to date")
    for r in runs:
        state = "up to date" if r.up_to_date else f"run (~{r.estimated_minutes:g} min)"
        print(f"  {str(r.notebook.relative_to(m.root)):<48} {state:<18} {r.label}")
        if r.stale_because:
            print(f"      stale: {', '.join(r.stale_because)}")
    if args.dry_run:
        return 0
    build = m.root / "build"
    failures = []
    bar = tqdm(total=len(todo), desc="reproduce", unit="notebook")

    def finished(r, seconds: float | None, error: str | None, where: str = "") -> None:
        if error is None:
            tqdm.write(f"  done {r.label} in {seconds:.0f} s{where}")
        else:
            failures.append(r)
            tqdm.write(f"  FAILED {r.label}: {error}")
        bar.update(1)

    def one(r) -> None:
        try:
            finished(r, execute(r, m, build), None)
        except ReproduceError as exc:
            finished(r, None, str(exc))

    if args.executor == "ray":
        from debiaskit.companion import ray_executor

        ray_executor.execute_runs(todo, m, build, args.jobs,
                                  lambda r, seconds, error: finished(r, seconds, error, " (Ray)"), args.address)
    elif args.jobs > 1:
        # Each notebook runs in its own kernel process; one thread per kernel keeps the cores apart.
        from concurrent.futures import ThreadPoolExecutor

        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(one, sorted(todo, key=lambda r: -r.estimated_minutes)))
    else:
        for r in todo:
            bar.set_postfix_str(r.label)
            one(r)
    bar.close()
    written: list[Path] = []
    rep = write_report(m, args.profile, written)
    for line in claims_summary(m, rep, written):
        print(line)
    for line in _outputs(m, runs, [r for r in todo if r not in failures], build, args.profile):
        print(line)
    if failures:
        print(f"exit 2: {len(failures)} notebook(s) failed (see FAILED above)", file=sys.stderr)
        return 2
    return _claims_exit(rep)


def _outputs(m, runs, executed, build: Path, profile: str) -> list[str]:
    """Where a reproduce run's outputs went: the results' folders, the executed notebooks (``executed``: the runs
    that ran and succeeded), and the paired notebooks that took the quick profile's outputs."""
    from debiaskit.companion.artifacts import result_path
    from debiaskit.companion.notebook_params import notebook_parameters

    folders = sorted({_rel(m, result_path(m.root, a, profile).parent) + "/" for r in runs for a in r.artifacts})
    lines = ["outputs:", f"  results and figures: {', '.join(folders)}"]
    if executed:
        lines.append(f"  executed notebooks: {_rel(m, build / profile / 'executed')}/ ({len(executed)} this run)")
        if profile == "quick":  # reproduce.execute pairs the quick profile's outputs when no parameter is overridden
            paired = [r.notebook.with_suffix(".ipynb") for r in executed if r.params == notebook_parameters(r.notebook)]
            if paired:
                lines.append(f"  paired notebooks (quick outputs): {', '.join(_rel(m, p) for p in paired)}")
    return lines


def cmd_report(args) -> int:
    m = _manifest(args)
    written: list[Path] = []
    rep = write_report(m, args.profile, written)
    if args.json:
        print(json.dumps(rep, indent=2))
    elif args.print:
        from debiaskit.companion.report import to_markdown

        print(to_markdown(rep))
    else:
        for line in claims_summary(m, rep, written):
            print(line)
    return _claims_exit(rep)


def cmd_nbval_prepare(args) -> int:
    from debiaskit.companion.nbval_prep import prepare

    m = _manifest(args)
    out = Path(args.out) if args.out else m.root / "build" / "nbval"
    paths = prepare(m, args.profile, out)
    print(f"{len(paths)} notebook(s) with the {args.profile!r} profile's parameters in {out}")
    return 0


def _campaign_doc() -> tuple[str, str]:
    from debiaskit.companion import campaign

    parts = campaign.__doc__.split("\n\n")
    return parts[0], parts[-1]


def _campaign_arguments(parser: argparse.ArgumentParser) -> None:
    from debiaskit.companion.campaign import add_arguments

    add_arguments(parser)


def cmd_campaign(args) -> int:
    from debiaskit.companion.campaign import run_from_arguments

    root = Path(args.manifest).resolve().parent if args.manifest else None
    return run_from_arguments(args, root=root)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="debiaskit", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", help="path to papers.yaml (default: the enclosing checkout's)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list papers and artifacts").set_defaults(func=cmd_list)
    sub.add_parser("validate", help="validate papers.yaml and the notebooks' parameters").set_defaults(func=cmd_validate)
    rp = sub.add_parser("reproduce", help="regenerate artifacts with papermill")
    rp.add_argument("--paper", action="append", help="only this paper's artifacts (repeatable)")
    rp.add_argument("--artifact", action="append", help="only this artifact (repeatable; wins over --paper)")
    rp.add_argument("--profile", default="quick", help=PROFILE_HELP)
    rp.add_argument("--force", action="store_true", help="re-run even when results are up to date")
    rp.add_argument("--dry-run", action="store_true", help="print the plan and estimated time only")
    rp.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default 1)")
    rp.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a notebook parameter")
    rp.add_argument("--executor", choices=("local", "ray"), default="local",
                    help="local: notebooks in this machine's kernels, models in a process pool (default); ray: notebooks "
                         "and model trainings as Ray tasks (pip install 'debiaskit[ray]')")
    rp.add_argument("--address", help="with --executor ray: the cluster to join (default: $RAY_ADDRESS, else a local one)")
    rp.set_defaults(func=cmd_reproduce, parser=rp)
    rep = sub.add_parser("report", help="paper vs reproduced, and every claim's status")
    rep.add_argument("--profile", default="quick", help=PROFILE_HELP)
    out = rep.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the whole report as JSON")
    out.add_argument("--print", action="store_true",
                     help="print the whole markdown report (default: a short summary; the files are written either way)")
    rep.set_defaults(func=cmd_report, parser=rep)
    cp = sub.add_parser("campaign", help="measure the full profile's next cells within a time limit (no Jupyter needed)",
                        description=_campaign_doc()[0], epilog=_campaign_doc()[1],
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _campaign_arguments(cp)
    cp.set_defaults(func=cmd_campaign, parser=cp)
    nv = sub.add_parser("nbval-prepare", help="write every notebook with a profile's parameters, for nbval")
    nv.add_argument("--profile", default="ci", help=PROFILE_HELP)
    nv.add_argument("--out", help="output folder (default: build/nbval)")
    nv.set_defaults(func=cmd_nbval_prepare, parser=nv)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:  # as argparse reports its own errors: the subcommand's usage, then the error
        args.parser.print_usage(sys.stderr)
        print(f"{args.parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except (ManifestError, NotebookParameterError, KeyError, ValueError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"debiaskit: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
