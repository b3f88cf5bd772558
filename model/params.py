"""The parameter registry: every model knob, declared once.

Each :class:`Param` carries its default, its plausible bounds (used to validate scenario
files, as SALib bounds and as calibration priors), its unit, what it does and where the
default comes from (a data file and figure, or ``"assumption: ..."`` with the reason).
The same names are used in TOML files, in code, in results and in plots.

Examples
--------
>>> from model.params import REGISTRY, defaults
>>> REGISTRY["age_peak"].default
35.0
>>> defaults()["realise_emigrate"] > 0
True
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Param", "REGISTRY", "ParamError", "defaults", "validate_params", "suggest"]


@dataclass(frozen=True)
class Param:
    """One model parameter.

    Parameters
    ----------
    name : str
        The key used in scenario files, code and outputs.
    default : float
        Value used when a scenario does not set it.
    bounds : tuple of float
        Inclusive plausible range; values outside are rejected.
    unit : str
        Unit of the value (``"utility"`` for logit coefficients).
    doc : str
        What the parameter does in the model.
    source : str
        Where the default comes from, or ``"assumption: ..."``.
    kind : str
        ``"float"``, ``"int"`` or ``"year"``; ints and years must be whole numbers.
    group : str
        Which part of the model it belongs to (for tables and SALib groups).

    Examples
    --------
    >>> p = Param("x", 1.0, (0.0, 2.0), "utility", "a knob", "assumption: demo")
    >>> p.contains(3.0)
    False
    """

    name: str
    default: float
    bounds: tuple[float, float]
    unit: str
    doc: str
    source: str
    kind: str = "float"
    group: str = "behaviour"

    def contains(self, value: float) -> bool:
        """Return True when ``value`` lies within the inclusive bounds."""
        lo, hi = self.bounds
        return lo <= value <= hi

    @property
    def is_assumption(self) -> bool:
        """True when the default is a documented assumption rather than data."""
        return self.source.startswith("assumption")


class ParamError(ValueError):
    """A parameter override is unknown, of the wrong type or out of bounds.

    ``key`` names the offending parameter and ``allowed`` says what would be accepted.
    """

    def __init__(self, key: str, problem: str, allowed: str):
        self.key = key
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"key '{key}' {problem}; {allowed}")


_A = "assumption: "
_P: list[Param] = [
    # --- intention stage: alternative-specific constants -------------------------------
    Param("asc_emigrate", -5.9, (-9.0, 0.0), "utility",
          "Constant of the intention to emigrate permanently (vs staying).",
          _A + "set so that about 10% of adults intend to move abroad at the defaults "
          "(survey Jan 2019, Strategy Foundation, via CABAR 2019; kz_migration_targets.csv)"),
    Param("asc_labour", -4.1, (-10.0, 0.0), "utility",
          "Constant of the intention to send a working-age member abroad for work.",
          _A + "set so that new labour migrants are of the order of the EEC series "
          "(34,374 in 2012 to 111,874 in 2018, CABAR 2019)"),
    Param("asc_study", -2.1, (-10.0, 0.0), "utility",
          "Constant of the intention to send a member aged 16-24 abroad to study.",
          _A + "set so that the stock of students abroad is near UNESCO UIS outbound "
          "(42,444 in 2012; kz_students_abroad_uis_2000_2018.csv)"),
    Param("asc_noncis", -2.2, (-6.0, 2.0), "utility",
          "Constant of a non-CIS destination within the emigration nest (CIS is the reference).",
          _A + "about 90% of emigrants go to CIS countries (BNS 2017: 33,704 of 37,704)"),
    Param("nest_scale", 0.6, (0.1, 1.0), "1",
          "Nested-logit scale of the emigration nest (1 = plain multinomial logit).",
          _A + "destinations are closer substitutes for each other than for staying"),
    # --- push and pull factors --------------------------------------------------------
    Param("b_income_emigrate", 1.0, (0.0, 4.0), "utility per log point",
          "Weight of the income gap log(destination GDP per person / own region's income).",
          _A + "unit elasticity; gap from comparators_gdp_per_capita (PPP) and "
          "kz_income_per_capita_by_region"),
    Param("b_income_labour", 1.2, (0.0, 4.0), "utility per log point",
          "Weight of the income gap for labour migration (destination Russia).",
          _A + "labour migrants respond to wages at least as much as emigrants"),
    Param("b_income_study", 0.3, (0.0, 3.0), "utility per log point",
          "Weight of the income gap for study abroad.",
          _A + "study choices depend less on current income"),
    Param("age_peak", 35.0, (28.0, 45.0), "years",
          "Age of the household head at which the wish to leave peaks.",
          "CABAR 2019: the career 'ceiling' is reached at about 35; half of those intending "
          "to emigrate are 25-44 (Strategy Foundation survey, Jan 2019)"),
    Param("age_width", 10.0, (4.0, 20.0), "years",
          "Width (standard deviation) of the age bump around age_peak.",
          _A + "makes 25-44 the high-propensity band"),
    Param("b_age_emigrate", 1.2, (0.0, 4.0), "utility",
          "Height of the age bump for permanent emigration.",
          _A + "working-age heads dominate emigration (68% of 2017 emigrants of working age)"),
    Param("b_age_labour", 1.5, (0.0, 4.0), "utility",
          "Height of the age bump for labour migration.",
          _A + "labour migration is a working-age move"),
    Param("b_higher_emigrate", 2.0, (-1.0, 3.0), "utility",
          "Effect of higher education of the head on emigration.",
          "CABAR 2019: 29.9% of 2017 emigrants had higher education vs 17.5% of arrivals"),
    Param("b_higher_labour", -0.3, (-2.0, 2.0), "utility",
          "Effect of higher education of the head on labour migration.",
          _A + "labour migration abroad is mostly lower-skilled"),
    Param("b_higher_study", 0.8, (-1.0, 3.0), "utility",
          "Effect of a highly educated head (parents) on sending a child to study abroad.",
          _A + "educated parents pursue the 'study then residence' strategy (CABAR 2019)"),
    Param("b_optimism_emigrate", -2.0, (-6.0, 0.0), "utility per unit optimism",
          "Effect of optimism (0..1, centred at 0.5) on emigration.",
          "CABAR 2019: people with low optimism, worried about their children's future, "
          "are more likely to emigrate; size is an assumption"),
    Param("b_optimism_labour", -1.0, (-6.0, 0.0), "utility per unit optimism",
          "Effect of optimism on labour migration.", _A + "weaker than for emigration"),
    Param("b_optimism_study", -0.5, (-6.0, 0.0), "utility per unit optimism",
          "Effect of optimism on study abroad.", _A + "weaker than for emigration"),
    Param("b_russian", 3.0, (0.0, 5.0), "utility",
          "Emigration propensity of ethnic Russians relative to Kazakhs.",
          "BNS via kz_migration_targets: Russians 70.9-73.8% of emigrants (Jan-Jul 2012-2013) "
          "vs 23.7% of the population (2009 census); size is an assumption"),
    Param("b_german", 2.9, (0.0, 6.0), "utility",
          "Emigration propensity of ethnic Germans relative to Kazakhs.",
          "BNS via kz_migration_targets: Germans 5.5-6.4% of emigrants vs 1.1% of the population"),
    Param("b_ukrainian", 2.6, (0.0, 5.0), "utility",
          "Emigration propensity of ethnic Ukrainians relative to Kazakhs.",
          "BNS via kz_migration_targets: Ukrainians 7.6-8.0% of emigrants vs 2.1% of population"),
    Param("b_tatar", 1.5, (0.0, 5.0), "utility",
          "Emigration propensity of ethnic Tatars relative to Kazakhs.",
          "BNS Jan-Sep 2017: 697 Tatar emigrants (kz_migration_targets.csv); "
          "size is an assumption"),
    Param("b_other_ethnic", 0.5, (-1.0, 4.0), "utility",
          "Emigration propensity of other groups (Uzbeks, Uighurs, others) relative to Kazakhs.",
          _A + "small; no breakdown found"),
    Param("b_german_noncis", 3.5, (0.0, 6.0), "utility",
          "Extra utility of a non-CIS destination (Germany) for ethnic German households.",
          _A + "ethnic Germans resettle mostly to Germany (1,100 to Germany Jan-Jun 2018)"),
    Param("b_compatriot", 0.5, (0.0, 2.0), "utility",
          "Pull of Russia's compatriot resettlement programme on Russian, Ukrainian and Tatar "
          "households' emigration to CIS from compatriot_year.",
          "CABAR 2019: the 2012 decree made the programme open-ended from 2013 and emigration "
          "rose from 2013; size is an assumption"),
    Param("compatriot_year", 2013, (2000, 2050), "year",
          "First year in which the compatriot programme term applies.",
          "CABAR 2019 (decree of 14 Sep 2012, in force from 2013)", kind="year", group="context"),
    Param("b_network_emigrate", 2.0, (0.0, 6.0), "utility per share",
          "Effect of the share of a household's contacts already abroad on emigration.",
          _A + "migration networks lower costs (as in the plain-Mesa reference model)"),
    Param("b_network_labour", 2.5, (0.0, 6.0), "utility per share",
          "Effect of the share of contacts abroad on labour migration.", _A + "as the reference"),
    Param("b_network_study", 1.5, (0.0, 6.0), "utility per share",
          "Effect of the share of contacts abroad on study abroad.", _A + "as the reference"),
    Param("b_diaspora", 0.8, (0.0, 3.0), "utility",
          "Effect of having kin abroad from before 2012 (historical diaspora ties).",
          _A + "kin abroad ease resettlement"),
    Param("b_north_emigrate", 0.7, (0.0, 3.0), "utility",
          "Extra emigration propensity in the northern and industrial regions (Karaganda, "
          "East Kazakhstan, Kostanay, Pavlodar, North Kazakhstan).",
          "CABAR 2019 and BNS Jan-Sep 2017 regional emigrants (kz_migration_targets.csv); "
          "size is an assumption"),
    Param("b_north_labour", 0.3, (0.0, 3.0), "utility",
          "Extra labour-migration propensity in the northern and industrial regions.",
          _A + "weaker than for emigration"),
    Param("b_hhsize_emigrate", -0.15, (-1.0, 0.5), "utility per member",
          "Effect of each household member beyond the first on whole-household emigration.",
          _A + "moving a larger household costs more"),
    Param("b_children_emigrate", 0.3, (-1.0, 2.0), "utility",
          "Effect of having children under 16 on emigration.",
          "CABAR 2019: emigrants take their minor children (25% of emigrants); size assumed"),
    Param("b_eaeu_labour", 0.6, (0.0, 3.0), "utility",
          "Extra utility of labour migration once the EAEU free labour market applies.",
          _A + "the EAEU treaty opened member labour markets from eaeu_year; EEC counts "
          "of Kazakh labour migrants tripled 2012-2018 (CABAR 2019)"),
    Param("eaeu_year", 2015, (2000, 2050), "year",
          "First year of the EAEU free labour market.",
          _A + "EAEU treaty in force from 1 January 2015", kind="year", group="context"),
    Param("trend_study", 0.08, (-0.3, 0.3), "utility per year",
          "Yearly change in the utility of study abroad since 2012 (grants, quotas, visas).",
          _A + "UIS outbound students doubled 2012-2016 (42,444 to 90,213)"),
    Param("trend_emigrate", 0.12, (-0.3, 0.3), "utility per year",
          "Yearly change in the utility of emigration since 2012 not captured by other terms "
          "(the worsening image of the country, economic slowdown).",
          _A + "CABAR 2019 names a negative image of the country and the labour market as "
          "growing push factors; registered emigrants rose from 24,384 (2013) to 41,894 (2018)"),
    Param("trend_until", 2018, (2012, 2050), "year",
          "Last year in which the trend_* terms grow; later years hold that year's value.",
          _A + "the trends are fitted to the 2012-2018 statistics and not extrapolated",
          kind="year", group="context"),
    Param("trend_labour", 0.05, (-0.3, 0.3), "utility per year",
          "Yearly change in the utility of labour migration since 2012 (visa-free regimes).",
          _A + "visa-free entry to South Korea and the growing EEC counts (CABAR 2019)"),
    # --- realisation stage ------------------------------------------------------------
    Param("realise_emigrate", 0.014, (0.0, 0.5), "per year",
          "Probability that a household intending to emigrate does so within the year.",
          _A + "intentions (~10% of adults) far exceed yearly departures (~0.2%)"),
    Param("realise_labour", 0.12, (0.0, 0.8), "per year",
          "Probability that an intended labour migration happens within the year.",
          _A + "temporary moves are easier to realise than permanent ones"),
    Param("realise_study", 0.08, (0.0, 0.8), "per year",
          "Probability that an intended study abroad starts within the year.",
          _A + "needs admission and funding"),
    # --- abroad transitions -----------------------------------------------------------
    Param("p_return_labour", 0.35, (0.0, 1.0), "per year",
          "Yearly probability that a labour migrant returns home.",
          _A + "most labour migration is seasonal or short-term; return rates not found "
          "(data README: missing)"),
    Param("p_settle_labour", 0.02, (0.0, 0.5), "per year",
          "Yearly probability that a labour migrant settles abroad (becomes an emigrant).",
          _A + "return and settlement rates not found (data README: missing)"),
    Param("study_years", 4, (1, 8), "years",
          "Years a student stays abroad before graduating.", _A + "a bachelor's degree",
          kind="int"),
    Param("p_stay_after_study", 0.42, (0.0, 1.0), "1",
          "Probability that a graduate abroad stays for work instead of returning.",
          "CABAR 2019 citing AIESEC 2018: 42% of graduates changed a student visa for a work visa"),
    # --- optimism and networks ----------------------------------------------------------
    Param("optimism_concentration", 6.0, (1.0, 50.0), "1",
          "Concentration of the Beta distribution of initial optimism (higher = less spread).",
          _A + "no distribution found; mean from the Cantril ladder of 2012 (5.759 of 10, "
          "WHR via comparators_life_ladder_whr_2005_2020.csv)", group="population"),
    Param("optimism_sigma", 0.05, (0.0, 0.3), "per year",
          "Standard deviation of the yearly random walk of a household's optimism.",
          _A + "as the plain-Mesa reference model", group="population"),
    Param("optimism_ladder_weight", 1.0, (0.0, 3.0), "1",
          "How much of the yearly change in the national Cantril ladder (out of 10) moves "
          "every household's optimism.",
          _A + "optimism tracks national life evaluation (WHR, comparators_life_ladder)",
          group="context"),
    Param("n_contacts", 8, (1, 30), "contacts", "Contacts per household.",
          _A + "as the plain-Mesa reference model", kind="int", group="population"),
    Param("p_contact_in_region", 0.8, (0.0, 1.0), "1",
          "Share of contacts drawn from the household's own region.",
          _A + "as the plain-Mesa reference model", group="population"),
    Param("european_north_factor", 3.0, (1.0, 6.0), "1",
          "How many times more densely (per person) the European groups not placed by the "
          "census table settle in Karaganda and East Kazakhstan than in the other regions "
          "without data.",
          _A + "regional census tables were not found for 12 regions; set so that the "
          "regional pattern of emigrants is near BNS Jan-Sep 2017 (Karaganda first)",
          group="population"),
    Param("p_diaspora_european", 0.3, (0.0, 1.0), "1",
          "Share of Russian, German, Ukrainian and Tatar households with kin abroad in 2012.",
          _A + "no survey found; the 1990s emigration was mostly of these groups",
          group="population"),
    Param("p_diaspora_other", 0.05, (0.0, 1.0), "1",
          "Share of other households with kin abroad in 2012.", _A + "no survey found",
          group="population"),
    # --- population and demography ----------------------------------------------------
    Param("mean_household_size", 3.72, (3.2, 4.2), "persons",
          "Mean number of persons per household in the synthetic 2012 population.",
          "derived: 2009 census 16,009,597 persons / 4.3 mln households "
          "(kz_census2009_households.csv; UN gives 3.496, unresolved)", group="population"),
    Param("p_leave_home", 0.06, (0.0, 0.5), "per year",
          "Yearly probability that an adult child (20-34) of the head forms a household.",
          _A + "keeps household sizes stable over long horizons; no data found",
          group="demography"),
    Param("p_higher_completion", 0.276, (0.0, 0.8), "1",
          "Share of each cohort that completes higher education at age 22.",
          "2021 census: 27.6% of the population 15+ with higher education "
          "(kz_census_education_2009_2021_national.csv), used as the cohort rate",
          group="demography"),
    Param("mortality_level", 1.0, (0.5, 2.0), "1",
          "Multiplier of the Gompertz mortality schedule; births are then set so that "
          "natural increase by region matches BNS.",
          _A + "no age-specific mortality in the shipped data; Gompertz a=5e-5, b=0.09 "
          "plus infant mortality 0.01", group="demography"),
    Param("immigration_multiplier", 1.0, (0.0, 3.0), "1",
          "Multiplier of the exogenous series of immigrants.",
          "immigrants = emigrants + official balance (kz_external_migration_annual)",
          group="context"),
]

REGISTRY: dict[str, Param] = {p.name: p for p in _P}
"""All parameters by name, in declaration order."""


def defaults() -> dict[str, float]:
    """Return a fresh dict of every parameter's default value.

    Examples
    --------
    >>> d = defaults()
    >>> d["study_years"]
    4
    """
    return {p.name: p.default for p in _P}


def suggest(key: str, choices) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or an empty string.

    Never the rejected ``key`` itself (a known name may be refused for another reason).
    Case is ignored, and a choice the key begins, or whose value part (after ``=``, as in
    group labels) the key's value begins, beats a merely similar spelling: ``region=Astana``
    suggests ``region=Astana city``, not ``region=Kostanay``.

    Examples
    --------
    >>> suggest("age_pek", ["age_peak", "age_width"])
    "; did you mean 'age_peak'?"
    >>> suggest("region=Astana", ["region=Kostanay", "region=Astana city"])
    "; did you mean 'region=Astana city'?"
    >>> suggest("age_peak", ["age_peak"])
    ''
    """
    options = [str(c) for c in choices]
    if key in options:
        return ""  # known: it was refused for another reason, which the message says
    low = key.lower()
    for rule in (lambda c: c.lower() == low, lambda c: c.lower().startswith(low)):
        hits = [c for c in options if rule(c)]
        if len(hits) == 1:
            return f"; did you mean '{hits[0]}'?"
    by_lower = {c.lower(): c for c in options}
    close = difflib.get_close_matches(low, list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


def _coerce(param: Param, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamError(param.name, f"must be a number, not {type(value).__name__} {value!r}",
                         f"allowed: {param.kind} in [{param.bounds[0]:g}, {param.bounds[1]:g}]")
    if not math.isfinite(value):
        raise ParamError(param.name, f"must be a finite number, not {value!r}",
                         f"allowed: {param.kind} in [{param.bounds[0]:g}, {param.bounds[1]:g}]")
    if param.kind in ("int", "year"):
        if float(value) != int(value):
            raise ParamError(param.name, f"must be a whole number, not {value!r}",
                             f"allowed: {param.kind} in [{param.bounds[0]:g}, "
                             f"{param.bounds[1]:g}]")
        value = int(value)
    else:
        value = float(value)
    if not param.contains(value):
        raise ParamError(param.name, f"= {value:g} is out of bounds",
                         f"allowed: [{param.bounds[0]:g}, {param.bounds[1]:g}] {param.unit}")
    return value


def validate_params(overrides: Mapping[str, object]) -> dict[str, float]:
    """Validate overrides against the registry and return the full parameter set.

    Parameters
    ----------
    overrides : mapping
        Parameter name to value; unknown names, wrong types and out-of-bounds values raise.

    Returns
    -------
    dict
        Defaults updated with the validated overrides.

    Raises
    ------
    ParamError
        Naming the key and what is allowed, with a "did you mean" for near-misses.

    Examples
    --------
    >>> validate_params({"age_peak": 40})["age_peak"]
    40.0
    """
    values = defaults()
    for key, value in overrides.items():
        if key not in REGISTRY:
            raise ParamError(key, "is not a parameter",
                             "see 'emigsim params' for the list" + suggest(key, REGISTRY))
        values[key] = _coerce(REGISTRY[key], value)
    return values
