"""The PGD draft's Table 4 (Appendix A.1, "Hyperparameters for each task") as ``papers.yaml``'s full profiles
state it, so that a drift of the full protocol from the draft shows up as a failed claim.

The canonical full protocol of a controlled benchmark is the full profile of ``pgd/table1`` (its
``train_settings`` per data set and ``method_options``); the GCE parameter q and the dimension size K are the
values PGD runs with under that profile: the draft preset's (:data:`debiaskit.pgd.presets.DRAFT`) unless the profile's
``method_options`` for ``pgd`` set them. The real-world columns (BAR, CelebA, ImageNet/ImageNet-A) come from
the full profile the four real-world tables share (notebooks/pgd/realworld_tables.py), read from
``pgd/table10`` (BAR), ``pgd/table8`` (CelebA) and ``pgd/table9`` (ImageNet-9).
"""

from __future__ import annotations

from debiaskit.companion.manifest import Manifest

COLUMNS = {"cm": ("colored_mnist", "pgd/table1"), "wm": ("watermarked_mnist", "pgd/table1"),
           "ct": ("cartoon", "pgd/table1"), "bar": ("bar", "pgd/table10"), "celeba": ("celeba", "pgd/table8"),
           "imagenet": ("imagenet9", "pgd/table9")}
"""Table 4's columns: key -> (data set name in ``train_settings``, the artifact whose full profile holds it)."""

ROWS = ("lr", "lr_decay", "lr_milestones", "momentum", "weight_decay", "batch_size", "epochs", "gce_q", "k")
"""Table 4's numeric rows, as TrainConfig / PGD option names ("Network Type" is a string, shown, not checked)."""

NETWORKS = {"colored_mnist": "Simple ConvNet-1", "watermarked_mnist": "Simple ConvNet-1", "cartoon": "Simple ConvNet-2"}


def pgd_defaults() -> dict[str, float]:
    """q and K of PGD's draft preset (:data:`debiaskit.pgd.presets.DRAFT`) when a profile does not set them."""
    from debiaskit.pgd import DRAFT

    return {"gce_q": DRAFT.q, "k": DRAFT.score.k}


def full_protocol(manifest: Manifest) -> dict[str, dict]:
    """Table 4 column key -> its cells under the full profiles (missing columns are left out). ``k`` is
    ``None`` where PGD runs as the published variant, which uses no dimension size."""
    out: dict[str, dict] = {}
    ids = {a.id for a in manifest.artifacts}
    for key, (dataset, artifact_id) in COLUMNS.items():
        if artifact_id not in ids:
            continue
        profile = manifest.artifact(artifact_id).profiles.get("full", {})
        settings = (profile.get("train_settings") or {}).get(dataset)
        if settings is None:
            continue
        pgd = {**pgd_defaults(), **{("gce_q" if k == "q" else k): v
                                    for k, v in (profile.get("method_options") or {}).get("pgd", {}).items()}}
        cells = {row: settings.get(row) for row in ROWS[:7]}
        cells["gce_q"] = pgd["gce_q"]
        cells["k"] = None if pgd.get("preset") == "published" else pgd["k"]
        cells["network"] = NETWORKS.get(dataset) or ("Pretrained ResNet-18" if profile.get("pretrained") is True
                                                     else "ResNet-18 (from scratch)")
        out[key] = cells
    return out


def flat_values(protocol: dict[str, dict]) -> dict[str, float]:
    """``<column>_<row>`` -> number; milestone lists become ``<column>_lr_milestone<i>``; unset cells are left out."""
    out: dict[str, float] = {}
    for col, cells in protocol.items():
        for row in ROWS:
            value = cells.get(row)
            if value is None:
                continue
            if row == "lr_milestones":
                out.update({f"{col}_lr_milestone{i + 1}": float(m) for i, m in enumerate(value)})
                out[f"{col}_lr_milestones_count"] = float(len(value))
            else:
                out[f"{col}_{row}"] = float(value)
    return out
