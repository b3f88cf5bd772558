"""The calibration dossier: predictive checks, posterior, recovery and identifiability.

Written into ``<out>/dossier/`` by every calibration:

``dossier.md``               the index: what each part shows, the tables in short
``prior_predictive.csv``     (1) per target: prior predictive 5-95% range, observed inside?
``posterior_table.csv``      (2) per parameter: prior and posterior median and 90%
                             interval, width ratio posterior/prior, identifiability
``marginals.png``, ``pairs.png``  (2) posterior marginals and pairwise scatter
``predictive_series.parquet``  the posterior predictive runs (kept for a rewrite)
``fit.csv``, ``fit.png``     (3) the fit report (:mod:`model.analysis.fit`) of every target
                             with the runs of posterior draws as replicates: posterior bands

With a recovery table (:func:`~model.analysis.calibration.recovery.recovery_summary`:
``param, covered_50, covered_90``, the share of true values inside the 50% and 90%
intervals) the posterior table and ``dossier.md`` also show (4) the recovery coverage per
parameter and (5) the verdict of :func:`~model.analysis.calibration.verdicts.identifiability`
from both; without one the verdict comes from the width ratio alone, marked
"(no recovery)".

Examples
--------
>>> identifiability(0.3), identifiability(0.7), identifiability(0.95)
('identified', 'weakly identified', 'not identified')
>>> identifiability(0.3, covered_90=0.5)
'weakly identified'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.analysis.calibration.verdicts import VERDICTS, identifiability

#: Below this share of the particles, the last generation's ESS marks a degenerate sample.
DEGENERATE_ESS_SHARE = 0.2

if TYPE_CHECKING:
    from model.analysis.calibration.calibrate import CalibrationResult
    from model.analysis.calibration.study import Study

__all__ = ["write_dossier", "posterior_table", "identifiability", "prior_predictive",
           "VERDICTS"]

def posterior_table(study: Study, posterior: pd.DataFrame,
                    recovery: pd.DataFrame | None = None) -> pd.DataFrame:
    """Prior and posterior median and 90% interval per parameter, width ratio, verdict.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from model.analysis.calibration.study import load_study, default_study_path
    >>> s = load_study(default_study_path())
    >>> s = replace(s, free=("asc_emigrate",), priors={"asc_emigrate": s.priors["asc_emigrate"]})
    >>> post = pd.DataFrame({"asc_emigrate": np.linspace(-8.0, -7.0, 101)})
    >>> t = posterior_table(s, post)
    >>> round(float(t["width_ratio"].iloc[0]), 3), t["identifiability"].iloc[0]
    (0.071, 'identified')
    >>> t["verdict_basis"].iloc[0]
    'width ratio (no recovery)'
    >>> rec = pd.DataFrame({"param": ["asc_emigrate"], "covered_50": [0.3],
    ...                     "covered_90": [0.6]})
    >>> t = posterior_table(s, post, rec)
    >>> t[["covered_90", "identifiability", "verdict_basis"]].values.tolist()
    [[0.6, 'weakly identified', 'width ratio and recovery']]
    """
    rows = []
    for name in study.free:
        prior = study.priors[name]
        lo, med, hi = (float(prior.ppf(q)) for q in (0.05, 0.5, 0.95))
        v = posterior[name].to_numpy(float)
        plo, pmed, phi = np.quantile(v, [0.05, 0.5, 0.95])
        ratio = (phi - plo) / (hi - lo) if hi > lo else np.nan
        rows.append({"param": name, "prior": prior.describe(),
                     "bounds": f"[{prior.lo:g}, {prior.hi:g}]",
                     "prior_median": med, "prior_q05": lo, "prior_q95": hi,
                     "posterior_median": float(pmed), "posterior_q05": float(plo),
                     "posterior_q95": float(phi), "width_ratio": float(ratio)})
    table = pd.DataFrame(rows)
    cov = {"covered_50": {}, "covered_90": {}}
    if recovery is not None:
        rec = recovery.set_index("param")
        cov = {c: (rec[c].to_dict() if c in rec else {}) for c in cov}
        for col, values in cov.items():
            table[col] = [float(values.get(n, np.nan)) for n in table["param"]]
    covered = [float(cov["covered_90"].get(n, np.nan)) for n in table["param"]]
    table["identifiability"] = [identifiability(r, c) for r, c in
                                zip(table["width_ratio"], covered, strict=True)]
    # which evidence the verdict rests on: a parameter the recovery did not cover (or no
    # recovery at all) is judged by its width ratio alone, and the dossier says so
    table["verdict_basis"] = ["width ratio and recovery" if np.isfinite(c) else
                              "width ratio (no recovery)" for c in covered]
    return table


def _prior_draws(study: Study, n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng([int(seed), 7])
    u = rng.random((n, len(study.free)))
    return [{name: float(study.priors[name].ppf(u[i, k])) for k, name in
             enumerate(study.free)} for i in range(n)]


def prior_predictive(study: Study, sim, observed: Mapping[str, float]) -> pd.DataFrame:
    """Run prior draws; per target its prior predictive 5-95% range and the observation.

    ``sim`` is a :class:`~model.analysis.calibration.calibrate.ModelSimulator`.
    """
    draws = _prior_draws(study, study.prior_predictive_draws, study.seed)
    values = pd.DataFrame(sim(-4, list(range(len(draws))), draws, label="prior predictive"))
    rows = []
    for k in sim.target_ids:
        q05, q50, q95 = np.quantile(values[k].to_numpy(float), [0.05, 0.5, 0.95])
        o = float(observed[k])
        rows.append({"target_id": k, "observed": o, "prior_q05": q05, "prior_median": q50,
                     "prior_q95": q95, "inside": int(q05 <= o <= q95),
                     "side": "" if q05 <= o <= q95 else ("below" if o < q05 else "above")})
    return pd.DataFrame(rows)


def _posterior_predictive_series(study: Study, posterior: pd.DataFrame, executor,
                                 n: int) -> pd.DataFrame:
    from model.analysis.calibration.summaries import particle_seed
    from model.runs.batch import RunSpec

    draws = posterior.head(n)
    specs = [RunSpec(f"ppc-{i}", study.run_scenario(dict(row)),
                     particle_seed(study.seed, -5, i), i + 1, point=i)
             for i, (_, row) in enumerate(draws[list(study.free)].iterrows())]
    results = executor.run(specs, label="posterior predictive")
    frames = [r.rows for r in results if r.ok and r.rows is not None]
    series = pd.concat(frames, ignore_index=True)
    series["scenario"] = "posterior"
    return series


def _figures(study: Study, posterior: pd.DataFrame, table: pd.DataFrame, folder) -> list[str]:
    from matplotlib.figure import Figure

    names = list(study.free)
    k = len(names)
    cols = 4
    rows = int(np.ceil(k / cols))
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        prior = study.priors[name]
        ax.hist(posterior[name], bins=30, range=(prior.lo, prior.hi), density=True,
                color="tab:blue", alpha=0.7, label="posterior")
        x = np.linspace(prior.lo, prior.hi, 200)
        ax.plot(x, prior.frozen().pdf(x), color="grey", lw=1, label="prior")
        ax.set_title(f"{name} (r={table['width_ratio'].iloc[i]:.2f})", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{study.name}: posterior marginals (r: 90% width posterior/prior)",
                 fontsize=10)
    out = []
    for name, f in (("marginals.png", fig), ("pairs.png", _pairs(study, posterior))):
        folder.claim(f"dossier/{name}", folder="dossier")
        path = folder.out / "dossier" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        f.savefig(path, dpi=90)
        out.append(name)
    return out


def _pairs(study: Study, posterior: pd.DataFrame):
    from matplotlib.figure import Figure

    names = list(study.free)
    k = len(names)
    fig = Figure(figsize=(1.3 * k, 1.3 * k), layout="constrained")
    sample = posterior.head(400)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = fig.add_subplot(k, k, i * k + j + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            pa, pb = study.priors[a], study.priors[b]
            if i == j:
                ax.hist(sample[a], bins=20, range=(pa.lo, pa.hi), color="tab:blue")
            else:
                ax.scatter(sample[b], sample[a], s=1, color="tab:blue", alpha=0.4)
                ax.set_xlim(pb.lo, pb.hi)
                ax.set_ylim(pa.lo, pa.hi)
            if j == 0:
                ax.set_ylabel(a, fontsize=5)
            if i == k - 1:
                ax.set_xlabel(b, fontsize=5)
    return fig


def _md_table(df: pd.DataFrame, cols: Sequence[str], fmt: str = "{:.4g}") -> str:
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    lines = []
    for _, r in df.iterrows():
        cells = [fmt.format(r[c]) if isinstance(r[c], float | np.floating) else str(r[c])
                 for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def _recovery_lines(table: pd.DataFrame, recovery: pd.DataFrame | None,
                    note: str) -> list[str]:
    lines = ["## 4. Recovery on synthetic data", ""]
    if recovery is None:
        return lines + ["Not run: `emigsim calibrate STUDY --out DIR --recovery` adds it "
                        "(the verdicts below then use it)."]
    rec = recovery.set_index("param")
    n = int(rec["n_datasets"].max()) if "n_datasets" in rec and len(rec) else None
    shown = table[["param", "covered_50", "covered_90"]].copy()
    if "median_width_ratio" in rec:
        shown["median_width_ratio"] = [float(rec["median_width_ratio"].get(p, np.nan))
                                       for p in shown["param"]]
    lines += [(f"{n} synthetic datasets" if n is not None else "Synthetic datasets") +
              " simulated from parameter values drawn from the prior, each calibrated like "
              "the real data (`../recovery/recovery.csv`, `recovery_summary.csv`, "
              "`recovery.png`). Per parameter, the share of true values inside the "
              "posterior 50% and 90% intervals (well calibrated: near 0.5 and 0.9; lower: "
              "overconfident or biased)" + (f". {note}" if note else "") + ".", "",
              _md_table(shown, list(shown.columns), fmt="{:.2f}")]
    return lines


def _verdict_lines(table: pd.DataFrame, with_recovery: bool) -> list[str]:
    shown = table[["param", "width_ratio"]].copy()
    if with_recovery:
        shown["covered_90"] = table["covered_90"]
    shown["identifiability"] = [
        v + (" (no recovery)" if with_recovery and b.endswith("(no recovery)") else "")
        for v, b in zip(table["identifiability"], table["verdict_basis"], strict=True)]
    rule = ("identified: r < 0.5 and recovery 90% coverage >= 0.7; not identified: "
            "r > 0.85; weakly identified: otherwise (r = posterior 90% width / prior 90% "
            "width).")
    basis = ("Verdicts from the width ratio and the recovery coverage of part 4"
             if with_recovery else
             "Verdicts from the width ratio alone (no recovery): identified then means "
             "only r < 0.5")
    lines = ["## 5. Identifiability", "", f"{basis}; {rule}", "",
             _md_table(shown, list(shown.columns), fmt="{:.2f}")]
    for verdict in VERDICTS[::-1]:
        names = table.loc[table["identifiability"] == verdict, "param"].tolist()
        if names:
            lines += ["", f"**{verdict.capitalize()}** from these targets "
                      f"({len(names)}): " + ", ".join(f"`{n}`" for n in names) + "."]
    return lines


def _loglik_sds(study, noise: pd.DataFrame, observed, target_ids) -> tuple[float, float]:
    from model.analysis.calibration.calibrate import discrepancy_variances, loglik_noise_sds

    disc = discrepancy_variances(study, study.targets(target_ids), observed)
    return loglik_noise_sds(noise, disc, study.noise_in_kernel)


def _emulator_sentence(result) -> str:
    path = result.out_dir / "emulator.csv"
    if not path.exists():
        return ""
    em = pd.read_csv(path)
    worst = em.loc[em["ratio"].idxmax()]
    return (" The likelihood's variance adds each target's emulator error (`../emulator.csv`:"
            " leave-one-out error of the last emulator above the runs' own noise); median "
            f"emulator sd / likelihood sd {em['ratio'].median():.2f}, largest "
            f"{worst['ratio']:.2f} (`{worst['target_id']}`).")


def write_dossier(study: Study, result: CalibrationResult, *,
                  recovery: pd.DataFrame | None = None, recovery_note: str = "",
                  observed: Mapping[str, float] | None = None,
                  target_ids: Sequence[str] | None = None, workers: int | None = 0,
                  progress: bool = True, folder=None, executor=None) -> None:
    """Write ``dossier/`` (see the module notes) into the calibration's out folder.

    Parameters
    ----------
    study : Study
        The study as calibrated (``study.quick()`` for a ``--quick`` calibration).
    result : CalibrationResult
        Its result (:func:`~model.analysis.calibration.calibrate.load_result` reads one
        back); the dossier goes to ``result.out_dir / "dossier"``.
    recovery : pandas.DataFrame, optional
        The recovery study's per-parameter coverage (``param, covered_50, covered_90``);
        when given, the posterior table gets those columns and the verdict combines them
        with the width ratio (parts 4 and 5 of ``dossier.md``).
    recovery_note : str
        Said in part 4 after the coverage table, e.g. the recovery's reduced budget.
    observed : mapping, optional
        The values calibrated to (default: the targets file's).
    target_ids : sequence of str, optional
        The targets calibrated to (default: the study's).
    workers : int, optional
        Worker processes for the predictive runs when no ``executor`` is given.
    progress : bool
        Print what is being done.
    folder, executor
        The calibration's out folder and executor (when called from ``calibrate``).

    Notes
    -----
    The prior and posterior predictive runs are kept in ``dossier/`` and reused when the
    dossier is written again (e.g. with a recovery table): they depend only on the study
    and on the finished posterior.
    """
    from model.analysis.calibration.calibrate import ModelSimulator, _Folder
    from model.analysis.fit import fit_figure, fit_report, fit_total, needed_metrics, with_total
    from model.analysis.targets import load_targets
    from model.runs.execution import Executor

    ids = list(study.target_ids if target_ids is None else target_ids)
    if observed is None:
        observed = {k: t.value for k, t in study.targets(ids).items()}
    if folder is None:
        folder = _Folder(result.out_dir)
    if executor is None:
        with Executor(workers=workers, progress=progress) as ex:
            return write_dossier(study, result, recovery=recovery,
                                 recovery_note=recovery_note, observed=observed,
                                 target_ids=ids, progress=progress, folder=folder,
                                 executor=ex)
    target_ids = ids
    say = print if progress else (lambda *a, **k: None)
    sim = ModelSimulator(study, executor, target_ids)
    kept = folder.out / "dossier" / "prior_predictive.csv"
    if kept.exists():
        ppc = pd.read_csv(kept, dtype={"side": str}, keep_default_na=False)
    else:
        say(f"dossier: prior predictive check ({study.prior_predictive_draws} prior draws)")
        ppc = prior_predictive(study, sim, observed)
        folder.write_csv("dossier/prior_predictive.csv", ppc)
    table = posterior_table(study, result.posterior, recovery)
    folder.write_csv("dossier/posterior_table.csv", table)
    figures = _figures(study, result.posterior, table, folder)
    every = load_targets(study.targets_path)
    kept = folder.out / "dossier" / "predictive_series.parquet"
    if kept.exists():
        series = pd.read_parquet(kept)
    else:
        say(f"dossier: posterior predictive fit ({study.posterior_predictive_draws} "
            "posterior draws)")
        series = _posterior_predictive_series(study, result.posterior, executor,
                                              study.posterior_predictive_draws)
        series = series[series["metric"].isin(needed_metrics(every))].reset_index(drop=True)
        folder.claim("dossier/predictive_series.parquet", folder="dossier")
        series.to_parquet(kept, index=False)
    report = fit_report(series, every)
    fitted = report[report["target_id"].isin(target_ids)]
    folder.write_csv("dossier/fit.csv", with_total(report))
    folder.claim("dossier/fit.png", folder="dossier")
    fit_figure(report).savefig(folder.out / "dossier" / "fit.png", dpi=110)
    total = fit_total(report).iloc[0]
    inside_cal = int(fitted["inside"].fillna(0).astype(int).sum())
    outside_prior = ppc[ppc["inside"] == 0]
    emulation = result.method == "emulation"
    if emulation:
        chain = dict(result.chain or {})
        head = (f"{len(study.free)} free parameters, {len(target_ids)} targets, scale "
                f"{study.scale:g}, {study.replicates} run(s) a design point; "
                f"{result.n_simulations} simulations in {len(result.generations)} waves of "
                f"history matching with Gaussian-process emulators, {result.wall_seconds:.0f}"
                f" s in all; the posterior sampled by MCMC on the emulated likelihood "
                f"({study.walkers} walkers x {study.steps} steps, {study.burn} burn-in; "
                f"acceptance {chain.get('acceptance_fraction', float('nan')):.2f}, "
                f"autocorrelation time {chain.get('autocorr_time', float('nan')):.0f} steps,"
                f" effective sample size {chain.get('ess', float('nan')):.0f}). The "
                "likelihood is never tempered: this is the posterior under the targets' "
                "error models, the discrepancy and the emulators' measured error.")
    else:
        head = (f"{len(study.free)} free parameters, {len(target_ids)} targets, scale "
                f"{study.scale:g}, {study.replicates} run(s) a particle, "
                f"{study.population_size} particles; {result.n_simulations} simulations, "
                f"{result.wall_seconds:.0f} s of ABC-SMC, final temperature "
                f"{result.final_temperature:.3g} (1 = exact posterior under the targets' "
                "error models).")
    lines = [f"# Calibration dossier: {study.name}", "", head, ""]
    if not result.final_temperature <= 1.0 + 1e-9:
        lines += [f"**Not yet the posterior:** the budget stopped ABC-SMC at temperature "
                  f"{result.final_temperature:.3g}; the sample below is a tempered "
                  "approximation, wider than the posterior.", ""]
    gens = result.generations
    if len(gens) and "ess" in gens and "n_particles" in gens:
        ess, n = float(gens["ess"].iloc[-1]), int(gens["n_particles"].iloc[-1])
        if ess < DEGENERATE_ESS_SHARE * n:
            # a few particles carry almost all the weight: the resampled draws repeat
            # them, so every width (and a width-ratio verdict) is far too narrow
            lines += [f"**Degenerate sample:** the last generation's effective sample size "
                      f"is {ess:.1f} of {n} particles; the posterior widths below "
                      "understate the uncertainty and the width-ratio verdicts are not "
                      "evidence of identification.", ""]
    if result.noise is not None:
        noisy = result.noise[result.noise["ratio"] > 1.0]
        lines += [f"Simulation noise at scale {study.scale:g} (`../noise.csv`, "
                  f"{study.noise_runs} runs at the scenario's values): median noise sd / "
                  f"observation sd {result.noise['ratio'].median():.2f}; "
                  f"{len(noisy)} targets where the noise exceeds the observation error"
                  + (": " + ", ".join(f"`{t}`" for t in noisy["target_id"]) if len(noisy)
                     else "") + ". " +
                  ("The likelihood's variance is observation variance plus noise variance "
                   "(`noise_in_kernel = true`)." if study.noise_in_kernel else
                   "The likelihood's variance is the observation error's, without the "
                   "down-scaling noise (`noise_in_kernel = false`"
                   + (": the emulators learn each target's mean from the noisy runs)."
                      if emulation else ").")) +
                  (f" It adds a model discrepancy of sd {study.discrepancy_level:g} x the "
                   f"observed value for counts, balances and stocks and "
                   f"{study.discrepancy_share:g} for shares (the study file says why): "
                   "the posterior is that of data = model + discrepancy + observation "
                   "error." if study.discrepancy_level or study.discrepancy_share else "") +
                  (_emulator_sentence(result) if emulation else
                   " The noise makes one particle's log acceptance density vary with sd "
                   "{:.2f} where the particle meets every target on average and {:.2f} at "
                   "the scenario's values (a pseudo-marginal sampler needs about 1.5 or "
                   "less to reach temperature 1).".format(
                       *_loglik_sds(study, result.noise, observed, target_ids))), ""]
    if emulation:
        lines += ["## Waves", "",
                  "`acceptance_rate` is the share of the prior's support that the earlier "
                  "waves' emulators had not ruled out (implausibility below "
                  f"{study.cutoff:g} on the second-worst target) when the wave's runs were "
                  "drawn; `max_emulator_ratio` the largest emulator error sd / likelihood "
                  "sd over targets.", "",
                  _md_table(result.generations, ["t", "n_simulations", "acceptance_rate",
                                                 "n_train", "max_emulator_ratio", "ess"]),
                  ""]
    else:
        lines += ["## Generations", "",
                  _md_table(result.generations, ["t", "temperature", "n_simulations",
                                                 "acceptance_rate", "ess"]), ""]
    lines += ["## 1. Prior predictive check", "",
             f"{study.prior_predictive_draws} prior draws (`prior_predictive.csv`). "
             f"{len(ppc) - len(outside_prior)} of {len(ppc)} observations lie inside the "
             "prior predictive 5-95% range."]
    if len(outside_prior):
        lines += ["", "**Misspecified (the prior cannot reach them):** " + ", ".join(
            f"`{r.target_id}` ({r.side})" for r in outside_prior.itertuples()) + "."]
    else:
        lines += ["", "No target lies outside what the prior can produce."]
    lines += ["", "## 2. Posterior", "",
              "Marginals: `marginals.png`; pairs: `pairs.png`; table: `posterior_table.csv` "
              "(r = posterior 90% width / prior 90% width; the verdicts: part 5).", "",
              _md_table(table, ["param", "prior", "prior_median", "posterior_median",
                                "posterior_q05", "posterior_q95", "width_ratio"]),
              "", "## 3. Posterior predictive fit", "",
              f"{study.posterior_predictive_draws} runs, each with its own posterior draw "
              "(`fit.csv`, `fit.png`: the bands are posterior predictive bands). "
              f"{inside_cal} of {len(fitted)} calibration targets inside their 90% band; "
              f"over every counted target of the file: {int(total['inside'])} of "
              f"{int(total['counted'])} inside, sum z^2 = {float(total['z2']):.1f}.", "",
              "Simulation noise vs observation error per target: `../noise.csv`.", "",
              "Figures: " + ", ".join(f"`{f}`" for f in [*figures, "fit.png"]), "",
              *_recovery_lines(table, recovery, recovery_note), "",
              *_verdict_lines(table, recovery is not None)]
    folder.write_text("dossier/dossier.md", "\n".join(lines) + "\n")
