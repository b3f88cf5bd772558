"""Calibration targets: observed figures with their observation-error model.

A targets file (``calibration/targets/*.csv``, format in ``calibration/targets/README.md``)
has one row per observed figure: which model output it is compared with (``metric``,
``group``, ``kind``, ``year``, ``period``), the value, an observation-error model, whether
the model matches it by construction, whether it is fitted, and where it comes from.
:func:`load_targets` reads and checks a file (a bad row is one line naming the file, the
line and the column, as for scenario files); a :class:`Target` gives its error's standard
deviation (:attr:`Target.sd`), and the ``z`` and Gaussian log-likelihood of a model value.

Error models (``error_model`` column, ``error_sd`` is its parameter ``e``; ``v`` the value):

=================  =========================================================
``normal_abs``      sd = e (in the value's unit)
``normal_rel``      sd = e * abs(v)
``count:F``         sd = max(e * abs(v), F) (official counts: a relative error
                    with a floor of F persons)
``rounded:S``       sd = sqrt((e * v)**2 + S**2 / 12) (a relative error plus the
                    uniform error of a figure rounded to steps of S)
``binomial:N``      sd = sqrt(v * (1 - v) / N + e**2) (a share of N persons plus
                    an extra error e, e.g. a part of the year for the whole)
=================  =========================================================

Examples
--------
>>> t = load_targets()
>>> row = t["new_emigrants.count.all.2013"]
>>> row.value, row.error_model, round(row.sd, 1)
(24384.0, 'normal_rel', 731.5)
>>> round(row.z(25000.0), 3)
0.842
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from model.core.recorder import DESTINATIONS, METRICS, Recorder
from model.params import suggest
from model.scenario import FIRST_YEAR, LAST_YEAR, ScenarioError

__all__ = ["Target", "TargetsError", "Targets", "load_targets", "default_targets_path",
           "error_sd", "COLUMNS", "KINDS", "DERIVED_METRICS", "ERROR_MODELS"]

COLUMNS = ("target_id", "year", "metric", "group", "kind", "value", "unit", "period",
           "error_model", "error_sd", "by_construction", "fitted", "source_file",
           "source_row", "source", "quality", "note")
"""Columns of a targets file, in order (``note`` may be empty, the others may not)."""

KINDS = ("count", "stock", "balance", "share", "proportion")
"""``count``: a flow over the year; ``stock``: a stock at a date; ``balance``: a signed
flow (in minus out); ``share``: the group's part of the metric's ``all`` total of the same
year; ``proportion``: a metric that is itself a share (``share_intending``)."""

DERIVED_METRICS = {"natural_increase": ("births", "deaths")}
"""Metrics computed from two recorded ones (the first minus the second)."""

ERROR_MODELS = {"normal_abs": False, "normal_rel": False, "count": True, "rounded": True,
                "binomial": True}
"""Error model names and whether they take a ``:parameter``."""

_SHARE_METRICS = ("share_intending",)
_PERIODS = "full_year, part_year:<months> (shares only), sum:<first>-<last>, survey:<text>"


class TargetsError(ScenarioError):
    """A targets file that cannot be used; the message is one line naming file, line, column.

    A :class:`model.scenario.ScenarioError`, so the CLI reports it as bad input (exit 2).
    """


def default_targets_path() -> Path:
    """The shipped targets of the calibration window, ``calibration/targets/kz_2012_2018.csv``.

    Examples
    --------
    >>> default_targets_path().name
    'kz_2012_2018.csv'
    """
    return Path(__file__).resolve().parents[2] / "calibration" / "targets" / "kz_2012_2018.csv"


def known_groups() -> list[str]:
    """Every group the recorder writes (``all``, age, education, region, ethnicity, destination).

    Examples
    --------
    >>> "region=Karaganda" in known_groups(), "destination=CIS" in known_groups()
    (True, True)
    """
    return Recorder().groups + [f"destination={d}" for d in DESTINATIONS]


def error_sd(model: str, e: float, value: float) -> float:
    """Standard deviation of the observation error of ``value`` under ``model``.

    Parameters
    ----------
    model : str
        An error model with its parameter, e.g. ``"count:500"`` (see the module notes).
    e : float
        The ``error_sd`` column: an absolute or relative sd, by model.
    value : float
        The observed value.

    Examples
    --------
    >>> error_sd("normal_abs", 0.05, 0.3)
    0.05
    >>> error_sd("count:500", 0.01, -29121.0)
    500.0
    >>> round(error_sd("rounded:1000", 0.03, 29000.0), 2)
    916.64
    >>> round(error_sd("binomial:100", 0.0, 0.5), 3)
    0.05
    """
    name, _, param = model.partition(":")
    v = float(value)
    if name == "normal_abs":
        return float(e)
    if name == "normal_rel":
        return float(e) * abs(v)
    p = float(param)
    if name == "count":
        return max(float(e) * abs(v), p)
    if name == "rounded":
        return math.sqrt((float(e) * v) ** 2 + p ** 2 / 12.0)
    if name == "binomial":
        return math.sqrt(v * (1.0 - v) / p + float(e) ** 2)
    raise ValueError(f"unknown error model {model!r}")


@dataclass(frozen=True)
class Target:
    """One observed figure and how the model's output is compared with it.

    Examples
    --------
    >>> t = Target("x", 2017, "new_emigrants", "ethnicity=Russian", "share", 0.7, "share",
    ...            "part_year:Jan-Sep", "binomial:10000", 0.02)
    >>> round(t.sd, 4), round(t.z(0.75), 3)
    (0.0205, 2.437)
    >>> round(t.loglik(0.7), 3)
    2.968
    """

    target_id: str
    year: int
    metric: str
    group: str
    kind: str
    value: float
    unit: str
    period: str
    error_model: str
    error_e: float
    by_construction: bool = False
    fitted: bool = True
    source_file: str = ""
    source_row: str = ""
    source: str = ""
    quality: str = ""
    note: str = ""

    @property
    def sd(self) -> float:
        """Standard deviation of the observation error, in the value's unit."""
        return error_sd(self.error_model, self.error_e, self.value)

    @property
    def years(self) -> tuple[int, ...]:
        """Years whose model values are added up: ``year``, or every year of ``sum:A-B``."""
        if self.period.startswith("sum:"):
            first, last = self.period[4:].split("-")
            return tuple(range(int(first), int(last) + 1))
        return (self.year,)

    @property
    def counted(self) -> bool:
        """Whether the row counts in a fit total (fitted and not matched by construction)."""
        return self.fitted and not self.by_construction

    def z(self, model_value: float) -> float:
        """Model value minus observed, in units of the observation error."""
        return (float(model_value) - self.value) / self.sd

    def loglik(self, model_value: float) -> float:
        """Gaussian log-density of the observation given the model value."""
        return -0.5 * self.z(model_value) ** 2 - math.log(self.sd * math.sqrt(2.0 * math.pi))


class Targets(dict):
    """Targets by ``target_id``, in file order, with the file they came from.

    Examples
    --------
    >>> t = load_targets()
    >>> t.path.name, len(t) > 50
    ('kz_2012_2018.csv', True)
    """

    path: Path

    def counted(self) -> list[Target]:
        """Rows that count in a fit total (fitted and not by construction)."""
        return [t for t in self.values() if t.counted]


def _bool(text: str, err) -> bool:
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    raise err(f"= {text!r} is not a flag", "true or false")


def _number(text: str, err, allowed: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise err(f"= {text!r} is not a number", allowed) from None
    if not math.isfinite(v):
        raise err(f"= {text!r} is not finite", allowed)
    return v


def _check_error_model(text: str, err) -> str:
    name, colon, param = text.partition(":")
    allowed = "normal_abs, normal_rel, count:FLOOR, rounded:STEP or binomial:N"
    if name not in ERROR_MODELS:
        raise err(f"= {text!r} is not an error model", allowed + suggest(name, ERROR_MODELS))
    if ERROR_MODELS[name] != bool(colon):
        need = "needs a parameter" if ERROR_MODELS[name] else "takes no parameter"
        raise err(f"= {text!r} {need}", allowed)
    if colon:
        try:
            p = float(param)
        except ValueError:
            raise err(f"= {text!r} has a parameter that is not a number",
                      allowed + " with a number > 0") from None
        if not (math.isfinite(p) and p > 0):
            raise err(f"= {text!r} needs a parameter > 0", allowed)
    return text


def _check_period(text: str, kind: str, year: int, err) -> str:
    head, colon, detail = text.partition(":")
    if text == "full_year" or (head in ("part_year", "survey") and colon and detail.strip()):
        if head == "part_year" and kind != "share":
            raise err(f"= {text!r} is part of a year, which constrains shares only",
                      "full_year for a kind other than share")
        return text
    if head == "sum" and colon:
        try:
            first, last = (int(y) for y in detail.split("-"))
        except ValueError:
            raise err(f"= {text!r} is not a range of years", "sum:FIRST-LAST") from None
        if not FIRST_YEAR <= first < last <= LAST_YEAR or last != year:
            raise err(f"= {text!r} does not end in the row's year {year}",
                      f"sum:FIRST-{year} with FIRST from {FIRST_YEAR}")
        return text
    raise err(f"= {text!r} is not a period", _PERIODS)


def _parse_row(row: dict, err_at) -> Target:
    def err(col: str):
        return lambda problem, allowed: err_at(col, problem, allowed)

    for col in COLUMNS:
        if col != "note" and not (row.get(col) or "").strip():
            raise err_at(col, "is empty", "a value (only 'note' may be empty)")
    year_f = _number(row["year"], err("year"), "a whole year")
    if year_f != int(year_f) or not FIRST_YEAR <= year_f <= LAST_YEAR:
        raise err_at("year", f"= {row['year']!r} is not a modelled year",
                     f"a whole year from {FIRST_YEAR} to {LAST_YEAR}")
    year = int(year_f)
    metric = row["metric"]
    names = list(METRICS) + list(DERIVED_METRICS)
    if metric not in names:
        raise err_at("metric", f"= {metric!r} is not a model metric",
                     ", ".join(names) + suggest(metric, names))
    kind = row["kind"]
    if kind not in KINDS:
        raise err_at("kind", f"= {kind!r} is not a kind", ", ".join(KINDS) + suggest(kind, KINDS))
    groups = known_groups()
    group = row["group"]
    if group not in groups:
        raise err_at("group", f"= {group!r} is not a model group",
                     "all, age=..., edu=..., region=..., ethnicity=..., destination=..."
                     + suggest(group, groups))
    if kind == "share" and (group == "all" or metric in _SHARE_METRICS):
        raise err_at("group" if group == "all" else "kind",
                     f"share of {metric} in group {group!r} is not a share of a total",
                     "a group other than all, of a count metric")
    if kind == "proportion" and metric not in _SHARE_METRICS:
        raise err_at("kind", f"= 'proportion' for {metric!r}, which is not a share",
                     f"proportion only for {', '.join(_SHARE_METRICS)}")
    if metric in _SHARE_METRICS and kind != "proportion":
        raise err_at("kind", f"= {kind!r} for {metric!r}, which is already a share",
                     "proportion")
    value = _number(row["value"], err("value"), "a number")
    if kind in ("share", "proportion") and not 0.0 <= value <= 1.0:
        raise err_at("value", f"= {value:g} is not a share", "a number from 0 to 1")
    period = _check_period(row["period"], kind, year, err("period"))
    model = _check_error_model(row["error_model"], err("error_model"))
    e = _number(row["error_sd"], err("error_sd"), "a number >= 0")
    if e < 0:
        raise err_at("error_sd", f"= {e:g} is negative", "a number >= 0")
    if model.startswith("binomial") and not 0.0 <= value <= 1.0:
        raise err_at("error_model", f"= {model!r} for a value outside 0..1",
                     "binomial:N only for shares")
    by_con = _bool(row["by_construction"], err("by_construction"))
    fitted = _bool(row["fitted"], err("fitted"))
    if by_con and fitted:
        raise err_at("fitted", "= 'true' on a row matched by construction",
                     "false when by_construction is true (such rows are never fitted)")
    target = Target(row["target_id"].strip(), year, metric, group, kind, value, row["unit"],
                    period, model, e, by_con, fitted, row["source_file"], row["source_row"],
                    row["source"], row["quality"], row.get("note") or "")
    if not target.sd > 0:
        raise err_at("error_sd", f"= {e:g} gives an observation error of 0 with {model}",
                     "a value giving a positive standard deviation")
    return target


def load_targets(path: str | Path | None = None) -> Targets:
    r"""Read and check a targets file (default: :func:`default_targets_path`).

    Parameters
    ----------
    path : str or Path, optional
        The CSV file.

    Returns
    -------
    Targets
        The rows by ``target_id``, in file order.

    Raises
    ------
    TargetsError
        One line naming the file, the line and the column of the first bad entry.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = f.write_text(",".join(COLUMNS) + "\n"
    ...     "a,2013,new_emigrant,all,count,24384,persons,full_year,normal_rel,0.03,"
    ...     "false,true,f.csv,11,somewhere,official,\n")
    >>> try:
    ...     load_targets(f)
    ... except TargetsError as exc:
    ...     print(str(exc).split("t.csv: ")[1].split(";")[0])
    line 2, column 'metric' = 'new_emigrant' is not a model metric
    """
    path = Path(path) if path is not None else default_targets_path()
    where = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise TargetsError(f"{where}: line 1: columns {', '.join(missing)} are "
                                   f"missing; allowed: a header with {', '.join(COLUMNS)}")
            out = Targets()
            out.path = path
            for row in reader:
                line = reader.line_num

                def err_at(col: str, problem: str, allowed: str, line=line, row=row):
                    msg = f"{where}: line {line}, column '{col}' {problem}; allowed: {allowed}"
                    return TargetsError(" ".join(msg.splitlines()))

                if None in row:  # more fields than the header
                    raise err_at("note", "is followed by extra fields",
                                 f"{len(COLUMNS)} fields per line (quote text with commas)")
                target = _parse_row(row, err_at)
                if target.target_id in out:
                    raise err_at("target_id", f"= {target.target_id!r} appears twice",
                                 "a unique id per row")
                out[target.target_id] = target
    except FileNotFoundError:
        raise TargetsError(f"{where}: file not found; allowed: a targets CSV file "
                           f"(e.g. {default_targets_path()})") from None
    except IsADirectoryError:
        raise TargetsError(f"{where}: is a folder, not a file; allowed: a targets CSV "
                           "file") from None
    except UnicodeDecodeError:
        raise TargetsError(f"{where}: is not UTF-8 text; allowed: a UTF-8 CSV file") from None
    if not out:
        raise TargetsError(f"{where}: has no target rows; allowed: a header and one row per "
                           "target")
    return out
