"""Table 4 from the manifest's full profiles (and its drift check), Figure 9's layer table from the modules."""

from __future__ import annotations

from pathlib import Path

import yaml

from debiaskit.companion.claims import check_claim
from debiaskit.companion.manifest import load_manifest
from debiaskit.companion.protocol import flat_values, full_protocol, pgd_defaults
from debiaskit.core.models import simple_convnet1, simple_convnet2
from debiaskit.pgd.analysis.architecture import layer_table

ROOT = Path(__file__).resolve().parents[1]


def test_layer_table_reads_the_modules():
    model = simple_convnet1(3, 10).train()
    table = layer_table(model, (3, 28, 28))
    convs = table[table.type == "Conv2d"]
    assert list(convs.kernel) == [4, 4, 4] and [o[0] for o in convs.output] == [8, 32, 64]
    assert int(table.params.sum()) == sum(p.numel() for p in model.parameters())
    assert table.iloc[-1]["output"] == (10,) and model.training  # the probe leaves the mode as it was
    convs2 = layer_table(simple_convnet2(3, 4), (3, 64, 64)).query("type == 'Conv2d'")
    assert list(convs2.kernel) == [6, 6, 5, 5, 4] and [o[0] for o in convs2.output] == [8, 16, 16, 32, 32]


def test_table4_follows_the_full_profiles_and_its_claim_catches_a_drift(tmp_path):
    manifest = load_manifest(ROOT / "papers.yaml")
    protocol = full_protocol(manifest)
    settings = manifest.artifact("pgd/table1").profiles["full"]["train_settings"]
    assert protocol["cm"]["lr"] == settings["colored_mnist"]["lr"] and protocol["ct"]["momentum"] == settings["cartoon"]["momentum"]
    assert protocol["cm"]["gce_q"] == pgd_defaults()["gce_q"] and protocol["cm"]["k"] is None  # the published variant
    claim = next(c for c in manifest.artifact("pgd/table4").claims if c.id == "controlled-cells-match")
    assert check_claim(claim.id, claim.text, claim.check, flat_values(protocol), claim.tolerance).status == "held"
    # a full profile that drifts from the draft (WM's learning rate) fails the claim
    doc = yaml.safe_load((ROOT / "papers.yaml").read_text())
    table1 = next(n for p in doc["papers"] for n in p["notebooks"] if n["path"].endswith("table1_controlled.py"))
    table1["profiles"]["full"]["train_settings"]["watermarked_mnist"]["lr"] = 0.02
    for p in doc["papers"]:
        for a in p["artifacts"]:
            a["notebook"] = str(ROOT / a["notebook"])
        for n in p["notebooks"]:
            n["path"] = str(ROOT / n["path"])
    (tmp_path / "papers.yaml").write_text(yaml.safe_dump(doc))
    drifted = flat_values(full_protocol(load_manifest(tmp_path / "papers.yaml")))
    assert drifted["wm_lr"] == 0.02
    assert check_claim(claim.id, claim.text, claim.check, drifted, claim.tolerance).status == "failed"
