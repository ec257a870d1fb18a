"""Full-profile cells: the store (kept across settings, assembled into the artifact's values, code changes marked), the
campaign end to end at toy size (cells written as they finish, shown in the report as measured with their device),
its time limit, and its door checks."""

from __future__ import annotations

import json
import shutil
import statistics
from types import SimpleNamespace
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, needs_mnist

from debiaskit.companion import campaign
from debiaskit.companion import cells as store
from debiaskit.companion.campaign import main as campaign_main
from debiaskit.companion.campaign import plan_campaign, run_campaign
from debiaskit.companion.manifest import ManifestError, load_manifest
from debiaskit.experiments.cells import Table1Cell, table1_grid, table1_settings

PARAMS = {"datasets": ["colored_mnist"], "bias_ratios": [0.99], "seeds": [0, 1], "methods": ["vanilla", "pgd"],
          "train_settings": {"colored_mnist": {"epochs": 1, "lr": 0.05}}, "method_options": {"pgd": {"preset": "published"}},
          "n_train": {"colored_mnist": 300}, "n_test": 200, "difficulty": {"colored_mnist": 0.0001}, "sources": {}}


def _write(root: Path, cell: Table1Cell, values: dict, settings: dict | None = None, code: dict | None = None) -> Path:
    return store.write_cell(root, "pgd/table1", cell, settings or table1_settings(PARAMS, cell), values, seconds=60.0,
                            device="cpu: test", commit="abc1234", code=code)


def test_cells_are_kept_per_settings_and_assembled_as_means_over_the_seeds_measured(tmp_path):
    grid = table1_grid(PARAMS)
    assert [c.key for c in grid] == ["cm99_s0_vanilla", "cm99_s0_pgd", "cm99_s1_vanilla", "cm99_s1_pgd"]  # seed by seed
    _write(tmp_path, grid[0], {"val": 90.0, "major": 99.0, "minor": 10.0})
    _write(tmp_path, grid[2], {"val": 92.0, "major": 97.0, "minor": 20.0})
    other = table1_settings(PARAMS, grid[1])
    other["train"] = {**other["train"], "lr": 0.01}  # another schedule: kept beside, not counted
    _write(tmp_path, grid[1], {"val": 50.0, "major": 50.0, "minor": 50.0}, settings=other)
    records = store.load_cells(tmp_path, "pgd/table1")
    assert len(records) == 3 and all(r["file"].startswith("figures/cells/pgd/table1/cm99_s") for r in records)
    values, seeds = store.assemble(records, PARAMS)
    assert values == {"cm99_vanilla_val": 91.0, "cm99_vanilla_major": 98.0, "cm99_vanilla_minor": 15.0}  # no pgd: never
    assert seeds["cm99_vanilla_minor"] == 2 and statistics.fmean([10.0, 20.0]) == 15.0  # measured today's settings
    table = store.cell_table(records, PARAMS, {"cm99_pgd_minor": 97.76}, {"cm99_pgd_minor": 0.36}, current_code={})
    labels = {(r["cell"], r["counted"]): r["settings"] for r in table}
    assert labels[("cm99_s0_vanilla", True)] == "the full profile's" and labels[("cm99_s0_pgd", False)] == "other: lr 0.01"
    assert {p.name for p in store.cell_dir(tmp_path, "pgd/table1").iterdir()} == {
        Path(r["file"]).name for r in records}  # one file per cell and settings


def test_a_cell_records_the_code_it_ran_and_is_marked_when_that_code_changes(tmp_path):
    code = store.package_hashes()
    assert "pgd/debias.py" in code and "companion/cells.py" in code  # every module, read from the files alone
    cell = Table1Cell("colored_mnist", 0.99, 0, "vanilla")
    _write(tmp_path, cell, {"val": 1.0, "major": 2.0, "minor": 3.0}, code=code)
    (record,) = store.load_cells(tmp_path, "pgd/table1")
    assert store.code_changed(record, code) == []
    changed = {**code, "core/training.py": "edited", "rrclarc/cav.py": "edited"}  # only its own closure counts
    assert store.code_changed(record, changed) == ["core/training.py"]
    record["provenance"]["code"] = None
    assert store.code_changed(record) == ["recorded before code fingerprints"]


def _method_record(method: str, options: dict | None = None, code: dict | None = None) -> dict:
    return {"cell": {"method": method}, "settings": {"options": options or {}},
            "provenance": {"measured_by": list(store.MEASURED_BY), "code": code}}


def test_another_methods_code_does_not_date_a_cell():
    code = store.package_hashes()
    edited = {**code, "baselines/rubi.py": "edited", "baselines/hsic.py": "edited", "pgd/debias.py": "edited"}
    assert store.code_changed(_method_record("rubi", code=code), edited) == ["baselines/rubi.py"]
    assert store.code_changed(_method_record("vanilla", code=code), edited) == []  # ReBias's HSIC and PGD are not its code
    assert store.code_changed(_method_record("rebias", code=code), edited) == ["baselines/hsic.py"]
    assert store.code_changed(_method_record("pgd", code=code), edited) == ["pgd/debias.py"]
    vanilla_edited = {**code, "baselines/vanilla.py": "edited"}
    assert store.code_changed(_method_record("aflite", {"features": "vanilla"}, code), vanilla_edited) == ["baselines/vanilla.py"]
    assert store.code_changed(_method_record("aflite", {}, code), vanilla_edited) == []  # filters with its own features model
    shared = {**code, "core/training.py": "edited"}
    assert all(store.code_changed(_method_record(m, code=code), shared) == ["core/training.py"]
               for m in ("vanilla", "rubi", "lff", "rebias", "aflite", "repair", "learned_mixin", "pgd"))


def test_a_method_module_only_defines_its_fit_so_importing_it_changes_no_other_method():
    """What :func:`debiaskit.companion.cells.cell_modules` relies on: each registered method's module runs nothing at
    import but imports, definitions and constants (a module-level seed or torch setting would move other cells)."""
    import ast
    import importlib

    from debiaskit.baselines import COMPARED_METHODS

    for method in COMPARED_METHODS.values():
        module = importlib.import_module(method.fit.__module__)
        for node in ast.parse(Path(module.__file__).read_text()).body:
            constant = isinstance(node, (ast.Assign, ast.AnnAssign)) and not any(
                isinstance(n, ast.Call) for n in ast.walk(node.value))
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            assert constant or docstring or isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)), (
                f"{module.__name__} line {node.lineno} runs code at import")


def test_a_file_that_is_not_a_cell_is_named(tmp_path):
    folder = store.cell_dir(tmp_path, "pgd/table1")
    folder.mkdir(parents=True)
    (folder / "junk.json").write_text(json.dumps({"values": {}}))
    with pytest.raises(ValueError, match="junk.json is not a cell record"):
        store.load_cells(tmp_path, "pgd/table1")


@pytest.fixture
def toy_root(tmp_path, monkeypatch):
    """A checkout whose Table 1 full profile is toy-sized (300 images, one epoch) and whose campaign is CM 99%,
    seed 0, Vanilla and PGD; its own model cache."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("*.ipynb"))
    doc = yaml.safe_load((ROOT / "papers.yaml").read_text())
    for paper in doc["papers"]:
        for nb in paper.get("notebooks") or []:
            if nb["path"] == "notebooks/pgd/table1_controlled.py":
                full = nb["profiles"]["full"]
                full.update(n_train={"colored_mnist": 300}, n_test=200, seeds=[0])
                full["train_settings"]["colored_mnist"].update(epochs=1, batch_size=64)
    doc["campaign"] = [{"artifact": "pgd/table1", "select": {"datasets": ["colored_mnist"], "bias_ratios": [0.99],
                                                            "methods": ["vanilla", "pgd"]}, "note": "toy"}]
    (tmp_path / "papers.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path


@needs_mnist
def test_the_campaign_stores_each_cell_and_the_report_shows_it_measured_with_its_device(toy_root):
    from debiaskit.companion.report import build_report, to_markdown

    manifest = load_manifest(toy_root / "papers.yaml")
    assert [p.cell.key for p in plan_campaign(manifest)] == ["cm99_s0_vanilla", "cm99_s0_pgd"]
    said: list[str] = []
    summary = run_campaign(toy_root, minutes=5, workers=1, threads=1, say=said.append)
    assert summary["errors"] == [] and len(summary["stored"]) == 2 and summary["left"] == 0, said
    assert plan_campaign(load_manifest(toy_root / "papers.yaml")) == []  # measured: nothing left to do
    records = store.load_cells(toy_root, "pgd/table1")
    assert {r["key"] for r in records} == {"cm99_s0_vanilla", "cm99_s0_pgd"}
    assert all(r["provenance"]["device"].startswith("cpu: ") and r["provenance"]["seconds"] > 0 for r in records)
    assert all(0 < r["provenance"]["cpu_seconds"] < 10 * r["provenance"]["seconds"] for r in records)  # one thread
    assert all(r["provenance"]["code"] == store.package_hashes() for r in records)  # what each worker imported
    report = build_report(load_manifest(toy_root / "papers.yaml"))
    measured = [c for c in report["protocol_cells"] if c["counted"]]
    assert {c["value"] for c in measured} == {f"cm99_{m}_{k}" for m in ("vanilla", "pgd") for k in ("val", "major", "minor")}
    assert all(c["device"].startswith("cpu: ") and c["code_changed"] == [] for c in measured)
    coverage = {c["artifact"]: c["measured"] for c in report["fidelity"]["coverage"]}
    assert coverage["pgd/table1"] == 6 and report["fidelity"]["protocol"]["n"] == 6
    claims = {c["id"]: c["status"] for c in report["protocol_claims"]}
    assert claims["protocol-pgd-beats-vanilla"] in ("held", "failed") and claims["protocol-cm99-pgd-best-minority"] == "not run"
    md = to_markdown(report)
    assert md.index("## Fidelity to the paper") < md.index("## Measured with the paper's own protocol")
    assert "`pgd/table1` 6 of 216 values" in md and "| cm99_s0_pgd | cm99_pgd_minor | 97.76 ± 0.36 |" in md  # as printed


@needs_mnist
def test_at_the_limit_running_cells_stop_and_nothing_is_stored_for_them(toy_root, monkeypatch):
    doc = yaml.safe_load((toy_root / "papers.yaml").read_text())
    for paper in doc["papers"]:
        for nb in paper.get("notebooks") or []:
            if nb["path"] == "notebooks/pgd/table1_controlled.py":
                nb["profiles"]["full"]["n_train"] = {"colored_mnist": 20000}
                nb["profiles"]["full"]["train_settings"]["colored_mnist"]["epochs"] = 20
    (toy_root / "papers.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setattr(campaign, "HEARTBEAT_SECONDS", 5.0)
    said: list[str] = []
    summary = run_campaign(toy_root, minutes=0.5, workers=1, threads=1, cells=["cm99_s0_vanilla"], probe=False,
                           say=said.append)  # not timed first: started, and stopped at the limit
    assert summary["stopped"] == ["cm99_s0_vanilla"] and summary["stored"] == []
    assert any(line.startswith("  cm99_s0_vanilla: running, ") for line in said), said  # a long cell says it runs
    assert store.load_cells(toy_root, "pgd/table1") == []


def test_the_campaign_list_and_the_command_line_are_checked_at_the_door(tmp_path, capsys):
    doc = yaml.safe_load((ROOT / "papers.yaml").read_text())
    doc["campaign"] = [{"artifact": "pgd/table1", "select": {"ratios": [0.99]}},
                       {"artifact": "pgd/nope"}]
    (tmp_path / "papers.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("*.ipynb"))
    with pytest.raises(ManifestError, match=r"(?s)campaign\[0\].select: must map some of .*campaign\[1\]: artifact .pgd/nope."):
        load_manifest(tmp_path / "papers.yaml")
    assert campaign_main(["--minutes", "0"]) == 2
    assert "--minutes must be positive, got 0" in capsys.readouterr().err
    assert campaign_main(["--minutes", "1", "--set", "epochs"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


def _record(method: str, seconds: float, device: str = "cpu: x86_64, 1 threads", seed: int = 0, lr: float = 0.05) -> dict:
    cell = Table1Cell("colored_mnist", 0.99, seed, method)
    settings = table1_settings(PARAMS, cell)
    settings["train"] = {**settings["train"], "lr": lr}
    return {"cell": cell.as_dict(), "key": cell.key, "settings": settings,
            "provenance": {"seconds": seconds, "device": device, "finished": "2026-12-07T01:00:00Z"}}


def test_a_cells_duration_is_measured_where_a_like_cell_ran_on_this_kind_of_device():
    from debiaskit.companion.estimate import measured_seconds

    records = [_record("vanilla", 100.0), _record("lff", 185.0), _record("lff", 150.0, device="cpu: x86_64, 2 threads"),
               _record("lff", 400.0, seed=1), _record("rubi", 999.0, lr=0.01), _record("lff", 50.0, device="cuda: H100")]
    cell = Table1Cell("colored_mnist", 0.95, 2, "lff")  # another ratio and seed: same method, data set and settings
    found = measured_seconds(records, cell, records[1]["settings"], "cpu: x86_64")
    assert found.seconds == 400.0 and found.measured and found.how == "measured: cpu: x86_64, 1 threads, 2026-12-07"
    assert measured_seconds(records, cell, records[1]["settings"], "cuda: H100").seconds == 50.0  # per device kind
    assert measured_seconds(records, cell, records[1]["settings"], "cuda: A100") is None
    rubi = Table1Cell("colored_mnist", 0.99, 0, "rubi")
    assert measured_seconds(records, rubi, table1_settings(PARAMS, rubi), "cpu: x86_64") is None  # other lr


def test_the_schedule_check_follows_the_campaign_order_and_skips_what_would_overrun():
    from debiaskit.companion.estimate import cells_finishing

    # two workers, 10 min: 300 s and 400 s start at once; 250 s follows the first (550 s), 700 s overruns every
    # worker and is skipped, 100 s follows the second (500 s); an unknown cell holds its worker to the end
    assert cells_finishing([300, 400, 250, 700, 100], 10, 2) == [True, True, True, False, True]
    assert cells_finishing([None, 60, 60], 10, 2) == [False, True, True]
    assert cells_finishing([None, None, 60], 10, 2) == [False, False, False]


def test_dated_cells_are_planned_again_only_when_asked(toy_root):
    manifest = load_manifest(toy_root / "papers.yaml")
    cell = Table1Cell("colored_mnist", 0.99, 0, "vanilla")
    (planned,) = [p for p in plan_campaign(manifest) if p.cell == cell]
    store.write_cell(toy_root, "pgd/table1", cell, planned.settings, {"val": 1.0, "major": 2.0, "minor": 3.0},
                     seconds=5.0, device="cpu: test", commit=None, code=None)  # recorded before code fingerprints
    assert [p.cell.key for p in plan_campaign(manifest)] == ["cm99_s0_pgd"]
    assert [p.cell.key for p in plan_campaign(manifest, dated=True)] == ["cm99_s0_vanilla", "cm99_s0_pgd"]
    store.write_cell(toy_root, "pgd/table1", cell, planned.settings, {"val": 1.0, "major": 2.0, "minor": 3.0},
                     seconds=5.0, device="cpu: test", commit=None, code=store.package_hashes())  # measured again
    assert [p.cell.key for p in plan_campaign(manifest, dated=True)] == ["cm99_s0_pgd"]


@needs_mnist
def test_a_cell_that_would_overrun_is_not_started_and_an_unmeasured_one_is_estimated_from_a_probe(toy_root, capsys):
    from debiaskit.companion.campaign import print_plan
    from debiaskit.companion.estimate import probe_rate
    from debiaskit.companion.provenance import device_description

    manifest = load_manifest(toy_root / "papers.yaml")
    pgd = next(p for p in plan_campaign(manifest) if p.cell.method == "pgd")
    # PGD measured on this kind of device (another seed, the same settings) at ten hours: too long for 5 minutes
    store.write_cell(toy_root, "pgd/table1", Table1Cell("colored_mnist", 0.99, 1, "pgd"), pgd.settings,
                     {"val": 1.0, "major": 2.0, "minor": 3.0}, seconds=36000.0, device=device_description(),
                     commit=None, code=store.package_hashes())
    cache = toy_root / "cache"
    before = sorted(cache.rglob("*")) if cache.exists() else []
    rate = probe_rate(pgd.cell, pgd.settings, probe_images=256, threads=1)  # PGD itself, options and all
    assert rate.per_image_epoch > 0 and rate.per_image_once >= 0 and rate.fixed >= 0
    assert rate.images == 270  # the toy profile's 300 images less the validation tenth
    assert (sorted(cache.rglob("*")) if cache.exists() else []) == before  # the probe leaves no model behind
    print_plan(toy_root, minutes=5, workers=1, threads=1, overrides={}, cells=None, dated=False, estimate=False)
    out = capsys.readouterr().out
    assert "cm99_s0_vanilla (toy; duration unknown)" in out and "cm99_s0_pgd (toy; 600.0 min, measured: " in out
    summary = run_campaign(toy_root, minutes=5, workers=1, threads=1, say=lambda s: None)
    assert summary["skipped"] == ["cm99_s0_pgd"] and summary["left"] == 1 and len(summary["stored"]) == 1
    seconds, how = summary["durations"]["cm99_s0_vanilla"]
    assert how == "estimate: probes of its code now, scaled to 270 images x 1 epochs" and 0 < seconds < 300


def test_a_probe_whose_three_epochs_take_no_longer_than_one_times_nothing(monkeypatch):
    from debiaskit.companion import estimate

    _fake_clock(monkeypatch, lambda st: 3.0 if st["train"]["epochs"] == 1 else 2.0)  # time not growing with epochs
    cell = Table1Cell("colored_mnist", 0.99, 0, "aflite")
    with pytest.raises(ValueError, match="101 epochs took no longer than one .*aflite's time here is not proportional"):
        estimate.probe_rate(cell, table1_settings(PARAMS, cell), probe_images=64)
    said: list[str] = []
    planned = SimpleNamespace(cell=cell, settings=table1_settings(PARAMS, cell))
    assert estimate.cell_duration(planned, [], "cpu: test", rates={}, say=said.append) is None
    assert "its cells are not timed" in said[0]


def _fake_clock(monkeypatch, seconds_of) -> None:
    """Replace the cell's measurement by ``seconds_of(settings)`` seconds on a clock of the probe's own, so that its
    arithmetic is checked exactly (a busy CPU delays real sleeps by tens of milliseconds)."""
    from debiaskit.companion import estimate
    from debiaskit.experiments import cells as measuring

    now = [0.0]

    def measured(cell, settings, **kw):
        now[0] += seconds_of(settings)

    monkeypatch.setattr(measuring, "measure_table1_cell", measured)
    monkeypatch.setattr(estimate, "time", SimpleNamespace(perf_counter=lambda: now[0]))


def test_a_probe_separates_the_step_the_one_off_work_that_grows_with_the_data_and_the_fixed_cost(monkeypatch):
    """A method that takes ``fixed + once * n + step * n * epochs`` seconds (AFLite: filtering over the whole set
    before any epoch) is timed by its probes at two sizes and two epoch counts."""
    from debiaskit.companion import estimate
    from debiaskit.experiments import benchmarks

    fixed, once, step = 20.0, 0.04, 0.01
    _fake_clock(monkeypatch, lambda st: fixed + once * st["n_train"] + step * st["n_train"] * st["train"]["epochs"])
    monkeypatch.setattr(benchmarks, "build_benchmark", lambda *a, **k: SimpleNamespace(train=SimpleNamespace(y=[0] * 9000)))
    cell = Table1Cell("colored_mnist", 0.99, 0, "aflite")
    rate = estimate.probe_rate(cell, table1_settings(PARAMS, cell), probe_images=2048)
    assert rate.images == 9000
    assert (rate.per_image_epoch, rate.per_image_once, rate.fixed) == pytest.approx((step, once, fixed))
    assert rate.seconds(epochs=20) == pytest.approx(fixed + once * 9000 + step * 9000 * 20)
    # where the one-off work is most of the time, a single-size probe (that work at 2,048 images) would say half
    assert (fixed + once * 2048 + step * 9000) / rate.seconds(epochs=1) < 0.6


def test_a_step_drowned_in_one_off_work_is_timed_over_many_epochs(monkeypatch):
    """AFLite at the probe's size: a minute of filtering, a few milliseconds per epoch on the fifth it keeps. Two
    extra epochs would vanish in a busy CPU's noise, so the step is timed over LONG_PROBE_EPOCHS."""
    from debiaskit.companion import estimate
    from debiaskit.experiments import benchmarks

    epochs_run: list[int] = []

    def seconds_of(st):
        epochs_run.append(st["train"]["epochs"])
        return 50.0 + 0.004 * st["n_train"] + 2e-6 * st["n_train"] * st["train"]["epochs"]

    _fake_clock(monkeypatch, seconds_of)
    monkeypatch.setattr(benchmarks, "build_benchmark", lambda *a, **k: SimpleNamespace(train=SimpleNamespace(y=[0] * 9000)))
    cell = Table1Cell("colored_mnist", 0.99, 0, "aflite")
    rate = estimate.probe_rate(cell, table1_settings(PARAMS, cell), probe_images=2048)
    assert epochs_run == [1, 1, 1, 3, estimate.LONG_PROBE_EPOCHS]
    assert (rate.per_image_epoch, rate.per_image_once, rate.fixed) == pytest.approx((2e-6, 0.004, 50.0))
