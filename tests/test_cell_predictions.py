"""``benchmarks/cell_predictions.py``: it reads a stored cell's model from the cache and never trains one; a cell that
is not stored, or whose model is not cached here, is named with what to do."""

from __future__ import annotations

import importlib.util

from conftest import ROOT, needs_mnist


def _script():
    spec = importlib.util.spec_from_file_location("cell_predictions", ROOT / "benchmarks" / "cell_predictions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_unknown_cell_is_named_with_the_stored_ones(capsys):
    assert _script().main(["cm99_s9_nothing"]) == 2
    err = capsys.readouterr().err
    assert "no stored cell cm99_s9_nothing" in err and "cm99_s0_pgd" in err


@needs_mnist
def test_a_cell_whose_model_is_not_cached_here_is_not_trained(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path))
    assert _script().main(["cm99_s0_vanilla"]) == 2
    assert "cm99_s0_vanilla: its model is not in the model cache here" in capsys.readouterr().err
    assert not any(tmp_path.rglob("*.pt"))
