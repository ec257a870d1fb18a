"""Read the ``parameters`` cell of a jupytext percent-format notebook without running it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

_CELL = re.compile(r"^# %%(.*)$", re.MULTILINE)


class NotebookParameterError(ValueError):
    """A notebook has no readable ``parameters`` cell, or is given a parameter it does not define."""


def parameters_cell(source: str) -> str:
    """The source of the cell tagged ``parameters`` in percent-format ``source``."""
    marks = list(_CELL.finditer(source))
    for i, mark in enumerate(marks):
        if "parameters" in mark.group(1) and "tags" in mark.group(1):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(source)
            return source[mark.end():end]
    raise NotebookParameterError("no cell tagged 'parameters' (write it as: # %% tags=[\"parameters\"])")


def notebook_parameters(path: str | Path) -> dict:
    """Names and default values of a notebook's parameters (plain literal assignments)."""
    path = Path(path)
    try:
        cell = parameters_cell(path.read_text())
    except NotebookParameterError as exc:
        raise NotebookParameterError(f"{path}: {exc}") from None
    params: dict = {}
    for node in ast.parse(cell).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    raise NotebookParameterError(f"{path}: parameters must be simple names, got {ast.unparse(target)}")
                try:
                    params[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    raise NotebookParameterError(
                        f"{path}: parameter {target.id!r} must be a literal (number, string, list, dict, None)"
                    ) from None
    return params


def check_overrides(path: str | Path, overrides: dict, known: dict | None = None) -> None:
    """Raise a precise error when ``overrides`` names a parameter the notebook does not define (``known``: its
    parameters, when the caller has parsed them already)."""
    known = notebook_parameters(path) if known is None else known
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise NotebookParameterError(
            f"{Path(path).name} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(known))}"
        )
