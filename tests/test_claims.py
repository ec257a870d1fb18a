import pytest

from debiaskit.companion.claims import ClaimSyntaxError, check_claim, parse_check


def test_comparison_with_tolerance():
    v = {"a": 10.0, "b": 11.0}
    assert check_claim("x", "t", 'v["a"] >= v["b"]', v).status == "failed"
    assert check_claim("x", "t", 'v["a"] >= v["b"]', v, tolerance=1.0).status == "held"
    assert check_claim("x", "t", 'v["a"] >= v["b"]', v, tolerance=0.5).status == "failed"
    assert check_claim("x", "t", 'v["b"] - v["a"] < 1', v, tolerance=0.01).status == "held"


def test_chained_and_functions():
    v = {"a": 1.0, "b": 2.0, "c": 3.0}
    assert check_claim("x", "t", 'v["a"] < v["b"] < v["c"]', v).status == "held"
    assert check_claim("x", "t", 'v["c"] < v["b"] < v["a"]', v).status == "failed"
    assert check_claim("x", "t", 'max([v["a"], v["b"]]) == 2 and mean([v["a"], v["c"]]) == 2', v).status == "held"


def test_missing_values_mean_not_run():
    assert check_claim("x", "t", 'v["zzz"] > 0', {"a": 1.0}).status == "not run"
    assert check_claim("x", "t", 'v["a"] > 0', None).status == "not run"
    assert check_claim("x", "t", 'v["a"] > 0', {"a": float("nan")}).status == "not run"


@pytest.mark.parametrize("expr", ['__import__("os")', 'v["a"].real', "open('x')", "lambda: 1", 'v["a"] ** 2', "x > 1"])
def test_unsafe_or_unknown_syntax_is_rejected(expr):
    with pytest.raises(ClaimSyntaxError):
        parse_check(expr)
