"""The shipped statistics as the model reads them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model import datasets

DATA = datasets.DATA_DIR


def test_sixteen_regions_and_groups():
    assert len(datasets.REGIONS) == 16 == len(set(datasets.REGIONS))
    assert set(datasets.NORTH_INDUSTRIAL) <= set(datasets.REGIONS)
    assert len(datasets.ETHNIC_GROUPS) == 8
    assert datasets.ETHNIC_GROUPS[0] == "Kazakh"
    assert set(datasets.COMPATRIOT_GROUPS) <= set(datasets.EUROPEAN_GROUPS)
    assert set(datasets.EUROPEAN_GROUPS) <= set(datasets.ETHNIC_GROUPS)


def test_population_2012():
    pop = datasets.population_by_region(2012)
    assert pop.shape == (16,)
    assert int(pop.sum()) == 16_673_933
    assert pop[datasets.REGIONS.index("Almaty city")] == 1_449_366
    assert pop[datasets.REGIONS.index("South Kazakhstan")] == 2_621_472
    assert not pop.flags.writeable


def test_population_after_the_2018_split_recombines_south_kazakhstan():
    nat = pd.read_csv(DATA / "kz_population_national_2000_2018.csv").set_index("year")
    for year in (2018,):
        total = datasets.population_by_region(year).sum()
        assert total == pytest.approx(nat.loc[year, "population_1jan_total"], rel=1e-6)


def test_population_holds_last_year():
    np.testing.assert_array_equal(datasets.population_by_region(2030),
                                  datasets.population_by_region(2018))


def regional_2012(file: str, column: str) -> np.ndarray:
    """Values of 2012 by region in REGIONS order, mapped by KATO code (not by name)."""
    df = pd.read_csv(DATA / file)
    df = df[(df["year"] == 2012) & (df["kato"] != 0)].sort_values("kato")
    assert len(df) == 16
    # the KATO order is the REGIONS order; check the names agree
    for label, name in zip(df["region"], datasets.REGIONS, strict=True):
        assert label.startswith(name.removesuffix(" city").removesuffix(" oblast")), label
    return df[column].to_numpy(dtype=float)


def test_natural_increase_rate_reproduces_bns_2012():
    ni = regional_2012("kz_natural_increase_by_region_2000_2018.csv", "natural_increase")
    rate = datasets.natural_increase_rate(2012)
    np.testing.assert_allclose(rate * datasets.population_by_region(2012), ni, rtol=1e-9)
    assert ni.sum() == 237_739
    assert (rate > 0).all() and rate.max() < 0.03


def test_natural_increase_rate_held_after_2018():
    np.testing.assert_array_equal(datasets.natural_increase_rate(2025),
                                  datasets.natural_increase_rate(2018))


def test_observed_contains_official_emigrants():
    obs = datasets.observed()
    assert {"year", "metric", "value", "quality"} <= set(obs.columns)
    em = obs[obs["metric"] == "new_emigrants"].set_index("year")["value"]
    assert em.loc[2018] == 41_894
    assert em.loc[2013] == 24_384
    assert em.loc[2017] == 37_704
    pop = obs[obs["metric"] == "population"].set_index("year")["value"]
    assert pop.loc[2012] == 16_673_933
    assert set(obs["metric"]) >= {"new_emigrants", "net_migration", "population",
                                  "n_students_abroad"}


def test_ethnicity_by_region_rows_are_shares():
    sh = datasets.ethnicity_by_region()
    assert sh.shape == (16, 8)
    assert (sh >= 0).all()
    np.testing.assert_allclose(sh.sum(axis=1), 1.0, atol=1e-9)


def test_ethnicity_by_region_reproduces_national_census_shares():
    # the regional figures are secondary and of mixed years (2009-2015), so the national
    # census shares come back only roughly
    sh = datasets.ethnicity_by_region()
    pop = datasets.population_by_region(2012)
    national = sh.T @ pop / pop.sum()
    kazakh = datasets.ETHNIC_GROUPS.index("Kazakh")
    russian = datasets.ETHNIC_GROUPS.index("Russian")
    assert national[kazakh] == pytest.approx(0.631, abs=0.02)
    assert national[russian] == pytest.approx(0.237, abs=0.01)
    # northern regions given by the census are far more Russian than the national mean
    north = datasets.REGIONS.index("North Kazakhstan")
    assert sh[north, russian] > 0.4


@pytest.mark.parametrize(("region", "group", "share"), [
    ("South Kazakhstan", "Russian", 0.072), ("South Kazakhstan", "Uzbek", 0.171),
    ("Kostanay", "Kazakh", 0.367), ("Kostanay", "Russian", 0.43),  # 2014 supplement
    ("Karaganda", "Russian", 0.423), ("Almaty oblast", "Uighur", 0.0797),
    ("Kyzylorda", "Kazakh", 0.9197), ("Mangystau", "Kazakh", 0.9197),  # Atyrau's 2015
    ("Pavlodar", "German", 0.028),
])
def test_ethnicity_by_region_takes_the_regional_figures(region, group, share):
    sh = datasets.ethnicity_by_region()
    r, g = datasets.REGIONS.index(region), datasets.ETHNIC_GROUPS.index(group)
    assert sh[r, g] == pytest.approx(share, abs=1e-12)


def test_ethnicity_by_region_spreads_the_rest_where_groups_are_not_given():
    # hand-computed: Pavlodar lists Kazakh, Russian, Ukrainian, German, Tatar and
    # Belarusian (0.7%, counted as Other): 2.8% is left for Uzbeks, Uighurs and Other
    sh = datasets.ethnicity_by_region()
    r = datasets.REGIONS.index("Pavlodar")
    free = [datasets.ETHNIC_GROUPS.index(g) for g in ("Uzbek", "Uighur", "Other")]
    assert sh[r, free].sum() == pytest.approx(0.028 + 0.007, abs=1e-12)
    assert sh[r, datasets.ETHNIC_GROUPS.index("Other")] >= 0.007


def test_regions_without_early_figures_take_their_neighbours_shares():
    # Kyzylorda and Mangystau have only 2020/2021 estimates, which are kept out
    sh = datasets.ethnicity_by_region()
    for region, proxy in (("Kyzylorda", "Atyrau"), ("Mangystau", "Atyrau")):
        np.testing.assert_array_equal(sh[datasets.REGIONS.index(region)],
                                      sh[datasets.REGIONS.index(proxy)])


def test_education_shares():
    for sex in ("male", "female"):
        s = datasets.education_shares()[sex]
        assert s.shape == (3,) and s.sum() == pytest.approx(1.0)
        assert (s > 0).all()


def test_income_gdp_ladder_immigrants():
    r = datasets.income_ratio(2012)
    assert r.shape == (16,) and (r > 0).all()
    # population-weighted mean of the ratio to the national mean is near 1
    pop = datasets.population_by_region(2012)
    assert np.average(r, weights=pop) == pytest.approx(1.0, abs=0.1)
    assert datasets.gdp_ppp("DEU", 2012) > datasets.gdp_ppp("RUS", 2012) > \
        datasets.gdp_ppp("KAZ", 2012)
    assert datasets.ladder(2012) == 5.759
    assert datasets.ladder(2040) == datasets.ladder(2020)
    assert datasets.immigrants(2018) == 12_773
    assert datasets.immigrants(2030) == 12_773
    # official balance plus January-July emigrants scaled by the 2013 ratio of emigrants
    assert datasets.immigrants(2012) == pytest.approx(15751 * 24384 / 12902 - 1426)


def test_initial_abroad():
    s = datasets.initial_abroad()
    assert s["students"] == 42_244
    assert s["labour"] == 34_374


def test_devaluation_events_need_a_date_in_their_year(monkeypatch):
    ds = datasets
    rows = pd.DataFrame({"year": [2014, 2014], "metric": ["exchange_rate", "exchange_rate_event"],
                         "group": ["", "devaluation: 155 -> 185 KZT per USD"],
                         "value": [185.0, 185.0]})
    monkeypatch.setattr(ds, "_read", lambda name: rows)
    ds._devaluation_shock_table.cache_clear()
    try:
        with pytest.raises(ValueError, match="event of 2014 needs its date"):
            ds.devaluation_shock(2014)
        rows.loc[1, "group"] = "devaluation 2014-07-02: 100 -> 110 KZT per USD"
        ds._devaluation_shock_table.cache_clear()
        # 2 July is day 183 of 365: 183/365 of log(1.1) in 2014, the rest in 2015 (the
        # table ends with the file's last year of rates, 2014 here)
        assert ds.devaluation_shock(2014) == pytest.approx(np.log(1.1) * 183 / 365)
    finally:
        ds._devaluation_shock_table.cache_clear()
