"""Every artifact's ``full``-profile minutes, derived from training steps measured on this machine.

For each notebook, ``benchmarks/full_plans`` lists the trainings its ``full`` parameters imply (network, input
shape, images, epochs, batch, method; computed from the parameters, so they follow profile edits). This script
measures, in one run on the given device:

* the training time per image (``debiaskit.core.training.train``: augmentation, dropout, SGD) of every network and
  input shape the plans name, at batch 256 (the larger networks at 32-64; a step is taken as linear in the batch);
* each de-biasing method's cost relative to Vanilla (``run_method`` on 2,048 Colored-MNIST-shaped images, two
  epochs), since LfF, ReBias, RUBi and LearnedMixin train two networks per step and PGD trains a GCE model and
  scores every sample first.

A notebook's estimate is the sum over its trainings of count x epochs x ceil(images / batch) x step time x the
method's factor, one model at a time in one process (the process pool or packing on a GPU shortens it). Work
that is not a training (method ``other``: scoring passes, attribution maps) is counted as forward passes at a
third of a step per image; heads on stored features (``head``) are ignored. ``--write`` puts the figures into
``papers.yaml`` (``estimated_minutes.full`` of every artifact of the notebook) and the table into
``benchmarks/full_profile_minutes.md``.

Usage::

    python benchmarks/full_profile_minutes.py [--device cpu] [--threads 2] [--write]
"""

from __future__ import annotations

import argparse
import math
import platform
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "full_plans"))

METHOD_NAMES = ("vanilla", "gce", "pgd", "lff", "rebias", "rubi", "learned_mixin", "aflite", "repair")
FORWARD_SHARE = 1 / 3
"""Method ``other``: one image's forward pass taken as a third of its share of a training step (an assumption)."""


def all_plans() -> dict:
    import others
    import pgd_a
    import pgd_b

    return {**pgd_a.PLANS, **pgd_b.PLANS, **others.PLANS}


def _network(arch: str, shape: tuple[int, int, int]):
    from torch import nn

    from debiaskit.core.models import resnet18, simple_convnet1, simple_convnet2
    from debiaskit.patchattr.gender import gender_cnn
    from debiaskit.patchattr.region_model import cifar_resnet18

    c = shape[0]
    builders = {"simple_convnet1": lambda: simple_convnet1(c, 10), "simple_convnet2": lambda: simple_convnet2(c, 4),
                "resnet18": lambda: resnet18(2), "cifar_resnet18": lambda: cifar_resnet18(c, 2),
                "gender_cnn": lambda: gender_cnn(shape[1], c, 2),
                "linear_head": lambda: nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), 2))}
    if arch not in builders:
        raise KeyError(f"no step measurement for network {arch!r}; add it to _network")
    return builders[arch]()


REFERENCE_BATCH = {"resnet18": 32, "cifar_resnet18": 64, "gender_cnn": 64}
"""Batch at which a network's per-image training time is measured (256 for the rest); a step of batch b is
taken as b times that (large networks on a CPU are near-linear in the batch)."""


def image_seconds(arch: str, shape: tuple[int, int, int], device: str, steps: int = 4) -> float:
    """Seconds per image of a training step (``debiaskit.core.training.train``: augmentation of RGB inputs, dropout
    where the network has it, SGD), measured over ``steps`` steps after one warm-up step."""
    import torch

    from debiaskit.core.augment import AugmentConfig
    from debiaskit.core.training import TrainConfig, train

    batch = REFERENCE_BATCH.get(arch, 256)
    n = batch * steps
    image = len(shape) == 3 and shape[0] == 3 and arch != "linear_head"
    x = (torch.rand(n, *shape) * 255).to(torch.uint8) if image else torch.rand(n, *shape)
    y = torch.randint(0, 2, (n,))
    augment = AugmentConfig() if image else None
    cfg = TrainConfig(epochs=1, batch_size=batch, device=device, precise_bn=False, augment=image)
    train(_network(arch, shape), (x[:batch], y[:batch]), cfg, augment=augment, progress=False)  # warm-up
    start = time.perf_counter()
    train(_network(arch, shape), (x, y), cfg, augment=augment, progress=False)
    return (time.perf_counter() - start) / n


def method_factors(device: str) -> dict[str, float]:
    """Each method's training time over Vanilla's, same data and settings (PGD without its GCE model)."""
    import torch

    from debiaskit.baselines import run_method
    from debiaskit.baselines.biased_model import train_biased_model
    from debiaskit.core.models import simple_convnet1
    from debiaskit.core.splits import BiasedSplit
    from debiaskit.core.training import TrainConfig

    g = torch.Generator().manual_seed(0)
    n = 2048
    y = torch.randint(0, 10, (n,), generator=g)
    bias = torch.where(torch.rand(n, generator=g) < 0.95, y, torch.randint(0, 10, (n,), generator=g))
    x = (torch.rand(n, 3, 28, 28, generator=g) * 200).to(torch.uint8)
    split = BiasedSplit(x, y, bias)
    cfg = TrainConfig(epochs=2, batch_size=256, device=device)
    model_fn = lambda: simple_convnet1(3, 10)  # noqa: E731
    seconds = {}
    for method in METHOD_NAMES:
        start = time.perf_counter()
        if method == "gce":
            train_biased_model(model_fn, split, cfg, loss="gce", progress=False)
        else:
            options = {"feature_model": run_method("vanilla", model_fn, split, cfg, progress=False).model} \
                if method == "aflite" else {}
            start = time.perf_counter()
            run_method(method, model_fn, split, cfg, progress=False, **options)
        seconds[method] = time.perf_counter() - start
    factors = {m: s / seconds["vanilla"] for m, s in seconds.items()}
    # the plans list PGD's GCE model and its scoring pass on their own, REPAIR as two trainings (weights, then
    # REPAIR-S) and AFLite as its filtering pass plus a plain retrain of the filtered set
    factors["pgd"] = max(factors["pgd"] - factors["gce"], 0.0)
    factors["repair"] /= 2
    factors["aflite"] = 1.0
    return factors


def estimate(plan: list, per_image: dict, factors: dict) -> float:
    """Minutes of one notebook's trainings, one at a time."""
    total = 0.0
    for t in plan:
        if t.method == "head":
            continue
        images = math.ceil(t.n_images / t.batch) * t.batch  # the last batch is padded in time, not in data
        factor = FORWARD_SHARE if t.method == "other" else factors.get(t.method, 1.0)
        total += t.count * t.epochs * images * per_image[(t.arch, tuple(t.image_shape))] * factor
    return total / 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="update papers.yaml and benchmarks/full_profile_minutes.md")
    args = ap.parse_args()
    import torch

    from debiaskit.companion.manifest import load_manifest
    from debiaskit.companion.reproduce import run_parameters

    torch.set_num_threads(args.threads)
    manifest = load_manifest(ROOT / "papers.yaml")
    plans = all_plans()
    notebooks: dict[str, list] = {}
    for art in manifest.artifacts:
        rel = str(art.notebook.relative_to(ROOT))
        if "full" in art.profiles and rel in plans:
            notebooks.setdefault(rel, []).append(art)
    trainings = {nb: plans[nb](run_parameters(arts[0], "full")) for nb, arts in notebooks.items()}
    shapes = sorted({(t.arch, tuple(t.image_shape)) for plan in trainings.values() for t in plan if t.method != "head"})
    per_image = {}
    for key in shapes:
        per_image[key] = image_seconds(*key, device=args.device)
        print(f"{key[0]} {key[1]}: {per_image[key] * 1e3:.3f} ms per image", flush=True)
    factors = method_factors(args.device)
    print("method factors:", {m: round(f, 2) for m, f in factors.items()}, flush=True)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.machine()} CPU"
    lines = [f"# Full-profile minutes, derived from step times measured on {device}, {args.threads} threads, {when}", "",
             "One model at a time in one process; `benchmarks/full_profile_minutes.py` (its docstring says how).", "",
             "| network, input | measured at batch | ms per image (training step) |", "|---|---:|---:|"]
    lines += [f"| {a} {tuple(s)} | {REFERENCE_BATCH.get(a, 256)} | {per_image[(a, s)] * 1e3:.3f} |" for a, s in shapes]
    lines += ["", "Method cost over Vanilla (same data and settings): "
              + ", ".join(f"{m} {f:.2f}" for m, f in factors.items()), "",
              "| notebook | trainings | estimated minutes (full) |", "|---|---:|---:|"]
    minutes = {}
    for nb, plan in trainings.items():
        minutes[nb] = estimate(plan, per_image, factors)
        lines.append(f"| `{nb}` | {sum(t.count for t in plan if t.method != 'other')} | {minutes[nb]:,.0f} |")
    lines += ["", f"Total: {sum(minutes.values()):,.0f} minutes ({sum(minutes.values()) / 60:,.1f} hours)."]
    lines += _cell_check(manifest, plans, per_image, factors)
    print("\n".join(lines))
    if args.write:
        (ROOT / "benchmarks" / "full_profile_minutes.md").write_text("\n".join(lines) + "\n")
        _write_yaml(ROOT / "papers.yaml", minutes)


def _cell_check(manifest, plans: dict, per_image: dict, factors: dict) -> list[str]:
    """The same estimate for each stored full-protocol cell of Table 1 (its selection of the full profile), beside the
    minutes it took: a check of the estimator against measured runs of the paper's protocol."""
    from debiaskit.companion.cells import load_cells
    from debiaskit.companion.reproduce import run_parameters

    out = []
    art = manifest.artifact("pgd/table1")
    rel = str(art.notebook.relative_to(ROOT))
    for r in load_cells(manifest.root, art.id):
        c, prov = r["cell"], r["provenance"]
        params = {**run_parameters(art, "full"), "datasets": [c["dataset"]], "bias_ratios": [c["bias_ratio"]],
                  "seeds": [c["seed"]], "methods": [c["method"]],
                  "train_settings": {c["dataset"]: r["settings"]["train"]}}
        estimate_min = estimate(plans[rel](params), per_image, factors)
        out += ["", f"Check: cell `{r['key']}` of `{art.id}` (the paper's protocol): estimated {estimate_min:,.0f} min "
                    f"one model at a time; measured {prov['seconds'] / 60:,.0f} min on {prov.get('device') or '?'} "
                    f"({(prov.get('finished') or '')[:10]}; {r['settings']['train']})."]
    return out


def _write_yaml(path: Path, minutes: dict[str, float]) -> None:
    """Replace ``full: N`` in each notebook entry's ``estimated_minutes`` line (``minutes`` by notebook path), keeping
    the file's layout."""
    text = path.read_text()
    out, current = [], None
    for line in text.splitlines(keepends=True):
        m = re.match(r"\s*- path: (\S+)", line)
        if m:
            current = m.group(1)
        if current in minutes and line.strip().startswith("estimated_minutes:"):
            value = minutes[current]
            rounded = round(value, 1) if value < 10 else round(value)
            line = re.sub(r"full: [0-9.]+", f"full: {rounded:g}", line)
        out.append(line)
    path.write_text("".join(out))


if __name__ == "__main__":
    main()
