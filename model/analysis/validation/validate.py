"""Forecast skill on held-out years: calibrate up to an origin, forecast, score.

For each origin year ``O`` (:func:`run_validation`):

1. calibrate the study on its targets of years ``<= O`` only (``calibrate_fn``, by default
   :func:`model.analysis.calibration.calibrate`; a reduced budget may be passed as
   ``budget``, e.g. ``{"population_size": 100, "max_total_simulations": 2000}``), into
   ``OUT/origin_O/calibration``; its posterior is kept as ``OUT/origin_O/posterior.csv``;
2. forecast every scored target of years ``O+1 .. last`` (:func:`forecast_targets`) with
   ``n_draws`` posterior draws, one simulation per draw (``forecast_fn``, by default
   :func:`posterior_predictive`), into ``OUT/origin_O/forecast_samples.csv``; each value
   gets observation noise from the target's error model, so the fan is the predictive
   distribution of the *published* figure;
3. score the model's quantiles and the naive baselines' (:mod:`.baselines`, from the
   official series up to ``O``) against the targets' values (:mod:`.scoring`).

An origin whose ``posterior.csv`` (or ``forecast_samples.csv``) exists is not calibrated (or
forecast) again, so a killed validation resumes where it stopped.

The model's forecasts are *conditional*: the model's drivers (exchange rates, wages, GDP,
the official immigrant inflow the model takes as an input) are the observed values of the
forecast years, while the baselines see only the series up to ``O``. A model that beats the
baselines has thus shown it turns the observed drivers into emigration well; it has not
shown it could have predicted those drivers.

Outputs of :func:`write_outputs`: ``skill.csv`` (columns :data:`SKILL_COLUMNS`),
``relative_skill.csv`` (:func:`relative_skill`) and ``skill.png`` (:func:`skill_figure`).

Examples
--------
>>> from model.analysis.targets import load_targets
>>> ids = [t.target_id for t in forecast_targets(load_targets(), 2016)]
>>> ids[:3]
['new_emigrants.count.all.2017', 'new_emigrants.count.all.2018', 'net_migration.balance.all.2017']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from model.analysis.calibration.recovery import quiet_calibrate
from model.analysis.targets import Target, Targets, load_targets
from model.analysis.validation.baselines import SERIES, naive_forecasts, official_history
from model.analysis.validation.scoring import QUANTILE_COLUMNS, sample_quantiles, score
from model.core.rng import replicate_seed
from model.scenario import ScenarioError

__all__ = ["SKILL_COLUMNS", "MODEL", "ValidationError", "forecast_targets", "metric_label",
           "check_origins", "posterior_predictive", "run_validation", "score_origin",
           "relative_skill", "skill_figure", "write_outputs"]

SKILL_COLUMNS = ("origin", "horizon", "year", "metric", "forecaster", "wis", "covered_50",
                 "covered_90", "ape")
"""Columns of ``skill.csv``."""

MODEL = "model"
"""The ``forecaster`` name of the model's forecasts."""

_SHARE_GROUPS = ("age=", "region=")


class ValidationError(ScenarioError):
    """Bad input to a validation (origins, study); one line, reported as exit 2."""


def metric_label(t: Target) -> str:
    """The ``metric`` column of ``skill.csv`` for a target.

    Examples
    --------
    >>> from model.analysis.targets import load_targets
    >>> t = load_targets()
    >>> metric_label(t["net_migration.balance.all.2016"])
    'net_migration'
    >>> metric_label(t["new_emigrants.share.age=0-15.2017.Jan-Sep"])
    'new_emigrants.share.age=0-15.Jan-Sep'
    """
    if t.kind in ("count", "balance") and t.group == "all":
        return t.metric
    label = f"{t.metric}.{t.kind}.{t.group}"
    if t.period.startswith("part_year:"):
        label += "." + t.period.split(":", 1)[1]
    return label


def forecast_targets(targets: Targets, origin: int, last: int | None = None) -> list[Target]:
    """Targets scored for an origin: years ``origin+1 .. last``, in file order.

    Registered emigrants (``new_emigrants``, all) and the net migration balance as yearly
    full-year figures, and the age and region shares of emigrants where the file has them.

    Examples
    --------
    >>> from model.analysis.targets import load_targets
    >>> [t.target_id for t in forecast_targets(load_targets(), 2017)
    ...  if t.kind == "share"]
    ['new_emigrants.share.age=0-15.2018']
    """
    last = max(t.year for t in targets.values()) if last is None else last
    out = []
    for t in targets.values():
        if not origin < t.year <= last:
            continue
        national = (t.metric in SERIES and t.group == "all" and t.kind in ("count", "balance")
                    and t.period == "full_year")
        share = (t.metric == "new_emigrants" and t.kind == "share"
                 and t.group.startswith(_SHARE_GROUPS))
        if national or share:
            out.append(t)
    return out


def _study_target_ids(study) -> list[str]:
    for name in ("target_ids", "targets"):
        ids = getattr(study, name, None)
        if ids is not None and not isinstance(ids, str | Path):
            return [str(i) for i in ids]
    raise TypeError("the study has no target_ids")


def _study_targets(study) -> Targets:
    path = getattr(study, "targets_path", None) or getattr(study, "targets_file", None)
    return load_targets(path)


def check_origins(origins: Sequence[int], years: Iterable[int], where: str) -> list[int]:
    """Return the sorted origins, or raise :class:`ValidationError` (one line).

    An origin must leave at least one calibration year and one year to forecast: it lies in
    ``first .. last - 1`` of the study's target years.

    Examples
    --------
    >>> check_origins([2016, 2014], [2012, 2018], "study.toml")
    [2014, 2016]
    >>> try:
    ...     check_origins([2018], [2012, 2018], "study.toml")
    ... except ValidationError as exc:
    ...     print(str(exc)[:61])
    study.toml: key '--origins' = 2018 leaves no year to forecast
    """
    ys = sorted({int(y) for y in years})
    if not ys:
        raise ValidationError(f"{where}: the study has no targets; allowed: a study with "
                              "yearly targets")
    first, last = ys[0], ys[-1]
    allowed = f"years {first}-{last - 1} (the study's targets run {first}-{last})"
    if not origins:
        raise ValidationError(f"{where}: key '--origins' is empty; allowed: {allowed}")
    seen = set()
    for o in origins:
        if isinstance(o, bool) or not isinstance(o, int | np.integer):
            raise ValidationError(f"{where}: key '--origins' = {o!r} is not a year; "
                                  f"allowed: {allowed}")
        if o in seen:
            raise ValidationError(f"{where}: key '--origins' = {o} is given twice; "
                                  f"allowed: {allowed}, each once")
        seen.add(o)
        if o >= last:
            raise ValidationError(f"{where}: key '--origins' = {o} leaves no year to "
                                  f"forecast; allowed: {allowed}")
        if o < first:
            raise ValidationError(f"{where}: key '--origins' = {o} is before the first "
                                  f"target year; allowed: {allowed}")
    return sorted(int(o) for o in origins)


def _noisy(t: Target, value: float, rng: np.random.Generator) -> float:
    from model.analysis.targets import error_sd

    sd = error_sd(t.error_model, t.error_e, value)
    return float(value + rng.normal(0.0, sd)) if np.isfinite(value) else np.nan


def posterior_predictive(study, posterior: pd.DataFrame, target_ids: Sequence[str], *,
                         seed: int, run_fn: Callable | None = None,
                         progress: bool = True) -> pd.DataFrame:
    """Simulate ``target_ids`` once per posterior draw: ``draw, target_id, value``.

    Draw ``i`` runs the study's scenario (``study.run_scenario(params)``: its window and
    scale) with the draw's parameters and seed ``replicate_seed(seed, i)``, one run per draw
    (the spread across draws is the forecast's). The targets may be any rows of the
    study's targets file, fitted or not. ``run_fn(scenario, seed)`` defaults to
    :func:`model.runs.runner.run_one`.
    """
    from model.analysis.fit import model_values

    if run_fn is None:
        from model.runs.runner import run_one as run_fn
    every = _study_targets(study)
    table = Targets({i: every[i] for i in target_ids})
    names = [c for c in posterior.columns if c not in ("draw", "weight")]
    rows = []
    draws = posterior.reset_index(drop=True)
    iterator = range(len(draws))
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="forecast draws", leave=False)
    for i in iterator:
        params = {n: float(draws.at[i, n]) for n in names}
        series = run_fn(study.run_scenario(params), replicate_seed(seed, i))
        got = model_values(series, table)
        values = dict(zip(got["target_id"], got["value"].astype(float), strict=True))
        rows.extend({"draw": i, "target_id": k, "value": values.get(k, np.nan)}
                    for k in target_ids)
    return pd.DataFrame(rows, columns=["draw", "target_id", "value"])


def score_origin(origin: int, samples: pd.DataFrame, targets: Targets, last: int,
                 *, seed: int = 0, observation_noise: bool = True) -> pd.DataFrame:
    """Skill rows of one origin: the model's and every baseline's, columns SKILL_COLUMNS.

    ``samples`` are the model's forecasts (``draw, target_id, value``); with
    ``observation_noise`` each gets a draw of the target's observation error.

    Examples
    --------
    >>> from model.analysis.targets import load_targets
    >>> t = load_targets()
    >>> s = pd.DataFrame({"draw": 0, "target_id": ["new_emigrants.count.all.2018"],
    ...                   "value": [41894.0]})
    >>> r = score_origin(2017, s, t, 2018, observation_noise=False)
    >>> r.loc[r["forecaster"] == "model", ["metric", "wis", "ape"]].values.tolist()
    [['new_emigrants', 0.0, 0.0]]
    >>> sorted(r.loc[r["metric"] == "new_emigrants", "forecaster"])
    ['arima', 'drift', 'model', 'persistence']
    """
    rng = np.random.default_rng(seed)
    rows = []
    scored = [t for t in forecast_targets(targets, origin, last)]
    by_id = {k: g["value"].to_numpy(float) for k, g in samples.groupby("target_id")}
    for t in scored:
        v = by_id.get(t.target_id)
        if v is None:
            continue
        if observation_noise:
            v = np.array([_noisy(t, x, rng) for x in v])
        rows.append({"origin": origin, "horizon": t.year - origin, "year": t.year,
                     "metric": metric_label(t), "forecaster": MODEL,
                     **score(t.value, sample_quantiles(v))})
    for metric in SERIES:
        observed = {t.year: t.value for t in scored if metric_label(t) == metric}
        if not observed:
            continue
        fc = naive_forecasts(official_history(metric, origin), origin, max(observed))
        for _, f in fc.iterrows():
            year = int(f["year"])
            if year not in observed:
                continue
            rows.append({"origin": origin, "horizon": year - origin, "year": year,
                         "metric": metric, "forecaster": f["forecaster"],
                         **score(observed[year], f[list(QUANTILE_COLUMNS)])})
    return pd.DataFrame(rows, columns=list(SKILL_COLUMNS))


def relative_skill(skill: pd.DataFrame) -> pd.DataFrame:
    """Model WIS over each baseline's WIS, per metric and horizon (below 1: model better).

    Mean WIS over the (origin, year) pairs both forecasters scored.

    Examples
    --------
    >>> s = pd.DataFrame({"origin": 2016, "horizon": 1, "year": 2017, "metric": "m",
    ...                   "forecaster": ["model", "drift"], "wis": [2.0, 4.0]})
    >>> relative_skill(s)[["baseline", "relative_wis"]].values.tolist()
    [['drift', 0.5]]
    """
    cols = ["metric", "horizon", "baseline", "n", "model_wis", "baseline_wis", "relative_wis"]
    model = skill[skill["forecaster"] == MODEL]
    rows = []
    for baseline in [f for f in dict.fromkeys(skill["forecaster"]) if f != MODEL]:
        base = skill[skill["forecaster"] == baseline]
        both = model.merge(base, on=["origin", "horizon", "year", "metric"],
                           suffixes=("_m", "_b")).dropna(subset=["wis_m", "wis_b"])
        for (metric, h), g in both.groupby(["metric", "horizon"]):
            m, b = g["wis_m"].mean(), g["wis_b"].mean()
            rows.append({"metric": metric, "horizon": int(h), "baseline": baseline,
                         "n": len(g), "model_wis": m, "baseline_wis": b,
                         "relative_wis": m / b if b > 0 else np.nan})
    return pd.DataFrame(rows, columns=cols).sort_values(
        ["metric", "baseline", "horizon"]).reset_index(drop=True)


def skill_figure(fans: pd.DataFrame, targets: Targets, rel: pd.DataFrame) -> Figure:
    """Forecast fans vs observed per origin (left), relative WIS by horizon (right).

    ``fans``: ``origin, year, metric, q05 .. q95`` of the model's forecasts.
    """
    metrics = [m for m in SERIES if m in set(fans["metric"])] or list(SERIES)
    fig = Figure(figsize=(11, 3.6 * len(metrics)), layout="constrained")
    axes = fig.subplots(len(metrics), 2, squeeze=False)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for row, metric in zip(axes, metrics, strict=True):
        ax, axr = row
        obs = sorted((t.year, t.value) for t in targets.values()
                     if metric_label(t) == metric and t.period == "full_year")
        f = fans[fans["metric"] == metric]
        for k, (origin, g) in enumerate(f.groupby("origin")):
            g = g.sort_values("year")
            c = colors[k % len(colors)]
            ax.fill_between(g["year"], g["q05"], g["q95"], color=c, alpha=0.15, lw=0)
            ax.fill_between(g["year"], g["q25"], g["q75"], color=c, alpha=0.3, lw=0)
            # whiskers as well: an origin with one year left has no area to fill
            ax.vlines(g["year"] + 0.04 * k, g["q05"], g["q95"], color=c, lw=1, alpha=0.6)
            ax.plot(g["year"], g["q50"], color=c, lw=1.5, marker="o", ms=3,
                    label=f"origin {origin}")
        if obs:
            ax.plot(*zip(*obs, strict=True), "ko-", ms=4, lw=1, label="official")
        ax.set_title(f"{metric}: model fans (50%, 90%) by origin", fontsize=10)
        ax.set_xlabel("year")
        ax.legend(fontsize=7)
        r = rel[rel["metric"] == metric]
        for baseline, g in r.groupby("baseline"):
            axr.plot(g["horizon"], g["relative_wis"], "o-", label=f"vs {baseline}")
        axr.axhline(1.0, color="grey", lw=1, ls="--")
        axr.set_yscale("log")
        axr.set_title(f"{metric}: model WIS / baseline WIS (below 1: model better)",
                      fontsize=10)
        axr.set_xlabel("horizon (years after origin)")
        if len(r):
            axr.set_xticks(sorted(r["horizon"].unique()))
        if len(r):
            axr.legend(fontsize=7)
    return fig


def _fans(origin: int, samples: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    rows = []
    for tid, g in samples.groupby("target_id", sort=False):
        t = targets.get(tid)
        if t is None or metric_label(t) not in SERIES:
            continue
        rows.append({"origin": origin, "year": t.year, "metric": metric_label(t),
                     **sample_quantiles(g["value"])})
    return pd.DataFrame(rows, columns=["origin", "year", "metric", *QUANTILE_COLUMNS])


def write_outputs(out_dir: Path, skill: pd.DataFrame, fans: pd.DataFrame,
                  targets: Targets) -> dict[str, Path]:
    """Write ``skill.csv``, ``relative_skill.csv`` and ``skill.png``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"skill": out_dir / "skill.csv", "relative": out_dir / "relative_skill.csv",
             "figure": out_dir / "skill.png"}
    skill.to_csv(paths["skill"], index=False)
    rel = relative_skill(skill)
    rel.to_csv(paths["relative"], index=False)
    skill_figure(fans, targets, rel).savefig(paths["figure"], dpi=120)
    return paths


def run_validation(study, out_dir: str | Path, origins: Sequence[int], *,
                   n_draws: int = 100, budget: Mapping[str, object] | None = None,
                   quick: bool = False, seed: int = 1, workers: int | None = None,
                   observation_noise: bool = True, calibrate_fn: Callable | None = None,
                   forecast_fn: Callable | None = None, progress: bool = True,
                   echo: Callable[[str], None] = print) -> pd.DataFrame:
    """Calibrate at each origin, forecast the later years, score model and baselines.

    Parameters
    ----------
    study : Study
        The calibration study (:func:`model.analysis.calibration.load_study`).
    out_dir : str or Path
        Output folder: ``origin_O/`` per origin, then ``skill.csv``,
        ``relative_skill.csv`` and ``skill.png``.
    origins : sequence of int
        Origin years (checked with :func:`check_origins` before anything is written).
    n_draws : int
        Posterior draws used per forecast (the first ``n_draws`` of the posterior).
    budget : mapping, optional
        Study fields replaced for each origin's calibration (a reduced budget), e.g.
        ``{"population_size": 100, "max_total_simulations": 2000}``.
    quick : bool
        Passed to ``calibrate_fn`` (the calibration's quick budget); the forecasts then
        run at the quick study's scale (``study.quick()``) too.
    seed : int
        Seed of the forecast simulations and of their observation noise.
    calibrate_fn : callable, optional
        ``calibrate(study, out_dir, *, target_ids, quick, workers, progress)`` returning an
        object with a ``posterior`` DataFrame; default
        :func:`model.analysis.calibration.calibrate`.
    forecast_fn : callable, optional
        ``forecast_fn(study, posterior, target_ids, *, seed, progress)`` returning
        ``draw, target_id, value``; default :func:`posterior_predictive`.
    workers, progress : int or None, bool
        Passed to ``calibrate_fn`` (``progress`` also to ``forecast_fn``).
    observation_noise : bool
        Add observation error to the model's forecast values (see the module notes).
    echo : callable
        Where progress lines go.

    Returns
    -------
    pandas.DataFrame
        The skill table (columns :data:`SKILL_COLUMNS`).
    """
    out_dir = Path(out_dir)
    targets = _study_targets(study)
    ids = _study_target_ids(study)
    where = str(getattr(study, "source", None) or getattr(study, "path", None) or "study")
    missing = [i for i in ids if i not in targets]
    if missing:
        raise ValidationError(f"{where}: target {missing[0]!r} is not in {targets.path}; "
                              "allowed: a target_id of the targets file")
    years = [targets[i].year for i in ids]
    origins = check_origins(list(origins), years, where)
    last = max(years)
    if calibrate_fn is None:
        from model.analysis.calibration import calibrate as calibrate_fn
    forecast_fn = posterior_predictive if forecast_fn is None else forecast_fn
    parts, fans = [], []
    for origin in origins:
        folder = out_dir / f"origin_{origin}"
        folder.mkdir(parents=True, exist_ok=True)
        post_path = folder / "posterior.csv"
        fit_ids = [i for i in ids if targets[i].year <= origin]
        if post_path.exists():
            echo(f"origin {origin}: calibration done earlier ({post_path})")
        else:
            echo(f"origin {origin}: calibrating on {len(fit_ids)} targets of years <= "
                 f"{origin}" + (f" (budget {dict(budget)})" if budget else ""))
            st = dataclasses.replace(study, **dict(budget)) if budget else study
            if hasattr(st, "end"):
                # targets after the origin are not fitted: no need to simulate them
                st = dataclasses.replace(st, end=origin)
            result = quiet_calibrate(calibrate_fn, st, folder / "calibration",
                                     target_ids=fit_ids, quick=quick, workers=workers,
                                     progress=progress)
            tmp = post_path.with_suffix(".tmp")
            result.posterior.to_csv(tmp, index=False)
            tmp.replace(post_path)  # atomic: a kill never leaves half a posterior
        samples_path = folder / "forecast_samples.csv"
        fc_ids = [t.target_id for t in forecast_targets(targets, origin, last)]
        if samples_path.exists():
            echo(f"origin {origin}: forecasts done earlier ({samples_path})")
            samples = pd.read_csv(samples_path)
        else:
            posterior = pd.read_csv(post_path).head(n_draws)
            echo(f"origin {origin}: forecasting {len(fc_ids)} targets of {origin + 1}-"
                 f"{last} with {len(posterior)} posterior draws")
            # --quick forecasts at the quick study's (coarser) scale too
            fc_study = study.quick() if quick and hasattr(study, "quick") else study
            samples = forecast_fn(fc_study, posterior, fc_ids, seed=seed + origin,
                                  progress=progress)
            tmp = samples_path.with_suffix(".tmp")
            samples.to_csv(tmp, index=False)
            tmp.replace(samples_path)
        part = score_origin(origin, samples, targets, last, seed=seed + origin,
                            observation_noise=observation_noise)
        parts.append(part)
        fans.append(_fans(origin, samples, targets))
        m = part[part["forecaster"] == MODEL]
        echo(f"origin {origin}: model mean WIS {m['wis'].mean():,.0f}, inside 90% "
             f"{int(m['covered_90'].sum())}/{len(m)}")
    skill = pd.concat(parts, ignore_index=True)
    paths = write_outputs(out_dir, skill, pd.concat(fans, ignore_index=True), targets)
    echo("wrote " + ", ".join(str(p) for p in paths.values()))
    return skill
