"""One cell of Table 1 under the full protocol, without papermill: Colored MNIST at |M|/|D| = 99%, Vanilla and PGD,
one seed, with the settings of ``pgd/table1``'s ``spot`` profile in ``papers.yaml`` (Table 4's CM column: all
54,000 training images, 100 epochs, batch 256, lr 0.01 with x0.001 at 20/40/60/80%). It writes the validation,
majority and minority accuracies beside the paper's means, the seconds per model and the device as JSON.

This is what ``debiaskit reproduce --artifact pgd/table1 --profile spot`` computes for its two cells, for a machine
that has torch but no Jupyter (``benchmarks/gpu_check.sh`` runs it on a GPU). ``--n-train`` and ``--epochs``
shrink it for a smoke test; ``--methods`` and ``--setting`` run another reading of Table 4 (for instance its
"LR decay 0.001" read as x0.1 per milestone) for the same cell.

    python benchmarks/full_protocol_cell.py --out build/cm99_full.json [--n-train 2000 --epochs 1]
    python benchmarks/full_protocol_cell.py --out build/cm99_decay01.json --methods vanilla --setting lr_decay=0.1
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--n-train", type=int, default=None, help="MNIST training images (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epochs (smoke tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=None, help="a subset of the profile's methods")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="override one of the profile's train_settings (YAML value), e.g. lr_decay=0.1")
    args = parser.parse_args()

    import torch
    import yaml

    from debiaskit.companion.manifest import find_root, load_manifest
    from debiaskit.core.training import evaluate
    from debiaskit.experiments.benchmarks import build_benchmark
    from debiaskit.experiments.runs import train_config, trained_model
    from debiaskit.experiments.suite import value_key

    art = load_manifest(find_root() / "papers.yaml").artifact("pgd/table1")
    spot = art.profiles["spot"]
    dataset, ratio = spot["datasets"][0], spot["bias_ratios"][0]
    settings = dict(spot["train_settings"][dataset])
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    for item in args.setting:
        name, sep, value = item.partition("=")
        if not sep or name not in settings:
            parser.error(f"--setting {item!r}: expected NAME=VALUE with NAME one of {sorted(settings)}")
        settings[name] = yaml.safe_load(value)
    methods = args.methods or spot["methods"]
    if unknown := set(methods) - set(spot["methods"]):
        parser.error(f"--methods: {sorted(unknown)} not in the spot profile's {spot['methods']}")
    cfg = train_config(settings, seed=args.seed)
    bench = build_benchmark(dataset, ratio, seed=args.seed, n_train=args.n_train, n_test=spot.get("n_test"))
    print(bench.describe(), flush=True)
    rows = {}
    for method in methods:
        start = time.perf_counter()
        model = trained_model(method, bench, cfg, spot.get("method_options", {}).get(method), progress=True)
        seconds = time.perf_counter() - start
        test = evaluate(model, bench.test)
        cells = {"val": evaluate(model, bench.val)["acc"], "major": test["major"], "minor": test["minor"]}
        for metric, value in cells.items():
            key = value_key(dataset, ratio, method, metric)
            rows[key] = {"reproduced": round(value, 2), "paper": art.paper_values.get(key)}
        rows[f"{method}_seconds"] = round(seconds, 1)
        print(f"{method}: {', '.join(f'{m} {v:.2f}' for m, v in cells.items())} in {seconds:.0f} s", flush=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or platform.machine()
    doc = {"artifact": "pgd/table1", "profile": "spot", "settings": settings, "n_train": len(bench.train),
           "device": device, "torch": torch.__version__, "cells": rows,
           "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1))
    print(json.dumps(doc["cells"], indent=1))


if __name__ == "__main__":
    main()
