"""Drivers: every exogenous yearly series the model reads, observed and then projected.

A driver is a named series of a shipped data file (``model/data/kz/``): its observed values
up to its last data year, and after that year a projection, chosen per scenario in a
``[drivers]`` table (``docs/drivers.md`` lists the drivers and their data)::

    [drivers]
    ladder = { projection = "trend", years = 5 }
    kzt_per_usd = { projection = "path", values = { 2025 = 520.0, 2030 = 600.0 } }
    income_ratio_by_region = { projection = "growth", rate = 0.01 }

Projections (:data:`PROJECTIONS`):

* ``hold``: the last observed value, every later year. The default of every driver: a
  scenario without ``[drivers]`` sees exactly the series it saw before drivers existed.
* ``trend``: the least-squares straight line through the last ``years`` observed values
  (default :data:`TREND_YEARS`, at least 2), continued year by year.
* ``growth``: the last observed value times ``(1 + rate)`` for every year after it.
* ``path``: the given ``values`` by year, on the straight line between the last observed
  value and the first given year and between given years, held after the last given year.
  A regional driver takes one number (every region) or a list of 16 (in
  :data:`model.datasets.REGIONS` order) per year.

Limits: a trend or growth never leaves a driver's range: series that must stay positive
(read under a logarithm or as weights) stop at :data:`POSITIVE_FLOOR_SHARE` of their last
observed value, counts stop at 0, the ladder stays within 0-10; path values outside the
range are an error. Observed years are not overridable: a path year at or before the last
data year is an error (a counterfactual past is an intervention, :mod:`model.interventions`,
not a driver assumption). Before its first observed year a driver holds its first value, and
after :data:`HORIZON` (the last year a run may reach) its :data:`HORIZON` value.

:class:`Drivers` gives a scenario's value of a driver in a year; the model reads every
exogenous series through one (:class:`model.core.decisions.Context`, optimism, births,
immigration).

Examples
--------
>>> d = Drivers()
>>> d.value("ladder", 2012), d.value("ladder", 2030) == d.value("ladder", 2020)
(5.759, True)
>>> t = Drivers({"ladder": parse_projection("ladder", {"projection": "growth", "rate": 0.01})})
>>> round(t.value("ladder", 2022) / t.value("ladder", 2020), 4)
1.0201
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from model import datasets
from model.params import RowError, describe, suggest

__all__ = ["Driver", "Projection", "Drivers", "DriverError", "DRIVERS", "PROJECTIONS", "HOLD",
           "HORIZON", "TREND_YEARS", "POSITIVE_FLOOR_SHARE", "parse_projection", "project",
           "parse_drivers", "drivers_for", "markdown_table", "REGENERATE"]

HORIZON = 2050
"""Last year a driver is projected to (the last year a run may reach)."""
TREND_YEARS = 5
"""Observed years a ``trend`` is fitted on when the row does not say ``years``."""
POSITIVE_FLOOR_SHARE = 0.1
"""A trend or growth of a positive driver stops at this share of its last observed value."""
PROJECTIONS = ("hold", "trend", "growth", "path")
"""The projection rules (see the module docstring)."""
_SETTINGS = {"hold": (), "trend": ("years",), "growth": ("rate",), "path": ("values",)}
REGENERATE = ('.venv/bin/python -c "import model.drivers as d; '
              'print(d.markdown_table(), end=\'\')" > docs/drivers.md')
"""The command that rewrites ``docs/drivers.md`` from the registry."""
_KINDS = {"positive": "a number > 0", "nonnegative": "a number >= 0", "signed": "a number"}


class DriverError(RowError):
    """A ``[drivers]`` row is invalid (the key is inside the table, e.g. ``ladder.years``).

    The scenario loader adds the file and the ``drivers.`` prefix.

    Examples
    --------
    >>> str(DriverError("ladder.years", "= 1 is too few", "2 to 15"))
    "key 'ladder.years' = 1 is too few; allowed: 2 to 15"
    """


@dataclass(frozen=True)
class Projection:
    """How a driver continues after its last observed year.

    Parameters
    ----------
    rule : str
        One of :data:`PROJECTIONS`.
    years : int or None
        Observed years a ``trend`` is fitted on.
    rate : float or None
        Yearly growth rate of ``growth`` (0.02 = 2% a year).
    path : tuple
        ``(year, value)`` pairs of ``path``, by year; a regional value is a tuple of 16.

    Examples
    --------
    >>> Projection("trend", years=5).resolved()
    {'projection': 'trend', 'years': 5}
    >>> Projection("path", path=((2025, 470.0),)).resolved()
    {'projection': 'path', 'values': {'2025': 470.0}}
    """

    rule: str = "hold"
    years: int | None = None
    rate: float | None = None
    path: tuple = ()

    def resolved(self) -> dict:
        """A JSON-ready dict of the projection (what a run id and a manifest record)."""
        out: dict = {"projection": self.rule}
        if self.rule == "trend":
            out["years"] = self.years
        elif self.rule == "growth":
            out["rate"] = self.rate
        elif self.rule == "path":
            out["values"] = {str(y): list(v) if isinstance(v, tuple) else v
                             for y, v in self.path}
        return out


HOLD = Projection()
"""The ``hold`` projection: the last observed value (every driver's default)."""


@dataclass(frozen=True)
class Driver:
    """One exogenous series: where it comes from, its unit and range, who reads it.

    Attributes
    ----------
    name : str
        The name in ``[drivers]`` tables and in ``docs/drivers.md``.
    description, file, column, unit : str
        What it is, the data file in ``model/data/kz/`` and the column it is read from.
    series : str
        The :func:`model.datasets.observed_years` name of its observed years.
    read : callable
        The :mod:`model.datasets` value of an observed year.
    regional : bool
        One value per region (:data:`model.datasets.REGIONS`) instead of one number.
    kind : str
        ``positive``, ``nonnegative`` or ``signed``: the range its projections keep.
    ceiling : float or None
        Largest value it can take (the ladder's 10).
    used_by : str
        Where the model reads it.
    default : Projection
        Its projection when a scenario does not set one.

    Examples
    --------
    >>> DRIVERS["ladder"].last_year, DRIVERS["income_ratio_by_region"].regional
    (2020, True)
    """

    name: str
    description: str
    file: str
    column: str
    unit: str
    series: str
    read: Callable[[int], object] = field(repr=False, compare=False)
    regional: bool = False
    kind: str = "positive"
    ceiling: float | None = None
    used_by: str = "not read by the model yet"
    default: Projection = HOLD

    @property
    def first_year(self) -> int:
        """First observed year."""
        return datasets.observed_years(self.series)[0]

    @property
    def last_year(self) -> int:
        """Last observed year: later years are projected."""
        return datasets.observed_years(self.series)[1]

    @property
    def complete_years(self) -> int:
        """The number of last observed years with a value in every region (a trend's most).

        Examples
        --------
        >>> DRIVERS["natural_increase_rate"].complete_years  # South Kazakhstan from 2009
        10
        """
        finite = np.isfinite(self.observed()).reshape(len(self.observed()), -1).all(axis=1)
        gaps = np.flatnonzero(~finite)
        return len(finite) - (int(gaps[-1]) + 1 if len(gaps) else 0)

    def observed(self) -> np.ndarray:
        """Observed values of every year from the first to the last, read-only.

        Shape ``(years,)`` or ``(years, 16)`` for a regional driver; the very values the
        :mod:`model.datasets` functions give (so that ``hold`` reproduces them bit for bit).

        Examples
        --------
        >>> DRIVERS["natural_increase_rate"].observed().shape
        (19, 16)
        """
        return _observed(self.name)


def _gdp(iso3: str) -> Callable[[int], float]:
    return lambda year: datasets.gdp_ppp(iso3, year)


def _gdp_usd(iso3: str) -> Callable[[int], float]:
    return lambda year: datasets.gdp_usd(iso3, year)


def _fx(iso3: str) -> Callable[[int], float]:
    return lambda year: datasets.lcu_per_usd(iso3, year)


_GDP_FILE = "comparators_gdp_per_capita_2005_2023.csv"
_GDP_UNIT = "int. dollars per person (PPP, 2021 prices)"
_GDP_USD_UNIT = "US dollars per person (current prices, market exchange rates)"
_GAPS = "income gaps of every alternative (decisions.Context)"

DRIVERS: dict[str, Driver] = {d.name: d for d in (
    Driver("ladder", "Kazakhstan's life evaluation, Cantril ladder (Gallup via WHR)",
           "comparators_life_ladder_whr_2005_2020.csv", "Ladder score (Kazakhstan)",
           "ladder points (0-10)", "ladder", datasets.ladder, kind="nonnegative",
           ceiling=10.0, used_by="optimism: its yearly change times optimism_ladder_weight"),
    Driver("income_ratio_by_region", "Money income per person of the region over the "
           "national mean (BNS)", "kz_income_per_capita_by_region_2000_2020.csv",
           "ratio_to_national", "ratio", "income_ratio", datasets.income_ratio,
           regional=True, used_by=_GAPS + ": the origin's income"),
    Driver("income_kzt", "National money income per person, nominal (BNS)",
           "kz_income_per_capita_by_region_2000_2020.csv",
           "nominal_cash_income_per_capita_kzt_per_month (Republic of Kazakhstan)",
           "tenge per month", "income_kzt", datasets.income_kzt,
           used_by=_GAPS + ": the origin's income in tenge (wage gap to Russia)"),
    Driver("gdp_usd_kaz", "GDP per person in current US dollars at market rates, "
           "Kazakhstan (World Bank compilation)", _GDP_FILE, "gdp_pc_current_usd (iso3 KAZ)",
           _GDP_USD_UNIT, "gdp_usd:KAZ", _gdp_usd("KAZ"),
           used_by=_GAPS + ": the origin of the non-CIS gap (a common currency)"),
    Driver("gdp_usd_deu", "GDP per person in current US dollars at market rates, Germany "
           "(World Bank compilation)", _GDP_FILE, "gdp_pc_current_usd (iso3 DEU)",
           _GDP_USD_UNIT, "gdp_usd:DEU", _gdp_usd("DEU"),
           used_by=_GAPS + ": non-CIS emigration (a common currency), and with the CIS gap "
                   "the destination shift (b_destination_gap)"),
    Driver("gdp_ppp_kaz", "GDP per person at PPP, Kazakhstan (World Bank compilation)",
           _GDP_FILE, "gdp_pc_ppp2021 (iso3 KAZ)", _GDP_UNIT, "gdp_ppp:KAZ", _gdp("KAZ"),
           used_by="not read by the model (the non-CIS gap reads gdp_usd_kaz)"),
    Driver("gdp_ppp_rus", "GDP per person at PPP, Russia (World Bank compilation)",
           _GDP_FILE, "gdp_pc_ppp2021 (iso3 RUS)", _GDP_UNIT, "gdp_ppp:RUS", _gdp("RUS"),
           used_by="not read by the model (the CIS gap reads russia_wage_kzt)"),
    Driver("gdp_ppp_deu", "GDP per person at PPP, Germany (World Bank compilation)",
           _GDP_FILE, "gdp_pc_ppp2021 (iso3 DEU)", _GDP_UNIT, "gdp_ppp:DEU", _gdp("DEU"),
           used_by="not read by the model (the non-CIS gap reads gdp_usd_deu)"),
    Driver("kzt_per_usd", "Tenge per US dollar, annual average (World Bank WDI)", _GDP_FILE,
           "exchange_rate_lcu_per_usd (iso3 KAZ)", "tenge per US dollar", "lcu_per_usd:KAZ",
           _fx("KAZ"), used_by="emigration: the expected fall of the tenge since 2012 "
                               "(decisions.devaluation_expectation, b_devaluation_emigrate)"),
    Driver("devaluation_shock", "Log fall of the tenge in its devaluation steps (National "
           "Bank step of 11 Feb 2014, free float of 20 Aug 2015), each spread over the 12 "
           "months after it: the year's share from the event on, the rest in the next year",
           "kz_exchange_rates_russia_wage_2005_2023.csv",
           "group (exchange_rate_event, 'A -> B' tenge per US dollar)", "log points",
           "devaluation_shock", datasets.devaluation_shock, kind="nonnegative",
           used_by="emigration: the year's shock (b_devaluation_shock, default 0.3); held at "
                   "the last year's 0 (no event); a path interpolates between its years, so "
                   "a one-year event gives the years either side as 0"),
    Driver("rub_per_usd", "Roubles per US dollar, annual average (World Bank WDI)", _GDP_FILE,
           "exchange_rate_lcu_per_usd (iso3 RUS)", "roubles per US dollar", "lcu_per_usd:RUS",
           _fx("RUS"), used_by="not read by the model (the wage gap reads russia_wage_kzt, "
                               "already in tenge)"),
    Driver("russia_wage_kzt", "Average monthly nominal wage in Russia in tenge (Rosstat; "
           "2011 interpolated; 2018 is not in the data, so the calibration window's last "
           "year already holds 2017)", "kz_exchange_rates_russia_wage_2005_2023.csv",
           "value (russia_avg_monthly_nominal_wage, KZT (derived))", "tenge per month",
           "russia_wage_kzt", datasets.russia_wage_kzt,
           used_by=_GAPS + ": the wage gap to Russia of CIS emigration, labour and study "
                   "(a common currency), and the destination shift (b_destination_gap)"),
    Driver("grp_per_capita_by_region", "Gross regional product per person at current "
           "prices (BNS; 2010-2013 and South Kazakhstan 2018 derived)",
           "kz_grp_by_region_2000_2024.csv", "value (grp_per_capita, 2012 borders)",
           "thousand tenge per person", "grp_per_capita", datasets.grp_per_capita,
           regional=True, used_by="emigration: the region's log GRP per person over the "
                                  "population-weighted mean (b_grp_emigrate)"),
    Driver("immigrants", "Immigrants arriving in the year: emigrants + official balance "
           "(BNS, derived; 2012 the registry's immigrants_2012)",
           "kz_external_migration_annual_2000_2018.csv", "immigrants", "persons per year",
           "immigrants", datasets.immigrants, kind="nonnegative",
           used_by="immigration from 2013, times immigration_multiplier (2012 reads the "
                   "run's immigrants_2012)"),
    Driver("natural_increase_rate", "Natural increase during the year per person on "
           "1 January (BNS)", "kz_natural_increase_by_region_2000_2018.csv",
           "natural_increase / population_1jan (South Kazakhstan from 2009)",
           "per person per year",
           "natural_increase_rate", datasets.natural_increase_rate, regional=True,
           kind="signed", used_by="not read by the model (births and deaths are outputs)"),
    Driver("population_by_region", "Population on 1 January (BNS)",
           "kz_population_by_region_2000_2018.csv", "population_1jan", "persons",
           "population_by_region", datasets.population_by_region, regional=True,
           used_by="immigration: the regions of arriving households (in proportion); "
                   "the weights of the national mean GRP per person (b_grp_emigrate)"),
)}
"""The registry of drivers, by name (``docs/drivers.md`` is generated from it)."""


@cache
def _observed(name: str) -> np.ndarray:
    d = DRIVERS[name]
    first, last = datasets.observed_years(d.series)
    values = np.array([d.read(y) for y in range(first, last + 1)], dtype=float)
    values.setflags(write=False)
    return values


# ---------------------------------------------------------------------------- parsing


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _range_text(d: Driver) -> str:
    if d.ceiling is not None:
        return f"a number from 0 to {d.ceiling:g}"
    return _KINDS[d.kind]


def _check_value(d: Driver, value: object, key: str) -> float | tuple[float, ...]:
    """A path value of ``d``: a number (or 16 for a regional driver) in its range."""
    allowed = _range_text(d) + (f", or a list of {len(datasets.REGIONS)} such numbers (one "
                                "per region, in the order of docs/drivers.md)"
                                if d.regional else "")
    items = value if d.regional and isinstance(value, list) else [value]
    if d.regional and isinstance(value, list) and len(value) != len(datasets.REGIONS):
        raise DriverError(key, f"has {len(value)} values", allowed)
    out = []
    for v in items:
        if not _number(v):
            raise DriverError(key, f"must be a number, not {describe(v)}", allowed)
        v = float(v)
        bad = (not math.isfinite(v) or (d.kind == "positive" and v <= 0)
               or (d.kind == "nonnegative" and v < 0)
               or (d.ceiling is not None and v > d.ceiling))
        if bad:
            raise DriverError(key, f"= {v:g} is outside the range of {d.name}", allowed)
        out.append(v)
    return tuple(out) if isinstance(value, list) else out[0]


def parse_projection(name: str, row: object) -> Projection:
    """Validate one ``[drivers]`` row and return its :class:`Projection`.

    Parameters
    ----------
    name : str
        The driver (a key of :data:`DRIVERS`).
    row : dict
        The row: ``projection`` and the rule's settings (``years``, ``rate``, ``values``).

    Raises
    ------
    DriverError
        Naming the key: an unknown driver, projection or setting (with "did you mean"), a
        trend of fewer than 2 or more than the observed years, a rate of -1 or less, a path
        year not after the last observed year or after :data:`HORIZON`, a value outside the
        driver's range.

    Examples
    --------
    >>> parse_projection("ladder", {"projection": "trend"})
    Projection(rule='trend', years=5, rate=None, path=())
    >>> try:
    ...     parse_projection("ladder", {"projection": "path", "values": {"2015": 6.0}})
    ... except DriverError as exc:
    ...     print(exc.key, "|", exc.problem)
    ladder.values.2015 | is an observed year of ladder (2006-2020)
    """
    if name not in DRIVERS:
        raise DriverError(name, "is not a driver", "a driver of docs/drivers.md: "
                          + ", ".join(DRIVERS), suggest(name, DRIVERS))
    d = DRIVERS[name]
    shape = '{ projection = "hold" | "trend" | "growth" | "path", ... }'
    if not isinstance(row, dict):
        raise DriverError(name, f"must be a table, not {describe(row)}", shape)
    rule = row.get("projection")
    if rule is None:
        raise DriverError(f"{name}.projection", "is missing", ", ".join(PROJECTIONS))
    if not isinstance(rule, str) or rule not in PROJECTIONS:
        raise DriverError(f"{name}.projection", f"= {rule!r} is not a projection",
                          ", ".join(PROJECTIONS),
                          suggest(rule, PROJECTIONS) if isinstance(rule, str) else "")
    settings = _SETTINGS[rule]
    for key in row:
        if key != "projection" and key not in settings:
            allowed = "projection" + "".join(f", {s}" for s in settings)
            every = sorted({s for ss in _SETTINGS.values() for s in ss} | {"projection"})
            raise DriverError(f"{name}.{key}", f"is not a setting of projection '{rule}'",
                              allowed, suggest(key, every))
    if rule == "hold":
        return HOLD
    if rule == "trend":
        n_obs = d.complete_years
        years = row.get("years", TREND_YEARS)
        allowed = (f"a whole number of observed years from 2 to {n_obs} (default {TREND_YEARS}"
                   f"; {d.last_year - n_obs + 1}-{d.last_year} have data for every region)"
                   if d.regional else
                   f"a whole number of observed years from 2 to {n_obs} (default {TREND_YEARS})")
        if not isinstance(years, int) or isinstance(years, bool):
            raise DriverError(f"{name}.years", f"must be a whole number, not "
                              f"{describe(years)}", allowed)
        if not 2 <= years <= n_obs:
            raise DriverError(f"{name}.years", f"= {years} is not a number of observed years "
                              f"of {name} to fit a trend on", allowed)
        return Projection("trend", years=int(years))
    if rule == "growth":
        rate = row.get("rate")
        allowed = "a yearly rate greater than -1 (0.02 = 2% a year)"
        if rate is None:
            raise DriverError(f"{name}.rate", "is missing", allowed)
        if not _number(rate):
            raise DriverError(f"{name}.rate", f"must be a number, not {describe(rate)}",
                              allowed)
        if not math.isfinite(rate) or rate <= -1:
            raise DriverError(f"{name}.rate", f"= {rate} is not a growth rate", allowed)
        return Projection("growth", rate=float(rate))
    values = row.get("values")
    allowed = f"a table of year = value, years {d.last_year + 1} to {HORIZON}"
    if values is None:
        raise DriverError(f"{name}.values", "is missing", allowed)
    if not isinstance(values, dict) or not values:
        raise DriverError(f"{name}.values", f"must be a non-empty table, not "
                          f"{describe(values)}", allowed)
    path = []
    for key, value in values.items():
        where = f"{name}.values.{key}"
        if not key.isascii() or not key.isdigit():
            raise DriverError(where, "is not a year", allowed)
        year = int(key)
        if d.first_year <= year <= d.last_year:
            raise DriverError(where, f"is an observed year of {name} ({d.first_year}-"
                              f"{d.last_year})", f"years {d.last_year + 1} to {HORIZON} "
                              "(observed data are not overridden; a counterfactual past is an "
                              "intervention)")
        if not d.last_year < year <= HORIZON:
            raise DriverError(where, f"is outside the projected years of {name}", allowed)
        path.append((year, _check_value(d, value, where)))
    return Projection("path", path=tuple(sorted(path)))


def parse_drivers(table: object) -> dict[str, Projection]:
    """Validate a scenario's ``[drivers]`` table; return the projection of each row.

    Examples
    --------
    >>> parse_drivers({"immigrants": {"projection": "growth", "rate": -0.02}})
    {'immigrants': Projection(rule='growth', years=None, rate=-0.02, path=())}
    >>> parse_drivers({"ladr": {"projection": "hold"}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.drivers.DriverError: key 'ladr' is not a driver; ... did you mean 'ladder'?
    """
    if not isinstance(table, dict):
        raise DriverError("", f"must be a table, not {describe(table)}",
                          "a [drivers] table of name = { projection = ... }")
    return {name: parse_projection(name, row) for name, row in table.items()}


# ---------------------------------------------------------------------------- projecting


def project(observed: np.ndarray, last_year: int, projection: Projection, *,
            kind: str = "signed", ceiling: float | None = None,
            horizon: int = HORIZON) -> np.ndarray:
    """Observed values followed by their projection to ``horizon``, rows by year.

    Parameters
    ----------
    observed : ndarray, shape (years,) or (years, regions)
        Values of consecutive years, the last one of ``last_year``.
    last_year : int
        Year of the last observed row.
    projection : Projection
        How to continue (see the module docstring).
    kind, ceiling
        The range a trend or growth is kept in (:class:`Driver`).
    horizon : int
        Last projected year.

    Examples
    --------
    >>> obs = np.array([1.0, 2.0, 4.0, 5.0])
    >>> project(obs, 2020, Projection("trend", years=4), horizon=2022).round(6).tolist()
    [1.0, 2.0, 4.0, 5.0, 6.5, 7.9]
    >>> project(obs, 2020, Projection("path", path=((2022, 9.0),)), horizon=2023).tolist()
    [1.0, 2.0, 4.0, 5.0, 7.0, 9.0, 9.0]
    """
    obs = np.asarray(observed, dtype=float)
    last = obs[-1]
    n_future = max(horizon - last_year, 0)
    column = (-1, *([1] * (obs.ndim - 1)))  # years down the rows, regions across
    h = np.arange(1, n_future + 1, dtype=float).reshape(column)  # years after the last
    rule = projection.rule
    if rule == "hold":
        future = np.repeat(obs[-1:], n_future, axis=0)
    elif rule == "trend":
        # least squares on x = years relative to the last observed year (0 = the last)
        y = obs[-projection.years:]
        x = np.arange(1 - projection.years, 1, dtype=float).reshape(column)
        xc = x - x.mean()
        slope = (xc * (y - y.mean(axis=0))).sum(axis=0) / (xc * xc).sum()
        future = y.mean(axis=0) + slope * (h - x.mean())
    elif rule == "growth":
        future = last * (1.0 + projection.rate) ** h
    else:  # path: straight lines from the last observed value through the given points
        xs = np.array([last_year] + [yr for yr, _ in projection.path], dtype=float)
        ys = np.array([np.broadcast_to(v, last.shape) for v in
                       [last] + [v for _, v in projection.path]], dtype=float)
        years = last_year + np.arange(1, n_future + 1, dtype=float)
        if obs.ndim == 1:
            future = np.interp(years, xs, ys)
        else:  # one line per region (16 columns, built once)
            future = np.stack([np.interp(years, xs, ys[:, r]) for r in range(ys.shape[1])],
                              axis=1)
    if rule in ("trend", "growth"):
        lo = {"positive": POSITIVE_FLOOR_SHARE * last, "nonnegative": 0.0}.get(kind)
        if lo is not None or ceiling is not None:
            future = np.clip(future, lo, ceiling)
    table = np.concatenate([obs, future], axis=0)
    table.setflags(write=False)
    return table


class Drivers:
    """A scenario's drivers: the value of every driver in any year.

    Parameters
    ----------
    projections : mapping of str to Projection, optional
        Projections by driver name; drivers not named keep their default (``hold``).

    Notes
    -----
    Each driver's table (observed years, then projected to :data:`HORIZON`) is built once,
    on first use; a lookup is an index into it. Scalar drivers give a Python float and
    regional ones a read-only array of 16.

    Examples
    --------
    >>> d = Drivers()
    >>> bool((d.value("population_by_region", 2030) == d.value("population_by_region", 2019)
    ...       ).all())
    True
    >>> d.values("ladder", [2000, 2006]).tolist()  # before the data: the first value
    [5.476, 5.476]
    """

    def __init__(self, projections: Mapping[str, Projection] | None = None):
        given = dict(projections or {})
        unknown = sorted(set(given) - set(DRIVERS))
        if unknown:
            raise KeyError(f"not drivers: {unknown}")
        self._projections = {n: given.get(n, d.default) for n, d in DRIVERS.items()}
        self._tables: dict[str, np.ndarray] = {}

    def projection(self, name: str) -> Projection:
        """The projection of driver ``name``."""
        return self._projections[name]

    def table(self, name: str) -> np.ndarray:
        """Values of ``name`` from its first observed year to :data:`HORIZON`, read-only."""
        table = self._tables.get(name)
        if table is None:
            d = DRIVERS[name]
            table = self._tables[name] = project(_observed(name), d.last_year,
                                                 self._projections[name], kind=d.kind,
                                                 ceiling=d.ceiling)
        return table

    def preload(self) -> Drivers:
        """Build every driver's table now (a model does at set-up, not in its first year).

        Examples
        --------
        >>> Drivers().preload().table("ladder").shape
        (45,)
        """
        for name in DRIVERS:
            self.table(name)
        return self

    def _row(self, name: str, year: int) -> int:
        return min(max(int(year) - DRIVERS[name].first_year, 0), len(self.table(name)) - 1)

    def value(self, name: str, year: int) -> float | np.ndarray:
        """Value of driver ``name`` in ``year`` (a float, or an array of 16 by region).

        Examples
        --------
        >>> Drivers().value("immigrants", 2018)
        12773.0
        """
        row = self.table(name)[self._row(name, year)]
        return row if DRIVERS[name].regional else float(row)

    def values(self, name: str, years) -> np.ndarray:
        """Values of driver ``name`` in each of ``years`` (rows by year), vectorised.

        Examples
        --------
        >>> Drivers().values("natural_increase_rate", [2012, 2040]).shape
        (2, 16)
        """
        d = DRIVERS[name]
        table = self.table(name)
        i = np.clip(np.asarray(years, dtype=np.int64) - d.first_year, 0, len(table) - 1)
        return table[i]

    def non_default(self) -> dict[str, Projection]:
        """The drivers whose projection is not their default, by name.

        Examples
        --------
        >>> Drivers({"ladder": HOLD}).non_default()
        {}
        """
        return {n: p for n, p in self._projections.items() if p != DRIVERS[n].default}

    def assumptions(self) -> list[dict]:
        """Every driver with its data and projection, JSON-ready (for manifests).

        Examples
        --------
        >>> a = Drivers().assumptions()[0]
        >>> a["name"], a["last_observed"], a["projection"]
        ('ladder', 2020, {'projection': 'hold'})
        """
        return [{"name": n, "file": d.file, "unit": d.unit, "first_observed": d.first_year,
                 "last_observed": d.last_year,
                 "projection": self._projections[n].resolved()} for n, d in DRIVERS.items()]


@cache
def _drivers_cached(key: tuple) -> Drivers:
    return Drivers(dict(key))


def drivers_for(projections: Mapping[str, Projection] | None = None) -> Drivers:
    """The :class:`Drivers` of these projections, shared in the process (tables built once).

    Examples
    --------
    >>> drivers_for() is drivers_for({"ladder": HOLD})
    True
    """
    given = {n: p for n, p in (projections or {}).items() if p != DRIVERS[n].default}
    return _drivers_cached(tuple(sorted(given.items())))


def markdown_table() -> str:
    """The Markdown of ``docs/drivers.md``: every driver, its data and default projection.

    Regenerate the file with :data:`REGENERATE` (tests/test_docs.py checks it).

    Examples
    --------
    >>> markdown_table().splitlines()[0]
    '# Drivers: the exogenous series and their projections'
    """
    rows = ["# Drivers: the exogenous series and their projections", "",
            f"Generated from `model/drivers.py`: `{REGENERATE}`.",
            "Every series the model reads from data, year by year: observed values up to the "
            "last observed year, then the projection a scenario's `[drivers]` table chooses "
            "(README, \"Drivers and projections\"). Without one every driver holds its last "
            "observed value. Files are in `model/data/kz/`.", "",
            "| driver | what | file: column | unit | by region | observed | default "
            "projection | read by |",
            "|---|---|---|---|---|---|---|---|"]
    for d in DRIVERS.values():
        proj = d.default.rule
        rows.append(f"| `{d.name}` | {d.description} | `{d.file}`: {d.column} | {d.unit} | "
                    f"{'yes' if d.regional else 'no'} | {d.first_year}-{d.last_year} | {proj} "
                    f"| {d.used_by} |")
    rows += ["", "Projections: `hold` (the last observed value), `trend` (least-squares line "
             f"through the last `years` observed values, default {TREND_YEARS}), `growth` "
             "(the last observed value times `(1 + rate)` a year), `path` (given `values` by "
             "year after the last observed year, on straight lines from the last observed "
             "value, held after the last given year). Trends and growth stop at "
             f"{POSITIVE_FLOOR_SHARE:g} times the last observed value for positive series, at "
             "0 for counts and within 0-10 for the ladder. A regional path value is one "
             "number or a list of 16, in this order of regions: "
             + ", ".join(datasets.REGIONS) + "."]
    return "\n".join(rows) + "\n"

