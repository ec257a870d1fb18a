"""Benchmark: full patch attribution of 128 x 128 images with the paper's region classifier.

Compares, in one run and on the same images and weights,

* **batched**: every patch cut out by one ``unfold``, classified in large batches, and the pixel map of
  Algorithm 1 as one transposed convolution (``debiaskit.patchattr.attribution``);
* **loop**: a Python loop over the 2401 positions, cropping and classifying one patch at a time, then
  Algorithm 1 exactly as written (``algorithm1_loop``).

The region classifier is the authors' CIFAR-style ResNet-18 on 4 input channels (3 colours + the position
embedding), untrained (timing does not depend on the weights). Each method runs in a fresh subprocess so
that its peak resident memory (``ru_maxrss``) is its own. The loop can be timed on the first
``--loop-positions`` positions of each image and extrapolated (the positions all cost the same); the maps
are compared on those positions, and the loop's pixel map is built from the batched region map.

    python benchmarks/patch_attribution.py --images 2 --loop-positions 300
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def _setup(images: int, seed: int, threads: int | None):
    from debiaskit.patchattr.grid import PatchGrid
    from debiaskit.patchattr.region_model import RegionClassifier

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    grid = PatchGrid(128, 32, 49)
    model = RegionClassifier(grid, num_classes=2, backbone="resnet18").eval()
    x = torch.rand(images, 3, 128, 128, generator=torch.Generator().manual_seed(seed))
    return grid, model, x


def run_method(method: str, images: int, batch_size: int, loop_positions: int, seed: int, threads: int | None) -> dict:
    """Time one method; returns seconds, peak RSS (MiB) and the maps it produced (as lists)."""
    from debiaskit.patchattr.attribution import pixel_maps, region_maps
    from debiaskit.patchattr.confidence import negative_entropy

    grid, model, x = _setup(images, seed, threads)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with torch.inference_mode():
        model(grid.crop(x[:1], torch.tensor([0])), torch.tensor([0]))  # warm-up
        start = time.perf_counter()
        if method == "batched":
            region = region_maps(model, x, grid, negative_entropy, batch_size)
            pixel = pixel_maps(region, grid)
            seconds = time.perf_counter() - start
            out = {"region": region.flatten(1)[:, :loop_positions].tolist(), "pixel": pixel.tolist(),
                   "region_full": region.tolist()}
            positions_done = grid.positions
        else:
            n_pos = min(loop_positions, grid.positions)
            conf = torch.zeros(images, n_pos)
            locations = grid.locations()
            for n in range(images):
                for i in range(n_pos):
                    px, py = locations[i]
                    patch = x[n:n + 1, :, py:py + grid.patch, px:px + grid.patch]
                    conf[n, i] = negative_entropy(model(patch, torch.tensor([i])))[0]
            seconds = time.perf_counter() - start
            out = {"region": conf.tolist()}
            positions_done = n_pos
    per_image = seconds / images * grid.positions / positions_done
    return {"method": method, "seconds_per_image": per_image, "images_per_second": 1.0 / per_image,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_mib": base_rss, "threads": torch.get_num_threads(), **out}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=1024, help="patches per forward pass (batched method)")
    p.add_argument("--loop-positions", type=int, default=2401, help="positions per image timed in the loop")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--method", choices=["batched", "loop"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.method:  # child process: run one method, print JSON
        print(json.dumps(run_method(args.method, args.images, args.batch_size, args.loop_positions, args.seed,
                                    args.threads)))
        return
    results = {}
    for method in ("batched", "loop"):
        cmd = [sys.executable, __file__, "--method", method, "--images", str(args.images), "--batch-size",
               str(args.batch_size), "--loop-positions", str(args.loop_positions), "--seed", str(args.seed)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        results[method] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    from debiaskit.patchattr.attribution import algorithm1_loop
    from debiaskit.patchattr.grid import PatchGrid

    grid = PatchGrid(128, 32, 49)
    fast_region = torch.tensor(results["batched"]["region"])
    slow_region = torch.tensor(results["loop"]["region"])
    region_diff = float((fast_region - slow_region).abs().max())
    full = torch.tensor(results["batched"]["region_full"])
    fold = torch.tensor(results["batched"]["pixel"])
    loop_pixel = torch.stack([algorithm1_loop(full[n].flatten(), grid.locations(), grid.patch, grid.image)
                              for n in range(len(full))])
    pixel_diff = float((fold - loop_pixel).abs().max())
    b, l = results["batched"], results["loop"]
    print(f"| method | images/s | s/image | peak RSS (MiB) | threads |\n|---|---|---|---|---|")
    for r in (b, l):
        print(f"| {r['method']} | {r['images_per_second']:.4f} | {r['seconds_per_image']:.1f} | {r['peak_rss_mib']:.0f} | {r['threads']} |")
    print(f"\nspeed-up batched / loop: {l['seconds_per_image'] / b['seconds_per_image']:.1f}x; "
          f"max |region map difference| over {slow_region.shape[1]} positions x {len(slow_region)} images: {region_diff:.2e}; "
          f"max |fold - Algorithm 1 loop| pixel maps: {pixel_diff:.2e}")


if __name__ == "__main__":
    main()
