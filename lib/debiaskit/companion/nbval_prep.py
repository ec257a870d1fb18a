"""Notebooks ready for nbval under a given profile (CI validates the ``ci`` profile).

The quick suite is too long for CI's budget, so CI executes every notebook end to end on a smaller
``ci`` profile instead (an artifact without one falls back to its quick parameters). Each notebook
is written to ``<out>/<path>.ipynb`` with the profile's parameters injected by papermill after its
``parameters`` cell and its stored outputs cleared. The stored outputs are the quick profile's, so
the ``nbval-check-output`` tags are dropped from these copies: nbval then checks that every cell runs
without error, while the quick profile's claims are checked by ``debiaskit reproduce``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from debiaskit.companion.manifest import Manifest
from debiaskit.companion.reproduce import notebook_as_ipynb, run_parameters

CHECK_TAG = "nbval-check-output"


def profile_parameters(manifest: Manifest, profile: str) -> dict[Path, dict]:
    """The parameters each notebook runs with under ``profile``, falling back to ``quick``.

    Parameters are merged over the notebook's defaults; artifacts that share a notebook must agree.
    """
    out: dict[Path, dict] = {}
    for art in manifest.artifacts:
        params = run_parameters(art, profile, fallback="quick")
        previous = out.setdefault(art.notebook, params)
        if previous != params:
            raise ValueError(f"{art.id}: its {profile!r} parameters differ from those of another artifact of "
                             f"{art.notebook.name}; artifacts sharing a notebook need the same parameters")
    return out


def prepare(manifest: Manifest, profile: str, out_dir: str | Path) -> list[Path]:
    """Write every notebook with ``profile``'s parameters injected into ``out_dir``; return the paths."""
    import jupytext
    import papermill

    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    written = []
    for notebook, params in profile_parameters(manifest, profile).items():
        nb = notebook_as_ipynb(notebook)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
                tags = cell.metadata.get("tags", [])
                if CHECK_TAG in tags:
                    cell.metadata["tags"] = [t for t in tags if t != CHECK_TAG]
        target = out_dir / notebook.relative_to(manifest.root).with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(nb, target)
        # prepare_only: no kernel starts here (nbval starts its own, with their stderr sent to /dev/null, so their
        # "running over TCP without encryption" warning never shows; see reproduce.KERNEL_ARGUMENTS)
        papermill.execute_notebook(str(target), str(target), parameters=params, prepare_only=True,
                                   kernel_name="python3", progress_bar=False, log_output=False)
        written.append(target)
    return written
