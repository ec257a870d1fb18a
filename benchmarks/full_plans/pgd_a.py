"""Full-profile training plans of nine PGD notebooks (group "pgd_a").

Each ``plan_*`` function takes a notebook's merged parameters (the defaults of its ``parameters`` cell updated
with the ``full`` profile dict of its artifacts in papers.yaml) and returns the network trainings that the
notebook performs under them, as :class:`common.Training` records (one per distinct kind, with a count).

Sizes, read from lib/debiaskit (2026-12 tree), not from running anything:

* Colored MNIST (data/colored_mnist.py): the 60,000 MNIST training images (or ``n_train`` of them), of which
  ``val_fraction`` = 10% is held out (core/splits.py ``split_validation``: ``n - round(0.1 n)``), so 54,000
  training images at full size; images 3x28x28.
* Watermarked MNIST (data/watermarked_mnist.py): the same MNIST split, each digit upscaled to a 56x56 canvas with a
  Fashion-MNIST watermark: 54,000 training images of 1x56x56.
* Every network of these notebooks is Simple ConvNet-1 (experiments/analysis_runs.py and experiments/runs.py default
  ``model="simple_convnet1"``; experiments/runs.py ``model_factory``: Simple ConvNet-1 for the MNIST variants).
* ``TrainConfig`` defaults (training.py) are Table 4's: 100 epochs, batch 256; settings dicts override them.

Conventions: cached models read several times in one notebook are counted once; models shared with other
notebooks through the cache are listed anyway. PGD is split into its GCE-biased model ("gce") and its de-biased
training ("pgd"). Joint two-network methods (LfF, ReBias, RUBi, LearnedMixin+H) are one training each, with two
networks updated per step (said in the note). REPAIR is two sequential trainings (weight learning, then REPAIR-S on
the resampled set); AFLite is its linear probes ("head") plus the final training on the filtered set. Heavy
non-training work (per-sample gradients of all parameters over the training set; loss-landscape grids) is listed
with method "other", epochs=1 and n_images = the images passed (for landscapes: grid points x images).
"""
from __future__ import annotations

import math

from common import Training

MNIST_TRAIN = 60_000
MNIST_CLASS01_SHARE = (5_923 + 6_742) / 60_000  # MNIST train: 5,923 zeros and 6,742 ones (Figure 4a/b uses 0 and 1)
CM_SHAPE = (3, 28, 28)
WM_SHAPE = (1, 56, 56)
ARCH = "simple_convnet1"
TC_DEFAULTS = {"epochs": 100, "batch_size": 256}  # debiaskit.core.training.TrainConfig defaults


def mnist_train_size(n_train, val_fraction: float = 0.1) -> int:
    """Training images of CM / WM built from ``n_train`` MNIST images (None: all 60k) minus the validation split."""
    n = MNIST_TRAIN if n_train is None else min(int(n_train), MNIST_TRAIN)
    return n - int(round(val_fraction * n))


def _settings(params: dict) -> tuple[int, int]:
    """(epochs, batch) of a ``train_settings`` dict, with TrainConfig's defaults for missing keys."""
    ts = {**TC_DEFAULTS, **(params.get("train_settings") or {})}
    return int(ts["epochs"]), int(ts["batch_size"])


def _uniq(values) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Suite methods (experiments/runs.py trained_model), shared by cm_analysis and fig15_cam
# ----------------------------------------------------------------------------------------------------------------

def _suite_method(method: str, options: dict | None, shape, n: int, epochs: int, batch: int, count: int,
                  where: str, has_vanilla: bool) -> list[Training]:
    """Trainings of one suite method (baselines/<method>.py fit), ``count`` times (seeds)."""
    options = dict(options or {})
    tr = lambda arch, m, n_img, note, ep=epochs, b=batch, c=count: Training(arch, shape, n_img, ep, b, m, c, note)
    if method == "vanilla":
        return [tr(ARCH, "vanilla", n, f"{where}: Vanilla (CE)")]
    if method in ("lff", "rebias", "rubi"):
        label = {"lff": "LfF (f_B with GCE + f_D, two ConvNet-1 per step)",
                 "rebias": "ReBias (f and g jointly, two ConvNet-1 per step, HSIC)",
                 "rubi": "RUBi (main + bias branch, two ConvNet-1 per step)"}[method]
        return [tr(ARCH, method, n, f"{where}: {label}")]
    if method == "learned_mixin":
        joint = options.get("biased_model") is None
        return [tr(ARCH, "learned_mixin", n, f"{where}: LearnedMixin+H" + (" (main + bias model jointly, two ConvNet-1"
                                                                          " per step)" if joint else ""))]
    if method == "repair":
        wcfg = options.get("weight_cfg") or {}
        w_ep = int(wcfg.get("epochs", epochs)) if isinstance(wcfg, dict) else epochs
        w_b = int(wcfg.get("batch_size", batch)) if isinstance(wcfg, dict) else batch
        return [tr(ARCH, "repair", n, f"{where}: REPAIR weight learning (classifier + per-sample weights, min-max)",
                   ep=w_ep, b=w_b),
                tr(ARCH, "repair", n, f"{where}: REPAIR-S retraining on the resampled set (size data-dependent; "
                                      "n_images is the upper bound)")]
    if method == "aflite":
        out = []
        pool = n
        if options.get("features") == "vanilla":
            if not has_vanilla:  # trained_model('vanilla', ...) is cached under the same key as the Vanilla row
                out.append(tr(ARCH, "vanilla", n, f"{where}: AFLite's Vanilla feature model"))
        elif options.get("feature_model") is None:
            n_feat = max(1, int(round(float(options.get("feature_fraction", 0.1)) * n)))
            fcfg = options.get("feature_cfg") or {}
            out.append(tr(ARCH, "vanilla", n_feat, f"{where}: AFLite's CE feature model on a held-out slice",
                          ep=int(fcfg.get("epochs", epochs)), b=int(fcfg.get("batch_size", batch))))
            pool = n - n_feat
        target = min(max(1, int(round(float(options.get("target_fraction", 0.2)) * n))), pool)
        slice_size = options.get("slice_size", 0.05)
        k = max(int(round(slice_size * pool)) if slice_size < 1 else int(slice_size), 1)
        rounds = math.ceil((pool - target) / k) if pool > target else 0
        if rounds:
            sizes = [max(pool - i * k, target) for i in range(rounds)]
            probes = int(options.get("num_partitions", 64))
            out.append(Training("linear_probe", (64, 1, 1), int(round(sum(sizes) / rounds)), 100,
                                int(round(sum(sizes) / rounds)), "head", count * rounds,
                                f"{where}: AFLite filter rounds (count = seeds x up to {rounds} rounds, early stop "
                                f"possible): each fits {probes} L2 logistic regressions jointly (one L-BFGS, max_iter "
                                "100, full batch, float64) on the 64-d features of the current set (epochs = L-BFGS "
                                "iterations; n_images = mean set size over the rounds)"))
        out.append(tr(ARCH, "aflite", target, f"{where}: AFLite final training on the filtered set (nominal size = "
                                              "target_fraction; more if the filter stops early)"))
        return out
    if method == "pgd":
        bcfg = options.get("biased_cfg") or {}
        b_ep = int(bcfg.get("epochs", epochs)) if isinstance(bcfg, dict) else epochs
        b_b = int(bcfg.get("batch_size", batch)) if isinstance(bcfg, dict) else batch
        variant = options.get("preset", "draft")
        pub = variant == "published"
        return [tr(ARCH, "gce", n, f"{where}: PGD's GCE-biased model (raw mini-batches)", ep=b_ep, b=b_b),
                tr(ARCH, "pgd", n, f"{where}: PGD de-biased ({variant} preset" +
                   (": with-replacement sampling by last-layer gradient norm, started from the GCE model)" if pub
                    else ": Algorithm 1 resampling)"))]
    raise ValueError(f"unknown suite method {method!r}")


# ----------------------------------------------------------------------------------------------------------------
# The notebooks
# ----------------------------------------------------------------------------------------------------------------

def plan_fig2(params: dict) -> list[Training]:
    """Figure 2. The cell "Train a Vanilla model per minority ratio and seed" calls ``trained_model("vanilla", ...)`` (experiments/runs.py) on
    ``colored_mnist(1 - ratio / 100, ...)`` for every minority ratio and seed."""
    n = mnist_train_size(params["n_train"])
    count = len(_uniq(params["minority_ratios"])) * len(_uniq(params["seeds"]))
    return [Training(ARCH, CM_SHAPE, n, int(params["epochs"]), int(params["batch_size"]), "vanilla", count,
                     "Figure 2: Vanilla per minority ratio x seed (CM, shared with Figure 3 where ratios match)")]


def plan_fig3(params: dict) -> list[Training]:
    """Figure 3. The second code cell trains (or reads) one Vanilla ``trained_model`` per bias ratio at one ``seed``; the
    same cache entries as Figure 2's models of the same ratio and seed."""
    n = mnist_train_size(params["n_train"])
    return [Training(ARCH, CM_SHAPE, n, int(params["epochs"]), int(params["batch_size"]), "vanilla",
                     len(_uniq(params["bias_ratios"])), "Figure 3: Vanilla per bias ratio (CM), seed `seed`")]


def plan_analysis_gradients(params: dict) -> list[Training]:
    """Figures 4 and 14. Cell "The biased models and their per-sample gradients" trains a GCE-biased model and runs
    ``gradient_profile`` (all-parameter per-sample gradients) per ratio in bias_ratios + matrix_ratio; the Figure 14
    loop does the same for every other seed of ``matrix_seeds``; the Figure 4(a, b) cell computes loss landscapes."""
    n = mnist_train_size(params["n_train"])
    ep, b = int(params["biased_epochs"]), int(params["batch_size"])
    ratios = _uniq(sorted(set(params["bias_ratios"]) | {params["matrix_ratio"]}))
    other_seeds = [s for s in _uniq(params["matrix_seeds"]) if s != params["seed"]]
    n_models = len(ratios) + len(other_seeds)
    out = [Training(ARCH, CM_SHAPE, n, ep, b, "gce", n_models,
                    f"Figs 4/14: GCE-biased model per ratio {ratios} (seed {params['seed']}) and at "
                    f"{params['matrix_ratio']} per other matrix seed {other_seeds}"),
           Training(ARCH, CM_SHAPE, n, 1, 512, "other", n_models,
                    f"gradient_profile: per-sample gradients of all parameters (vmap, two passes: statistics + top-"
                    f"{params['k']} gather) over the whole training set, one per biased model")]
    # Figure 4(a, b): 4 landscapes on the matrix_ratio set, classes landscape_classes; steps^2 grid points + 2 evals
    share = MNIST_CLASS01_SHARE if list(params.get("landscape_classes", [0, 1])) == [0, 1] else \
        len(params["landscape_classes"]) / 10
    n_minor = int(round((1 - params["matrix_ratio"]) * n * share))
    n_major = int(round(params["matrix_ratio"] * n * share))
    panel_images = 1 + 1 + min(int(params["landscape_set_size"]), n_major) + n_minor
    evals = int(params["landscape_steps"]) ** 2 + 2
    out.append(Training(ARCH, CM_SHAPE, evals * panel_images, 1, 1024, "other", 1,
                        f"Figure 4a/b loss landscapes: {params['landscape_steps']}^2 grid (+2) forward evaluations of "
                        f"4 panels (~{panel_images} images: 1 + 1 + {min(int(params['landscape_set_size']), n_major)} "
                        f"majority + ~{n_minor} minority, estimated), forward-only, plus one gradient per panel"))
    return out


def plan_analysis_ablations(params: dict) -> list[Training]:
    """Appendix H ablations. The "Train" cell, per seed: ``warm_cache`` of the GCE-biased models of CM, CM-lambda and
    WM plus a CE-biased WM model, ``gradient_profile`` per data set (and for the CE model), then the ``plan`` of
    de-biased models (lambdas; PGD, reweight, baselines, published, metrics, CE-biased PGD) trained by ``warm_cache``."""
    seeds = len(_uniq(params["seeds"]))
    n_cm = mnist_train_size(params["n_train"])
    n_wm = mnist_train_size(params["wm_n_train"])
    bep, bb = int(params["biased_epochs"]), int(params["biased_batch_size"])
    ep, b = int(params["epochs"]), int(params["batch_size"])
    same_cm = params["cm_ratio"] == params["lambda_ratio"]  # then CM and CM-lambda are one data set and one f_b
    lambdas = _uniq(params["lambdas"])
    cm_sets = 1 if same_cm else 2
    out = [
        Training(ARCH, CM_SHAPE, n_cm, bep, bb, "gce", seeds * cm_sets,
                 f"GCE-biased f_b of CM {params['cm_ratio']}" + ("" if same_cm else f" and CM-lambda {params['lambda_ratio']}")),
        Training(ARCH, WM_SHAPE, n_wm, bep, bb, "gce", seeds, f"GCE-biased f_b of WM {params['wm_ratio']}"),
        Training(ARCH, WM_SHAPE, n_wm, bep, bb, "vanilla", seeds,
                 "CE-trained biased model of WM (impact of GCE; plain CE, no augmentation)"),
        # gradient_profile is not cached: computed for each of CM, CM-lambda (even when the same set) and WM, and WM-CE
        Training(ARCH, CM_SHAPE, n_cm, 1, 512, "other", seeds * 2,
                 "gradient_profile (all-parameter per-sample gradients, two passes) of CM and CM-lambda"),
        Training(ARCH, WM_SHAPE, n_wm, 1, 512, "other", seeds * 2,
                 "gradient_profile (all-parameter per-sample gradients, two passes) of WM's GCE and CE models"),
    ]
    n_lambda = len(lambdas) - (1 if same_cm and params["lam"] in lambdas else 0)  # lambda=lam == CM's PGD then
    if n_lambda:
        out.append(Training(ARCH, CM_SHAPE, n_cm, ep, b, "pgd", seeds * n_lambda,
                            f"Table 11: de-biased (Algorithm 1 resampling) per lambda {lambdas} on CM "
                            f"{params['lambda_ratio']} (identical p_s hash to one cache entry: upper bound)"))
    n_metrics = len(_uniq(params["metrics"])) + 1  # + "grad-norm"
    out += [
        Training(ARCH, CM_SHAPE, n_cm, ep, b, "pgd", seeds, "CM: PGD (draft, Algorithm 1 resampling by p_s)"),
        Training(ARCH, CM_SHAPE, n_cm, ep, b, "pgd", seeds, "CM: PGD adjusting objective (CE weighted by p_s/mean)"),
        Training(ARCH, CM_SHAPE, n_cm, ep, b, "pgd", seeds,
                 "CM: published PGD (gradient-norm, with-replacement sampling, started from f_b)"),
        Training(ARCH, CM_SHAPE, n_cm, ep, b, "pgd", seeds * n_metrics,
                 f"CM other metrics: Algorithm 1 resampling by {params['metrics']} + grad-norm"),
        Training(ARCH, WM_SHAPE, n_wm, ep, b, "pgd", seeds, "WM: PGD (draft, Algorithm 1 resampling by p_s)"),
        Training(ARCH, WM_SHAPE, n_wm, ep, b, "pgd", seeds, "WM: PGD adjusting objective (CE weighted by p_s/mean)"),
        Training(ARCH, WM_SHAPE, n_wm, ep, b, "pgd", seeds,
                 "WM: published PGD (gradient-norm, with-replacement sampling, started from f_b)"),
        Training(ARCH, WM_SHAPE, n_wm, ep, b, "pgd", seeds, "WM: PGD on the CE-biased model's scores (impact of GCE)"),
    ]
    for name in _uniq(params["baselines"]):  # trained_model(name, bench, cfg): CM and WM each
        for shape, n, ds in ((CM_SHAPE, n_cm, "CM"), (WM_SHAPE, n_wm, "WM")):
            out += _suite_method(name, None, shape, n, ep, b, seeds, f"adjusting-objective table, {ds} baseline",
                                 has_vanilla=True)
    return out


def plan_cm_analysis(params: dict) -> list[Training]:
    """Table 12 and Figure 13. The first code cell calls ``trained_model(m, bench, cfg, method_options.get(m))``
    (experiments/runs.py) for every method and seed on CM ``bias_ratio``: the Table 1 notebook's cached models, which
    this notebook trains itself on a cold cache (AFLite's Vanilla features are the Vanilla row's model)."""
    n = mnist_train_size(params["n_train"])
    ep, b = _settings(params)
    seeds = len(_uniq(params["seeds"]))
    methods = _uniq(params["methods"])
    opts = params.get("method_options") or {}
    has_vanilla = "vanilla" in methods and not opts.get("vanilla")
    out = []
    for m in methods:
        out += _suite_method(m, opts.get(m), CM_SHAPE, n, ep, b, seeds, f"Table 12 / Fig 13, CM {params['bias_ratio']}",
                             has_vanilla)
    return out


def plan_fig15(params: dict) -> list[Training]:
    """Figure 15. ``models = {m: trained_model(m, bench, cfg, method_options.get(m)) ...}`` in the first code cell:
    the Table 1 notebook's cached WM models at ``bias_ratio`` and ``seed``, trained here on a cold cache."""
    n = mnist_train_size(params["n_train"])
    ep, b = _settings(params)
    methods = _uniq(params["methods"])
    opts = params.get("method_options") or {}
    has_vanilla = "vanilla" in methods and not opts.get("vanilla")
    out = []
    for m in methods:
        out += _suite_method(m, opts.get(m), WM_SHAPE, n, ep, b, 1, f"Figure 15, WM {params['bias_ratio']}", has_vanilla)
    return out


def plan_fig7(params: dict) -> list[Training]:
    """Figures 7 and 1. The notebook only builds the CM and WM data sets and draws example images: no training."""
    return []


def plan_table4(params: dict) -> list[Training]:
    """Table 4. ``full_protocol(load_manifest(...))`` reads papers.yaml's full profiles into a table: no training."""
    return []


def plan_fig9(params: dict) -> list[Training]:
    """Figure 9. ``layer_table`` runs one forward pass through freshly built Simple ConvNet-1/-2: no training."""
    return []


PLANS = {
    "notebooks/pgd/fig2_minority_ratio.py": plan_fig2,
    "notebooks/pgd/fig3_confusion.py": plan_fig3,
    "notebooks/pgd/analysis_gradients.py": plan_analysis_gradients,
    "notebooks/pgd/analysis_ablations.py": plan_analysis_ablations,
    "notebooks/pgd/cm_analysis.py": plan_cm_analysis,
    "notebooks/pgd/fig15_cam.py": plan_fig15,
    "notebooks/pgd/fig7_examples.py": plan_fig7,
    "notebooks/pgd/table4_hyperparameters.py": plan_table4,
    "notebooks/pgd/fig9_networks.py": plan_fig9,
}
