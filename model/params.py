"""The parameter registry: every model knob, declared once.

Each :class:`Param` carries its default, its plausible bounds (used to validate scenario
files and as the range of sensitivity designs), a prior over those bounds (uniform unless
declared otherwise), its unit, what it does, where the default comes from (a data file and
figure, or ``"assumption: ..."`` with the reason) and a role:

* ``behaviour``: coefficients and rates of the household choices, the ones calibration
  and sensitivity designs vary;
* ``structural``: the modelling constants of the population, demography and immigration
  (ages, schedules, shares), fixed by default and documented, but overridable like any
  parameter, so that runs, manifests and sensitivity experiments can see them;
* ``context``: dates and switches of the world around the model (programme start years,
  the immigration series multiplier).

The same names are used in TOML files, in code, in results and in plots.

Priors are declared as small tuples and built into scipy distributions only when asked
(:meth:`Param.prior_dist`), so that importing the registry stays fast.

Examples
--------
>>> from model.params import REGISTRY, defaults
>>> REGISTRY["age_peak"].default
35.0
>>> defaults()["realise_emigrate"] > 0
True
>>> REGISTRY["sex_ratio_birth"].role, REGISTRY["compatriot_year"].role
('structural', 'context')
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Param", "Prior", "REGISTRY", "ROLES", "PRIORS", "ParamError", "defaults",
           "validate_params", "suggest", "by_role"]

ROLES = ("behaviour", "structural", "context")
"""What a parameter is for (see the module docstring)."""

PRIORS = {"uniform": 0, "normal": 2, "beta": 2, "triangular": 1}
"""Prior families and their number of arguments (see :class:`Prior`)."""


class Prior:
    """A prior distribution on a parameter's bounds ``[lo, hi]``, mapped from the unit cube.

    Families (``spec`` is the tuple declared on a :class:`Param`):

    * ``("uniform",)``: uniform on the bounds (discrete uniform for whole numbers);
    * ``("normal", mu, sigma)``: normal truncated to the bounds (``lo <= mu <= hi``);
    * ``("beta", a, b)``: beta(a, b) stretched onto the bounds (``a, b > 0``);
    * ``("triangular", mode)``: triangular on the bounds with its peak at ``mode``.

    Every family puts all its mass inside the bounds, so a value drawn from the prior
    always passes validation. Whole-number parameters take uniform priors only.

    Examples
    --------
    >>> Prior(("uniform",), 0.0, 10.0).ppf(0.25)
    2.5
    >>> round(Prior(("normal", 5.0, 1.0), 0.0, 10.0).ppf(0.5), 6)
    5.0
    >>> Prior(("uniform",), 1, 8, whole=True).ppf(0.99)
    8.0
    """

    # A plain class, not a dataclass: building a dataclass costs about 1.5 ms of the
    # package's import time, and the CLI imports the registry to answer --help.
    __slots__ = ("spec", "lo", "hi", "whole")

    def __init__(self, spec: tuple = ("uniform",), lo: float = 0.0, hi: float = 1.0,
                 whole: bool = False):
        problem = _prior_problem(spec, lo, hi, whole)
        if problem:
            raise ValueError(f"prior {spec!r} on [{lo:g}, {hi:g}]: {problem}")
        self.spec, self.lo, self.hi, self.whole = spec, lo, hi, whole

    def __repr__(self) -> str:
        return f"Prior({self.spec!r}, {self.lo!r}, {self.hi!r}, whole={self.whole!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Prior):
            return NotImplemented
        return (self.spec, self.lo, self.hi, self.whole) == (other.spec, other.lo, other.hi,
                                                              other.whole)

    def __hash__(self) -> int:
        return hash((self.spec, self.lo, self.hi, self.whole))

    @property
    def family(self) -> str:
        """The family name (``"uniform"``, ``"normal"``, ...)."""
        return self.spec[0]

    def ppf(self, u: float | np.ndarray) -> float | np.ndarray:
        """Map unit-cube coordinates ``u`` in [0, 1] (a number or an array) to values.

        The uniform family is ``lo + u * (hi - lo)`` clipped to the bounds (whole numbers:
        ``lo + floor(u * (hi - lo + 1))``, at most ``hi``), computed without scipy, so
        designs made before priors existed give the same values bit for bit.
        """
        import numpy as np

        lo, hi = self.lo, self.hi
        if self.family == "uniform":
            if self.whole:
                # Discrete uniform over lo..hi: every integer gets the same share of [0, 1].
                out = np.minimum(lo + np.floor(np.multiply(u, hi - lo + 1)), hi)
            else:
                # Clipped: lo + 1.0 * (hi - lo) may overshoot hi by one ulp.
                out = np.clip(lo + np.multiply(u, hi - lo), lo, hi)
        else:
            out = np.clip(self.frozen().ppf(u), lo, hi)
        return float(out) if np.ndim(out) == 0 else out

    def frozen(self):
        """The prior as a frozen ``scipy.stats`` distribution (scipy loads here)."""
        from scipy import stats

        lo, hi = self.lo, self.hi
        family, args = self.family, self.spec[1:]
        if family == "uniform":
            return stats.uniform(loc=lo, scale=hi - lo)
        if family == "normal":
            mu, sigma = args
            return stats.truncnorm((lo - mu) / sigma, (hi - mu) / sigma, loc=mu, scale=sigma)
        if family == "beta":
            return stats.beta(args[0], args[1], loc=lo, scale=hi - lo)
        return stats.triang((args[0] - lo) / (hi - lo), loc=lo, scale=hi - lo)

    def describe(self) -> str:
        """Short text for tables: ``uniform``, ``normal(5, 1)``, ...

        Examples
        --------
        >>> Prior(("beta", 2.0, 5.0), 0.0, 1.0).describe()
        'beta(2, 5)'
        """
        if len(self.spec) == 1:
            return self.family
        return f"{self.family}({', '.join(f'{a:g}' for a in self.spec[1:])})"


def _prior_problem(spec: object, lo: float, hi: float, whole: bool) -> str:
    """What is wrong with a prior declaration, or an empty string (no scipy needed)."""
    if not isinstance(spec, tuple) or not spec or spec[0] not in PRIORS:
        return f"the family must be one of {', '.join(PRIORS)}, given as a tuple"
    family, args = spec[0], spec[1:]
    if len(args) != PRIORS[family]:
        return f"{family} takes {PRIORS[family]} argument(s), not {len(args)}"
    if not all(isinstance(a, int | float) and not isinstance(a, bool) and math.isfinite(a)
               for a in args):
        return "arguments must be finite numbers"
    if whole and family != "uniform":
        return "whole-number parameters take a uniform prior only"
    if family == "normal" and not (args[1] > 0 and lo <= args[0] <= hi):
        return "needs sigma > 0 and mu inside the bounds (its mass is truncated to them)"
    if family == "beta" and not (args[0] > 0 and args[1] > 0):
        return "needs a > 0 and b > 0"
    if family == "triangular" and not lo <= args[0] <= hi:
        return "needs the mode inside the bounds"
    return ""


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
    role : str
        One of :data:`ROLES`: ``behaviour`` (calibrated), ``structural`` (fixed by default,
        documented) or ``context`` (dates and switches).
    prior : tuple
        Prior on the bounds, e.g. ``("uniform",)`` (the default) or ``("normal", mu,
        sigma)``; see :class:`Prior`. The bounds stay the validation range.

    Raises
    ------
    ValueError
        At construction (so at registry build) for an unknown role, a default outside
        the bounds, a default of the wrong type or an invalid prior.

    Examples
    --------
    >>> p = Param("x", 1.0, (0.0, 2.0), "utility", "a knob", "assumption: demo")
    >>> p.contains(3.0), p.role, p.prior_dist().ppf(0.5)
    (False, 'behaviour', 1.0)
    """

    name: str
    default: float
    bounds: tuple[float, float]
    unit: str
    doc: str
    source: str
    kind: str = "float"
    group: str = "behaviour"
    role: str = "behaviour"
    prior: tuple = ("uniform",)

    def __post_init__(self) -> None:
        lo, hi = self.bounds
        if self.role not in ROLES:
            raise ValueError(f"parameter {self.name}: role {self.role!r} is not one of {ROLES}")
        whole = self.kind in ("int", "year")
        if (not isinstance(self.default, int) or isinstance(self.default, bool)) if whole \
                else not isinstance(self.default, float):
            # a float default read where the code had an int literal (or the reverse)
            # would change the arithmetic of the runs
            raise ValueError(f"parameter {self.name}: default {self.default!r} must be "
                             f"{'an int' if whole else 'a float'} ({self.kind})")
        if not lo < hi or not lo <= self.default <= hi:
            raise ValueError(f"parameter {self.name}: default {self.default!r} not inside "
                             f"bounds {self.bounds}")
        problem = _prior_problem(self.prior, lo, hi, whole)
        if problem:
            raise ValueError(f"parameter {self.name}: prior {self.prior!r} {problem}")

    def prior_dist(self) -> Prior:
        """The prior on the bounds, with ``ppf`` from the unit cube (see :class:`Prior`)."""
        return Prior(self.prior, self.bounds[0], self.bounds[1],
                     whole=self.kind in ("int", "year"))

    def contains(self, value: float) -> bool:
        """Return True when ``value`` lies within the inclusive bounds."""
        lo, hi = self.bounds
        return lo <= value <= hi

    @property
    def is_assumption(self) -> bool:
        """True when the default is a documented assumption rather than data."""
        return self.source.startswith("assumption")


def describe(value: object) -> str:
    """The type and value of a bad input, for error messages.

    Examples
    --------
    >>> describe(True)
    'bool True'
    """
    return f"{type(value).__name__} {value!r}"


class RowError(ValueError):
    """A key of a table row in an input file is invalid (the file is named by the caller).

    ``key`` is the key inside the row, ``problem`` what is wrong, ``allowed`` what would be
    accepted and ``hint`` an optional ``"; did you mean ..."``. The drivers and the
    interventions raise subclasses; the scenario loader adds the file and the row.

    Examples
    --------
    >>> str(RowError("uptake", "= 2 is outside [0, 1]", "a share from 0 to 1"))
    "key 'uptake' = 2 is outside [0, 1]; allowed: a share from 0 to 1"
    """

    def __init__(self, key: str, problem: str, allowed: str, hint: str = ""):
        self.key = key
        self.problem = problem
        self.allowed = allowed
        self.hint = hint
        super().__init__(f"key '{key}' {problem}; allowed: {allowed}{hint}")


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
_POINT_FIT = (" (point fit with calibration/point_fit.py to the targets after the issue-11 "
              "rebuild)")
_P: list[Param] = [
    # --- intention stage: alternative-specific constants -------------------------------
    Param("asc_emigrate", -8.903, (-14.0, 0.0), "utility",
          "Constant of the intention to emigrate permanently (vs staying).",
          _A + "set (with p_intention_persist, intention_scale and realise_emigrate) so that "
          "registered departures follow BNS and about 10% of adults intend to move "
          "abroad at the defaults "
          "(survey Jan 2019, Strategy Foundation, via CABAR 2019; kz_migration_targets.csv)"
          + _POINT_FIT),
    Param("asc_labour", -4.4, (-10.0, 0.0), "utility",
          "Constant of the intention to send a working-age member abroad for work.",
          _A + "set so that new labour migrants are of the order of the EEC series "
          "(34,374 in 2012 to 111,874 in 2018, CABAR 2019)"),
    Param("asc_study", -2.1, (-10.0, 0.0), "utility",
          "Constant of the intention to send a member aged 16-24 abroad to study.",
          _A + "set so that the stock of students abroad is near UNESCO UIS outbound "
          "(42,444 in 2012; kz_students_abroad_uis_2000_2018.csv)"),
    Param("asc_noncis", -2.356, (-6.0, 2.0), "utility",
          "Constant of a non-CIS destination within the emigration nest (CIS is the reference).",
          _A + "about 90% of emigrants go to CIS countries (BNS 2017: 33,704 of 37,704)"),
    Param("nest_scale", 0.6, (0.1, 1.0), "1",
          "Nested-logit scale of the emigration nest (1 = plain multinomial logit).",
          _A + "destinations are closer substitutes for each other than for staying"),
    # --- push and pull factors --------------------------------------------------------
    Param("b_income_emigrate", 1.67, (0.0, 4.0), "utility per log point",
          "Weight of the expected income gap (adaptive in expectation_memory) on "
          "emigration: to CIS the wage gap in a common currency, "
          "log(average Russian wage in tenge / own region's money income per person in "
          "tenge), which moves with the tenge and rouble exchange rates (devaluations of "
          "February 2014 and August 2015); to non-CIS log(German GDP per person / "
          "Kazakhstan's, both in US dollars at market rates: a common currency too) - "
          "log(own region's income ratio).",
          _A + "gaps from kz_exchange_rates_russia_wage_2005_2023, "
          "kz_income_per_capita_by_region and comparators_gdp_per_capita (current US "
          "dollars)"),
    Param("b_income_labour", 1.2, (0.0, 4.0), "utility per log point",
          "Weight of the wage gap to Russia in tenge (as for CIS emigration) on labour "
          "migration.",
          _A + "labour migrants respond to wages at least as much as emigrants"),
    Param("b_income_study", 0.3, (0.0, 3.0), "utility per log point",
          "Weight of the wage gap to Russia in tenge on study abroad.",
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
    Param("b_higher_emigrate", 2.29, (-1.0, 3.0), "utility",
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
    Param("b_russian", 2.23, (0.0, 5.0), "utility",
          "Emigration propensity of ethnic Russians relative to Kazakhs.",
          "BNS via kz_migration_targets: Russians 70.9-73.8% of emigrants (Jan-Jul 2012-2013) "
          "vs 23.7% of the population (2009 census); size is an assumption" + _POINT_FIT),
    Param("b_german", 0.799, (0.0, 6.0), "utility",
          "Emigration propensity of ethnic Germans relative to Kazakhs.",
          "BNS via kz_migration_targets: Germans 5.5-6.4% of emigrants vs 1.1% of the population"),
    Param("b_ukrainian", 2.72, (0.0, 5.0), "utility",
          "Emigration propensity of ethnic Ukrainians relative to Kazakhs.",
          "BNS via kz_migration_targets: Ukrainians 7.6-8.0% of emigrants vs 2.1% of population"),
    Param("b_tatar", 1.5, (0.0, 5.0), "utility",
          "Emigration propensity of ethnic Tatars relative to Kazakhs.",
          "BNS Jan-Sep 2017: 697 Tatar emigrants (kz_migration_targets.csv); "
          "size is an assumption"),
    Param("b_other_ethnic", 0.3, (-1.0, 4.0), "utility",
          "Emigration propensity of Uzbeks and Uighurs relative to Kazakhs.",
          _A + "small; no breakdown found (BNS does not list them among emigrants)"),
    Param("b_other_group", 2.0, (-1.0, 4.0), "utility",
          "Emigration propensity of the census's other groups (not Kazakh, Russian, Uzbek, "
          "Ukrainian, Uighur, Tatar or German) relative to Kazakhs.",
          "BNS Jan-Sep 2017 (kz_migration_targets.csv): Russians, Germans, Ukrainians, "
          "Kazakhs and Tatars make 93.7% of emigrants, leaving about 6% to the other groups, "
          "4.5% of the population (2009 census 'Others', 721,700; "
          "kz_census2009_ethnicity_by_region.csv); size is an assumption" + _POINT_FIT),
    Param("b_german_noncis", 3.5, (0.0, 6.0), "utility",
          "Extra utility of a non-CIS destination (Germany) for ethnic German households.",
          _A + "ethnic Germans resettle mostly to Germany (1,100 to Germany Jan-Jun 2018)"),
    Param("b_destination_gap", 1.0, (0.0, 6.0), "utility per log point",
          "Extra pull of the non-CIS destination per log point by which the expected gap to "
          "it has grown beyond the expected gap to the CIS since 2012: adds "
          "b_destination_gap * destination_shift(region, year) to the non-CIS utility "
          "(model.core.decisions.Context.destination_shift; 0 in 2012, so asc_noncis keeps "
          "the split's level).",
          _A + "the CIS share of registered emigrants fell from 95.1% (2011) and 93.6% "
          "(January-July 2013) to 89.4% (2017) while the tenge's falls of 2014-2015 widened "
          "the gap to Germany (GDP per person at market rates) more than the one to Russia, "
          "whose rouble fell too (kz_external_migration_annual_2000_2018.csv, "
          "kz_migration_targets.csv); b_income_emigrate also sets the level's response, so "
          "the split gets a term of its own. Point-fitted with the shipped posterior "
          "(calibrated with the term at 0; 100 draws at scale 100, `emigsim fit`): fit total "
          "231.5 at 0, 214.7 at 1, 215.0 at 1.5, 220.0 at 2; freed in a calibration (seventh "
          "session, calibration/README.md) the study left the shipped region"),
    Param("b_compatriot", 0.0, (0.0, 2.0), "utility",
          "Pull of Russia's compatriot resettlement programme on Russian, Ukrainian and Tatar "
          "households' emigration to CIS from compatriot_year.",
          "CABAR 2019: the 2012 decree made the programme open-ended from 2013 and emigration "
          "rose from 2013; size is an assumption" + _POINT_FIT + "; the fit puts it at 0: "
          "registered emigrants fell from about 29,800 (2012) to 24,384 (2013)"),
    Param("compatriot_year", 2013, (2000, 2050), "year",
          "First year in which the compatriot programme term applies.",
          "CABAR 2019 (decree of 14 Sep 2012, in force from 2013)", kind="year", group="context",
          role="context"),
    Param("b_network_emigrate", 4.271, (0.0, 10.0), "utility per share",
          "Effect of the share of a household's contacts already abroad on emigration.",
          _A + "migration networks lower costs (as in the plain-Mesa reference model)"
          + _POINT_FIT),
    Param("b_network_labour", 2.5, (0.0, 6.0), "utility per share",
          "Effect of the share of contacts abroad on labour migration.", _A + "as the reference"),
    Param("b_network_study", 1.5, (0.0, 6.0), "utility per share",
          "Effect of the share of contacts abroad on study abroad.", _A + "as the reference"),
    Param("network_decay", 0.1, (0.0, 1.0), "per year",
          "Yearly loss of weight of a contact household that emigrated: one that left last "
          "year counts 1 in the share of contacts abroad, one that left n years ago "
          "(1 - network_decay)^(n - 1); a contact with a member working or studying abroad "
          "counts 1.",
          _A + "ties to those who left fade (fewer calls and visits); no Kazakhstan figure "
          "found"),
    Param("ties_weight", 0.0, (0.0, 3.0), "1",
          "Weight of the contacts who emigrated before 2012 in the share of contacts "
          "abroad: in year t a household's ties_before (its fading-weighted contacts who "
          "left in ties_first_year-2011, model/core/ties.py) add ties_weight * (1 - "
          "ties_decay)^(t - 2012) * ties_before to its count of contacts abroad.",
          _A + "their number follows BNS emigrants 2000-2011 "
          "(kz_external_migration_annual_2000_2018.csv, missing years interpolated), the "
          "2012 January-July ethnic shares of emigrants (kz_migration_targets.csv) and the "
          "2009 census groups; the weight (1 would count them as the model's own emigrants) "
          "is left to the fit: rates by group alone, national, miss that the emigrants of "
          "the 2000s came mostly from the northern regions and from the circles of the "
          "households most inclined to leave; 0 (off) by default: freed with network_decay "
          "in a trial calibration (sixth session, calibration/README.md) it brought the "
          "2012 balance in but put the 2014-2015 emigrants 10-15% low"),
    Param("ties_decay", 0.1, (0.0, 1.0), "per year",
          "Yearly loss of weight of a contact who emigrated before 2012 (ties_weight): "
          "one that left in year y weighs (1 - ties_decay)^(2011 - y) in 2012 and fades by "
          "(1 - ties_decay) a year from then.",
          _A + "its own parameter, apart from network_decay: the ties of the 2000s are those "
          "of the post-Soviet wave that ebbed by about 15% a year 2000-2010 (BNS emigrants "
          "155,700 in 2000, 30.2k interpolated in 2009), and one decay for both made the "
          "model's own network stop growing in the sixth session's trial; the default "
          "equals network_decay's; no Kazakhstan figure found"),
    Param("b_diaspora", 0.8, (0.0, 3.0), "utility",
          "Effect of having kin abroad from before 2012 (historical diaspora ties).",
          _A + "kin abroad ease resettlement"),
    Param("b_north_emigrate", 0.63, (0.0, 3.0), "utility",
          "Extra emigration propensity in the northern and industrial regions (Akmola, "
          "Karaganda, East Kazakhstan, Kostanay, Pavlodar, North Kazakhstan).",
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
          _A + "EAEU treaty in force from 1 January 2015", kind="year", group="context",
          role="context"),
    Param("b_eaeu_emigrate", 0.254, (0.0, 3.0), "utility",
          "Extra utility of emigration to CIS once the EAEU free labour market applies "
          "(no work permit in Russia, pensions and diplomas recognised).",
          _A + "the EAEU treaty in force from eaeu_year; fitted to registered emigrants "
          "2013-2018 (kz_2012_2018.csv)" + _POINT_FIT),
    Param("b_visa_labour", 0.5, (0.0, 3.0), "utility",
          "Extra utility of labour migration once South Korea admits Kazakh citizens "
          "visa-free (a labour destination outside the EAEU).",
          "kz_migration_targets.csv: Kazakh illegal stayers in South Korea rose from 359 "
          "(2014) to over 4,100 (July 2017) after the visa-free regime; size is an "
          "assumption"),
    Param("visa_korea_year", 2015, (2000, 2050), "year",
          "First year of visa-free entry to South Korea for Kazakh citizens.",
          _A + "the 30-day visa-free agreement took effect at the end of November 2014, "
          "so 2015 is its first full year", kind="year", group="context", role="context"),
    Param("b_grp_emigrate", 0.2, (-3.0, 3.0), "utility per log point",
          "Weight of the region's gross regional product per person (log, relative to the "
          "national mean) on emigration: industrial regions with high output and falling "
          "prospects.",
          _A + "BNS GRP per person by region (kz_grp_by_region_2000_2024.csv); the sign is "
          "left to the fit to the regional shares of emigrants"),
    Param("b_origin_income_emigrate", 2.427, (-3.0, 3.0), "utility per log point",
          "Weight on emigration of the origin region's money income per person (log, "
          "relative to the national mean) beyond its part in the destination gaps (where it "
          "enters with -b_income_emigrate): positive when richer regions can better afford "
          "to leave (the 'migration hump'), negative when poorer regions push.",
          _A + "BNS income per person by region (kz_income_per_capita_by_region_2000_2020."
          "csv); 0 leaves the origin's income to the gaps alone, which makes Almaty city "
          "(income 1.6x the mean, 9.8% of emigrants Jan-Sep 2017) send about a fifth of its "
          "observed share; the sign is left to the calibration"),
    Param("b_devaluation_emigrate", 1.058, (0.0, 3.0), "utility per log point",
          "Weight on emigration of the expected fall of the tenge against the US dollar "
          "since 2012 (decisions.devaluation_expectation: adaptive in expectation_memory): "
          "the devaluations of February 2014 and August 2015 halved the dollar value of "
          "earnings and savings, and the fear of further falls is a push to leave.",
          "World Bank WDI tenge per US dollar (comparators_gdp_per_capita_2005_2023.csv, "
          "driver kzt_per_usd); CABAR 2019 names the devaluations among the causes of the "
          "rise in emigration from 2014; size is an assumption" + _POINT_FIT),
    Param("devaluation_saturation", 0.0, (0.0, 20.0), "per log point",
          "Saturation of the devaluation term: the expected fall of the tenge enters as (1 "
          "- exp(-s x)) / s of the log fall x since 2012 (0: x itself), so that the first "
          "fall weighs fully and further falls less, up to 1 / s log points.",
          _A + "registered emigrants rose 19% in 2014 after a fall of 16% in February and "
          "17% in 2016 after the float of August 2015 (a fall of 50%); off (0) by default: "
          "a trial calibration is in calibration/README.md"),
    Param("expectation_memory", 0.854, (0.0, 0.95), "1",
          "Weight of last year's expectation in households' adaptive expectations, since "
          "2012, of the tenge's fall against the dollar and of the income gaps that drive "
          "emigration (0: they act on the current year; near 1: on the distant past).",
          _A + "expectations adjust over about two years (mean lag memory / (1 - memory) "
          "= 1 year at 0.5); no Kazakhstan survey of expectations found; labour and study "
          "respond to the current gaps"),
    Param("b_devaluation_shock", 0.3, (0.0, 6.0), "utility per log point",
          "Effect on emigration of the tenge's fall in a devaluation step, as news for the "
          "twelve months after it (the driver devaluation_shock: log(after / before) of "
          "the step spread over those months by days, 0.157 in 2014, 0.131 in 2015 and "
          "0.192 in 2016), on top of the expected fall of the annual average rate.",
          _A + "a sudden, announced devaluation is news that the annual average spreads "
          "over two years (the float of August 2015 is mostly in the 2016 average); "
          "registered emigrants rose 19% from 2013 to 2014, in the year of the February "
          "step; 0 leaves the annual average alone. Point-fitted with the shipped posterior "
          "(calibrated with the term at 0; 100 draws at scale 100, `emigsim fit`, with "
          "residual_intending_start 0.15): fit total 180.6 at 0, 174.9 at 0.3, 183.7 at 0.6 "
          "(2016 emigrants +10% there); with the shipped posterior's 2012 stock and level "
          "(calibration/posterior/README.md) 164.0 on 200 draws"),
    Param("residual_study", 0.0, (-0.3, 0.3), "utility per year",
          "Unexplained yearly change in the utility of study abroad since 2012 (0: the named "
          "drivers carry the dynamics).",
          _A + "a residual, reported in the fit; UIS outbound students doubled 2012-2016"),
    Param("residual_emigrate", 0.0, (-0.3, 0.3), "utility per year",
          "Unexplained yearly change in the utility of emigration since 2012 (0: the named "
          "drivers carry the dynamics).",
          _A + "a residual, reported in the fit; registered emigrants rose from 24,384 "
          "(2013) to 41,894 (2018); with the expected devaluation, the expected wage gaps and "
          "an unsaturated intention stage the point fit puts it at 0 (+-0.02 a year "
          "worsens the fit)" + _POINT_FIT),
    Param("residual_intending_start", 0.0, (0.0, 3.0), "1",
          "Unexplained excess of the years before 2012 in forming intentions to emigrate: "
          "the adults of 2012 intend at the stationary share of a chain that forms "
          "intentions at (1 + this) times 2012's rate (0: the 2012 rate).",
          _A + "a residual of the starting state, reported in the fit; departures of 2011 "
          "were 22.8% above 2010's (azattyq.org, kz_external_migration_annual_2000_2018.csv) "
          "and the January-July 2012 pace (15,751) implies about 29.8 thousand for 2012 "
          "against 24,384 in 2013; no count of intentions before 2019. The shipped "
          "posterior sets it to 0.3 in every draw, point-fitted on the calibrated draws "
          "(calibration/posterior/README.md); `emigsim fit` reports it"),
    Param("residual_until", 2018, (2012, 2050), "year",
          "Last year in which the residual_* terms grow; later years hold that year's value.",
          _A + "a residual is fitted to 2012-2018 and not extrapolated",
          kind="year", group="context", role="context"),
    Param("ties_first_year", 2000, (2000, 2011), "year",
          "First year whose emigrants count as contacts abroad of the households of 2012 "
          "(ties of earlier emigrants are left out).",
          _A + "the first year of the emigrant series (kz_external_migration_annual_"
          "2000_2018.csv); at network_decay 0.1 a contact of 2000 weighs 0.31 in 2012",
          kind="year", group="context", role="context"),
    Param("residual_labour", 0.0, (-0.3, 0.3), "utility per year",
          "Unexplained yearly change in the utility of labour migration since 2012 (0: the "
          "named drivers carry the dynamics).",
          _A + "a residual, reported in the fit"),
    # --- realisation stage ------------------------------------------------------------
    Param("realise_emigrate", 0.291, (0.0, 0.5), "per year",
          "Probability that a household whose head intends to emigrate, and whose draw of the "
          "year is emigration, leaves within the year (registered).",
          _A + "intentions (~10% of adults) far exceed yearly departures (~0.2%)"
          + _POINT_FIT + "; 0.0253 moved to 0.0257 with the 2012 age structure from births "
          "and deaths, to hold the emigrants of 2012-2018 in total"),
    Param("p_intention_persist", 0.8, (0.0, 1.0), "per year",
          "Probability that an adult intending to emigrate still intends a year later.",
          _A + "no panel of intentions in the window; intentions last about five years "
          "on average (1 / (1 - 0.8))"),
    Param("intention_scale", 3.0, (1.0, 20.0), "1",
          "Multiple of the household's yearly probability of choosing emigration at which "
          "an adult forms a lasting intention to emigrate (capped at 1): the survey's "
          "'plans to move abroad' is a wider wish than the year's choice that, with "
          "realise_emigrate, leads to a registered departure.",
          _A + "set with p_intention_persist and realise_emigrate so that about 10% of "
          "adults intend (survey Jan 2019, Strategy Foundation via CABAR 2019) while "
          "registered departures stay near the BNS counts; 1 ties intentions to the choice"
          + _POINT_FIT),
    Param("intention_age_peak", 38.0, (25.0, 55.0), "years",
          "Age at which an adult is most likely to form an intention to emigrate (the "
          "age profile is a Gaussian bump of this peak, 1 at the peak, 0 under 18).",
          "fitted by hand to the survey of January 2019 (Strategy Foundation via CABAR "
          "2019): half of those intending to emigrate are aged 25-44"),
    Param("intention_age_spread", 15.0, (6.0, 40.0), "years",
          "Standard deviation (width) of the age profile of forming an intention.",
          "fitted by hand with intention_age_peak to 'half of intenders are aged 25-44' "
          "(CABAR 2019)"),
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
          "CABAR 2019 citing AIESEC 2018: 42% of graduates changed a student visa for a work "
          "visa (a realised change of status, not the ~70% who would like to stay)"),
    Param("p_wish_stay_study", 0.7, (0.0, 1.0), "1",
          "Share of graduates abroad who wish to stay there; those who do not stay "
          "(above p_stay_after_study) come home intending to emigrate.",
          "CABAR 2019 citing BRIF Research Group (summer 2017): of those planning to study "
          "abroad almost 70% would like to stay in that country (an intention; the "
          "realised change of status is p_stay_after_study)"),
    Param("p_graduate_noncis", 0.2, (0.0, 1.0), "1",
          "Share of graduates who stay abroad that stay outside the CIS (the rest in Russia).",
          "UNESCO UIS outbound students, meta caveat: host-country counts, Russia ~80% "
          "(kz_students_abroad_uis_2000_2018.meta.md); the other ~20% taken as non-CIS, an "
          "upper bound (some study in other CIS countries)",
          group="abroad", role="structural"),
    # --- optimism and networks ----------------------------------------------------------
    Param("optimism_concentration", 6.0, (1.0, 50.0), "1",
          "Concentration of the Beta distribution of initial optimism (higher = less spread).",
          _A + "no distribution found; mean from the Cantril ladder of 2012 (5.759 of 10, "
          "WHR via comparators_life_ladder_whr_2005_2020.csv)", group="population",
          role="structural"),
    Param("optimism_sigma", 0.05, (0.0, 0.3), "per year",
          "Standard deviation of the yearly random walk of a household's optimism.",
          _A + "as the plain-Mesa reference model", group="population", role="structural"),
    Param("optimism_ladder_weight", 1.0, (0.0, 3.0), "1",
          "How much of the yearly change in the national Cantril ladder (out of 10) moves "
          "every household's optimism.",
          _A + "optimism tracks national life evaluation (WHR, comparators_life_ladder)",
          group="context"),
    Param("n_contacts", 8, (1, 30), "contacts", "Contacts per household.",
          _A + "as the plain-Mesa reference model", kind="int", group="population",
          role="structural"),
    Param("p_contact_in_region", 0.8, (0.0, 1.0), "1",
          "Share of contacts drawn from the household's own region.",
          _A + "as the plain-Mesa reference model", group="population", role="structural"),
    Param("p_contact_same_ethnicity", 0.5, (0.0, 1.0), "1",
          "Share of a household's contacts in its own region that are drawn from its own "
          "ethnic group (ethnic homophily; the rest are drawn from the whole region).",
          _A + "no survey of Kazakhstan's contact networks found; language and group shape "
          "acquaintance", group="population", role="structural"),
    Param("p_diaspora_european", 0.3, (0.0, 1.0), "1",
          "Share of Russian, German, Ukrainian and Tatar households with kin abroad in 2012.",
          _A + "no survey found; the 1990s emigration was mostly of these groups",
          group="population", role="structural"),
    Param("p_diaspora_other", 0.05, (0.0, 1.0), "1",
          "Share of other households with kin abroad in 2012.", _A + "no survey found",
          group="population", role="structural"),
    # --- population and demography ----------------------------------------------------
    Param("mean_household_size", 3.72, (3.2, 4.2), "persons",
          "Mean number of persons per household in the synthetic 2012 population.",
          "derived: 2009 census 16,009,597 persons / 4.3 mln households "
          "(kz_census2009_households.csv; UN gives 3.496, unresolved)", group="population",
          role="structural"),
    Param("p_leave_home", 0.15, (0.0, 0.5), "per year",
          "Yearly probability that an adult child (20-34) of the head forms a household.",
          _A + "with p_partner, holds the mean household size and the one-person share "
          "within the band of the data README (household formation) to 2050; no data "
          "found",
          group="demography", role="structural"),
    Param("p_higher_completion", 0.198, (0.0, 0.8), "1",
          "Share of each cohort that completes higher education at age 22.",
          _A + "the 2009 census share of the population 15+ with higher education "
          "(incl. postgraduate), 19.8% (kz_census_education_2009_national.csv), used as "
          "the cohort rate; younger cohorts probably complete more often, but the project "
          "holds no cohort or later figure (the 2021 census is kept out for validation)",
          group="demography", role="structural"),
    Param("mortality_level", 1.0, (0.5, 2.0), "1",
          "Multiplier of the mortality levels solved from the regional life expectancy "
          "(1: each region's life expectancy at birth as BNS, 2012-2018, then the "
          "projection).",
          _A + "1 reproduces kz_life_expectancy_by_region_1999_2018.csv; the age-sex "
          "schedule is gompertz_b, male_mortality_excess and infant_mortality",
          group="demography", role="structural"),
    Param("life_expectancy_gain_per_decade", 2.0, (0.0, 4.0), "years per decade",
          "Rise of each region's life expectancy at birth after 2018, from its 2018 value "
          "(the mortality levels are solved for it year by year).",
          _A + "half the national pace of 1999-2018 (65.63 to 73.15 years, 4.0 a decade, "
          "kz_life_expectancy_by_region_1999_2018.csv): gains slow down as mortality "
          "falls; 0 holds 2018, 4 continues the observed pace",
          group="context", role="context"),
    Param("fertility_change_per_decade", -0.1, (-0.3, 0.1), "1 per decade",
          "Relative change of every region's fertility level per decade after 2018 "
          "(0 holds the levels fitted to the births of 2012-2018).",
          _A + "no fertility series after 2018 may enter the project and national TFR data "
          "are one point (1999 = 1.8, kz_fertility_tfr_national.csv), so no trend can be "
          "fitted. The model's period TFR of 2012-2018 (about 3.0-3.1, on the 2012 age "
          "structure built from the births and deaths by region) is within the 2.8-3.3 "
          "quoted in issue 11; -10% a decade, a gradual decline as with urbanisation, "
          "brings it to about 2.3 by 2050 (docs/long_run.md); 0 holds the levels",
          group="context", role="context"),
    Param("fertility_level_scale", 1.021, (0.8, 1.2), "1",
          "Multiplier of every region's fitted fertility level (the levels reproduce the "
          "mean crude birth rate 2012-2018 on the model's women of 2012).",
          "fitted: least squares of the national births 2012-2018 (BNS, "
          "kz_births_deaths_by_region_2000_2018.csv) on the births of the baseline, 5 "
          "replicates at scale 50 (calibration/fertility/fit_level_scale.py; 1.017 gave "
          "a mean of 391.8 thousand, observed 393.4): close to 1 since the 2012 age "
          "structure is built from the births of 2000-2011 and the deaths of 2012-2018 "
          "(the 2020-band structure needed 1.05)",
          group="demography", role="structural"),
    Param("kazakh_fertility_ratio", 1.0, (1.0, 2.5), "1",
          "Fertility of Kazakh women relative to other women of the same region and age.",
          _A + "not identified: a least-squares fit across regions of the mean births "
          "2012-2018 on the model's Kazakh and other women gives about 8.9 (16 regions) "
          "and 6.9 (the 4 regions with census ethnic shares), ratios that confound the "
          "ethnic differential with regional differences (12 regions share one filled "
          "ethnic mix); 1 leaves all differences to the regional levels "
          "(calibration/fertility/fit_ethnic_ratio.py)",
          group="demography", role="structural"),
    Param("immigration_multiplier", 1.0, (0.0, 3.0), "1",
          "Multiplier of the exogenous series of immigrants.",
          "immigrants = emigrants + official balance (kz_external_migration_annual)",
          group="context", role="context"),
    # --- structural constants: fixed by default, documented, overridable -----------------
    # (model/data/README.md, "Assumptions", says where each one comes from)
    # synthetic population of 2012
    Param("max_household_size", 12, (6, 20), "persons",
          "Largest household of the synthetic population (sizes 1 + Poisson(mean - 1), "
          "capped here).",
          _A + "no size distribution by region found; cap of the Poisson draw (data README)",
          kind="int", group="population", role="structural"),
    Param("head_min_age", 20, (16, 30), "years",
          "Youngest age of a household head in the synthetic 2012 population.",
          _A + "heads are adults of 20 and over; other members take the rest of the age "
          "distribution (data README)", kind="int", group="population", role="structural"),
    Param("abroad_student_min_age", 17, (14, 22), "years",
          "Youngest age of the students placed abroad in the population of 1 January 2012.",
          _A + "the UIS outbound stock of 2011 (42,244) is placed among non-heads aged 17-24",
          kind="int", group="population", role="structural"),
    Param("abroad_student_max_age", 24, (18, 35), "years",
          "Oldest age of the students placed abroad in the population of 1 January 2012.",
          _A + "students placed among non-heads aged 17-24", kind="int", group="population",
          role="structural"),
    # who may be sent abroad
    Param("work_age_min", 18, (14, 25), "years",
          "Youngest age of a member who may be sent abroad for work (also of the labour "
          "migrants placed abroad in 2012).",
          _A + "working age 18-62: labour needs a member aged 18-62 at home",
          kind="int", group="abroad", role="structural"),
    Param("work_age_max", 62, (50, 75), "years",
          "Oldest age of a member who may be sent abroad for work (also of the labour "
          "migrants placed abroad in 2012).",
          _A + "working age 18-62 (the men's pension age is 63, BNS functional age groups)",
          kind="int", group="abroad", role="structural"),
    Param("study_age_min", 16, (14, 20), "years",
          "Youngest age of a member who may be sent abroad to study.",
          _A + "study needs a member aged 16-24 at home", kind="int", group="abroad",
          role="structural"),
    Param("study_age_max", 24, (18, 35), "years",
          "Oldest age of a member who may be sent abroad to study.",
          _A + "study needs a member aged 16-24 at home", kind="int", group="abroad",
          role="structural"),
    # demography
    Param("gompertz_a", 5e-5, (1e-5, 2e-4), "per year",
          "Gompertz mortality hazard at age 0 of the bare schedule: hazard = level * "
          "gompertz_a * exp(gompertz_b * age) (in a run the level is solved from the "
          "regional life expectancy, so only the product matters).",
          _A + "no age-specific mortality in the shipped data; Gompertz 5e-5 exp(0.09 age) "
          "(data README)", group="demography", role="structural"),
    Param("gompertz_b", 0.09, (0.05, 0.13), "per year of age",
          "Gompertz rate at which the mortality hazard rises with age.",
          _A + "Gompertz 5e-5 exp(0.09 age) (data README)", group="demography",
          role="structural"),
    Param("male_mortality_excess", 2.43, (1.5, 3.5), "1",
          "Multiplier of the mortality hazard of men relative to women (sets the gap "
          "between women's and men's life expectancy).",
          "gives a gap of 9.7 years at the national life expectancy of 2012: BNS, 2011: "
          "men 63.5, women 73.2, the gap below 10 years only since 2011 "
          "(https://en.tengrinews.kz/health/kazakhstan-is-regional-leader-by-difference-in-"
          "life-3022); life expectancy by sex is not in the shipped data",
          group="demography", role="structural"),
    Param("infant_mortality", 0.01, (0.0, 0.05), "per year",
          "Hazard added in the first year of life.",
          _A + "+0.01 in the first year (data README)", group="demography",
          role="structural"),
    Param("fertile_age_min", 15, (12, 20), "years",
          "Youngest age of a woman who may give birth (start of the triangular fertility "
          "schedule).",
          _A + "no age-specific fertility in the shipped data; triangular fertility 15-49 "
          "peaking at 27 (data README)", kind="int", group="demography", role="structural"),
    Param("fertile_age_max", 49, (40, 55), "years",
          "Oldest age of a woman who may give birth (end of the triangular fertility "
          "schedule).",
          _A + "triangular fertility 15-49 peaking at 27 (data README)", kind="int",
          group="demography", role="structural"),
    Param("fertility_peak_age", 27, (20, 35), "years",
          "Age of the peak of the triangular fertility schedule.",
          _A + "triangular fertility 15-49 peaking at 27 (data README)", kind="int",
          group="demography", role="structural"),
    Param("birth_cap", 0.95, (0.5, 1.0), "per year",
          "Largest yearly probability that a woman gives birth, whatever her region's "
          "fertility level.",
          _A + "keeps the per-woman probability below 1 where a region has few women at home",
          group="demography", role="structural"),
    Param("sex_ratio_birth", 105.0, (100.0, 112.0), "boys per 100 girls",
          "Sex ratio at birth: a newborn is a boy with probability r / (r + 100).",
          _A + "105 boys : 100 girls", group="demography", role="structural"),
    Param("secondary_age", 16, (14, 18), "years",
          "Age at which a person reaches secondary education (pupils below it are basic).",
          _A + "pupils to 15 basic, 16-21 secondary, 22+ by the 2009 census shares by sex "
          "(data README)", kind="int", group="demography", role="structural"),
    Param("higher_age", 22, (19, 26), "years",
          "Age at which a share p_higher_completion completes higher education (and from "
          "which the 2009 census shares of adult education apply).",
          _A + "pupils to 15 basic, 16-21 secondary, 22+ by the 2009 census shares by sex "
          "(data README)", kind="int", group="demography", role="structural"),
    Param("leave_home_min_age", 20, (16, 30), "years",
          "Youngest age of an adult child who may leave the head's household "
          "(p_leave_home).",
          _A + "adult children (20-34) of the head leave (data README)", kind="int",
          group="demography", role="structural"),
    Param("leave_home_max_age", 34, (25, 50), "years",
          "Oldest age of an adult child who may leave the head's household (p_leave_home).",
          _A + "adult children (20-34) of the head leave (data README)", kind="int",
          group="demography", role="structural"),
    Param("leave_home_min_gap", 16, (10, 25), "years",
          "A member leaves home only if at least this many years younger than the head "
          "(a child of the head, not a partner).",
          _A + "couples are not matched; the age gap tells a child from a partner",
          kind="int", group="demography", role="structural"),
    Param("p_partner", 0.5, (0.0, 1.0), "per year",
          "Yearly probability that an adult living alone (partner_min_age-partner_max_age) "
          "looks for a partner; those looking are matched by age rank within their region "
          "and the woman joins the man's household (model.core.partnering).",
          _A + "set so that the one-person share of households stays within the band of "
          "the data README (household formation) to 2050; no data on union formation found",
          group="demography", role="structural"),
    Param("partner_min_age", 20, (16, 30), "years",
          "Youngest age of an adult living alone who may form a couple (p_partner).",
          _A + "the youngest age of leaving home (leave_home_min_age)", kind="int",
          group="demography", role="structural"),
    Param("partner_max_age", 49, (30, 80), "years",
          "Oldest age of an adult living alone who may form a couple (p_partner).",
          _A + "the end of the fertile ages (fertile_age_max); older widows and widowers "
          "stay alone", kind="int", group="demography", role="structural"),
    # immigration
    Param("immigrants_2012", 15751.0 * 24384.0 / 12902.0 - 1426.0, (17974.0 - 1426.0, 70000.0),
          "persons",
          "Immigrants of 2012: the official balance plus an estimate of the year's emigrants "
          "(only January-July of either flow is known).",
          "derived: official 2012 balance -1,426 (BNS) plus 2012 emigrants estimated as "
          "15,751 in January-July (kz_migration_targets.csv) scaled by the 2013 ratio of "
          "full-year to January-July emigrants (24,384 / 12,902): 29,769 - 1,426 = 28,343 "
          "(the 2012-2018 sum of about 230,000 emigrants less 2013-2018 gives 32,053, "
          "consistent within its 5% error); the former estimate from January-July arrivals "
          "(35,426) put the 2012 balance at +13k",
          group="immigration", role="structural"),
    Param("immigrant_kazakh_share_2012", 0.69, (0.0, 1.0), "1",
          "Share of Kazakhs among the immigrants of 2012; the others follow the national "
          "non-Kazakh mix of 2012.",
          "BNS January-July 2012: 69.0% of arrivals Kazakh (kz_migration_targets.csv); "
          "the mix of the others is an assumption", group="immigration", role="structural"),
    Param("immigrant_kazakh_share", 0.623, (0.0, 1.0), "1",
          "Share of Kazakhs among the immigrants from 2013 on; the others follow the "
          "national non-Kazakh mix of 2012.",
          "BNS January-July 2013: 62.3% of arrivals Kazakh (kz_migration_targets.csv); "
          "held afterwards (assumption)",
          group="immigration", role="structural"),
    Param("immigrant_higher_share", 0.175, (0.0, 1.0), "1",
          "Share of immigrants (all ages) with higher education, given to those aged "
          "higher_age and over.",
          "CABAR 2019: 17.5% of 2017 arrivals had higher education "
          "(kz_migration_targets.csv, unverified; a share of all arrivals, as its 29.9% of "
          "emigrants is 11,290 of all 37,704)", group="immigration",
          role="structural"),
]

CALIBRATED_DEFAULTS = ("asc_emigrate", "b_devaluation_emigrate", "expectation_memory",
                       "b_income_emigrate", "b_network_emigrate", "b_russian",
                       "b_north_emigrate", "asc_noncis", "b_german",
                       "b_origin_income_emigrate")
"""The parameters the shipped calibration frees; their defaults are its best design point."""
_DESIGN_POINT = ("; default from the best simulated point of the shipped calibration's design "
                 "(calibration/best_point.py, re-run with 4 replicates at scale 50: fit total "
                 "214.6; runs use the posterior, calibration/posterior/, unless --no-posterior)")
_P = [replace(p, source=p.source + _DESIGN_POINT) if p.name in CALIBRATED_DEFAULTS else p
      for p in _P]

REGISTRY: dict[str, Param] = {p.name: p for p in _P}
"""All parameters by name, in declaration order."""

_ORDERED = (("abroad_student_min_age", "abroad_student_max_age"),
            ("work_age_min", "work_age_max"), ("study_age_min", "study_age_max"),
            ("fertile_age_min", "fertility_peak_age"), ("fertility_peak_age", "fertile_age_max"),
            ("secondary_age", "higher_age"), ("leave_home_min_age", "leave_home_max_age"),
            ("partner_min_age", "partner_max_age"))
"""Pairs of ages that must keep their order (first <= second) in a parameter set."""


def by_role(role: str) -> list[Param]:
    """The parameters of one role (see :data:`ROLES`), in declaration order.

    Examples
    --------
    >>> [p.name for p in by_role("context")][:2]
    ['compatriot_year', 'eaeu_year']
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; allowed: {', '.join(ROLES)}")
    return [p for p in _P if p.role == role]


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
    for first, second in _ORDERED:
        if not values[first] <= values[second]:
            key = first if first in overrides else second
            raise ParamError(key, f"makes {first} = {values[first]:g} above "
                             f"{second} = {values[second]:g}",
                             f"allowed: {first} <= {second}")
    return values
