"""Full-profile training plans of six PGD notebooks (Table 1, the oracle Tables 5-7, the real-world Tables 3 and
8-10, the sensitivity analyses, the two noisy-label notebooks).

One ``plan_<notebook>(params) -> list[Training]`` per notebook; ``params`` is the notebook's ``parameters`` cell
merged (shallowly, as ``debiaskit.companion.reproduce.run_parameters`` does) with the ``full`` profile of its artifacts in
papers.yaml (or a selection of it: one cell of Table 1). Every count and size comes from ``params``.

Where the numbers come from (read from the library and the notebooks):

* Training-set sizes. Colored and Watermarked MNIST take all 60,000 MNIST training images (or ``n_train`` of them)
  and hold 10% out as the biased validation split (``core.splits.split_validation``): 54,000 training images.
  Images: CM 3x28x28, WM 1x56x56 (``data.watermarked_mnist.CANVAS``), Cartoon 3x64x64 (``image_size`` 64).
  Cartoon reads ``n_train`` as the number of avatars (drawn for the stand-in, read for the real set; the full
  profile reads all of the Cartoon Set release on disk, which is not on this machine).
  ``cartoon_train_size`` gives the *expected* size from the loader's rules: hair_color has 10 variants and
  face_color 11 (the CSV layout, ``tests/test_cartoon.py``); both are merged pairwise over variants 0-7 and the
  rest dropped (8/10 x 8/11 of the avatars usable if uniform and independent); 20% test pool; all majority
  avatars of the training pool (1/4 of it) plus as many minority ones as the bias ratio allows; minus 10%
  validation. With ``CARTOON_AVATARS`` = 100,000 (cartoonset100k) that is ~10.5k-11.0k images per ratio;
  cartoonset10k gives a tenth.
* Architectures (``experiments.suite.model_factory``): Simple ConvNet-1 for the MNIST variants, Simple ConvNet-2 for
  Cartoon; the analysis notebooks build ``simple_convnet1`` too.
* Schedules: ``TrainConfig`` defaults (100 epochs, batch 256) unless the profile's settings name them. Every epoch
  is N images: PGD's samplers (published and Algorithm 1) draw N per epoch. PreciseBN's extra 4,096-image pass
  after each training is not listed.
* Methods (``baselines/*.py``). LfF, ReBias, RUBi and LearnedMixin+H train two networks jointly in one loop (one
  entry, about twice Vanilla's step cost). PGD: the GCE-biased model (``"gce"``; ``cfg`` without augmentation
  unless a ``biased_cfg`` is passed), a closed-form last-layer gradient scoring of the training set (``"other"``,
  one forward pass for the published variant, two for the draft's k-dominant gradients), the de-biased model
  (``"pgd"``). PGD's GCE model is not cached apart from the PGD result (no ``share_biased`` option), so every PGD run
  trains its own. REPAIR: the weight-learning min-max phase on all N images, then REPAIR-S retrains a fresh model
  on the resampled set, whose size (sum of the learned weights) is only known after the run: N is listed as its
  upper bound. AFLite: features from the notebook's Vanilla (``features="vanilla"``; counted once) or from a
  CE model on ``feature_fraction`` (10%) of the set; the filtering (``"other"``: a feature pass plus rounds of
  ``num_partitions`` L-BFGS linear probes); the retrain on the kept set, listed at its target size
  ``target_fraction`` x N (the filter can stop earlier and keep more).
* The model cache: models keyed alike within one notebook are counted once (``_Plan.add``). Sharing *between*
  notebooks is not removed here: Table 1's CM/WM models at 99.5/99/95% are the oracle grid's lr 0.01 x 100-epoch
  models (6 shared methods x 2 data sets x 3 ratios x 3 seeds), Table 1's 99% models of Vanilla, ReBias, LfF,
  REPAIR and PGD are the noisy-label notebook's 0%-noise raw models, and the split notebook's 0%/99.5% and
  10%/99% Vanilla models (seed 0) are Table 1's and the de-biasing notebook's.

Under the full profile, as read: analysis_sensitivity.py's full profile leaves ``biased_batch_size`` at its default 64 (the de-biased models use
256), and the GCE model always trains ``biased_epochs`` whatever the Figure 12 grid's epochs.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict

from common import Training

from debiaskit.experiments.realworld import method_of

MNIST_TRAIN = 60_000  # torchvision MNIST training split (data.sources.load_mnist)
VAL_FRACTION = 0.1  # colored_mnist / watermarked_mnist / cartoon: val_fraction
CARTOON_AVATARS = 100_000  # assumed release: cartoonset100k (cartoonset10k: 10_000)
CARTOON_IMAGE = 64
TRAIN_DEFAULTS = {"epochs": 100, "batch_size": 256}  # debiaskit.core.training.TrainConfig
SHAPES = {"colored_mnist": (3, 28, 28), "watermarked_mnist": (1, 56, 56),
          "cartoon": (3, CARTOON_IMAGE, CARTOON_IMAGE)}
ARCHS = {"colored_mnist": "simple_convnet1", "watermarked_mnist": "simple_convnet1", "cartoon": "simple_convnet2"}
SHORT = {"colored_mnist": "CM", "watermarked_mnist": "WM", "cartoon": "Cartoon"}
JOINT = {"lff": "LfF: GCE-biased + de-biased networks trained jointly",
         "rebias": "ReBias: de-biased + biased networks trained jointly (HSIC game)",
         "rubi": "RUBi: main network + bias-only network trained jointly",
         "learned_mixin": "LearnedMixin+H: main network (+gate) + bias network trained jointly"}


# ------------------------------------------------------------------------------------------------ sizes

def mnist_train_size(n_train=None) -> int:
    """Training images of CM/WM: ``n_train`` MNIST images (all 60,000 when None) minus the 10% validation split."""
    n = MNIST_TRAIN if n_train is None else min(int(n_train), MNIST_TRAIN)
    return n - int(round(VAL_FRACTION * n))


def cartoon_train_size(bias_ratio: float, avatars: int = CARTOON_AVATARS) -> int:
    """Expected training images of Cartoon at ``bias_ratio`` (``data.cartoon.cartoon``; see the module docstring)."""
    usable = int(round(avatars * (8 / 10) * (8 / 11)))
    pool = usable - int(round(0.2 * usable))
    major = int(round(pool / 4))
    minor = pool - major
    if bias_ratio >= 1.0:
        n = major
    else:
        n_minor = int(round(major * (1 - bias_ratio) / bias_ratio))
        if n_minor > minor:
            n_minor, major = minor, int(round(minor * bias_ratio / (1 - bias_ratio)))
        n = major + n_minor
    return n - int(round(VAL_FRACTION * n))


def train_size(dataset: str, bias_ratio: float, n_train=None) -> int:
    if dataset == "cartoon":  # build_benchmark reads n_train as the avatars drawn (stand-in) or read (real)
        return cartoon_train_size(bias_ratio, CARTOON_AVATARS if n_train is None else int(n_train))
    if dataset in ("colored_mnist", "watermarked_mnist"):
        return mnist_train_size(n_train)
    raise ValueError(f"unknown data set {dataset!r}")


def _freeze(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _eb(settings: dict) -> tuple[int, int]:
    """(epochs, batch size) of a settings dict over TrainConfig's defaults."""
    s = {**TRAIN_DEFAULTS, **(settings or {})}
    return int(s["epochs"]), int(s["batch_size"])


class _Plan:
    """Collects entries, merging equal ones into counts; ``add(key, ...)`` skips a cache key seen before."""

    def __init__(self) -> None:
        self.counts: OrderedDict[tuple, int] = OrderedDict()
        self.seen: set = set()

    def add(self, key, entries: list[Training]) -> bool:
        if key is not None:
            if key in self.seen:
                return False
            self.seen.add(key)
        for e in entries:
            k = (e.arch, tuple(e.image_shape), e.n_images, e.epochs, e.batch, e.method, e.note)
            self.counts[k] = self.counts.get(k, 0) + e.count
        return True

    def result(self) -> list[Training]:
        return [Training(a, s, n, ep, b, m, c, note) for (a, s, n, ep, b, m, note), c in self.counts.items()]


def method_entries(method: str, options: dict | None, arch: str, shape, n: int, epochs: int, batch: int,
                   where: str, biased: tuple[int, int] | None = None, vanilla_counted: bool = True,
                   vanilla_key=None, plan: _Plan | None = None) -> list[Training]:
    """The trainings (and heavy non-training passes) of one ``run_method(method, ...)`` call.

    ``biased``: (epochs, batch) of PGD's GCE model (default: the same as the de-biased model's). For AFLite with
    ``features="vanilla"`` the feature model is ``trained_model("vanilla", ...)`` of the same configuration: it is
    added to ``plan`` under ``vanilla_key`` (so that the notebook's own Vanilla is not counted twice).
    """
    o = dict(options or {})
    t = lambda m, nn, ep, b, note, c=1: Training(arch, tuple(shape), int(nn), int(ep), int(b), m, c, f"{where}: {note}")
    if method == "vanilla":
        return [t("vanilla", n, epochs, batch, "Vanilla (CE)")]
    if method in JOINT:
        return [t(method, n, epochs, batch, JOINT[method])]
    if method == "pgd":
        b_ep, b_bs = biased or (epochs, batch)
        published = o.get("preset", "draft") == "published"
        score = o.get("score") or ("gradnorm" if published else "pgd")
        out = []
        if o.get("denoise_cfg") is not None:
            out.append(t("vanilla", n, epochs, batch, "PGD Algorithm 3 noise model"))
        out += [t("gce", n, b_ep, b_bs, "PGD's GCE-biased model (q=0.7, no augmentation)"),
                t("other", n, 1, 2048 if score != "pgd" else 512,
                  "PGD scoring of the training set, forward passes only: " +
                  ("closed-form last-layer gradient p-norm (1 pass)" if score == "gradnorm" else
                   "k-dominant last-layer per-sample gradients, closed form (2 streaming passes) + vMF scores"
                   if score == "pgd" else f"metric {score!r} (1 pass)")),
                t("pgd", n, epochs, batch, "PGD de-biased model (" + ("published variant, initialised from the GCE "
                  "model" if published else "draft variant, Algorithm 1 sampler, from scratch") + ")")]
        return out
    if method == "repair":
        return [t("repair", n, epochs, batch, "REPAIR weight learning (classifier + per-sample weights, min-max)"),
                t("repair", n, epochs, batch, "REPAIR-S retrain on the resampled set (size = sum of learned weights, "
                  "unknown before the run; N is an upper bound)")]
    if method == "aflite":
        out = []
        if o.get("features") == "vanilla":
            pool = n
            if plan is not None:
                plan.add(vanilla_key, [t("vanilla", n, epochs, batch, "Vanilla (CE)")])
            elif not vanilla_counted:
                out.append(t("vanilla", n, epochs, batch, "AFLite's Vanilla feature model"))
        else:
            n_feat = max(1, int(round(float(o.get("feature_fraction", 0.1)) * n)))
            pool = n - n_feat
            fe, fb = _eb({"epochs": epochs, "batch_size": batch, **(o.get("feature_cfg") or {})})
            out.append(t("vanilla", n_feat, fe, fb, "AFLite's own CE feature model on feature_fraction of the set"))
        parts = int(o.get("num_partitions", 64))
        target = max(1, int(round(float(o.get("target_fraction", 0.2)) * n)))
        slice_ = o.get("slice_size", 0.05)
        k = int(round(slice_ * pool)) if slice_ < 1 else int(slice_)
        rounds = -(-(pool - min(target, pool)) // max(k, 1))
        out += [t("other", pool, 1, 1024, f"AFLite filtering: penultimate features of the pool, then up to {rounds} rounds of "
                  f"{parts} L-BFGS linear probes (float64) on them"),
                t("aflite", min(target, pool), epochs, batch, "AFLite retrain on the filtered set (target size; "
                  "more if the filter stops early)")]
        return out
    raise ValueError(f"unknown method {method!r}")


# ------------------------------------------------------------------------------------------- Table 1

def plan_table1(params: dict) -> list[Training]:
    """PGD Table 1 (notebooks/pgd/table1_controlled.py): the cell under "## Train every method once per (data set,
    bias ratio, seed)" trains every method of ``methods`` per (data set, ratio, seed) through
    ``warm_trained_models`` / ``trained_model`` (cached; AFLite's ``features="vanilla"`` reuses that Vanilla)."""
    p = params
    plan = _Plan()
    opts = p.get("method_options") or {}
    n_train = p.get("n_train") or {}
    for dataset in p["datasets"]:
        epochs, batch = _eb(p["train_settings"][dataset])
        cfg = _freeze(p["train_settings"][dataset])
        for ratio in p["bias_ratios"]:
            size = n_train.get(dataset) if isinstance(n_train, dict) else n_train
            n = train_size(dataset, ratio, size)
            for s in p["seeds"]:
                bench = (dataset, ratio, s, _freeze((p.get("difficulty") or {}).get(dataset)), size, p.get("n_test"))
                where = f"Table 1 {SHORT[dataset]}"
                for m in p["methods"]:
                    key = ("suite", m, _freeze(opts.get(m) or {}), bench, cfg)
                    vkey = ("suite", "vanilla", _freeze({}), bench, cfg)
                    entries = method_entries(m, opts.get(m), ARCHS[dataset], SHAPES[dataset], n, epochs, batch,
                                             where, vanilla_key=vkey, plan=plan if m == "aflite" else None)
                    plan.add(key, entries)
    return plan.result()


# ------------------------------------------------------------------------------------- Tables 5, 6, 7

ORACLE_DATASET = {"table5": "colored_mnist", "table6": "watermarked_mnist", "table7": "cartoon"}


def plan_oracle(params: dict) -> list[Training]:
    """PGD Tables 5-7 (notebooks/pgd/oracle_tables.py): the cell under "## Train the grid and select on the oracle
    validation set" trains, per (table, difficulty, ratio, seed), every method at every ``grid`` configuration
    (``grid_configs`` over ``base_settings``) via ``warm_trained_models`` / ``trained_model`` (cached)."""
    p = params
    plan = _Plan()
    opts = p.get("method_options") or {}
    grid = p["grid"]
    keys = list(grid)
    for table in p["tables"]:
        dataset = ORACLE_DATASET[table]
        for d in p["difficulties"][table]:
            for ratio in p["bias_ratios"]:
                size = p["n_train"].get(dataset) if isinstance(p["n_train"], dict) else p["n_train"]
                n = train_size(dataset, ratio, size)
                for s in p["seeds"]:
                    bench = (dataset, ratio, s, _freeze(d), size, p.get("n_test"))
                    for combo in itertools.product(*(grid[k] for k in keys)):
                        settings = {**p["base_settings"][dataset], **dict(zip(keys, combo))}
                        epochs, batch = _eb(settings)
                        where = f"Table {table[-1]} {SHORT[dataset]} oracle grid"
                        for m in p["methods"]:
                            key = ("suite", m, _freeze(opts.get(m) or {}), bench, _freeze(settings))
                            vkey = ("suite", "vanilla", _freeze({}), bench, _freeze(settings))
                            plan.add(key, method_entries(m, opts.get(m), ARCHS[dataset], SHAPES[dataset], n, epochs,
                                                         batch, where, vanilla_key=vkey,
                                                         plan=plan if m == "aflite" else None))
    return plan.result()


# --------------------------------------------------------------------- Figure 12, Tables 13, 14, 15

def plan_sensitivity(params: dict) -> list[Training]:
    """PGD analyses (notebooks/pgd/analysis_sensitivity.py): Figure 12's grid (``sens_methods`` x ``sens_lrs`` x
    ``sens_epochs`` x ``seeds``, CM), Table 13 (``unbiased_methods`` x ``unbiased_ratios`` x seeds, CM), Table 15
    (``t15_methods`` x seeds, WM), all via ``warm``/``trained_model`` (cached), and Table 14's ``timed(run_method)``
    loop (``timing_methods`` on WM, one seed, not cached). PGD's GCE model always uses ``biased_epochs`` and
    ``biased_batch_size`` (Table 14: ``timing_epochs``)."""
    p = params
    plan = _Plan()
    mopts = p.get("method_options") or {}
    arch = "simple_convnet1"

    def options(name, seed, biased_epochs=None):
        o = dict(mopts.get(name, {}))
        if name == "pgd":
            o["biased_cfg"] = {"epochs": biased_epochs or p["biased_epochs"], "lr": p["biased_lr"],
                               "batch_size": p["biased_batch_size"], "lr_decay": p["biased_lr_decay"],
                               "lr_milestones": list(p["biased_lr_milestones"]), "augment": False, "seed": seed}
            o.update(k=p["k"], lam=p["lam"], target_ess=p["target_ess"])
        return o

    def cfg(seed, **changes):
        c = {"epochs": p["epochs"], "batch_size": p["batch_size"], "lr": p["lr"], "momentum": p["momentum"],
             "weight_decay": p["weight_decay"], "lr_decay": p["lr_decay"], "lr_milestones": list(p["lr_milestones"]),
             "seed": seed, "device": p.get("device", "auto")}
        c.update(changes)
        return c

    def cached(name, dataset, ratio, diff, seed, n_train, c, where):
        o = options(name, seed)
        n = train_size(dataset, ratio, n_train)
        key = ("analysis", name, _freeze(o), (dataset, ratio, diff, seed, n_train, p.get("n_test")), _freeze(c))
        entries = method_entries(name, o, arch, SHAPES[dataset], n, c["epochs"], c["batch_size"], where,
                                 biased=(o["biased_cfg"]["epochs"], o["biased_cfg"]["batch_size"]) if name == "pgd"
                                 else None, vanilla_counted=False)
        plan.add(key, entries)

    for seed in p["seeds"]:  # Figure 12
        for rate in p["sens_lrs"]:
            for n_epochs in p["sens_epochs"]:
                for name in p["sens_methods"]:
                    cached(name, "colored_mnist", p["sens_ratio"], p["difficulty"], seed, p["sens_n_train"],
                           cfg(seed, lr=rate, epochs=n_epochs), f"Fig. 12 grid CM {100 * p['sens_ratio']:g}%")
    for ratio in p["unbiased_ratios"]:  # Table 13
        seeds = p["unbiased_seeds"] if abs(ratio - 0.1) < 1e-9 else p["seeds"]
        for seed in seeds:
            for name in p["unbiased_methods"]:
                cached(name, "colored_mnist", ratio, p["difficulty"], seed, p["unbiased_n_train"],
                       cfg(seed, epochs=p["unbiased_epochs"]), "Table 13 CM (un/rarely biased)")
    for seed in p["seeds"]:  # Table 15
        for name in p["t15_methods"]:
            cached(name, "watermarked_mnist", p["t15_ratio"], p["wm_difficulty"], seed, p["t15_n_train"], cfg(seed),
                   f"Table 15 WM {100 * p['t15_ratio']:g}%")
    n = train_size("watermarked_mnist", p["timing_ratio"], p["timing_n_train"])  # Table 14, not cached
    for name in p["timing_methods"]:
        o = options(name, p["seeds"][0], biased_epochs=p["timing_epochs"])
        plan.add(None, method_entries(name, o, arch, SHAPES["watermarked_mnist"], n, p["timing_epochs"],
                                      p["batch_size"], f"Table 14 timing WM {100 * p['timing_ratio']:g}% (uncached)",
                                      biased=(p["timing_epochs"], p["biased_batch_size"]) if name == "pgd" else None,
                                      vanilla_counted=False))
    return plan.result()


# ------------------------------------------------------------------------------ noisy labels: the split

def plan_noisy_split(params: dict) -> list[Training]:
    """PGD Figures 6, 10, 11 (notebooks/pgd/noisy_label_split.py): the cell under "## One noise model per (data set,
    noise ratio, bias ratio)" trains one Vanilla noise model per (data set, panel) (``warm_models`` then
    ``noise_model``, cached) and splits its training set with ``denoise_split`` (one forward pass); the full
    profile's ``n_train: {}`` means all images."""
    p = params
    plan = _Plan()
    n_train = p.get("n_train") or {}
    for d in p["datasets"]:
        epochs, batch = _eb(p["train_settings"][d])
        cfg = _freeze(p["train_settings"][d])
        for noise, ratio in p["panels"]:
            size = n_train.get(d) if isinstance(n_train, dict) else n_train
            n = train_size(d, ratio, size)
            bench = (d, ratio, noise, p["seed"], _freeze(p["difficulty"][d]), size, p.get("n_test"))
            where = f"Figs. 6/10/11 {SHORT[d]}"
            plan.add(("suite", "vanilla", bench, cfg),
                     [Training(ARCHS[d], SHAPES[d], n, epochs, batch, "vanilla", 1,
                               f"{where}: noise model f_n (Vanilla of the noisy set), one per (noise, bias) panel")])
            plan.add(("split", bench, cfg),
                     [Training(ARCHS[d], SHAPES[d], n, 1, 2048, "other", 1,
                               f"{where}: de-noising split (compensated loss, one forward pass of f_n)")])
    return plan.result()


# ---------------------------------------------------------------------------- noisy labels: de-biasing

def plan_noisy_debias(params: dict) -> list[Training]:
    """PGD Figure 5, Tables 2 and 16 (notebooks/pgd/noisy_label_debias.py): the cell under "## Train every method
    on the raw noisy sets, then on D_clean" trains the Vanilla noise models (``table2_noise``), every method on the
    raw noisy sets (``raw_noise``: Table 2's plus Figure 5's on the first data set) and every method on D_clean
    (``denoised_benchmark``), per (data set, seed), all cached; Table 16's cell runs FINE on the cached noise model.
    D_clean's size is estimated as N x (1 - noise) (the module drops about the flipped labels)."""
    p = params
    plan = _Plan()
    opts = p.get("method_options") or {}
    n_train = p.get("n_train") or {}
    datasets = p["datasets"]
    fig5 = datasets[0]
    ratio = p["bias_ratio"]

    def raw_noise(d):
        return sorted(set(p["table2_noise"]) | (set(p["figure5_noise"]) if d == fig5 else set()))

    for d in datasets:
        epochs, batch = _eb(p["train_settings"][d])
        cfg = _freeze(p["train_settings"][d])
        size = n_train.get(d) if isinstance(n_train, dict) else n_train
        n = train_size(d, ratio, size)
        arch, shape = ARCHS[d], SHAPES[d]
        for s in p["seeds"]:
            def bench(noise, denoised=False):
                return (d, ratio, noise, s, _freeze(p["difficulty"][d]), size, p.get("n_test"), denoised)

            def add(m, noise, denoised, nn, where):
                key = ("suite", m, _freeze(opts.get(m) or {}), bench(noise, denoised), cfg)
                vkey = ("suite", "vanilla", _freeze({}), bench(noise, denoised), cfg)
                plan.add(key, method_entries(m, opts.get(m), arch, shape, nn, epochs, batch, where, vanilla_key=vkey,
                                             plan=plan if m == "aflite" else None))

            raw = f"{SHORT[d]} {100 * (1 - ratio):g}% minority, raw noisy sets (one model per noise level: " \
                  f"{', '.join(f'{100 * x:g}%' for x in raw_noise(d))}; Vanilla = the noise model f_n)"
            for noise in p["table2_noise"]:  # noise models, then Algorithm 3's split
                add("vanilla", noise, False, n, raw)
                plan.add(("split", bench(noise)), [Training(arch, shape, n, 1, 2048, "other", 1,
                         f"{SHORT[d]}: de-noising split of a noisy training set (compensated loss, one forward pass)")])
            for noise in raw_noise(d):
                for m in p["methods"]:
                    add(m, noise, False, n, raw)
            for noise in p["table2_noise"]:
                n_clean = int(round(n * (1 - noise)))
                for m in p["methods"]:
                    add(m, noise, True, n_clean, f"{SHORT[d]} {100 * noise:g}% noise, on D_clean (size estimated "
                        f"as N x (1 - noise))")
            if d == fig5:  # Table 16: FINE on the noise model of (fig5, seed, table16_noise)
                noise = p["table16_noise"]
                add("vanilla", noise, False, n, raw)
                plan.add(("fine", bench(noise)), [Training(arch, shape, n, 1, 2048, "other", 1,
                         f"{SHORT[d]}: FINE (penultimate features of f_n, per-class eigenvector + 2-GMM)")])
    return plan.result()


# ------------------------------------------------------------------------------ Tables 3, 8, 9, 10

REAL_WORLD_TRAIN = {"bar": 1_941 - int(round(VAL_FRACTION * 1_941)),  # data.bar: 10% of train/ held out
                    "celeba": 162_770,  # CelebA's official train partition (data.celeba.celeba_makeup)
                    "imagenet9": 42 * 1_300}  # ImageNet-9's 42 classes, ~1,300 training images each (data.imagenet9)


def real_world_train_size(dataset: str, source: str, standin: dict | None) -> int:
    """Training images of one real-world benchmark: the real set's, or the stand-in's ``n_train`` (less the
    CelebA stand-in's 10% validation split) with the stand-in builders' defaults."""
    if source == "real" or dataset == "bar":
        return REAL_WORLD_TRAIN[dataset]
    n = int((standin or {}).get("n_train", 4000))
    return n - int(round(VAL_FRACTION * n)) if dataset == "celeba" else n


def plan_realworld(params: dict) -> list[Training]:
    """PGD Tables 3, 8, 9, 10 (notebooks/pgd/realworld_tables.py): the cell under "## Train every method once per
    (data set, seed)" trains every method of ``methods`` with ResNet-18 per (data set, seed) through
    ``warm_real_world`` / ``trained_model`` (cached)."""
    p = params
    plan = _Plan()
    opts = p.get("method_options") or {}
    for d in p["datasets"]:
        settings = p["train_settings"][d]
        epochs, batch = _eb(settings)
        size = int((p.get("image_size") or {}).get(d) or 128)
        n = real_world_train_size(d, (p.get("sources") or {}).get(d, "real"), (p.get("standin") or {}).get(d))
        seeds = p["seeds"][d] if isinstance(p["seeds"], dict) else p["seeds"]
        for s in seeds:
            for m in p["methods"]:
                method = method_of(m)[0]  # a variant row (realworld.VARIANTS) runs its method
                entries = method_entries(method, opts.get(method), "resnet18", (3, size, size), n, epochs, batch,
                                         f"real-world {d}" + (f" ({m})" if m != method else ""))
                # every PGD row caches its GCE-biased model (realworld.method_of): one per (data set, seed, settings)
                gce = [t for t in entries if t.method == "gce"]
                if gce:
                    plan.add(("realworld-gce", d, s, _freeze(settings)), gce)
                plan.add(("realworld", m, d, s, _freeze(settings)), [t for t in entries if t.method != "gce"])
    return plan.result()


PLANS = {
    "notebooks/pgd/realworld_tables.py": plan_realworld,
    "notebooks/pgd/table1_controlled.py": plan_table1,
    "notebooks/pgd/oracle_tables.py": plan_oracle,
    "notebooks/pgd/analysis_sensitivity.py": plan_sensitivity,
    "notebooks/pgd/noisy_label_split.py": plan_noisy_split,
    "notebooks/pgd/noisy_label_debias.py": plan_noisy_debias,
}
