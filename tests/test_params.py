"""The parameter registry: documented defaults inside bounds, strict validation of overrides."""

from __future__ import annotations

import pytest

from model.params import REGISTRY, Param, ParamError, defaults, suggest, validate_params

PARAMS = list(REGISTRY.values())
FLOATS = [p for p in PARAMS if p.kind == "float"]
WHOLE = [p for p in PARAMS if p.kind in ("int", "year")]


def test_registry_is_keyed_by_name_and_not_empty():
    assert len(REGISTRY) >= 40
    assert all(name == p.name for name, p in REGISTRY.items())
    assert list(defaults()) == list(REGISTRY)


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: p.name)
def test_default_within_bounds_and_documented(p: Param):
    lo, hi = p.bounds
    assert lo < hi, "bounds must be a non-empty range"
    assert lo <= p.default <= hi
    assert p.contains(p.default)
    assert p.doc.strip() and p.unit.strip() and p.source.strip()
    assert p.kind in ("float", "int", "year")


@pytest.mark.parametrize("p", WHOLE, ids=lambda p: p.name)
def test_whole_number_kinds_have_whole_defaults_and_bounds(p: Param):
    assert float(p.default) == int(p.default)
    assert all(float(b) == int(b) for b in p.bounds)


def test_there_are_int_and_year_parameters():
    kinds = {p.kind for p in WHOLE}
    assert kinds == {"int", "year"}


def test_contains_is_inclusive():
    p = Param("x", 1.0, (0.0, 2.0), "1", "doc", "assumption: test")
    assert p.contains(0.0) and p.contains(2.0) and p.contains(1.5)
    assert not p.contains(-1e-9) and not p.contains(2.000001)
    assert p.is_assumption
    assert not Param("y", 1.0, (0.0, 2.0), "1", "doc", "BNS").is_assumption


def test_defaults_is_a_fresh_copy():
    d = defaults()
    d["age_peak"] = -1
    assert defaults()["age_peak"] == REGISTRY["age_peak"].default


def test_validate_empty_returns_defaults():
    assert validate_params({}) == defaults()


def test_validate_accepts_good_overrides():
    out = validate_params({"age_peak": 40, "b_compatriot": 0, "study_years": 5.0,
                           "compatriot_year": 2020, "nest_scale": 1.0})
    assert out["age_peak"] == 40.0 and isinstance(out["age_peak"], float)
    assert out["b_compatriot"] == 0.0
    assert out["study_years"] == 5 and isinstance(out["study_years"], int)
    assert out["compatriot_year"] == 2020 and isinstance(out["compatriot_year"], int)
    # untouched keys keep their defaults
    assert out["age_width"] == REGISTRY["age_width"].default


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: p.name)
def test_validate_accepts_both_bounds(p: Param):
    lo, hi = p.bounds
    assert validate_params({p.name: lo})[p.name] == lo
    assert validate_params({p.name: hi})[p.name] == hi


def test_unknown_key_with_did_you_mean():
    with pytest.raises(ParamError) as info:
        validate_params({"age_pek": 40})
    err = info.value
    assert err.key == "age_pek"
    assert "is not a parameter" in str(err)
    assert "did you mean 'age_peak'?" in str(err)


def test_unknown_key_without_near_miss_has_no_suggestion():
    with pytest.raises(ParamError) as info:
        validate_params({"zzzzzzzz": 1})
    assert "did you mean" not in str(info.value)
    assert info.value.key == "zzzzzzzz"


@pytest.mark.parametrize("value", ["40", True, False, None, [40], {"a": 1}])
def test_wrong_type_is_rejected(value):
    with pytest.raises(ParamError) as info:
        validate_params({"age_peak": value})
    assert info.value.key == "age_peak"
    assert "must be a number" in str(info.value)


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: p.name)
def test_out_of_bounds_is_rejected(p: Param):
    lo, hi = p.bounds
    step = 1 if p.kind in ("int", "year") else (hi - lo) * 0.01 + 1e-6
    for bad in (lo - step, hi + step):
        with pytest.raises(ParamError) as info:
            validate_params({p.name: bad})
        assert info.value.key == p.name
        assert "out of bounds" in str(info.value)
        assert f"{lo:g}" in str(info.value) and f"{hi:g}" in str(info.value)


@pytest.mark.parametrize("p", WHOLE, ids=lambda p: p.name)
def test_non_integer_for_whole_kinds_is_rejected(p: Param):
    with pytest.raises(ParamError) as info:
        validate_params({p.name: p.default + 0.5})
    assert "whole number" in str(info.value)


def test_float_kinds_accept_fractions():
    p = FLOATS[0]
    mid = (p.bounds[0] + p.bounds[1]) / 2 + 1e-3
    assert validate_params({p.name: mid})[p.name] == pytest.approx(mid)


def test_first_bad_key_is_reported_and_defaults_untouched():
    with pytest.raises(ParamError):
        validate_params({"age_peak": 40, "nest_scale": 5.0})
    assert defaults()["age_peak"] == REGISTRY["age_peak"].default


def test_param_error_is_a_value_error_with_parts():
    err = ParamError("k", "is bad", "allowed: x")
    assert isinstance(err, ValueError)
    assert (err.key, err.problem, err.allowed) == ("k", "is bad", "allowed: x")
    assert str(err) == "key 'k' is bad; allowed: x"


def test_suggest():
    assert suggest("nest_scal", REGISTRY) == "; did you mean 'nest_scale'?"
    assert suggest("qqqqqqqqqqq", REGISTRY) == ""


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("name", ["age_peak", "study_years", "compatriot_year"])
def test_non_finite_values_raise_param_error(name, value):
    # TOML accepts nan and inf; they must give the one-line ParamError naming the key,
    # not a bare ValueError/OverflowError from int() (model/params.py, _coerce).
    with pytest.raises(ParamError) as info:
        validate_params({name: value})
    assert info.value.key == name
