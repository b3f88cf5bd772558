"""Recovery on synthetic data: how often the posterior intervals hold the true values.

:func:`run_recovery` draws ``n_datasets`` true parameter sets from the study's priors,
simulates the study's targets with each (one run), adds observation noise drawn from each
target's error model (:func:`model.analysis.targets.error_sd`, evaluated at the simulated
value), calibrates on that synthetic "observed" data with the study's settings (a reduced
budget may be passed) and records, per parameter, the posterior median and 50% / 90%
intervals and whether they contain the truth. With a correct calibration the share of
truths inside the 50% (90%) intervals is near 0.5 (0.9): lower means the posterior is
overconfident or biased.

A dataset whose synthetic value of some target has a zero observation sd under its error
model (a relative error on a simulated zero) cannot be calibrated; it is skipped and
``OUT/dataset_k/skipped.txt`` says why (the summary's ``n_datasets`` counts the others).

Resumable: the truths are drawn once into ``OUT/truths.csv``; dataset ``k`` calibrates in
``OUT/dataset_k/`` and writes its rows to ``OUT/dataset_k/recovery_rows.csv`` when done, so a
re-run calibrates only the datasets without that file.

:func:`recovery_summary` gives the per-parameter coverage that the dossier shows and that
:func:`model.analysis.calibration.verdicts.identifiability` (the single identifiability
rule) combines with the real-data width ratio.

Examples
--------
>>> rows = pd.DataFrame({"param": ["a"] * 4, "inside_50": [1, 0, 1, 0],
...                      "inside_90": [1, 1, 1, 0], "width_ratio": [0.3] * 4,
...                      "true": [0.0] * 4, "median": [0.1] * 4})
>>> recovery_summary(rows)[["covered_50", "covered_90"]].values.tolist()
[[0.5, 0.75]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from model.analysis.targets import Targets, error_sd, load_targets

__all__ = ["run_recovery", "quiet_calibrate", "recovery_summary", "recovery_figure",
           "draw_truths", "synthetic_observed", "degenerate_targets", "posterior_rows",
           "ROW_COLUMNS", "add_recovery", "format_verdicts"]

ROW_COLUMNS = ("dataset", "param", "true", "prior_q05", "prior_q95", "median", "q05", "q25",
               "q75", "q95", "inside_50", "inside_90", "width_ratio")
"""Columns of ``recovery.csv``: one row per dataset and parameter."""


def quiet_calibrate(calibrate_fn: Callable, *args, **kwargs):
    """Call ``calibrate_fn``, without its dossier when it has a ``dossier`` switch.

    Recovery datasets and validation origins need only the posterior; the dossier's prior
    and posterior predictive runs would add simulations to every one of them.

    Examples
    --------
    >>> quiet_calibrate(lambda x, dossier=True: dossier, 1)
    False
    >>> quiet_calibrate(lambda x: x, 1)
    1
    """
    import inspect

    try:
        params = inspect.signature(calibrate_fn).parameters
    except (TypeError, ValueError):
        params = {}
    if "dossier" in params:
        kwargs.setdefault("dossier", False)
    return calibrate_fn(*args, **kwargs)


def _targets(study) -> Targets:
    if hasattr(study, "targets") and callable(study.targets):
        return study.targets()
    every = load_targets(getattr(study, "targets_path", None))
    return Targets({i: every[i] for i in study.target_ids})


def draw_truths(priors: Mapping, n: int, seed: int) -> pd.DataFrame:
    """``n`` parameter sets from the priors (``Prior.ppf`` of uniform draws).

    Examples
    --------
    >>> from model.params import Prior
    >>> t = draw_truths({"a": Prior(("uniform",), 0.0, 2.0)}, 3, seed=1)
    >>> list(t.columns), len(t), bool(t["a"].between(0, 2).all())
    (['dataset', 'a'], 3, True)
    """
    rng = np.random.default_rng(seed)
    u = rng.random((n, len(priors)))
    out = pd.DataFrame({name: np.asarray(p.ppf(u[:, j]), dtype=float)
                        for j, (name, p) in enumerate(priors.items())})
    out.insert(0, "dataset", np.arange(n))
    return out


def synthetic_observed(clean: pd.Series, targets: Targets,
                       rng: np.random.Generator) -> pd.Series:
    """Simulated target values plus one draw of each target's observation error.

    Examples
    --------
    >>> from model.analysis.targets import Target
    >>> t = Targets(y=Target("y", 2013, "m", "all", "count", 5.0, "p", "full_year",
    ...                      "normal_abs", 0.0))
    >>> synthetic_observed(pd.Series({"y": 7.0}), t, np.random.default_rng(0)).tolist()
    [7.0]
    """
    values = {}
    for tid, v in clean.items():
        t = targets[tid]
        sd = error_sd(t.error_model, t.error_e, float(v))
        values[tid] = float(v) + (float(rng.normal(0.0, sd)) if sd > 0 else 0.0)
    return pd.Series(values, name="value", dtype=float)


def degenerate_targets(observed: pd.Series, targets: Targets) -> list[str]:
    """Targets whose error model gives a zero sd at the (synthetic) observed value.

    Examples
    --------
    >>> from model.analysis.targets import Target
    >>> t = Targets(y=Target("y", 2013, "m", "all", "count", 5.0, "p", "full_year",
    ...                      "normal_rel", 0.03))
    >>> degenerate_targets(pd.Series({"y": 0.0}), t), degenerate_targets(pd.Series({"y": 2.0}), t)
    (['y'], [])
    """
    return [tid for tid, v in observed.items()
            if not error_sd(targets[tid].error_model, targets[tid].error_e, float(v)) > 0]


def posterior_rows(dataset: int, truth: Mapping[str, float], posterior: pd.DataFrame,
                   priors: Mapping) -> pd.DataFrame:
    """Recovery rows (:data:`ROW_COLUMNS`) of one dataset from its posterior sample.

    Examples
    --------
    >>> from model.params import Prior
    >>> post = pd.DataFrame({"a": np.linspace(0.0, 1.0, 101)})
    >>> r = posterior_rows(0, {"a": 0.6}, post, {"a": Prior(("uniform",), 0.0, 10.0)})
    >>> r[["median", "inside_50", "inside_90", "width_ratio"]].round(2).values.tolist()
    [[0.5, 1.0, 1.0, 0.1]]
    """
    rows = []
    for name, prior in priors.items():
        v = posterior[name].to_numpy(float)
        q05, q25, q50, q75, q95 = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
        p05, p95 = float(prior.ppf(0.05)), float(prior.ppf(0.95))
        true = float(truth[name])
        rows.append({"dataset": int(dataset), "param": name, "true": true,
                     "prior_q05": p05, "prior_q95": p95, "median": q50, "q05": q05,
                     "q25": q25, "q75": q75, "q95": q95,
                     "inside_50": int(q25 <= true <= q75), "inside_90": int(q05 <= true <= q95),
                     "width_ratio": (q95 - q05) / (p95 - p05) if p95 > p05 else np.nan})
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))


def run_recovery(study, out_dir: str | Path, n_datasets: int = 10, *,
                 budget: Mapping[str, object] | None = None, quick: bool = False,
                 seed: int | None = None, workers: int | None = None, progress: bool = True,
                 calibrate_fn: Callable | None = None, simulate_fn: Callable | None = None,
                 echo: Callable[[str], None] = print) -> pd.DataFrame:
    """Calibrate on ``n_datasets`` synthetic datasets; return the rows of ``recovery.csv``.

    Parameters
    ----------
    study : Study
        The calibration study (its ``priors``, ``target_ids`` and settings are used).
    out_dir : str or Path
        Output folder (``truths.csv``, ``dataset_k/``, ``recovery.csv``,
        ``recovery_summary.csv``, ``recovery.png``).
    n_datasets : int
        Synthetic datasets (the issue asks for at least 10).
    budget : mapping, optional
        Study fields replaced for every calibration (a reduced budget), e.g.
        ``{"population_size": 100, "max_total_simulations": 2000}``.
    quick : bool
        Passed to ``calibrate_fn``.
    seed : int, optional
        Seed of the truths, the synthetic runs and their noise; default the study's seed.
    workers, progress : int or None, bool
        Passed to ``calibrate_fn``.
    calibrate_fn : callable, optional
        ``calibrate(study, out_dir, *, observed, target_ids, quick, workers, progress)``
        with a ``posterior`` DataFrame on its result; default
        :func:`model.analysis.calibration.calibrate`.
    simulate_fn : callable, optional
        ``simulate(study, params, seed, target_ids=None) -> Series``; default
        :func:`model.analysis.calibration.simulate_summaries`.
    echo : callable
        Where progress lines go.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ROW_COLUMNS`, one row per dataset and free parameter.
    """
    if calibrate_fn is None:
        from model.analysis.calibration import calibrate as calibrate_fn
    if simulate_fn is None:
        from model.analysis.calibration import simulate_summaries as simulate_fn
    if n_datasets < 1:
        raise ValueError(f"n_datasets must be at least 1, not {n_datasets}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = int(getattr(study, "seed", 1) if seed is None else seed)
    names = list(getattr(study, "free", None) or study.priors)
    priors = {n: study.priors[n] for n in names}
    targets = _targets(study)
    ids = list(targets)
    run_study = replace(study, **dict(budget)) if budget else study
    truths_path = out_dir / "truths.csv"
    truths = pd.read_csv(truths_path) if truths_path.exists() else None
    if truths is None or len(truths) < n_datasets:
        # row k depends only on (seed, k): a re-run asking for more datasets keeps the first
        truths = draw_truths(priors, n_datasets, seed)
        truths.to_csv(truths_path, index=False)
    parts = []
    for k in range(n_datasets):
        folder = out_dir / f"dataset_{k}"
        done = folder / "recovery_rows.csv"
        if done.exists():
            echo(f"dataset {k + 1}/{n_datasets}: done earlier")
            parts.append(pd.read_csv(done))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        truth = {n: float(truths.at[k, n]) for n in names}
        ss = np.random.SeedSequence([seed, k])
        sim_seed, noise_seed = (int(x) for x in ss.generate_state(2) & 0x7FFFFFFF)
        clean = simulate_fn(study, truth, sim_seed, target_ids=ids)
        observed = synthetic_observed(clean, targets, np.random.default_rng(noise_seed))
        observed.rename_axis("target_id").to_csv(folder / "observed.csv")
        zero = degenerate_targets(observed, targets)
        if zero:
            # e.g. no students abroad under a relative error: the likelihood has zero
            # variance, so the dataset cannot be calibrated; say so instead of failing
            echo(f"dataset {k + 1}/{n_datasets}: skipped, zero observation error for "
                 f"{', '.join(zero[:3])}" + (" ..." if len(zero) > 3 else ""))
            (folder / "skipped.txt").write_text(
                "zero observation sd at the synthetic value of: " + ", ".join(zero) + "\n")
            continue
        echo(f"dataset {k + 1}/{n_datasets}: calibrating on synthetic data from "
             + ", ".join(f"{n}={v:.3g}" for n, v in truth.items()))
        # an emulation's wave 0 (a design over the prior) is the same for every dataset:
        # its runs are made once and shared
        shared = ({"shared_design": out_dir / "wave0_design.csv"}
                  if getattr(run_study, "method", "abc-smc") == "emulation" else {})
        result = quiet_calibrate(calibrate_fn, run_study, folder / "calibration",
                                 observed=observed, target_ids=ids, quick=quick,
                                 workers=workers, progress=progress, **shared)
        rows = posterior_rows(k, truth, result.posterior, priors)
        tmp = done.with_suffix(".tmp")
        rows.to_csv(tmp, index=False)
        tmp.replace(done)  # atomic: a killed run never marks a dataset done
        parts.append(rows)
    table = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=list(ROW_COLUMNS)))
    table.to_csv(out_dir / "recovery.csv", index=False)
    recovery_summary(table).to_csv(out_dir / "recovery_summary.csv", index=False)
    recovery_figure(table).savefig(out_dir / "recovery.png", dpi=110)
    echo(f"wrote {out_dir / 'recovery.csv'}, recovery_summary.csv, recovery.png")
    return table


def recovery_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: datasets, share of truths inside the 50% and 90% intervals, ratios.

    Examples
    --------
    >>> t = pd.DataFrame({"param": ["a", "a"], "inside_50": [1, 0], "inside_90": [1, 1],
    ...                   "width_ratio": [0.2, 0.4], "true": [1.0, 2.0],
    ...                   "median": [1.0, 2.5]})
    >>> recovery_summary(t)[["covered_50", "covered_90", "median_width_ratio"]].values.tolist()
    [[0.5, 1.0, 0.30000000000000004]]
    """
    g = table.groupby("param", sort=False)
    out = pd.DataFrame({
        "n_datasets": g.size(), "covered_50": g["inside_50"].mean(),
        "covered_90": g["inside_90"].mean(),
        "median_width_ratio": g["width_ratio"].median(),
        "mean_abs_error": g.apply(lambda d: (d["median"] - d["true"]).abs().mean(),
                                  include_groups=False)})
    return out.reset_index()


def recovery_figure(table: pd.DataFrame) -> Figure:
    """True value vs posterior median with 50% and 90% intervals, one panel per parameter."""
    params = list(dict.fromkeys(table["param"]))
    ncol = min(4, len(params))
    nrow = -(-len(params) // ncol)
    fig = Figure(figsize=(3.2 * ncol, 3.0 * nrow), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, name in zip(axes, params, strict=False):
        d = table[table["param"] == name]
        ax.vlines(d["true"], d["q05"], d["q95"], color="tab:blue", alpha=0.35, lw=1)
        ax.vlines(d["true"], d["q25"], d["q75"], color="tab:blue", lw=3)
        ax.plot(d["true"], d["median"], "o", color="tab:blue", ms=3)
        lo, hi = float(d["prior_q05"].min()), float(d["prior_q95"].max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        cov = f"in 50%: {d['inside_50'].mean():.0%}, in 90%: {d['inside_90'].mean():.0%}"
        ax.set_title(f"{name}\n{cov}", fontsize=8)
        ax.set_xlabel("true", fontsize=8)
        ax.set_ylabel("posterior", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(params):]:
        ax.set_visible(False)
    return fig


def add_recovery(study, result, *, n_datasets: int | None = None, quick: bool = False,
                 workers: int | None = None, progress: bool = True,
                 echo: Callable[[str], None] = print) -> pd.DataFrame:
    """Recovery for a finished calibration, then its dossier rewritten with the coverage.

    Runs :func:`run_recovery` into ``result.out_dir / "recovery"`` (resumable per dataset)
    with the study's ``[recovery]`` budget (:meth:`Study.recovery`), or with the
    ``--quick`` settings when ``quick``; then rewrites ``dossier/`` with the coverage per
    parameter and the combined verdict (the predictive runs kept in ``dossier/`` are
    reused, so no model run is repeated).

    Parameters
    ----------
    study : Study
        The study as loaded (not yet reduced by ``quick``).
    result : CalibrationResult
        The finished real-data calibration (its ``out_dir`` and posterior).
    n_datasets : int, optional
        Synthetic datasets; default the study's ``[recovery] datasets`` (3 with ``quick``).
    quick, workers, progress, echo
        As for :func:`run_recovery`.

    Returns
    -------
    pandas.DataFrame
        The dossier's posterior table (with ``covered_50``, ``covered_90`` and the verdict).
    """
    from model.analysis.calibration.calibrate import _Folder
    from model.analysis.calibration.dossier import posterior_table, write_dossier

    n = int(n_datasets if n_datasets is not None else 3 if quick else study.recovery_datasets)
    out = Path(result.out_dir)
    folder = _Folder(out)
    folder.claim(*(f"recovery/{f}" for f in ("truths.csv", "recovery.csv",
                                             "recovery_summary.csv", "recovery.png")),
                 folder="recovery")
    if quick:
        budget, note = None, "Budget: the study's --quick settings (a first look only)"
    else:
        r = study.recovery()
        budget = dict(study.recovery_budget)
        reduced = (r.population_size < study.population_size
                   or r.max_total_simulations < study.max_total_simulations
                   or r.max_walltime < study.max_walltime
                   or r.max_generations < study.max_generations or r.scale > study.scale)
        if getattr(study, "method", "abc-smc") == "emulation":
            reduced = reduced or r.wave_size < study.wave_size or r.steps < study.steps
            note = (("Reduced budget" if reduced else "Budget") +
                    f" per dataset: wave 0 of {r.first_wave} runs (the same for every "
                    f"dataset: made once and shared), then {r.waves - 1} waves of "
                    f"{r.wave_size} runs and chains of {r.walkers} walkers x {r.steps} steps "
                    f"({r.burn} burn-in), scale {r.scale:g} (the real-data calibration: waves"
                    f" of {study.first_wave} and {study.wave_size} runs, {study.steps} steps, "
                    f"scale {study.scale:g})")
        else:
            note = (("Reduced budget" if reduced else "Budget") +
                    f" per dataset: {r.population_size} particles, at most "
                    f"{r.max_generations} generations, {r.max_total_simulations} simulations "
                    f"and {r.max_walltime:g} s, scale {r.scale:g} (the real-data calibration: "
                    f"{study.population_size} particles, {study.max_total_simulations} "
                    f"simulations, scale {study.scale:g})")
    echo(f"recovery: {n} synthetic datasets into {out / 'recovery'}")
    table = run_recovery(study, out / "recovery", n, budget=budget, quick=quick,
                         workers=workers, progress=progress, echo=echo)
    if table.empty:
        echo("recovery: every dataset was skipped; the dossier is left as it was")
        return posterior_table(study.quick() if quick else study, result.posterior)
    summary = recovery_summary(table)
    calibrated = study.quick() if quick else study
    kept = all((out / "dossier" / f).exists()
               for f in ("prior_predictive.csv", "predictive_series.parquet"))
    echo("rewriting the dossier with the recovery coverage")
    # the kept predictive runs make the rewrite run no model: no worker cluster needed then
    write_dossier(calibrated, result, recovery=summary, recovery_note=note,
                  workers=0 if kept else workers, progress=progress, folder=folder)
    verdicts = posterior_table(calibrated, result.posterior, summary)
    echo(format_verdicts(verdicts, int(summary["n_datasets"].max())))
    echo(f"dossier: {out / 'dossier' / 'dossier.md'}")
    return verdicts


def format_verdicts(table: pd.DataFrame, n_datasets: int) -> str:
    """Recovery coverage and verdict per parameter, as text lines (the CLI's summary).

    Examples
    --------
    >>> t = pd.DataFrame({"param": ["a"], "width_ratio": [0.31], "covered_50": [0.5],
    ...                   "covered_90": [1.0], "identifiability": ["identified"]})
    >>> print(format_verdicts(t, 2))
    recovery on 2 datasets: share of true values inside the 50% / 90% intervals
      param  ratio  in 50%  in 90%  verdict
      a       0.31    0.50    1.00  identified
    """
    w = max(5, *(len(p) for p in table["param"]))
    lines = [f"recovery on {n_datasets} datasets: share of true values inside the "
             "50% / 90% intervals",
             f"  {'param':<{w}}  ratio  in 50%  in 90%  verdict"]
    for r in table.itertuples():
        lines.append(f"  {r.param:<{w}}  {r.width_ratio:5.2f}  {r.covered_50:6.2f}  "
                     f"{r.covered_90:6.2f}  {r.identifiability}")
    return "\n".join(lines)
