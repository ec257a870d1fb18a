"""The command line: validate, list, dry-run plans, parameter errors, and a real papermill run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from debiaskit.cli import main

NOTEBOOK = '''# %% [markdown]
# # tiny

# %% tags=["parameters"]
profile = "quick"
value = 3.0
seed = 0
data_root = None

# %%
from debiaskit.artifacts import start
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
    (tmp_path / "papers.yaml").write_text(yaml.safe_dump({"papers": [paper]}))
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
    out = subprocess.run([sys.executable, "-m", "debiaskit.cli", "reproduce", "--paper", "nope", "--dry-run"],
                         capture_output=True, text=True, cwd=project)
    assert out.returncode == 2 and "no paper 'nope'" in out.stderr and "Traceback" not in out.stderr
