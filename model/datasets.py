"""Read the shipped statistics into the arrays the model needs.

Every file lives in ``model/data/kz/`` with its ``.meta.md`` (source, licence, caveats),
copied from the project's data collection with the source and quality columns kept.
The model's geography is the 16 regions of 2012 (14 oblasts and the cities of Astana and
Almaty); South Kazakhstan, split in 2018 into Turkestan oblast and Shymkent city, is
recombined for later years. These functions give the observed values; outside the
observed years they hold the first or last value. What the model reads after a series ends
is a driver's projection (:mod:`model.drivers`, ``docs/drivers.md``), not these functions.

Examples
--------
>>> from model import datasets
>>> len(datasets.REGIONS)
16
>>> int(datasets.population_by_region(2012).sum())
16673933
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from model.params import REGISTRY


class _LazyPandas:
    """pandas, imported on first use.

    The scenario checks import this module for its region and group names, and
    ``emigsim --help`` or a bad input file must answer at once.
    """

    def __getattr__(self, name: str):
        import pandas

        return getattr(pandas, name)


pd = _LazyPandas()

__all__ = [
    "DATA_DIR", "REGIONS", "NORTH_INDUSTRIAL", "ETHNIC_GROUPS", "EUROPEAN_GROUPS",
    "COMPATRIOT_GROUPS", "population_by_region", "natural_increase_rate",
    "education_shares", "ethnicity_by_region", "income_ratio", "income_kzt", "gdp_ppp",
    "gdp_usd", "ladder", "immigrants", "lcu_per_usd", "russia_wage_kzt", "grp_per_capita",
    "GRP_LAST_YEAR",
    "observed_years", "initial_abroad", "observed", "preload", "births_by_region",
    "deaths_by_region", "life_expectancy_by_region", "emigrants_before_2012",
    "emigrant_ethnicity_2012", "census_group_counts",
]

DATA_DIR = Path(__file__).parent / "data" / "kz"

REGIONS: tuple[str, ...] = (
    "Akmola", "Aktobe", "Almaty oblast", "Atyrau", "West Kazakhstan", "Zhambyl", "Karaganda",
    "Kostanay", "Kyzylorda", "Mangystau", "South Kazakhstan", "Pavlodar", "North Kazakhstan",
    "East Kazakhstan", "Astana city", "Almaty city",
)
"""The 16 regions of 2012, in BNS (KATO) order; a region's code is its index here."""

NORTH_INDUSTRIAL: tuple[str, ...] = (
    "Akmola", "Karaganda", "East Kazakhstan", "Kostanay", "Pavlodar", "North Kazakhstan")
"""The northern and industrial regions, which lead the outflow (CABAR 2019; BNS Jan-Sep 2017
names these six and Almaty city as the seven leading regions, kz_migration_targets.csv)."""

ETHNIC_GROUPS: tuple[str, ...] = (
    "Kazakh", "Russian", "Uzbek", "Ukrainian", "Uighur", "Tatar", "German", "Other")
"""Groups of the 2009 census table; a group's code is its index here."""
EUROPEAN_GROUPS = ("Russian", "Ukrainian", "Tatar", "German")
COMPATRIOT_GROUPS = ("Russian", "Ukrainian", "Tatar")

_CENSUS_GROUP = {"Kazakhs": "Kazakh", "Russians": "Russian", "Uzbeks": "Uzbek",
                 "Ukrainians": "Ukrainian", "Uighurs": "Uighur", "Tatars": "Tatar",
                 "Germans": "German", "Others": "Other"}


def _canonical(name: str) -> str:
    """Map a region label of any shipped file to one of REGIONS (or a split-off unit)."""
    n = name.split(" (")[0].strip()
    if n.startswith("Astana"):
        return "Astana city"
    if n in ("Almaty oblast", "Almaty city"):
        return n
    if n in ("Shymkent city", "Turkestan oblast"):
        return "South Kazakhstan"
    return n.removesuffix(" oblast")


def _read(name: str) -> pd.DataFrame:
    path = DATA_DIR / name
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:  # a broken install, not a user error
        raise RuntimeError(f"{path}: cannot read shipped data file ({exc})") from exc


def _by_region_year(df: pd.DataFrame, value: str, weights: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
    """Pivot to year x REGIONS, summing (or weight-averaging) split-off units."""
    df = df[df["region"] != "Republic of Kazakhstan"].copy()
    df["unit"] = df["region"].map(_canonical)
    if weights is None:
        out = df.groupby(["year", "unit"])[value].sum().unstack("unit")
    else:
        w = weights.rename("w")
        df = df.join(w, on=["year", "region"])
        df["w"] = df["w"].fillna(1.0)
        df["wx"] = df[value] * df["w"]
        g = df.groupby(["year", "unit"])
        out = (g["wx"].sum() / g["w"].sum()).unstack("unit")
    missing = set(REGIONS) - set(out.columns)
    if missing:
        raise RuntimeError(f"shipped data lack regions {sorted(missing)} for '{value}'")
    return out[list(REGIONS)].sort_index()


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _hold(table: pd.DataFrame, year: int) -> pd.Series:
    """Row for ``year``, holding the first or last available year outside the data."""
    y = min(max(year, int(table.index.min())), int(table.index.max()))
    return table.loc[y]


@cache
def _table_np(table_fn) -> tuple[int, np.ndarray]:
    """First year and the values of a cached year-indexed table, as one numpy array."""
    table = table_fn()
    years = table.index.to_numpy()
    full = table.reindex(range(int(years.min()), int(years.max()) + 1)).ffill()
    return int(years.min()), _frozen(full.to_numpy(dtype=float))


def _hold_np(table_fn, year: int) -> np.ndarray:
    """Row of a cached table for ``year``, holding its first or last year outside it."""
    first, values = _table_np(table_fn)
    return values[min(max(year - first, 0), len(values) - 1)]


@cache
def _population_table() -> pd.DataFrame:
    return _by_region_year(_read("kz_population_by_region_2000_2018.csv"), "population_1jan")


def population_by_region(year: int) -> np.ndarray:
    """Official population on 1 January of ``year`` by region (BNS).

    Examples
    --------
    >>> float(population_by_region(2012)[REGIONS.index("Almaty city")])
    1449366.0
    """
    return _hold_np(_population_table, year)


@cache
def _ni_rate_table() -> pd.DataFrame:
    ni = _by_region_year(_read("kz_natural_increase_by_region_2000_2018.csv"), "natural_increase")
    pop = _population_table().loc[ni.index]
    return ni / pop


def natural_increase_rate(year: int) -> np.ndarray:
    """Natural increase during ``year`` per person on 1 January, by region (BNS).

    Years after 2018 hold the 2018 rate.

    Examples
    --------
    >>> float(natural_increase_rate(2012).max()) < 0.03
    True
    """
    return _hold_np(_ni_rate_table, year)


@cache
def _births_deaths(metric: str) -> pd.DataFrame:
    df = _read("kz_births_deaths_by_region_2000_2018.csv")
    # South Kazakhstan in 2012 borders: the pre-2018 unit to 2017, Turkestan + Shymkent
    # (the file's derived row) in 2018; the split units themselves are left out
    df = df[(df["metric"] == metric) & ~df["kato"].isin([0, 610000000, 790000000])]
    return _by_region_year(df, "value")


def births_by_region() -> pd.DataFrame:
    """Live births by year (2000-2018) and region in 2012 borders (BNS).

    Examples
    --------
    >>> int(births_by_region().loc[2012].sum())
    381153
    """
    return _births_deaths("births")


def deaths_by_region() -> pd.DataFrame:
    """Deaths by year (2000-2018) and region in 2012 borders (BNS).

    Examples
    --------
    >>> int(deaths_by_region().loc[2012].sum())
    143411
    """
    return _births_deaths("deaths")


@cache
def life_expectancy_by_region() -> pd.DataFrame:
    """Life expectancy at birth, both sexes, by year (1999-2018) and region (BNS).

    South Kazakhstan in 2017-2018 (published only as Turkestan oblast and Shymkent city) is
    their mean weighted by the 2018 population of each (an approximation: life
    expectancies do not average exactly).

    Examples
    --------
    >>> e = life_expectancy_by_region()
    >>> float(e.loc[2018, "Almaty city"]) > float(e.loc[2018, "North Kazakhstan"])
    True
    """
    df = _read("kz_life_expectancy_by_region_1999_2018.csv")
    pop = _read("kz_population_by_region_2000_2018.csv")
    w = pop[pop["year"] == 2018].set_index("region")["population_1jan"]
    split = df[df["kato"].isin([610000000, 790000000])]
    weights = pd.Series(
        [float(w[w.index.str.startswith(r.split(" (")[0])].iloc[0]) for r in split["region"]],
        index=pd.MultiIndex.from_arrays([split["year"], split["region"]]))
    return _by_region_year(df, "value", weights)


@cache
def education_shares() -> dict[str, np.ndarray]:
    """Shares of the 2009 population 15+ by level, for ``male`` and ``female``.

    Levels are ``(basic, secondary, higher)``: basic = basic secondary, primary and none;
    secondary = general secondary, secondary special (incl. vocational) and incomplete
    higher; higher = higher incl. postgraduate (2009 census).

    Examples
    --------
    >>> round(float(education_shares()["male"].sum()), 6)
    1.0
    """
    df = _read("kz_census_education_2009_national.csv")
    df = df[(df["census_year"] == 2009) & (df["settlement"] == "all")].set_index("sex")
    out = {}
    for sex in ("male", "female"):
        r = df.loc[sex]
        basic = r["basic_secondary"] + r["primary"] + r["no_level_or_not_stated_residual"]
        secondary = (r["general_secondary"] + r["secondary_special_incl_vocational"]
                     + r["incomplete_higher"])
        higher = r["higher_incl_postgraduate"]
        v = np.array([basic, secondary, higher], dtype=float)
        out[sex] = _frozen(v / v.sum())
    return out


_PAGES_GROUP = {g: g for g in ("Kazakh", "Russian", "Uzbek", "Ukrainian", "Uighur", "Tatar",
                               "German")}

# Which figures of kz_census2009_ethnicity_by_region_pages.csv each region takes, best first:
# (stated year or None for undated, start of the quality text). A group given by an earlier
# pick wins. Why these: the 2009 census where a page gives it, else the nearest dated
# estimate, else an undated full breakdown (see model/data/README.md, "ethnicity by region").
_ETHNICITY_PICKS: dict[str, tuple[tuple[int | None, str], ...]] = {
    "Akmola": ((2009, "secondary (encyclopedia citing 2009 census); Romanian"),),
    "Aktobe": ((2009, "derived (2009 census count"),),
    "Almaty oblast": ((2009, "derived (2009 census Uighur"),
                      (None, "secondary (English machine translation of German")),
    "Atyrau": ((2015, "secondary"),),
    "West Kazakhstan": ((2010, "secondary (blog copy"),),
    "Zhambyl": ((2010, "secondary (proxy copy of French"),),
    "Karaganda": ((None, "tertiary (missionary blog"),),
    "Kostanay": ((2009, "secondary (Kazinform"),),
    "South Kazakhstan": ((2011, "secondary"),),
    "Pavlodar": ((2009, "secondary (encyclopedia citing 2009 census); Estonian"),),
    "North Kazakhstan": ((2009, "secondary (encyclopedia citing 2009 census); German"),),
    "East Kazakhstan": ((2009, "derived (2009 census Uighur"),
                        (None, "secondary (German Wikipedia")),
    "Astana city": ((2014, "secondary"),),
    "Almaty city": ((2009, "secondary"), (2009, "derived"), (None, "tertiary (travel blog")),
}
# Regions with no full figure before 2019 in the shipped tables take another region's
# shares (the figures found for them, of 2020 and 2021, are outcomes kept out of the
# project for validation). Both take Atyrau (2015): Mangystau's neighbour, and for
# Kyzylorda the region whose Russian share (5.8%) is nearest its own 2014 Russian count in
# the supplement (15,839, 2.1%); its neighbour Aktobe has 13.5% (model/data/README.md).
_ETHNICITY_PROXIES = {"Kyzylorda": "Atyrau", "Mangystau": "Atyrau"}
# Minority shares of 2014 (Assembly of People of Kazakhstan, in the supplement) for regions
# whose pages give only Kazakhs, or Kazakhs and Russians (percent rows only).
_SUPPLEMENT_PICKS = {"Akmola": 2014, "Kostanay": 2014}


def _ethnicity_figures() -> dict[str, dict[str, float]]:
    """The chosen shares (0-1) of every region: model groups, and extra groups as 'Other+'."""
    pages = _read("kz_census2009_ethnicity_by_region_pages.csv")
    pages = pages[pages["metric"] == "population_share"]
    region = pages["group"].str.extract(r"region=([^;]+)")[0].map(_canonical)
    group = pages["group"].str.extract(r"ethnicity=(.+)")[0]
    out: dict[str, dict[str, float]] = {}
    for name, picks in _ETHNICITY_PICKS.items():
        given: dict[str, float] = {}
        for year, quality in picks:
            on_year = pages["year"].isna() if year is None else pages["year"] == year
            rows = pages[(region == name) & on_year & pages["quality"].str.startswith(quality)]
            if rows.empty:
                raise RuntimeError(f"kz_census2009_ethnicity_by_region_pages.csv: no rows for "
                                   f"{name} ({year}, '{quality}')")
            for g, v in zip(group[rows.index], rows["value"], strict=True):
                if g in ("Other", "Total") or g in given:
                    continue  # a page's Other is the residual of what it lists
                given[g] = float(v) / 100.0
        out[name] = given
    for name, proxy in _ETHNICITY_PROXIES.items():
        out[name] = dict(out[proxy])
    sup = _read("kz_ethnicity_by_region_supplement_2009_2018.csv")
    sup = sup[(sup["unit"] == "percent") & sup["year"].notna()]
    for name, year in _SUPPLEMENT_PICKS.items():
        rows = sup[(sup["region"].map(_canonical) == name) & (sup["year"] == year)]
        for g, v in zip(rows["group"], rows["value"], strict=True):
            key = _CENSUS_GROUP.get(g)
            if key is not None and key != "Other" and key not in out[name]:
                out[name][key] = float(v) / 100.0
    return out


@cache
def ethnicity_by_region() -> np.ndarray:
    """Share of each ETHNIC_GROUP in each region around the 2009 census, shape (16, 8).

    Every region takes the figures that the shipped regional tables give it
    (``kz_census2009_ethnicity_by_region_pages.csv`` and the 2014 minority shares of
    ``kz_ethnicity_by_region_supplement_2009_2018.csv`` for Akmola and Kostanay; the
    choice per region is ``_ETHNICITY_PICKS``). Groups outside the model's eight (Koreans,
    Belarusians, Dungans, ...) count as Other. What a region's figures leave unallocated
    is spread over the groups they do not give (Other among them) in proportion to the
    national census shares. The assumptions (model/data/README.md): Kyzylorda and
    Mangystau take Atyrau's 2015 shares (no full figure before 2019 was found for either;
    Kyzylorda's non-Kazakh shares are probably overstated), Atyrau 2015, Astana 2014,
    Karaganda, East Kazakhstan and Almaty oblast undated breakdowns; where a region's
    listed groups sum above 100% they are scaled down.

    Examples
    --------
    >>> sk, k = REGIONS.index("South Kazakhstan"), REGIONS.index("Karaganda")
    >>> sh = ethnicity_by_region()
    >>> float(sh[sk, 1].round(3)), bool(sh[k, 1] > 0.4)
    (0.072, True)
    """
    df = _read("kz_census2009_ethnicity_by_region.csv")
    pct = df[(df["unit"] == "percent") & (df["region"] == "Republic of Kazakhstan")]
    nat = pct.set_index("ethnic_group")["value"]
    national = np.array([nat[k] for k in _CENSUS_GROUP], dtype=float)
    national /= national.sum()
    figures = _ethnicity_figures()
    other = ETHNIC_GROUPS.index("Other")
    pop = population_by_region(2012)
    rows, extras = np.full((len(REGIONS), len(ETHNIC_GROUPS)), np.nan), np.zeros(len(REGIONS))
    for i, name in enumerate(REGIONS):
        given = figures[name]
        row = np.array([given.get(g, np.nan) if g != "Other" else np.nan
                        for g in ETHNIC_GROUPS])
        extra = sum(v for g, v in given.items() if g not in ETHNIC_GROUPS)
        listed = np.nansum(row) + extra
        if listed > 1.0:
            row, extra = row / listed, extra / listed
        rows[i], extras[i] = row, extra
    # what the regional figures leave of each group's national count goes where it is
    # not given (Uzbeks, e.g., are nearly all given in South Kazakhstan and Zhambyl)
    given_counts = np.nan_to_num(rows) * pop[:, None]
    given_counts[:, other] += extras * pop
    left = np.clip(national * pop.sum() - given_counts.sum(axis=0), 0.0, None)
    shares = np.zeros_like(rows)
    for i in range(len(REGIONS)):
        row = rows[i].copy()
        free = np.isnan(row)
        weight = left[free] if left[free].sum() > 0 else national[free]
        row[free] = (1.0 - np.nansum(row) - extras[i]) * weight / weight.sum()
        row[other] += extras[i]
        shares[i] = row
    return _frozen(shares)


@cache
def _income_table() -> pd.DataFrame:
    df = _read("kz_income_per_capita_by_region_2000_2020.csv")
    pop = _read("kz_population_by_region_2000_2018.csv").set_index(["year", "region"])
    # Shymkent and Turkestan labels differ slightly between the two files
    pop = pop.rename(index=lambda r: r.split(" (")[0] if isinstance(r, str) else r, level=1)
    df = df.assign(region_key=df["region"].map(lambda r: r.split(" (")[0]))
    w = pop["population_1jan"]
    # income runs past the population (2019+ is kept out): later years weigh by the last
    last = int(pop.index.get_level_values("year").max())
    df["w_year"] = df["year"].clip(upper=last)
    df = df.join(w.rename("w"), on=["w_year", "region_key"])
    df["region"] = df["region"]
    out = df[df["region"] != "Republic of Kazakhstan"].copy()
    out["unit"] = out["region"].map(_canonical)
    out["w"] = out["w"].fillna(1.0)
    out["wx"] = out["ratio_to_national"] * out["w"]
    g = out.groupby(["year", "unit"])
    return (g["wx"].sum() / g["w"].sum()).unstack("unit")[list(REGIONS)].sort_index()


def income_ratio(year: int) -> np.ndarray:
    """Money income per person by region relative to the national mean (BNS).

    Examples
    --------
    >>> r = income_ratio(2012)
    >>> bool(r[REGIONS.index("Atyrau")] > r[REGIONS.index("Zhambyl")])
    True
    """
    return _hold_np(_income_table, year)


@cache
def _income_kzt_table() -> pd.Series:
    df = _read("kz_income_per_capita_by_region_2000_2020.csv")
    nat = df[df["region"] == "Republic of Kazakhstan"]
    return nat.set_index("year")["nominal_cash_income_per_capita_kzt_per_month"].astype(
        float).sort_index()


def income_kzt(year: int) -> float:
    """National nominal money income per person, tenge per month (BNS).

    Examples
    --------
    >>> income_kzt(2012)
    51859.0
    """
    s = _income_kzt_table()
    y = min(max(year, int(s.index.min())), int(s.index.max()))
    return float(s.loc[y])


@cache
def _comparators(column: str) -> pd.DataFrame:
    """One column of comparators_gdp_per_capita_2005_2023.csv by year (rows) and country."""
    df = _read("comparators_gdp_per_capita_2005_2023.csv")
    return df.pivot(index="year", columns="iso3", values=column).sort_index()


def _gdp_table() -> pd.DataFrame:
    return _comparators("gdp_pc_ppp2021")


def _gdp_np(iso3: str) -> pd.DataFrame:
    return _gdp_table()[[iso3]].dropna()


def gdp_ppp(iso3: str, year: int) -> float:
    """GDP per person at PPP (constant 2021 international dollars), World Bank compilation.

    Examples
    --------
    >>> gdp_ppp("RUS", 2012) > gdp_ppp("KAZ", 2012)
    True
    """
    return float(_hold_np(_GDP_FNS[iso3], year)[0])


_GDP_FNS = {iso: cache(lambda iso=iso: _gdp_np(iso)) for iso in
            ("BLR", "DEU", "KAZ", "KGZ", "KOR", "POL", "RUS", "UKR", "USA", "UZB")}


def gdp_usd(iso3: str, year: int) -> float:
    """GDP per person in current US dollars at market exchange rates (World Bank compilation).

    A common currency: unlike :func:`gdp_ppp`, it moves with the exchange rates, so the
    tenge's devaluations widen the gap to a destination whose currency held.

    Examples
    --------
    >>> gdp_usd("KAZ", 2016) < 0.7 * gdp_usd("KAZ", 2013)  # the 2015 float
    True
    """
    return float(_hold_np(_GDP_USD_FNS[iso3], year)[0])


_GDP_USD_FNS = {iso: cache(lambda iso=iso: _comparators("gdp_pc_current_usd")[[iso]].dropna())
                for iso in ("DEU", "KAZ", "RUS")}


@cache
def _ladder_table() -> pd.Series:
    df = _read("comparators_life_ladder_whr_2005_2020.csv")
    s = df[df["Country name"] == "Kazakhstan"].set_index("year")["Ladder score"]
    return s.sort_index()


@cache
def ladder(year: int) -> float:
    """Kazakhstan's Cantril-ladder life evaluation (0-10; Gallup via WHR).

    Examples
    --------
    >>> ladder(2012)
    5.759
    """
    s = _ladder_table()
    y = min(max(year, int(s.index.min())), int(s.index.max()))
    return float(s.loc[y])


@cache
def _immigrants_table() -> pd.Series:
    df = _read("kz_external_migration_annual_2000_2018.csv").set_index("year")
    s = df["immigrants"].copy()
    # 2012 has only Jan-Jul immigrants: the registry's estimate (immigrants_2012, its
    # source says how it is derived); a run reads its own value of that parameter.
    s.loc[2012] = REGISTRY["immigrants_2012"].default
    return s.loc[2012:].astype(float)


@cache
def immigrants(year: int) -> float:
    """Immigrants arriving in ``year``: emigrants + official balance (derived), held after 2018.

    Examples
    --------
    >>> immigrants(2018)
    12773.0
    """
    s = _immigrants_table()
    y = min(max(year, int(s.index.min())), int(s.index.max()))
    return float(s.loc[y])


def _fx_table() -> pd.DataFrame:
    return _comparators("exchange_rate_lcu_per_usd")


def lcu_per_usd(iso3: str, year: int) -> float:
    """Units of the national currency per US dollar, annual average (World Bank WDI).

    Examples
    --------
    >>> lcu_per_usd("KAZ", 2016) > 2 * lcu_per_usd("KAZ", 2013)  # the 2015 float
    True
    """
    s = _fx_table()[iso3].dropna()
    y = min(max(year, int(s.index.min())), int(s.index.max()))
    return float(s.loc[y])


@cache
def _russia_wage_table() -> pd.Series:
    df = _read("kz_exchange_rates_russia_wage_2005_2023.csv")
    s = df[(df["metric"] == "russia_avg_monthly_nominal_wage")
           & (df["group"] == "KZT (derived)")].set_index("year")["value"].sort_index()
    # 2011 is missing in the source: filled on the straight line between 2010 and 2012
    full = range(int(s.index.min()), int(s.index.max()) + 1)
    return s.reindex(full).astype(float).interpolate(method="index")


def russia_wage_kzt(year: int) -> float:
    """Average monthly nominal wage in Russia in tenge (Rosstat in roubles times KZT/RUB).

    2011 is interpolated between 2010 and 2012 (the source lacks it).

    Examples
    --------
    >>> russia_wage_kzt(2016) > russia_wage_kzt(2015)
    True
    >>> russia_wage_kzt(2011) == (russia_wage_kzt(2010) + russia_wage_kzt(2012)) / 2
    True
    """
    s = _russia_wage_table()
    y = min(max(year, int(s.index.min())), int(s.index.max()))
    return float(s.loc[y])


_EVENT_FIRST_YEAR = 2012  # the model's first year: only events from then on are read
_EVENT_RATES = re.compile(r"([0-9.]+)\s*->\s*([0-9.]+)")
_EVENT_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _share_of_year_after(day: date) -> float:
    """The share of ``day``'s year from ``day`` on (the day itself included)."""
    first, last = date(day.year, 1, 1), date(day.year, 12, 31)
    return ((last - day).days + 1) / ((last - first).days + 1)


@cache
def _devaluation_shock_table() -> pd.Series:
    df = _read("kz_exchange_rates_russia_wage_2005_2023.csv")
    events = df[df["metric"] == "exchange_rate_event"]
    fx = df[df["metric"] == "exchange_rate"]
    out = pd.Series(0.0, index=range(_EVENT_FIRST_YEAR, int(fx["year"].max()) + 1))
    for year, text in zip(events["year"], events["group"], strict=True):
        if year < _EVENT_FIRST_YEAR:
            continue
        rates, when = _EVENT_RATES.search(str(text)), _EVENT_DATE.search(str(text))
        if rates is None or when is None or int(when.group(1)) != int(year):
            raise ValueError(f"kz_exchange_rates_russia_wage_2005_2023.csv: event of {year} "
                             "needs its date (YYYY-MM-DD, in that year) and 'A -> B' tenge "
                             f"per US dollar in the group text, got {text!r}")
        step = float(np.log(float(rates.group(2)) / float(rates.group(1))))
        # the news acts for the twelve months after the step: the calendar year's share
        # from the event on, the rest in the next year's first months
        this_year = _share_of_year_after(date(*map(int, when.groups())))
        out.loc[int(year)] += step * this_year
        if int(year) + 1 in out.index:
            out.loc[int(year) + 1] += step * (1.0 - this_year)
    return out


def devaluation_shock(year: int) -> float:
    """The tenge's devaluation steps as news: their log fall, spread over the 12 months after each.

    The events of ``kz_exchange_rates_russia_wage_2005_2023.csv`` (rows
    ``exchange_rate_event``): the National Bank's step of 11 February 2014 (155 -> 185
    tenge per US dollar) and the free float of 20 August 2015 (188.38 -> 255.26), each
    ``log(after / before)``. A registered departure of year ``y`` counts in ``y``'s
    calendar flow, so a step acts on its year in proportion to the part of the year from
    the event on (324 of 365 days from 11 February 2014, 134 from 20 August 2015) and on
    the next year for the rest of its twelve months. Other years of the file (2012-2023)
    are 0. Unlike the annual average rate, it says when the tenge fell, and by how much
    in one step.

    Examples
    --------
    >>> [round(devaluation_shock(y), 4) for y in (2013, 2014, 2015, 2016, 2017)]
    [0.0, 0.1571, 0.1314, 0.1923, 0.0]
    >>> round(sum(devaluation_shock(y) for y in range(2012, 2024)), 4)  # both steps, whole
    0.4808
    """
    s = _devaluation_shock_table()
    y = min(max(year, int(s.index.min())), int(s.index.max()))
    return float(s.loc[y])


GRP_LAST_YEAR = 2018
"""Last year of GRP per person in the 2012 borders: from 2019 South Kazakhstan is published
as Turkestan and Shymkent only, and recombining them needs their populations after 2018."""


@cache
def _grp_table() -> pd.DataFrame:
    df = _read("kz_grp_by_region_2000_2024.csv")
    df = df[(df["metric"] == "grp_per_capita") & (df["year"] <= GRP_LAST_YEAR)
            & ~df["region"].str.startswith(("Shymkent", "Turkestan"))]
    once = df.groupby(["year", df["region"].map(_canonical)]).size().max() == 1
    out = _by_region_year(df, "value")  # one row per region and year in the 2012 borders
    if not once or out.isna().any().any() \
            or len(out) != GRP_LAST_YEAR - int(out.index.min()) + 1:
        raise RuntimeError("shipped GRP table has gaps in the 2012 borders")
    return out


def grp_per_capita(year: int) -> np.ndarray:
    """Gross regional product per person, thousand tenge at current prices, by region (BNS).

    2010-2013 derived by the data collection (GRP over mean population); South Kazakhstan
    2018 recombined from Turkestan and Shymkent (derived). Ends in 2018 (``GRP_LAST_YEAR``).

    Examples
    --------
    >>> g = grp_per_capita(2015)
    >>> bool(g[REGIONS.index("Atyrau")] > g[REGIONS.index("Zhambyl")])
    True
    """
    return _hold_np(_grp_table, year)


@cache
def census_group_counts() -> np.ndarray:
    """Persons of each ETHNIC_GROUP at the 2009 census, national (float, shape (8,)).

    Examples
    --------
    >>> int(census_group_counts()[ETHNIC_GROUPS.index("German")])
    178400
    """
    df = _read("kz_census2009_ethnicity_by_region.csv")
    rows = df[(df["region"] == "Republic of Kazakhstan")
              & df["unit"].str.startswith("persons (rounded")]
    by = dict(zip(rows["ethnic_group"], rows["value"].astype(float), strict=True))
    return np.array([by[k] for k in _CENSUS_GROUP], dtype=float)


def _emigrants_2012_estimate() -> float:
    """Full-year 2012 emigrants: January-July 2012 times the 2013 ratio of full year to Jan-Jul.

    The same estimate as the registry's ``immigrants_2012`` (15,751 * 24,384 / 12,902).
    """
    t = _read("kz_migration_targets.csv")
    em = t[(t["indicator"] == "emigrants") & t["breakdown"].isin(["period=Jan-Jul",
                                                               "period=full_year"])]
    v = {(int(y), g): float(x) for y, g, x in zip(em["year"], em["breakdown"], em["value"],
                                                   strict=True)}
    return (v[(2012, "period=Jan-Jul")] * v[(2013, "period=full_year")]
            / v[(2013, "period=Jan-Jul")])


@cache
def emigrants_before_2012() -> tuple[np.ndarray, np.ndarray]:
    """Emigrants of every year 2000-2011 (years, persons): figures and an interpolation.

    BNS figures exist for 2000 (155,700), 2004 (65,000) and 2005 (52,332, derived) in
    ``kz_external_migration_annual_2000_2018.csv``; the other years are filled (an
    assumption, ``model/data/README.md``): 2011 lies on the log-linear path from 2005 to
    the full-year estimate of 2012 (29,769, as for ``immigrants_2012``); 2010 is 2011 less
    the reported rise of departures in 2011 (+22.8% against 2010, the file's note for
    2011); the years between figures are log-linear (2001-2003, 2006-2009).

    Examples
    --------
    >>> years, e = emigrants_before_2012()
    >>> int(years[0]), int(years[-1]), int(e[0]), int(e[5])
    (2000, 2011, 155700, 52332)
    >>> round(float(e[11] / e[10]), 3)
    1.228
    """
    df = _read("kz_external_migration_annual_2000_2018.csv").set_index("year")
    known = df["emigrants"].loc[2000:2011].dropna().astype(float)
    note = str(df.loc[2011, "note"])
    rise = 1.0 + float(re.search(r"departures \+([\d.]+)%", note).group(1)) / 100.0
    last = int(known.index.max())  # 2005
    e12 = _emigrants_2012_estimate()
    e11 = float(np.exp(np.interp(2011, [last, 2012], np.log([known.loc[last], e12]))))
    points = {**{int(y): float(v) for y, v in known.items()}, 2010: e11 / rise, 2011: e11}
    xs = np.array(sorted(points))
    years = np.arange(2000, 2012)
    values = np.exp(np.interp(years, xs, np.log([points[int(x)] for x in xs])))
    # the figures exactly (exp(log(x)) may differ in the last bit)
    values = np.array([points.get(int(y), v) for y, v in zip(years, values, strict=True)])
    return _frozen(years), _frozen(values)


@cache
def emigrant_ethnicity_2012() -> np.ndarray:
    """Share of each ETHNIC_GROUP among emigrants, January-July 2012 (shape (8,), sums to 1).

    Russians 73.8%, Germans 5.5% and Ukrainians 7.6% are the reported shares
    (``kz_migration_targets.csv``); the rest (13.1%) is spread over the other groups in
    proportion to their 2009 census counts (an assumption: no share of theirs is known).

    Examples
    --------
    >>> s = emigrant_ethnicity_2012()
    >>> round(float(s[ETHNIC_GROUPS.index("Russian")]), 3), round(float(s.sum()), 6)
    (0.738, 1.0)
    """
    t = _read("kz_migration_targets.csv")
    rows = t[(t["indicator"] == "emigrants_share") & (t["year"] == 2012)
             & t["breakdown"].str.startswith("ethnicity=")]
    given = {g.split(";")[0].split("=")[1]: float(v) / 100.0
             for g, v in zip(rows["breakdown"], rows["value"], strict=True)}
    counts = census_group_counts()
    rest = np.array([g not in given for g in ETHNIC_GROUPS])
    out = np.array([given.get(g, 0.0) for g in ETHNIC_GROUPS])
    out[rest] = (1.0 - out.sum()) * counts[rest] / counts[rest].sum()
    return _frozen(out)


@cache
def observed_years(series: str) -> tuple[int, int]:
    """First and last year with data of a yearly series of this module.

    Cached (the tables are read once per process): every driver value the yearly step
    looks up asks for its series' first year, and the pandas index scans cost about a
    tenth of a year's step at 100k households.

    ``series`` is the name of its function (``ladder``, ``income_ratio``, ``immigrants``,
    ...), with the country for ``gdp_ppp`` and ``lcu_per_usd`` (``gdp_ppp:RUS``).

    Examples
    --------
    >>> observed_years("ladder"), observed_years("gdp_ppp:DEU")
    ((2006, 2020), (2005, 2023))
    """
    name, _, iso3 = series.partition(":")
    tables = {"population_by_region": _population_table, "natural_increase_rate": _ni_rate_table,
              "income_ratio": _income_table, "income_kzt": _income_kzt_table,
              "ladder": _ladder_table,
              "immigrants": _immigrants_table, "russia_wage_kzt": _russia_wage_table,
              "grp_per_capita": _grp_table,
              "devaluation_shock": _devaluation_shock_table}
    if name == "gdp_ppp":
        index = _GDP_FNS[iso3]().index
    elif name == "gdp_usd":
        index = _GDP_USD_FNS[iso3]().index
    elif name == "lcu_per_usd":
        index = _fx_table()[iso3].dropna().index
    else:
        index = tables[name]().index
    return int(index.min()), int(index.max())


def preload() -> None:
    """Read every table the yearly step looks up (once per process; about 0.1 s).

    Why: the tables are read on first use and kept; loading them when a model is built
    keeps the one-off cost in the set-up rather than in the first simulated year, where it
    would distort that year's timing (a run of 10k households spends about 0.1 s a year).

    Examples
    --------
    >>> preload()
    """
    for fn in (_population_table, _ni_rate_table, _income_table, _gdp_table, _ladder_table,
               _immigrants_table):
        fn()
    for fn in (_population_table, _ni_rate_table, _income_table):
        _table_np(fn)
    for fn in (*_GDP_FNS.values(), *_GDP_USD_FNS.values()):
        _table_np(fn)


def initial_abroad() -> dict[str, float]:
    """Persons abroad on 1 January 2012 who still count in the population.

    ``students``: UNESCO UIS outbound tertiary students of 2011 (42,244, derived);
    ``labour``: Kazakh labour migrants moving to EAEU countries in 2012 (34,374, EEC via
    CABAR 2019), read as a yearly flow: the population turns it into a stock
    (:func:`model.core.population.synthesize`).

    Examples
    --------
    >>> initial_abroad()["students"]
    42244.0
    """
    students, labour = _initial_abroad()
    return {"students": students, "labour": labour}


@cache
def _initial_abroad() -> tuple[float, float]:
    # read once per process: every model's set-up asks (two CSV files, ~10 ms)
    st = _read("kz_students_abroad_uis_2000_2018.csv").set_index("year")
    students = float(st.loc[2011, "outbound_mobile_students_derived"])
    t = _read("kz_migration_targets.csv")
    lab = t[(t["indicator"] == "labour_migrants_from_KZ_in_EAEU") & (t["year"] == 2012)]
    return students, float(lab["value"].iloc[0])


@cache
def observed() -> pd.DataFrame:
    """Observed yearly series for plots and checks: ``year, metric, value, quality``.

    Metrics: ``new_emigrants`` (full-year emigrants), ``net_migration`` (official balance),
    ``population`` (1 January), ``n_students_abroad`` (UIS outbound, derived).

    Examples
    --------
    >>> obs = observed()
    >>> float(obs.query("metric == 'new_emigrants' and year == 2018")["value"].iloc[0])
    41894.0
    """
    mig = _read("kz_external_migration_annual_2000_2018.csv")
    mig = mig[mig["year"] >= 2010]
    rows = [pd.DataFrame({"year": mig["year"], "metric": "net_migration",
                          "value": mig["net_migration_balance_official"].astype(float),
                          "quality": "official (BNS)"})]
    em = mig.dropna(subset=["emigrants"])
    rows.append(pd.DataFrame({"year": em["year"], "metric": "new_emigrants",
                              "value": em["emigrants"], "quality": em["emigrants_quality"]}))
    nat = _read("kz_population_national_2000_2018.csv")
    nat = nat[nat["year"] >= 2012]
    rows.append(pd.DataFrame({"year": nat["year"], "metric": "population",
                              "value": nat["population_1jan_total"].astype(float),
                              "quality": "official (BNS), 1 January"}))
    st = _read("kz_students_abroad_uis_2000_2018.csv")
    st = st[st["year"] >= 2010]
    rows.append(pd.DataFrame({"year": st["year"], "metric": "n_students_abroad",
                              "value": st["outbound_mobile_students_derived"].astype(float),
                              "quality": "UNESCO UIS, derived"}))
    return pd.concat(rows, ignore_index=True)
