"""The command line: validate, list, dry-run plans, parameter errors, and a real papermill run."""

import json
import subprocess
import sys

import pytest
import yaml
from conftest import with_notebook_entries

from debiaskit.companion.cli import main

NOTEBOOK = '''# %% [markdown]
# # tiny

# %% tags=["parameters"]
profile = "quick"
value = 3.0
seed = 0
data_root = None

# %% tags=["nbval-check-output"]
from debiaskit.companion.artifacts import start
run = start("p/a", globals())
run.record({"x": value})
print(run.comparison().to_string())
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "tiny.py").write_text(NOTEBOOK)
    art = {"id": "p/a", "kind": "table", "caption": "Table 0: tiny", "notebook": "notebooks/tiny.py",
           "profiles": {"quick": {"profile": "quick", "value": 3.0}, "full": {"profile": "full", "value": 1.0}},
           "estimated_minutes": {"quick": 0.1, "full": 0.1},
           "paper_values": {"source": "Table 0", "values": {"x": 2.5}},
           "claims": [{"id": "big", "text": "x is at least 2", "check": 'v["x"] >= 2'}]}
    paper = {"id": "p", "title": "T", "authors": ["A"], "document": "d.txt", "artifacts": [art]}
    (tmp_path / "papers.yaml").write_text(yaml.safe_dump(with_notebook_entries({"papers": [paper]})))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_and_list(project, capsys):
    assert main(["validate"]) == 0
    assert "1 artifacts, 1 claims" in capsys.readouterr().out
    assert main(["list"]) == 0
    assert "p/a" in capsys.readouterr().out


def test_unknown_parameter_is_a_short_error(project, capsys):
    assert main(["reproduce", "--artifact", "p/a", "--set", "valeu=2", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "tiny.py has no parameter 'valeu'" in err and "value" in err and "Traceback" not in err


def test_set_values_are_checked_against_the_parameter_types(project, capsys):
    assert main(["reproduce", "--artifact", "p/a", "--set", "value=abc", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "value expects a number (its default is 3.0), got 'abc'" in err and "Traceback" not in err
    assert main(["reproduce", "--artifact", "p/a", "--set", "seed=1.5", "--dry-run"]) == 2
    assert "seed expects an integer" in capsys.readouterr().err
    for ok in ("value=2", "value=2.5", "seed=3", "data_root=/tmp/x", "data_root=None"):
        assert main(["reproduce", "--artifact", "p/a", "--set", ok, "--dry-run"]) == 0, ok


def test_type_rules_for_nested_and_special_defaults():
    from debiaskit.companion.reproduce import _type_problem

    assert _type_problem("seeds", [0], [0, 1]) is None
    assert "seeds[1] expects an integer" in _type_problem("seeds", [0], [0, "x"])
    assert _type_problem("panels", [[0.1, 0.9]], [[0, 1]]) is None
    assert "train['epochs'] expects an integer" in _type_problem("train", {"epochs": 3}, {"epochs": "3"})
    assert _type_problem("train", {"epochs": 3}, {"lr": 0.1}) is None  # new keys are the notebook's to judge
    assert _type_problem("workers", "auto", 1) is None and _type_problem("workers", "auto", "auto") is None
    assert "true or false" in _type_problem("flag", True, 1)
    assert _type_problem("n_train", 8000, None) is None and _type_problem("data_root", None, "/d") is None


def test_unknown_artifact(project, capsys):
    assert main(["reproduce", "--artifact", "p/zzz", "--dry-run"]) == 2
    assert "no artifact 'p/zzz'" in capsys.readouterr().err


def test_malformed_manifest_is_a_short_error(project, capsys):
    (project / "papers.yaml").write_text("papers:\n  - id: p\n    colour: red\n")
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'colour'" in err and "missing required key 'title'" in err


def test_reproduce_runs_skips_and_checks_claims(project, capsys):
    assert main(["reproduce", "--dry-run"]) == 0
    assert "1 to run" in capsys.readouterr().out
    assert main(["reproduce"]) == 0
    result = json.loads((project / "figures" / "p" / "a.json").read_text())
    assert result["values"] == {"x": 3.0} and result["fingerprint"] and result["parameters"]["value"] == 3.0
    assert (project / "notebooks" / "tiny.ipynb").exists()  # quick outputs land in the paired notebook
    capsys.readouterr()
    assert main(["reproduce"]) == 0
    assert "0 to run" in capsys.readouterr().out  # up to date: skipped
    report = (project / "figures" / "REPORT.md").read_text()
    assert "| x | 2.50 | 3.00 | 0.50 |" in report and "held" in report
    # a failing claim makes reproduce exit non-zero
    assert main(["reproduce", "--artifact", "p/a", "--set", "value=1.0"]) == 1
    assert main(["report", "--json"]) == 1
    assert json.loads((project / "figures" / "report.json").read_text())["claims"]["failed"] == 1


def test_console_script_reports_errors_without_traceback(project):
    out = subprocess.run([sys.executable, "-m", "debiaskit.companion.cli", "reproduce", "--paper", "nope", "--dry-run"],
                         capture_output=True, text=True, cwd=project)
    assert out.returncode == 2 and "no paper 'nope'" in out.stderr and "Traceback" not in out.stderr


def _add_second_artifact(project):
    """A second notebook, so that two runs can execute at once."""
    (project / "notebooks" / "tiny2.py").write_text(NOTEBOOK.replace('"p/a"', '"p/b"'))
    doc = yaml.safe_load((project / "papers.yaml").read_text())
    art = dict(doc["papers"][0]["artifacts"][0], id="p/b", notebook="notebooks/tiny2.py")
    entry = doc["papers"][0]["notebooks"][0]
    doc["papers"][0]["notebooks"].append(dict(entry, path="notebooks/tiny2.py",
                                              profiles={**entry["profiles"], "ci": {"profile": "ci", "value": 0.5}}))
    doc["papers"][0]["artifacts"].append(art)
    (project / "papers.yaml").write_text(yaml.safe_dump(doc))


def test_reproduce_with_two_jobs_stamps_every_result(project, capsys):
    _add_second_artifact(project)
    assert main(["reproduce", "--jobs", "2"]) == 0
    prints = {}
    for name in ("a", "b"):
        result = json.loads((project / "figures" / "p" / f"{name}.json").read_text())
        prints[name] = result["fingerprint"]
    assert prints["a"] and prints["b"] and prints["a"] != prints["b"]
    capsys.readouterr()
    assert main(["reproduce", "--jobs", "2"]) == 0
    assert "0 to run" in capsys.readouterr().out


def test_nbval_prepare_injects_the_profile_and_drops_output_checks(project):
    import nbformat

    _add_second_artifact(project)
    assert main(["nbval-prepare", "--profile", "ci", "--out", str(project / "nb")]) == 0
    nb = nbformat.read(project / "nb" / "notebooks" / "tiny2.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "value = 0.5" in injected[0].source and 'profile = "ci"' in injected[0].source
    assert "nbval-check-output" in (project / "notebooks" / "tiny2.py").read_text()
    assert not any("nbval-check-output" in c.metadata.get("tags", []) for c in nb.cells)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    # an artifact without a ci profile runs with its quick parameters, under the name ci
    first = nbformat.read(project / "nb" / "notebooks" / "tiny.ipynb", as_version=4)
    src = [c.source for c in first.cells if "injected-parameters" in c.metadata.get("tags", [])][0]
    assert "value = 3.0" in src and 'profile = "ci"' in src


def test_an_artifact_recorded_without_numbers_is_reported_not_run_with_its_status(project):
    from debiaskit.companion.manifest import load_manifest
    from debiaskit.companion.report import build_report, to_markdown

    doc = yaml.safe_load((project / "papers.yaml").read_text())
    doc["papers"][0]["artifacts"][0]["status"] = "needs a data set that is not here"
    (project / "papers.yaml").write_text(yaml.safe_dump(doc))
    (project / "figures" / "p").mkdir(parents=True)
    (project / "figures" / "p" / "a.json").write_text(json.dumps({"values": {}, "runtime_seconds": 0.1}))
    rep = build_report(load_manifest(project / "papers.yaml"))
    art = rep["papers"][0]["artifacts"][0]
    assert art["ran"] is False and rep["claims"]["not run"] == 1
    assert "**not run** (needs a data set that is not here)" in to_markdown(rep)


def test_editing_prose_keeps_results_fresh_and_editing_code_does_not(project, capsys):
    assert main(["reproduce"]) == 0
    source = project / "notebooks" / "tiny.py"
    source.write_text(source.read_text().replace("# # tiny", "# # tiny\n# A longer introduction."))
    capsys.readouterr()
    assert main(["reproduce", "--dry-run"]) == 0
    assert "0 to run" in capsys.readouterr().out
    source.write_text(source.read_text().replace('run.record({"x": value})', 'run.record({"x": value + 0})'))
    assert main(["reproduce", "--dry-run"]) == 0
    assert "1 to run" in capsys.readouterr().out


def test_output_piped_into_head_ends_quietly(project, monkeypatch, capsys):
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone, as `head` does after its lines
    closed = open(write_end, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", closed)
    assert main(["list"]) == 1  # no BrokenPipeError traceback


def test_one_artifact_of_a_notebook_reruns_and_stamps_its_siblings(project, capsys):
    notebook = project / "notebooks" / "tiny.py"
    notebook.write_text(NOTEBOOK + 'other = start("p/b", globals())\nother.record({"y": value})\n')
    doc = yaml.safe_load((project / "papers.yaml").read_text())
    doc["papers"][0]["artifacts"].append(dict(doc["papers"][0]["artifacts"][0], id="p/b", claims=[],
                                              paper_values={"source": "Table 0", "values": {}}))
    (project / "papers.yaml").write_text(yaml.safe_dump(doc))
    assert main(["reproduce", "--artifact", "p/a", "--dry-run"]) == 0
    assert "p/a, p/b" in capsys.readouterr().out  # one run makes both
    assert main(["reproduce", "--artifact", "p/a"]) == 0
    stamps = [json.loads((project / "figures" / "p" / f"{n}.json").read_text())["fingerprint"] for n in "ab"]
    assert stamps[0] and stamps[0] == stamps[1]
    capsys.readouterr()
    assert main(["reproduce", "--dry-run"]) == 0
    assert "0 to run" in capsys.readouterr().out


def test_paper_and_artifact_can_be_repeated(project, capsys):
    manifest = yaml.safe_load((project / "papers.yaml").read_text())
    other = json.loads(json.dumps(manifest["papers"][0]))
    other["id"] = "q"
    other["artifacts"][0]["id"] = "q/b"
    other["artifacts"][0]["notebook"] = other["notebooks"][0]["path"] = "notebooks/tiny_q.py"
    (project / "notebooks" / "tiny_q.py").write_text(NOTEBOOK.replace('"p/a"', '"q/b"'))
    manifest["papers"].append(other)
    (project / "papers.yaml").write_text(yaml.safe_dump(manifest))
    assert main(["reproduce", "--paper", "p", "--paper", "q", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 notebook run(s)" in out and "p/a" in out and "q/b" in out
    assert main(["reproduce", "--paper", "q", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 notebook run(s)" in out and "q/b" in out and "p/a" not in out
    assert main(["reproduce", "--artifact", "q/b", "--artifact", "p/a", "--dry-run"]) == 0
    assert "2 notebook run(s)" in capsys.readouterr().out
    assert main(["reproduce", "--paper", "p", "--paper", "nope", "--dry-run"]) == 2
    assert "nope" in capsys.readouterr().err


SLOW_NOTEBOOK = '''# %% [markdown]
# # slow: trains a cached model, then waits for a release file

# %% tags=["parameters"]
profile = "quick"
seed = 0
data_root = None

# %% tags=["nbval-check-output"]
import os, time
from pathlib import Path
import torch
from debiaskit.companion.artifacts import start
from debiaskit.experiments.cache import cached_model

run = start("p/slow", globals())
def fit(model):
    with open(os.environ["FITS_LOG"], "a") as log:
        log.write("fit\\n")
    torch.nn.init.constant_(model.weight, 2.0)
model, _ = cached_model({"tiny": 1}, lambda: torch.nn.Linear(1, 1, bias=False), fit)
release = Path(os.environ["RELEASE_FILE"])
for _ in range(600):
    if release.exists():
        break
    time.sleep(0.1)
run.record({"w": float(model.weight.item())})
'''


def test_sigkill_mid_notebook_then_rerun_keeps_finished_work(project, tmp_path):
    """`reproduce` killed with SIGKILL (with its kernels) while the second notebook runs: on the rerun, the
    finished artifact is up to date, the cached model is reused, and only the interrupted notebook runs."""
    import os
    import signal
    import time

    (project / "notebooks" / "slow.py").write_text(SLOW_NOTEBOOK)
    doc = yaml.safe_load((project / "papers.yaml").read_text())
    slow = dict(doc["papers"][0]["artifacts"][0], id="p/slow", notebook="notebooks/slow.py", claims=[],
                paper_values={"source": "-", "values": {}}, profiles={"quick": {"profile": "quick"},
                                                                        "full": {"profile": "full"}})
    doc["papers"][0]["artifacts"].append(slow)
    (project / "papers.yaml").write_text(yaml.safe_dump(with_notebook_entries(doc)))
    cache, fits, release = tmp_path / "models", tmp_path / "fits.log", tmp_path / "release"
    env = dict(os.environ, DEBIASKIT_CACHE=str(cache), FITS_LOG=str(fits), RELEASE_FILE=str(release))
    command = [sys.executable, "-m", "debiaskit.companion.cli", "reproduce"]
    proc = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while not list(cache.glob("*.pt")) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert list(cache.glob("*.pt")), "the slow notebook never cached its model"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # reproduce and its kernel, mid-notebook
        proc.wait()
    first = project / "figures" / "p" / "a.json"
    stamp = json.loads(first.read_text())["fingerprint"]
    assert stamp and not (project / "figures" / "p" / "slow.json").exists()
    release.touch()
    out = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "1 to run" in out.stdout and "up to date" in out.stdout  # only the interrupted notebook runs
    assert json.loads(first.read_text())["fingerprint"] == stamp
    assert json.loads((project / "figures" / "p" / "slow.json").read_text())["values"] == {"w": 2.0}
    assert fits.read_text().count("fit") == 1  # the model cached before the kill is reused, not retrained


def test_the_report_sets_full_protocol_cells_beside_the_papers_mean_and_std(project):
    """A result of the paper's own protocol (here the `full` profile) shows in the quick report with the paper's
    spread; a cell more than two std and two points away is marked; quick/ci results are not protocol cells."""
    from debiaskit.companion.manifest import ManifestError, load_manifest
    from debiaskit.companion.report import build_report, to_markdown

    doc = yaml.safe_load((project / "papers.yaml").read_text())
    doc["papers"][0]["artifacts"][0]["paper_values"]["std"] = {"x": 0.5}
    (project / "papers.yaml").write_text(yaml.safe_dump(doc))
    assert main(["reproduce"]) == 0  # quick: x = 3.0
    assert build_report(load_manifest(project / "papers.yaml"))["protocol_cells"] == []
    assert main(["reproduce", "--profile", "full"]) == 1  # full: x = 1.0 fails x >= 2; 1.5 below 2.5: 3 std, < 2 points
    rep = build_report(load_manifest(project / "papers.yaml"))
    (cell,) = rep["protocol_cells"]
    assert (cell["cell"], cell["paper"], cell["paper_std"], cell["reproduced"]) == ("full", 2.5, 0.5, 1.0)
    assert cell["in_std"] == pytest.approx(-3.0) and cell["within"]
    md = to_markdown(rep)
    assert "## Measured with the paper's own protocol" in md and "| 2.50 ± 0.50 | 1.00 | -1.50 | -3.0 | yes |" in md
    (claim,) = rep["protocol_claims"]  # the full run's claims are checked on the full run's values, beside its cells
    assert (claim["artifact"], claim["profile"], claim["id"], claim["status"]) == ("p/a", "full", "big", "failed")
    assert "| `p/a` | x is at least 2 | ❌ failed |" in md
    assert cell["code_changed"] == [] and ", code changed since](" not in md
    nb = project / "notebooks" / "tiny.py"
    text = nb.read_text()
    nb.write_text(text + "\nextra = 1\n")  # the measured cell now predates its notebook's code: kept, marked
    (cell,) = build_report(load_manifest(project / "papers.yaml"))["protocol_cells"]
    assert cell["code_changed"] == ["notebook code"] and cell["reproduced"] == 1.0
    assert ", code changed since](" in to_markdown(build_report(load_manifest(project / "papers.yaml")))
    nb.write_text(text)
    doc["papers"][0]["notebooks"][0]["profiles"]["full"]["value"] = -1.0
    (project / "papers.yaml").write_text(yaml.safe_dump(doc))
    assert main(["reproduce", "--profile", "full"]) == 1  # its claim (x >= 2) fails now
    assert not build_report(load_manifest(project / "papers.yaml"))["protocol_cells"][0]["within"]
    doc["papers"][0]["artifacts"][0]["paper_values"]["std"] = {"y": 0.5}
    (project / "papers.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ManifestError, match="'y' has a spread but no value"):
        load_manifest(project / "papers.yaml")


def test_an_unknown_profile_is_rejected_with_the_known_ones_by_every_subcommand(project, capsys):
    commands = (["report"], ["reproduce", "--dry-run"], ["nbval-prepare", "--out", str(project / "nb")])
    for command in commands:
        assert main([*command, "--profile", "nope"]) == 2, command
        err = capsys.readouterr().err
        assert "usage: debiaskit" in err and "--profile: unknown profile 'nope'" in err, command
        assert "papers.yaml's profiles: full, quick" in err and "Traceback" not in err, command
    assert not (project / "figures").exists() and not (project / "nb").exists()  # nothing written, no REPORT-nope.md
    assert main(["report", "--profile", "full"]) == 0  # a profile of papers.yaml is accepted
    assert (project / "figures" / "REPORT-full.md").exists()


def test_profile_help_shows_its_default_and_the_usual_profiles(capsys):
    for command, default in (("report", "quick"), ("reproduce", "quick"), ("nbval-prepare", "ci")):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
        assert f"default: {default}" in out and "quick, ci and full" in out, command


def _record(project, x: float) -> None:
    (project / "figures" / "p").mkdir(parents=True, exist_ok=True)
    (project / "figures" / "p" / "a.json").write_text(json.dumps({"values": {"x": x}, "runtime_seconds": 0.1}))


def test_report_prints_a_short_summary_and_the_whole_report_on_request(project, capsys):
    _record(project, 1.0)  # x >= 2 fails
    assert main(["report"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["claims (quick profile): 0 held, 1 failed, 0 not run",
                                "wrote figures/REPORT.md, figures/report.json",
                                "failed claims:", "  p/a: big"]
    assert err == "exit 1: 1 claim failed\n"
    assert "| x | 2.50 | 1.00 | -1.50 |" in (project / "figures" / "REPORT.md").read_text()
    assert main(["report", "--print"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("# Reproduction report (quick profile)") and "| x | 2.50 | 1.00 | -1.50 |" in out
    assert main(["report", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["claims"]["failed"] == 1
    _record(project, 3.0)
    assert main(["report"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "claims (quick profile): 1 held, 0 failed, 0 not run" and "failed claims" not in out
    assert err == ""
    # the Makefile's `debiaskit report > /dev/null`: the files are written, only the reason for a failure shows
    _record(project, 1.0)
    (project / "figures" / "REPORT.md").unlink()
    done = subprocess.run([sys.executable, "-m", "debiaskit.companion.cli", "report"], cwd=project,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1 and done.stderr == "exit 1: 1 claim failed\n"
    assert (project / "figures" / "REPORT.md").exists()


def test_reproduce_ends_by_saying_where_its_outputs_went(project, capsys):
    assert main(["reproduce"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("outputs:")
    assert lines[at - 2:] == ["claims (quick profile): 1 held, 0 failed, 0 not run",
                              "wrote figures/REPORT.md, figures/report.json",
                              "outputs:",
                              "  results and figures: figures/p/",
                              "  executed notebooks: build/quick/executed/ (1 this run)",
                              "  paired notebooks (quick outputs): notebooks/tiny.ipynb"]
    assert (project / "build" / "quick" / "executed" / "notebooks" / "tiny.ipynb").exists()
    assert main(["reproduce", "--profile", "full"]) == 1  # x = 1.0 fails its claim; no paired notebook for full
    out, err = capsys.readouterr()
    assert "failed claims:\n  p/a: big\n" in out and "wrote figures/REPORT-full.md, figures/report-full.json" in out
    assert out.rstrip().endswith("  executed notebooks: build/full/executed/ (1 this run)")
    assert err.rstrip().endswith("exit 1: 1 claim failed")


def test_the_kernels_tcp_without_encryption_warning_is_silenced(project, capfd, monkeypatch):
    """ipykernel logs it to the kernel's stderr, which is ours: a kernel that reproduce starts logs errors only."""
    import inspect

    import ipykernel.kernelapp

    from debiaskit.companion import reproduce

    assert main(["reproduce"]) == 0
    assert "without encryption" not in capfd.readouterr().err
    if "without encryption" in inspect.getsource(ipykernel.kernelapp):  # this ipykernel warns: without the fix we see it
        monkeypatch.setattr(reproduce, "KERNEL_ARGUMENTS", ())
        assert main(["reproduce", "--force"]) == 0
        assert "Kernel is running over TCP without encryption" in capfd.readouterr().err


def test_say_renders_the_runs_numbers_and_its_claims_as_one_sentence(project):
    from debiaskit.companion.artifacts import ArtifactRun, PROTOCOL_FIGURE, figure_path
    from debiaskit.companion.manifest import load_manifest

    art = load_manifest(project / "papers.yaml").artifact("p/a")
    run = ArtifactRun(art, {"profile": "quick"}, project)
    with pytest.raises(RuntimeError, match="call run.record"):
        run.say("{v[x]}")
    for value, held, failed in ((3.0, "x is at least 2", "none"), (1.0, "none", "x is at least 2")):
        run.record({"x": value})
        text = run.say("x = {v[x]:.1f} (paper {p[x]}). {claims}").data
        assert text == f"x = {value:.1f} (paper 2.5). Claims that held: {held}. Claims that failed: {failed}."
        assert run.say("{held} | {failed}").data == f"{held} | {failed}"
    assert figure_path(project, art, "quick", PROTOCOL_FIGURE) == project / "figures" / "p" / "a_protocol.png"
