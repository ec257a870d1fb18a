"""The campaign's time estimate against the cells it would have estimated: probe each stored cell's code now
(:func:`debiaskit.companion.estimate.probe_rate`) and set the estimate beside the cell's measured wall and CPU time.

Only cells measured on this kind of device are compared (a GPU cell against a CPU probe says nothing). A probe runs
one thread, as the campaign's cells here did; run it on a machine about as busy as when the cells ran (their
``cpu_seconds`` against ``seconds`` says how busy that was)::

    DEBIASKIT_DATA=/path/to/data python benchmarks/estimate_vs_measured.py [--cells 'cm99_s0_*'] [--threads 1]
"""

from __future__ import annotations

import argparse
import fnmatch
from pathlib import Path

from debiaskit.companion.cells import current_records, load_cells
from debiaskit.companion.campaign import full_parameters
from debiaskit.companion.estimate import device_kind, probe_rate
from debiaskit.companion.manifest import load_manifest
from debiaskit.companion.provenance import device_description
from debiaskit.experiments.cells import Table1Cell

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["*"], help="cell keys or patterns (default: every stored cell)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    manifest = load_manifest(ROOT / "papers.yaml")
    kind = device_kind(device_description())
    records = [r for r in current_records(load_cells(ROOT, "pgd/table1"), full_parameters(manifest, "pgd/table1"))
               if any(fnmatch.fnmatchcase(r["key"], p) for p in args.cells)
               and device_kind(r["provenance"].get("device")) == kind]
    print(f"| cell | estimate min | measured wall min | measured CPU min | estimate / wall | estimate / CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in records:
        rate = probe_rate(Table1Cell(**r["cell"]), r["settings"], threads=args.threads)
        estimate = rate.seconds(int(r["settings"]["train"].get("epochs", 1))) / 60
        wall, cpu = r["provenance"]["seconds"] / 60, (r["provenance"].get("cpu_seconds") or 0) / 60
        print(f"| {r['key']} | {estimate:.1f} | {wall:.1f} | {cpu:.1f} | {estimate / wall:.2f} | "
              + (f"{estimate / cpu:.2f} |" if cpu else "– |"), flush=True)


if __name__ == "__main__":
    main()
