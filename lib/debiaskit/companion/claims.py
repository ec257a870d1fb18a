"""Checkable claims: small, safe expressions over an artifact's reproduced values.

A claim's ``check`` is a Python-syntax expression over ``v["name"]`` (a reproduced value),
numbers, ``+ - * /``, comparisons, ``and``/``or``/``not`` and ``min``, ``max``, ``abs``, ``mean``,
``all``, ``any`` over lists. Comparisons are loosened by the claim's ``tolerance``:
``a >= b`` holds when ``a >= b - tolerance``. Example::

    check: 'v["minor@0.5"] + 30 <= v["pgd_minor"]'
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass

_FUNCS = {"min": min, "max": max, "abs": abs, "all": all, "any": any, "len": len,
          "mean": lambda xs: sum(xs) / len(xs)}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class ClaimSyntaxError(ValueError):
    """A claim's ``check`` uses syntax outside the allowed subset."""


class MissingValue(KeyError):
    """A claim refers to a value the results do not hold (the claim is *not run*)."""


@dataclass
class ClaimOutcome:
    id: str
    text: str
    status: str  # "held", "failed" or "not run"
    detail: str = ""


def parse_check(expr: str) -> ast.Expression:
    """Parse and vet ``expr``; raise :class:`ClaimSyntaxError` on anything not allowed."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ClaimSyntaxError(f"check {expr!r} is not an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Constant,
                               ast.Subscript, ast.Name, ast.Call, ast.List, ast.Tuple, ast.Load, ast.And, ast.Or,
                               ast.Not, ast.USub, ast.UAdd, ast.cmpop, ast.operator))
        if not ok:
            raise ClaimSyntaxError(f"check {expr!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and node.id not in _FUNCS and node.id != "v":
            raise ClaimSyntaxError(f"check {expr!r}: unknown name {node.id!r} (use v[\"value name\"])")
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINOPS:
            raise ClaimSyntaxError(f"check {expr!r}: operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise ClaimSyntaxError(f"check {expr!r}: only {sorted(_FUNCS)} may be called")
    return tree


def _compare(op: ast.cmpop, a: float, b: float, tol: float) -> bool:
    if isinstance(op, ast.Gt):
        return a > b - tol
    if isinstance(op, ast.GtE):
        return a >= b - tol
    if isinstance(op, ast.Lt):
        return a < b + tol
    if isinstance(op, ast.LtE):
        return a <= b + tol
    if isinstance(op, ast.Eq):
        return abs(a - b) <= tol
    if isinstance(op, ast.NotEq):
        return abs(a - b) > tol
    raise ClaimSyntaxError(f"comparison {type(op).__name__} is not allowed")


def _eval(node: ast.AST, values: dict, tol: float):
    if isinstance(node, ast.Expression):
        return _eval(node.body, values, tol)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Subscript):
        key = _eval(node.slice, values, tol)
        if key not in values:
            raise MissingValue(key)
        value = values[key]
        if isinstance(value, float) and math.isnan(value):
            raise MissingValue(key)
        return value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, values, tol) for e in node.elts]
    if isinstance(node, ast.Call):
        return _FUNCS[node.func.id](*[_eval(a, values, tol) for a in node.args])
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, values, tol), _eval(node.right, values, tol))
    if isinstance(node, ast.UnaryOp):
        x = _eval(node.operand, values, tol)
        return -x if isinstance(node.op, ast.USub) else (not x if isinstance(node.op, ast.Not) else x)
    if isinstance(node, ast.BoolOp):
        parts = [_eval(v, values, tol) for v in node.values]
        return all(parts) if isinstance(node.op, ast.And) else any(parts)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values, tol)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, values, tol)
            if not _compare(op, left, right, tol):
                return False
            left = right
        return True
    raise ClaimSyntaxError(f"{type(node).__name__} is not allowed")


def check_claim(claim_id: str, text: str, expr: str, values: dict | None, tolerance: float = 0.0) -> ClaimOutcome:
    """Evaluate one claim against reproduced ``values`` (``None``: the artifact was not run)."""
    if values is None:
        return ClaimOutcome(claim_id, text, "not run", "no results for this profile")
    try:
        held = bool(_eval(parse_check(expr), values, tolerance))
    except MissingValue as exc:
        return ClaimOutcome(claim_id, text, "not run", f"value {exc.args[0]!r} was not reproduced")
    return ClaimOutcome(claim_id, text, "held" if held else "failed", expr + (f" (tolerance {tolerance:g})" if tolerance else ""))
