"""The parameter registry: documented defaults inside bounds, strict validation of overrides."""

from __future__ import annotations

import numpy as np
import pytest

from model.params import (
    REGISTRY,
    ROLES,
    Param,
    ParamError,
    Prior,
    by_role,
    defaults,
    suggest,
    validate_params,
)

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


# --- roles and priors ------------------------------------------------------------------------

def test_every_parameter_has_a_role_and_every_role_is_used():
    assert all(p.role in ROLES for p in PARAMS)
    assert {p.role for p in PARAMS} == set(ROLES)
    assert [p.name for p in by_role("context")] == [p.name for p in PARAMS
                                                    if p.role == "context"]
    # dates are context; the behavioural coefficients (asc_*, b_*) are behaviour
    assert all(p.role == "context" for p in PARAMS if p.kind == "year")
    assert all(p.role == "behaviour" for p in PARAMS if p.name.startswith(("asc_", "b_")))
    with pytest.raises(ValueError, match="unknown role"):
        by_role("calibrated")


STRUCTURAL = ["max_household_size", "head_min_age",
              "abroad_student_min_age", "abroad_student_max_age", "work_age_min",
              "work_age_max", "study_age_min", "study_age_max", "gompertz_a", "gompertz_b",
              "male_mortality_excess", "infant_mortality", "fertile_age_min", "fertile_age_max",
              "fertility_peak_age", "birth_cap", "sex_ratio_birth", "secondary_age",
              "higher_age", "leave_home_min_age", "leave_home_max_age", "leave_home_min_gap",
              "immigrants_2012", "immigrant_kazakh_share_2012", "immigrant_kazakh_share",
              "immigrant_higher_share"]


def test_the_former_constants_are_structural_with_their_values():
    assert {p.name for p in by_role("structural")} >= set(STRUCTURAL)
    d = defaults()
    # exactly the literals the model used (results stay byte-identical)
    assert (d["gompertz_a"], d["gompertz_b"], d["male_mortality_excess"],
            d["infant_mortality"]) == (5e-5, 0.09, 2.43, 0.01)
    assert d["sex_ratio_birth"] / (d["sex_ratio_birth"] + 100.0) == 105 / 205
    # 2012 emigrants estimated from January-July (2013 ratio) plus the official balance
    assert d["immigrants_2012"] == 15751.0 * 24384.0 / 12902.0 - 1426.0
    assert (d["immigrant_kazakh_share_2012"], d["immigrant_kazakh_share"],
            d["immigrant_higher_share"], d["birth_cap"]) == (0.69, 0.623, 0.175, 0.95)
    assert [d[k] for k in ("work_age_min", "work_age_max", "study_age_min", "study_age_max",
                           "secondary_age", "higher_age", "leave_home_min_age",
                           "leave_home_max_age", "leave_home_min_gap", "fertile_age_min",
                           "fertility_peak_age", "fertile_age_max", "head_min_age",
                           "max_household_size", "abroad_student_min_age",
                           "abroad_student_max_age")] == [18, 62, 16, 24, 16, 22, 20, 34, 16,
                                                          15, 27, 49, 20, 12, 17, 24]


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: p.name)
def test_default_prior_is_uniform_on_the_bounds(p: Param):
    assert p.prior == ("uniform",)
    prior = p.prior_dist()
    lo, hi = p.bounds
    assert prior.ppf(0.0) == lo and prior.ppf(1.0) == hi
    if p.kind == "float":
        u = np.array([0.0, 0.125, 0.5, 0.9, 1.0])
        # bit for bit the arithmetic of the designs made before priors existed
        assert np.array_equal(prior.ppf(u), np.clip(lo + u * (hi - lo), lo, hi))
        assert prior.frozen().support() == pytest.approx((lo, hi))


def test_non_uniform_priors_by_hand():
    # triangular on [0, 1] with mode 0: cdf 1 - (1 - x)^2, so ppf(0.75) = 0.5
    tri = Param("t", 0.5, (0.0, 1.0), "1", "d", "assumption: t", prior=("triangular", 0.0))
    assert tri.prior_dist().ppf(0.75) == pytest.approx(0.5)
    # beta(2, 1) on [0, 2]: cdf (x / 2)^2, so ppf(0.25) = 1
    beta = Param("b", 1.0, (0.0, 2.0), "1", "d", "assumption: b", prior=("beta", 2.0, 1.0))
    assert beta.prior_dist().ppf(0.25) == pytest.approx(1.0)
    # normal(1, 0.5) truncated to [0, 2]: symmetric, so the median is mu; all mass inside
    norm = Param("n", 1.0, (0.0, 2.0), "1", "d", "assumption: n", prior=("normal", 1.0, 0.5))
    ppf = norm.prior_dist().ppf(np.array([0.0, 0.5, 1.0]))
    assert ppf.tolist() == pytest.approx([0.0, 1.0, 2.0])
    # truncated at 2 sigma: ppf(q) = mu + sigma * Phi^-1(Phi(-2) + q (Phi(2) - Phi(-2))),
    # closer to mu than the untruncated mu + sigma = 1.5
    from scipy.stats import norm as std_normal

    lo, hi = std_normal.cdf(-2.0), std_normal.cdf(2.0)
    want = 1.0 + 0.5 * std_normal.ppf(lo + 0.8413 * (hi - lo))
    assert norm.prior_dist().ppf(0.8413) == pytest.approx(want, rel=1e-9)
    assert want < 1.5
    assert norm.prior_dist().describe() == "normal(1, 0.5)"


@pytest.mark.parametrize("kwargs, match", [
    ({"prior": ("gamma", 1.0)}, "family"),
    ({"prior": "uniform"}, "family"),
    ({"prior": ("normal", 1.0)}, "takes 2"),
    ({"prior": ("normal", 5.0, 1.0)}, "mu inside"),
    ({"prior": ("normal", 1.0, 0.0)}, "sigma > 0"),
    ({"prior": ("beta", -1.0, 2.0)}, "a > 0"),
    ({"prior": ("triangular", 3.0)}, "mode inside"),
    ({"prior": ("normal", 1.0, float("nan"))}, "finite"),
    ({"role": "calibrated"}, "role"),
])
def test_invalid_declarations_are_rejected_at_registry_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Param("x", 1.0, (0.0, 2.0), "1", "doc", "assumption: test", **kwargs)


def test_whole_number_parameters_take_uniform_priors_and_int_defaults():
    with pytest.raises(ValueError, match="uniform prior only"):
        Param("n", 2, (1, 5), "1", "doc", "assumption: t", kind="int",
              prior=("triangular", 2.0))
    with pytest.raises(ValueError, match="must be an int"):
        Param("n", 2.0, (1, 5), "1", "doc", "assumption: t", kind="int")
    with pytest.raises(ValueError, match="must be a float"):
        Param("x", 1, (0.0, 2.0), "1", "doc", "assumption: t")
    with pytest.raises(ValueError, match="not inside"):
        Param("x", 3.0, (0.0, 2.0), "1", "doc", "assumption: t")
    assert Prior(("uniform",), 1, 8, whole=True).ppf(np.array([0.0, 0.5, 1.0])).tolist() \
        == [1.0, 5.0, 8.0]


def test_ordered_ages_are_checked_across_parameters():
    with pytest.raises(ParamError) as info:
        validate_params({"study_age_min": 20, "study_age_max": 19})
    assert info.value.key == "study_age_min"
    assert "allowed: study_age_min <= study_age_max" in str(info.value)
    with pytest.raises(ParamError) as info:
        validate_params({"leave_home_max_age": 29, "leave_home_min_age": 30})
    assert info.value.key == "leave_home_min_age"
    ok = validate_params({"study_age_min": 20, "study_age_max": 20, "higher_age": 19,
                          "secondary_age": 18})
    assert (ok["study_age_max"], ok["higher_age"]) == (20, 19)
