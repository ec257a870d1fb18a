"""Full-profile training plans of the RR-ClArC and patch-attribution notebooks.

One ``plan_<notebook>(params) -> list[Training]`` per notebook of ``notebooks/rrclarc/*.py`` and
``notebooks/patchattr/*.py``. ``params`` is the notebook's ``parameters`` cell merged with the ``full``
profile of its artifacts in papers.yaml (what ``debiaskit.companion.reproduce.run_parameters`` executes). Every count
and size is computed from ``params``, so the plans follow profile edits.

Where the numbers come from (read from the library and the notebooks):

* Split sizes (``SPLIT_SIZES``): torchvision's CelebA partition (train 162,770 / valid 19,867 / test
  19,962), FairFace's label CSVs (train 86,744 / val 10,954), (Fashion-)MNIST 60,000 / 10,000, and the
  patchattr stand-in (Fashion-MNIST T-shirts + pullovers: 12,000 train / 2,000 test). Subset sizes are
  ``min(limit, split)`` as in ``rrclarc.celeba._subset``, ``rrclarc.data.artifact_benchmark``,
  ``patchattr.studies._random_rows`` and ``patchattr.standin.standin_faces``.
* RR-ClArC (``experiments/rrclarc.py``): the biased model is trained by ``biased_model`` (batch 128, the
  default; notebooks do not pass one), with PreciseBN over 4,096 training images afterwards. With
  ``layer`` = the model's feature-map layer (``body`` for Simple ConvNets, ``net.layer4`` for ResNet-18)
  every head-only correction trains ``LatentHead`` (global average pool + ``fc``) on stored feature maps
  (``compute_latents`` over the train, clean, as_trained and attacked splits); RRR trains on images and
  needs a pixel mask, which CelebA lacks.
* Patch attribution: a region classifier (``patchattr/region_model.py``) is a CIFAR-stem ResNet-18 (3x3
  stride-1 conv1, no max-pool) or a small CNN on one k x k patch plus a learned position plane (4 input
  channels); training draws ONE random patch per image per step (``region_training.random_patch_loss``),
  so one epoch is ``region_images`` patch forward/backward passes. Its cache key is the data set, the
  split, ``region_images``, ``image_size``, the seed, the attribute, the grid, the backbone and the fit:
  the three patchattr notebooks share these models through the cache (each notebook lists them once).
* Attribution maps (``patchattr/attribution.region_logits``) classify all ``per_side**2`` patches of each
  image. Their "other" entries count forward passes of the region classifier's own input (one 4 x k x k
  patch = one "image" of ``image_shape``); on the CIFAR-stem ResNet-18, one 4x32x32 patch costs about as
  much as one standard ResNet-18 forward of a 3x128x128 image (the same 64 x 32 x 32 map enters layer1).
* The gender CNN (``patchattr/gender.py``): three conv5x5 blocks (3->6->12->24 channels, BatchNorm,
  max-pool) then 24*(I/8)^2 -> 1000 -> 100 -> 2; AdamW, batch ``gender_batch`` (default 128).
"""

from __future__ import annotations

from common import Training

# Split sizes of the data sets the loaders read (see the module docstring).
SPLIT_SIZES = {
    ("celeba", "train"): 162_770, ("celeba", "valid"): 19_867, ("celeba", "test"): 19_962,
    ("fairface", "train"): 86_744, ("fairface", "val"): 10_954,
    ("fashion_mnist", "train"): 60_000, ("fashion_mnist", "test"): 10_000,
    ("mnist", "train"): 60_000, ("mnist", "test"): 10_000,
    ("standin", "train"): 12_000, ("standin", "test"): 2_000,
}
PRECISE_BN_SAMPLES = 4096  # debiaskit.core.training.PRECISE_BN_SAMPLES
LATENT_BATCH = 512  # rrclarc.experiment.compute_latents
REGION_LOGITS_BATCH = 8192  # patchattr.attribution.region_logits
STANDIN_MARKS = ("band", "corner")  # patchattr.standin.MARKS: attributes with a known region (IoU baselines)


def _take(limit, total: int) -> int:
    """``limit`` images of a split of ``total`` (all of them when ``limit`` is None or larger)."""
    return total if limit is None else min(int(limit), total)


# ----------------------------------------------------------------------------------------------- RR-ClArC

def _simple_convnet_maps(kernels: list[int], size: int) -> int:
    """Spatial side of SimpleConvNet's ``body`` output: conv (padding k//2) with 2x2 average pools between."""
    for i, k in enumerate(kernels):
        if i:
            size //= 2
        size = size + 2 * (k // 2) - k + 1
    return size


def _resnet18_layer4_side(size: int) -> int:
    """Spatial side of torchvision ResNet-18's layer4 output (conv1 s2, max-pool s2, layer2-4 s2)."""
    size = (size - 1) // 2 + 1  # conv1 7x7 s2 p3
    size = (size - 1) // 2 + 1  # maxpool 3x3 s2 p1
    for _ in range(3):  # layer2, layer3, layer4
        size = (size - 1) // 2 + 1
    return size


def _rrclarc_setup(p: dict) -> dict:
    """Sizes of the RR-ClArC benchmark and model under ``p`` (``rrclarc.experiment.load_benchmark``)."""
    ds = p["dataset"]
    if ds == "celeba":
        n_train = _take(p["n_train"], SPLIT_SIZES[("celeba", "train")])
        n_test = _take(p["n_test"], SPLIT_SIZES[("celeba", "test")])
        shape = (3, int(p["image_size"]), int(p["image_size"]))
        # clean (no necktie) + attacked (necktie) partition the test subset; as_trained is all of it
        latent_images = n_train + 2 * n_test
        has_mask = False
    else:  # mnist / fashion_mnist with a pasted square: 28 x 28 grey, image_size is not used
        n_train = _take(p["n_train"], SPLIT_SIZES[(ds, "train")])
        n_test = _take(p["n_test"], SPLIT_SIZES[(ds, "test")])
        shape = (1, 28, 28)
        latent_images = n_train + 3 * n_test  # clean, as_trained, attacked: n_test each
        has_mask = True
    name = p["model_name"]
    if name == "resnet18":
        side = _resnet18_layer4_side(shape[1])
        maps_layer, latent = "net.layer4", (512, side, side)
    elif name == "simple_convnet1":
        side = _simple_convnet_maps([4, 4, 4], shape[1])
        maps_layer, latent = "body", (64, side, side)
    elif name == "simple_convnet2":
        side = _simple_convnet_maps([6, 6, 5, 5, 4], shape[1])
        maps_layer, latent = "body", (32, side, side)
    else:
        raise ValueError(f"unknown model_name {name!r}")
    return {"n_train": n_train, "n_test": n_test, "shape": shape, "latent_images": latent_images,
            "has_mask": has_mask, "on_latents": p.get("layer", maps_layer) == maps_layer, "latent": latent,
            "pretrained": bool(p.get("pretrained", False)), "dataset": ds}


def _biased_model(p: dict, s: dict, shared_with: str) -> Training:
    pre = "ImageNet-pretrained " if s["pretrained"] else ""
    return Training(p["model_name"], s["shape"], s["n_train"], int(p["train_epochs"]), 128, "vanilla", 1,
                    f"RR-ClArC biased model ({pre}{p['model_name']} on {s['dataset']}, SGD lr {p['train_lr']}, "
                    f"+ PreciseBN); cached, shared with {shared_with}")


def _latent_pass(p: dict, s: dict) -> Training:
    bn = min(PRECISE_BN_SAMPLES, s["n_train"])
    return Training(p["model_name"], s["shape"], s["latent_images"] + bn, 1, LATENT_BATCH, "other", 1,
                    f"forward passes, no training: compute_latents of layer {p['layer']} over train + clean + "
                    f"as_trained + attacked ({s['latent_images']} images) + the PreciseBN pass after the biased "
                    f"model's training ({bn} images)")


def _correction(p: dict, s: dict, method: str, count: int, note: str, epochs_key: str = "finetune_epochs") -> Training:
    """A head-only correction fine-tune: on stored latents when ``layer`` is the feature-map layer."""
    epochs = int(p[epochs_key])
    batch = int(p["finetune_batch_size"])
    if s["on_latents"]:
        return Training("linear_head", s["latent"], s["n_train"], epochs, batch, method, count,
                        f"{note}; linear head only (global avg pool + fc {s['latent'][0]}->classes) on stored "
                        f"{p['model_name']} {p['layer']} maps")
    return Training(p["model_name"], s["shape"], s["n_train"], epochs, batch, method, count,
                    f"{note}; only linear layers train but the whole network runs on images (layer hooks)")


def _rrr(p: dict, s: dict, count: int) -> Training:
    n = _take(p.get("rrr_subset"), s["n_train"])
    return Training(p["model_name"], s["shape"], n, int(p["rrr_epochs"]), int(p["finetune_batch_size"]), "other",
                    count, "RRR fine-tune (input-gradient penalty in the artifact mask: double backward through "
                    "the whole network; linear layers train)")


def plan_cav_alignment(params: dict) -> list[Training]:
    """CAV alignment (notebooks/rrclarc/cav_alignment.py): the only network training is the cached biased
    model in the "## The biased model" cell (``biased_model``); the same cell extracts the latents of every
    split, and ``alignment_sweep`` then only fits CAVs (sklearn, on 64-d pooled activations)."""
    p, s = params, _rrclarc_setup(params)
    cav_fits = len(p["sizes"]) * len(p["seeds"]) * 5
    out = [_biased_model(p, s, "no other notebook under full (tradeoff/heatmaps use CelebA)")]
    lat = _latent_pass(p, s)
    out.append(Training(lat.arch, lat.image_shape, lat.n_images, 1, lat.batch, "other", 1,
                        lat.note + f"; then {cav_fits} CAV fits (sizes x seeds x 5 CAV types, sklearn with "
                        f"CV grids on at most {2 * max(p['sizes'])} pooled activations each), no network passes"))
    return out


def plan_tradeoff(params: dict) -> list[Training]:
    """RR-ClArC trade-off (notebooks/rrclarc/tradeoff.py): the biased model (cached) and latents in the
    "## Biased model, latent activations..." cell, then ``correction_sweep`` in "## The sweep": Vanilla,
    A-ClArC, RR-ClArC and RR-ClArC (class) per lambda, RRR per rrr_lambda when the artifact has a mask;
    P-ClArC is a projection, not trained."""
    p, s = params, _rrclarc_setup(params)
    n_lam = len(p["lambdas"])
    out = [_biased_model(p, s, "rrclarc/heatmaps"), _latent_pass(p, s),
           _correction(p, s, "vanilla", 1, "Vanilla correction: plain CE fine-tune"),
           _correction(p, s, "other", 1, "A-ClArC fine-tune (artifact CAV added to every activation)")]
    if n_lam:
        out.append(_correction(p, s, "other", 2 * n_lam,
                               f"RR-ClArC fine-tunes, {n_lam} lambdas x 2 variants (random-sign logits, class-specific)"))
    if s["has_mask"] and p["rrr_lambdas"]:
        out.append(_rrr(p, s, len(p["rrr_lambdas"])))
    return out


def plan_heatmaps(params: dict) -> list[Training]:
    """RR-ClArC heatmaps (notebooks/rrclarc/heatmaps.py): the cached biased model, latents and the
    ``models = {...}`` dict in the "## Biased model (shared, cached)..." cell: Vanilla, RR-ClArC at
    chosen_lambda and A-ClArC fine-tunes (P-ClArC untrained), RRR only with a pixel mask. Input x Gradient
    of at most n_rbias images x the models is one forward/backward each: not listed."""
    p, s = params, _rrclarc_setup(params)
    out = [_biased_model(p, s, "rrclarc/tradeoff"), _latent_pass(p, s),
           _correction(p, s, "vanilla", 1, "Vanilla correction: plain CE fine-tune"),
           _correction(p, s, "other", 1, f"RR-ClArC fine-tune at lambda {p['chosen_lambda']:g} (random-sign logits)"),
           _correction(p, s, "other", 1, "A-ClArC fine-tune (artifact CAV added to every activation)")]
    if s["has_mask"]:
        out.append(_rrr(p, s, 1))
    return out


# --------------------------------------------------------------------------------------- patch attribution

def _region_split(ds: str, split: str) -> int:
    """Size of the region notebooks' ``train``/``val`` split (``patchattr.studies.load_split``)."""
    if ds == "standin":
        return SPLIT_SIZES[("standin", "train" if split == "train" else "test")]
    if ds == "celeba":
        return SPLIT_SIZES[("celeba", "train" if split == "train" else "valid")]
    return SPLIT_SIZES[("fairface", split)]


def _region_arch(p: dict) -> tuple[str, tuple[int, int, int], str]:
    k = int(p["patch"])
    if p["backbone"] == "resnet18":
        return "cifar_resnet18", (4, k, k), "CIFAR-stem ResNet-18 (3x3 s1 conv1, no max-pool)"
    return "small_patch_cnn", (4, k, k), "small patch CNN (3 convs 16/32/32, BN, one max-pool)"


def _region_classifiers(p: dict, shared: dict[str, str]) -> list[Training]:
    """One entry per data set: its attributes' region classifiers (``shared``: who else uses them, per data set)."""
    arch, shape, desc = _region_arch(p)
    out = []
    for ds, attrs in p["datasets"].items():
        if not attrs:
            continue
        n = _take(p["region_images"], _region_split(ds, "train"))
        out.append(Training(arch, shape, n, int(p["region_epochs"]), int(p["region_batch"]), "region", len(attrs),
                            f"region classifiers of {ds} {'/'.join(attrs)} ({desc} on one random {p['patch']}px patch "
                            f"+ position plane per image per step, AdamW); cached, shared with {shared.get(ds, 'no other notebook')}"))
    return out


def _patch_passes(p: dict, n_images: int, count: int, what: str) -> Training:
    arch, shape, desc = _region_arch(p)
    positions = int(p["per_side"]) ** 2
    return Training(arch, shape, n_images * positions, 1, REGION_LOGITS_BATCH, "other", count,
                    f"forward passes, no training: {what}: {n_images} images x {positions} patch positions, "
                    f"n_images counts patches (one {shape} region-classifier input each)")


def plan_region_attributions(params: dict) -> list[Training]:
    """Figures 2-5 and IoU (notebooks/patchattr/region_attributions.py): one region classifier per
    attribute in "## Train (or fetch) one region classifier per attribute", every patch of every validation
    image in "## Every patch of every validation image"; the IoU cell trains a gender-CNN baseline (and runs
    Occlusion) only for stand-in attributes with a known region (band, corner)."""
    p = params
    out = _region_classifiers(p, {d: "patchattr/noise_types and noise_training" for d in ("celeba", "standin")})
    for ds, attrs in p["datasets"].items():
        if attrs:
            n_val = _take(p["val_images"], _region_split(ds, "val"))
            out.append(_patch_passes(p, n_val, len(attrs), f"region_logits of {ds} validation images per attribute"))
    marked = [(ds, a) for ds, attrs in p["datasets"].items() for a in attrs if a in STANDIN_MARKS]
    if marked:
        size = int(p["image_size"])
        by_ds: dict[str, int] = {}
        for ds, _ in marked:
            by_ds[ds] = by_ds.get(ds, 0) + 1
        for ds, count in by_ds.items():
            n_train = min(int(p["baseline_train_images"]), _take(p["region_images"], _region_split(ds, "train")))
            out.append(Training("gender_cnn", (3, size, size), n_train, int(p["baseline_epochs"]), 128, "vanilla", count,
                                "IoU baseline: full-image classifier of the mark (gender CNN: 3 conv5x5 blocks "
                                "3->6->12->24, FC ->1000->100->2)"))
            n_occ = min(int(p["baseline_images"]), _take(p["val_images"], _region_split(ds, "val")))
            if n_occ:
                windows = int(p["per_side"]) ** 2  # Occlusion slides the same k x k window at the grid's stride
                out.append(Training("gender_cnn", (3, size, size), n_occ * (windows + 2), 1, 64, "other", count,
                                    f"forward passes, no training: Occlusion ({windows} windows + 1) and saliency "
                                    f"(1 fwd+bwd) on at most {n_occ} marked validation images per attribute"))
    return out


def plan_noise_types(params: dict) -> list[Training]:
    """Figure 6 (notebooks/patchattr/noise_types.py): in "## Region classifiers (from the cache) and the
    maps" each attribute's region classifier (cached, trained here on a miss), its General map over
    general_map_images training images and the Specific map of one image; no other network is trained."""
    p = params
    out = _region_classifiers(p, {d: "patchattr/region_attributions and noise_training" for d in ("celeba", "standin")})
    for ds, attrs in p["datasets"].items():
        if attrs:
            n = min(int(p["general_map_images"]), _take(p["region_images"], _region_split(ds, "train")))
            out.append(_patch_passes(p, n + 1, len(attrs), f"{ds} General map over {n} training images + the "
                                     "Specific map of 1 image, per attribute"))
    return out


def plan_noise_training(params: dict) -> list[Training]:
    """Table 1 and Figures 7-8 (notebooks/patchattr/noise_training.py): everything trains in the cell
    under "## Data, maps and the trainings": per confounder the region classifier (cached), the Specific
    maps of every biased training image and the General map, then ``study.sweep``: original, balanced and
    4 noise types x quantiles (+ Fig. 8's extra Specific Mask quantiles for figure_attribute), and, when
    mask_epochs != gender_epochs, original and balanced again at mask_epochs."""
    p = params
    size = int(p["image_size"])
    shape = (3, size, size)
    batch = int(p.get("gender_batch", 128))
    g_ep, m_ep = int(p["gender_epochs"]), int(p["mask_epochs"])
    mask_ep = m_ep if (m_ep != g_ep and m_ep) else g_ep  # NoiseStudy.mask_epochs is None when equal
    n_biased = int(p["men_without"]) + int(p["women_with"]) + int(p["women_without"])  # counts[(1, 1)] = 0
    n_balanced = 2 * int(p["men_without"])  # balanced_indices(per_target = men count) for both genders
    qs = list(p["quantiles"])
    extra = [q for q in p["fig8_quantiles"] if q not in qs]
    attrs_all = [a for attrs in p["datasets"].values() for a in attrs]
    n_attr = len(attrs_all)
    n_fig = int(p["figure_attribute"] in attrs_all)
    cnn = "gender CNN (3 conv5x5 blocks 3->6->12->24, FC 24*(I/8)^2->1000->100->2), AdamW lr " + f"{p['gender_lr']:g}"

    out = _region_classifiers(p, {d: "patchattr/region_attributions and noise_types" for d in ("celeba", "standin")})
    for ds, attrs in p["datasets"].items():
        if attrs:
            n_gen = min(int(p["general_map_images"]), _take(p["region_images"], _region_split(ds, "train")))
            out.append(_patch_passes(p, n_biased + n_gen, len(attrs),
                                     f"{ds} Specific maps of the {n_biased} biased training images + General map "
                                     f"over {n_gen} region-training images, per confounder"))
    out += [
        Training("gender_cnn", shape, n_biased, g_ep, batch, "vanilla", n_attr,
                 f"Table 1 'Original': {cnn} on the biased set, one per confounder"),
        Training("gender_cnn", shape, n_balanced, g_ep, batch, "vanilla", n_attr,
                 f"Table 1 'Balanced': {cnn} on the balanced set, one per confounder"),
    ]
    if qs:
        out.append(Training("gender_cnn", shape, n_biased, g_ep, batch, "other", n_attr * 2 * len(qs),
                            f"General/Specific Noise trainings (targeted Gaussian noise on the biased set), "
                            f"{n_attr} confounders x 2 types x {len(qs)} quantiles"))
    n_mask = n_attr * 2 * len(qs) + n_fig * len(extra)
    if n_mask:
        out.append(Training("gender_cnn", shape, n_biased, mask_ep, batch, "other", n_mask,
                            f"General/Specific Mask trainings (targeted greying-out on the biased set), {n_attr} "
                            f"confounders x 2 types x {len(qs)} quantiles + {n_fig * len(extra)} extra Fig. 8 "
                            "Specific Mask quantiles"))
    if m_ep != g_ep and m_ep > 0:
        out += [
            Training("gender_cnn", shape, n_biased, m_ep, batch, "vanilla", n_attr,
                     "'Original' again at mask_epochs (reference for the Mask rows), one per confounder"),
            Training("gender_cnn", shape, n_balanced, m_ep, batch, "vanilla", n_attr,
                     "'Balanced' again at mask_epochs (reference for the Mask rows), one per confounder"),
        ]
    return out


def plan_tutorial(params: dict) -> list[Training]:
    """The tutorial (notebooks/tutorials/own_data.py): its own small CNN on ``n_train`` bordered Fashion-MNIST images
    (3 x 28 x 28): Vanilla, PGD (its GCE-biased model and its de-biased one) and each method of ``methods``, one seed."""
    n, ep, batch = params["n_train"], params["epochs"], params["batch_size"]
    shape = (3, 28, 28)
    out = [Training("small_cnn", shape, n, ep, batch, "vanilla", 1, "tutorial: Vanilla"),
           Training("small_cnn", shape, n, ep, batch, "gce", 1, "tutorial: PGD's GCE-biased model"),
           Training("small_cnn", shape, n, ep, batch, "pgd", 1, "tutorial: PGD's de-biased model")]
    out += [Training("small_cnn", shape, n, ep, batch, m, 1, f"tutorial: {m}") for m in params["methods"]]
    return out


PLANS = {
    "notebooks/tutorials/own_data.py": plan_tutorial,
    "notebooks/rrclarc/cav_alignment.py": plan_cav_alignment,
    "notebooks/rrclarc/tradeoff.py": plan_tradeoff,
    "notebooks/rrclarc/heatmaps.py": plan_heatmaps,
    "notebooks/patchattr/region_attributions.py": plan_region_attributions,
    "notebooks/patchattr/noise_types.py": plan_noise_types,
    "notebooks/patchattr/noise_training.py": plan_noise_training,
}
