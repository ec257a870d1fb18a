"""benchmarks/full_protocol_cell.py: the spot profile's cell without Jupyter, and its overrides for other readings
of Table 4 (shrunk to a smoke test here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, needs_mnist

SCRIPT = ROOT / "benchmarks" / "full_protocol_cell.py"


def _run(*args, env_cache: Path):
    env = {**os.environ, "DEBIASKIT_CACHE": str(env_cache),
           "DEBIASKIT_DATA": os.environ.get("DEBIASKIT_DATA", "/work/shared/data"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


@needs_mnist
def test_a_shrunk_cell_with_another_schedule_writes_vanilla_beside_the_paper(tmp_path):
    out = tmp_path / "cell.json"
    proc = _run("--out", str(out), "--n-train", "600", "--epochs", "1", "--methods", "vanilla",
                "--setting", "lr_decay=0.1", env_cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["settings"]["lr_decay"] == 0.1 and doc["settings"]["epochs"] == 1 and doc["n_train"] == 540
    cells = doc["cells"]
    assert set(cells) == {"cm99_vanilla_val", "cm99_vanilla_major", "cm99_vanilla_minor", "vanilla_seconds"}
    assert cells["cm99_vanilla_minor"]["paper"] == 51.97 and 0 <= cells["cm99_vanilla_minor"]["reproduced"] <= 100


def test_unknown_settings_and_methods_are_refused_with_the_choices(tmp_path):
    proc = _run("--out", str(tmp_path / "x.json"), "--setting", "lr_decy=0.1", env_cache=tmp_path / "cache")
    assert proc.returncode == 2 and "lr_decay" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run("--out", str(tmp_path / "x.json"), "--methods", "lff", env_cache=tmp_path / "cache")
    assert proc.returncode == 2 and "'lff'" in proc.stderr and "Traceback" not in proc.stderr
