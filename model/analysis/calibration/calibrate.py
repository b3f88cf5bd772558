"""``calibrate``: the study's free parameters by ABC-SMC or emulation, resumable, into a folder.

The study's ``method`` chooses the sampler: ``"abc-smc"`` (pyABC with the observation errors
as a stochastic acceptance kernel, :mod:`.engine`) or ``"emulation"`` (history matching
with Gaussian-process emulators and MCMC on the emulated likelihood, :mod:`.emulation`).

The out folder holds, all written by this module (listed in its ownership marker,
:mod:`model.runs.ownership`; nothing else in the folder is touched):

``study.json``        what was calibrated (a re-run with other settings is refused)
``noise.csv``         simulation noise sd per target at the study's scale vs observation sd
``abc.db``            (ABC-SMC) the pyABC history (SQLite): a killed calibration continues
``design.csv``        (emulation) every design run: wave, parameters, summaries; a killed
                      calibration continues from it
``emulator.csv``      (emulation) per target: the last emulator's error vs the likelihood sd
``generations.csv``   per generation (ABC-SMC) or wave (emulation): temperature, runs,
                      acceptance rate (emulation: share of the support not ruled out), ESS
``population.csv``    the last generation's particles and weights (emulation: the draws)
``posterior.csv``     equally weighted posterior sample (``draw``, then one column a parameter)
``dossier/``          prior and posterior predictive checks, posterior table and figures
``result.json``       written last: the calibration is finished (a re-run only reports it)

Examples
--------
>>> CalibrationResult.__dataclass_fields__.keys() >= {"posterior", "population", "generations"}
True
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.analysis.calibration.engine import (
    equal_weight_sample,
    generations_table,
    last_population,
    load_history,
    run_abc,
)
from model.analysis.calibration.study import EMULATION_KEYS, Study
from model.analysis.calibration.summaries import particle_seed, reducer_for
from model.runs.ownership import read_marker, temp_name, write_marker
from model.scenario import ScenarioError

__all__ = ["calibrate", "can_continue", "CalibrationResult", "CalibrationError", "OutFolderError",
           "ModelSimulator", "load_result", "OUTPUT_FILES", "discrepancy_variances",
           "loglik_noise_sd", "loglik_noise_sds"]

MARKER_KIND = "calibration"
OUTPUT_FILES = ("study.json", "noise.csv", "abc.db", "design.csv", "emulator.csv",
                "generations.csv", "population.csv", "posterior.csv", "result.json")
"""Files a calibration writes in its out folder (and the folder ``dossier/``)."""


class CalibrationError(RuntimeError):
    """A calibration that cannot go on (e.g. every run of a batch failed)."""


class OutFolderError(ScenarioError):
    """The out folder cannot take this calibration; one line saying why (CLI exit 2)."""


@dataclass
class CalibrationResult:
    """A finished calibration.

    Attributes
    ----------
    posterior : pandas.DataFrame
        Equally weighted sample (``study.posterior_draws`` rows), one column a parameter.
    population : pandas.DataFrame
        The last generation: parameters and ``weight`` (summing to 1).
    generations : pandas.DataFrame
        ``t, temperature, n_simulations, acceptance_rate, ess, n_particles, simulated``.
    n_simulations : int
        Model runs of the whole calibration (pyABC's calibration sample and every
        generation, batches' leftovers included, times the replicates per particle).
    wall_seconds : float
        Seconds of ABC-SMC (summed over resumed sessions).
    out_dir : Path
        The out folder.
    noise : pandas.DataFrame
        ``target_id, observed, obs_sd, noise_sd, ratio`` (noise of one particle's summaries).
    """

    posterior: pd.DataFrame
    population: pd.DataFrame
    generations: pd.DataFrame
    n_simulations: int
    wall_seconds: float
    out_dir: Path
    noise: pd.DataFrame | None = None
    final_temperature: float = float("nan")
    method: str = "abc-smc"
    chain: Mapping[str, float] | None = None


# ---------------------------------------------------------------------- the simulator
class ModelSimulator:
    """Batch simulator for the sampler: the study's model on an executor, summaries back.

    ``simulator(t, indices, proposals)`` runs ``study.replicates`` runs per proposal
    (seeds :func:`~model.analysis.calibration.summaries.particle_seed`) with the targets
    reducer on the workers and returns each proposal's mean summaries (a share with no
    emigrant to divide by counts as 0).
    """

    def __init__(self, study: Study, executor, target_ids: Sequence[str]):
        self.study = study
        self.executor = executor
        self.target_ids = list(target_ids)
        self.reducer = reducer_for(study.targets(self.target_ids))
        self.runs = 0

    def specs(self, t: int, indices: Sequence[int], proposals: Sequence[Mapping]):
        """The run specs of a batch (``point`` is the evaluation index)."""
        from model.runs.batch import RunSpec

        out = []
        for j, params in zip(indices, proposals, strict=True):
            sc = self.study.run_scenario(params)
            for k in range(self.study.replicates):
                out.append(RunSpec(f"cal-{t}-{j}-{k}", sc,
                                   particle_seed(self.study.seed, t, j, k), k + 1, point=j,
                                   reducer=self.reducer))
        return out

    def run_values(self, specs, label: str) -> list[dict]:
        """Each spec's reduced target values, in spec order (raises if a run failed)."""
        results = self.executor.run(specs, label=label)
        bad = [r for r in results if not r.ok]
        if bad:
            err = bad[0].error
            raise CalibrationError(f"{len(bad)} of {len(results)} runs failed; the first: "
                                   f"{err.get('error')}\n{err.get('traceback', '')}")
        self.runs += len(results)
        return [r.value for r in results]

    def __call__(self, t: int, indices: Sequence[int], proposals: Sequence[Mapping],
                 label: str | None = None) -> list[dict]:
        """Mean summaries of each proposal's replicates, in proposal order."""
        label = label or ("calibration sample" if t < 0 else f"generation {t}")
        values = self.run_values(self.specs(t, indices, proposals), label)
        r = self.study.replicates
        out = []
        for i in range(len(proposals)):
            block = values[i * r:(i + 1) * r]
            out.append({k: float(np.nan_to_num(np.mean([v[k] for v in block]), nan=0.0))
                        for k in self.target_ids})
        return out


# ---------------------------------------------------------------------- the folder
class _Folder:
    """The out folder: refuses folders that are not ours, writes atomically, keeps the marker."""

    def __init__(self, out: Path):
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise OutFolderError(f"--out {self.out}: is a file; allowed: a new or empty "
                                 "folder, or the out folder of an earlier calibration")
        marker = read_marker(self.out) if self.out.exists() else None
        if self.out.exists() and any(self.out.iterdir()):
            if marker is None:
                raise OutFolderError(f"--out {self.out}: holds files emigsim did not write; "
                                     "allowed: a new or empty folder, or the out folder of "
                                     "an earlier calibration")
            if marker.get("kind") != MARKER_KIND:
                raise OutFolderError(f"--out {self.out}: is the output of 'emigsim "
                                     f"{marker.get('kind')}'; allowed: a new or empty "
                                     "folder, or the out folder of a calibration")
        self.files = set(marker["files"]) if marker else set()
        self.folders = set(marker["folders"]) if marker else set()

    def claim(self, *names: str, folder: str | None = None) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.files.update(names)
        if folder:
            self.folders.add(folder)
        write_marker(self.out, MARKER_KIND, self.files, self.folders)

    def write_text(self, name: str, text: str) -> Path:
        self.claim(name, folder=str(Path(name).parent) if "/" in name else None)
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(path.parent, path.name)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return path

    def write_csv(self, name: str, df: pd.DataFrame) -> Path:
        return self.write_text(name, df.to_csv(index=False))


def _fingerprint(study: Study, observed: Mapping[str, float], target_ids: Sequence[str],
                 quick: bool) -> dict:
    s = study.quick() if quick else study
    return {"study": s.name, "quick": bool(quick), "seed": s.seed,
            "scenario": s.scenario.name, "window": [s.start, s.end], "scale": s.scale,
            "replicates": s.replicates, "population_size": s.population_size,
            "noise_in_kernel": s.noise_in_kernel,
            **({"discrepancy": [s.discrepancy_level, s.discrepancy_share]}
               if s.discrepancy_level or s.discrepancy_share else {}),
            **({"transition": s.transition} if s.transition != "normal" else {}),
            **({"method": s.method, "emulation": {k: getattr(s, k) for k in EMULATION_KEYS},
                "posterior_draws": s.posterior_draws} if s.method == "emulation" else {}),
            "free": {n: s.priors[n].describe() + f" on [{s.priors[n].lo:g}, "
                     f"{s.priors[n].hi:g}]" for n in s.free},
            "observed": {k: float(observed[k]) for k in target_ids},
            "scenario_params": {n: float(v) for n, v in sorted(s.scenario.params.items())}}


def discrepancy_variances(study: Study, targets, observed: Mapping[str, float]
                          ) -> dict[str, float]:
    """Model-discrepancy variance of each target under the study's discrepancy settings.

    Counts, balances and stocks get ``(discrepancy_level * |observed|)^2``; shares and
    proportions ``discrepancy_share^2``. Both default to 0 (the kernel is then observation
    error, plus noise when ``noise_in_kernel``).

    Examples
    --------
    >>> from dataclasses import replace
    >>> from model.analysis.calibration.study import load_study, default_study_path
    >>> s = replace(load_study(default_study_path()), discrepancy_level=0.1,
    ...             discrepancy_share=0.02)
    >>> t = s.targets(["new_emigrants.count.all.2013",
    ...                "new_emigrants.share.edu=higher.2017"])
    >>> v = discrepancy_variances(s, t, {k: t[k].value for k in t})
    >>> round(v["new_emigrants.count.all.2013"] ** 0.5), v["new_emigrants.share.edu=higher.2017"]
    (2438, 0.0004)
    """
    out = {}
    for k, t in targets.items():
        if t.kind in ("share", "proportion"):
            out[k] = float(study.discrepancy_share) ** 2
        else:
            out[k] = (float(study.discrepancy_level) * abs(float(observed[k]))) ** 2
    return out


def loglik_noise_sd(noise: pd.DataFrame, discrepancy: Mapping[str, float],
                    noise_in_kernel: bool = True, bias: Mapping[str, float] | None = None
                    ) -> float:
    """Standard deviation of one particle's log acceptance density from simulation noise.

    A run's log density is ``-sum((b_k + e_k)^2 / (2 V_k))`` with ``e_k ~ N(0, s_k^2)``
    (``s_k``: the noise sd, ``V_k``: the kernel variance, ``b_k``: the particle's bias,
    expected summary minus observed), whose variance is
    ``sum((s_k^2 / V_k)^2 / 2 + b_k^2 s_k^2 / V_k^2)``. Without ``bias`` this is the
    lower bound of a particle that meets every target on average. The stochastic acceptor
    is a pseudo-marginal sampler: once this sd is much above 1.5 the accepted particles are
    those whose runs were lucky, and acceptance near temperature 1 collapses.

    Examples
    --------
    >>> n = pd.DataFrame({"target_id": ["a", "b"], "obs_sd": [1.0, 1.0],
    ...                   "noise_sd": [1.0, 0.0]})
    >>> round(loglik_noise_sd(n, {"a": 0.0, "b": 0.0}), 4)  # (1/2)^2 / 2 = 0.125
    0.3536
    >>> round(loglik_noise_sd(n, {}, bias={"a": 2.0}), 4)  # + 2^2 * 1 / 2^2 = 1
    1.0607
    """
    s2 = noise["noise_sd"].to_numpy(float) ** 2
    v = (noise["obs_sd"].to_numpy(float) ** 2 + (s2 if noise_in_kernel else 0.0)
         + noise["target_id"].map(lambda k: float(discrepancy.get(k, 0.0))).to_numpy(float))
    b2 = (np.zeros(len(noise)) if bias is None else
          noise["target_id"].map(lambda k: float(bias.get(k, 0.0))).to_numpy(float) ** 2)
    return float(np.sqrt(np.sum((s2 / v) ** 2 / 2.0 + b2 * s2 / v ** 2)))


def loglik_noise_sds(noise: pd.DataFrame, discrepancy: Mapping[str, float],
                     noise_in_kernel: bool = True) -> tuple[float, float]:
    """:func:`loglik_noise_sd` without bias and with the bias of the measured values.

    The first is a particle that meets every target on average; the second one at the
    values ``noise`` was measured at (bias ``mean_at_scenario - observed``).

    Examples
    --------
    >>> n = pd.DataFrame({"target_id": ["a"], "observed": [0.0], "obs_sd": [1.0],
    ...                   "mean_at_scenario": [2.0], "noise_sd": [1.0]})
    >>> tuple(round(x, 4) for x in loglik_noise_sds(n, {}))
    (0.3536, 1.0607)
    """
    bias = dict(zip(noise["target_id"], noise["mean_at_scenario"] - noise["observed"],
                    strict=True))
    return (loglik_noise_sd(noise, discrepancy, noise_in_kernel),
            loglik_noise_sd(noise, discrepancy, noise_in_kernel, bias))


# ---------------------------------------------------------------------- noise
def measure_noise(study: Study, sim: ModelSimulator, observed: Mapping[str, float],
                  variances: Mapping[str, float]) -> pd.DataFrame:
    """Simulation noise of a particle's summaries near the data vs observation sd.

    ``study.noise_runs`` runs at the scenario's own values (the hand-tuned point, close to
    the data; at the prior median emigration is several times the observed and so is its
    noise); the noise sd of a particle is their sd over the square root of the replicates
    per particle.
    """
    n = max(2, study.noise_runs)
    from model.runs.batch import RunSpec

    sc = study.run_scenario()
    specs = [RunSpec(f"noise-{i}", sc, particle_seed(study.seed, -3, i), i + 1,
                     reducer=sim.reducer) for i in range(n)]
    vals = pd.DataFrame(sim.run_values(specs, "simulation noise"))
    rows = []
    for k in sim.target_ids:
        sd = float(vals[k].std(ddof=1)) / np.sqrt(study.replicates)
        obs_sd = float(np.sqrt(variances[k]))
        # the stochastic acceptor's posterior is exact for observation error plus this
        # noise: effective_sd is the error the posterior is in effect conditioned with
        rows.append({"target_id": k, "observed": float(observed[k]), "obs_sd": obs_sd,
                     "mean_at_scenario": float(vals[k].mean()), "noise_sd": sd,
                     "ratio": sd / obs_sd, "effective_sd": float(np.hypot(obs_sd, sd))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- calibrate
def load_result(out_dir: str | Path) -> CalibrationResult:
    """A finished calibration's result, read back from its out folder."""
    out = Path(out_dir)
    info = json.loads((out / "result.json").read_text(encoding="utf-8"))
    noise = pd.read_csv(out / "noise.csv") if (out / "noise.csv").exists() else None
    return CalibrationResult(pd.read_csv(out / "posterior.csv").drop(columns="draw"),
                             pd.read_csv(out / "population.csv"),
                             pd.read_csv(out / "generations.csv"),
                             int(info["n_simulations"]), float(info["wall_seconds"]), out,
                             noise, float(info.get("final_temperature", np.nan)),
                             info.get("method", "abc-smc"), info.get("chain"))


def can_continue(done: Mapping[str, object], study: Study) -> bool:
    """Whether a finished calibration (its ``result.json``) may go on under ``study``'s budget.

    Only one that stopped by its budget above the minimum temperature, when the study now
    allows more simulations, more wall time and more generations than it used.

    Examples
    --------
    >>> import dataclasses
    >>> from model.analysis.calibration import default_study_path, load_study
    >>> s = load_study(default_study_path())
    >>> done = {"final_temperature": 12.0, "n_simulations": 100, "wall_seconds": 10.0,
    ...         "generations": 2}
    >>> can_continue(done, s), can_continue({**done, "final_temperature": 1.0}, s)
    (True, False)
    >>> can_continue(done, dataclasses.replace(s, max_total_simulations=100))
    False
    """
    if done.get("failure") or done.get("method") == "emulation":
        # the same seeds would fail the same way; an emulation is finished when it has
        # its chains (a killed one, without result.json, resumes from design.csv)
        return False
    temp = float(done.get("final_temperature", np.nan))
    if not np.isfinite(temp) or temp <= study.min_temperature * (1 + 1e-9):
        return False
    return (int(done["n_simulations"]) < study.max_total_simulations
            and float(done["wall_seconds"]) < study.max_walltime
            and int(done.get("generations", 0)) < study.max_generations)


def calibrate(study: Study, out_dir: str | Path, *, observed: pd.Series | None = None,
              target_ids: Sequence[str] | None = None, quick: bool = False,
              workers: int | None = None, progress: bool = True,
              dossier: bool = True, shared_design: str | Path | None = None
              ) -> CalibrationResult:
    """Calibrate ``study`` into ``out_dir`` (resumes; a finished one is reused).

    Parameters
    ----------
    study : Study
        What to calibrate (:func:`~model.analysis.calibration.study.load_study`).
    out_dir : path
        The out folder (new, empty, or of an earlier run of the same calibration).
    observed : pandas.Series, optional
        ``target_id -> value`` to calibrate to (default: the targets file's values), e.g.
        synthetic data; the observation errors are those of the targets' error models
        evaluated at these values.
    target_ids : sequence of str, optional
        A subset of the study's targets (default: all of them).
    quick : bool
        Use :meth:`Study.quick` (a first look in under a minute, and the tests).
    workers : int, optional
        Worker processes of the local Dask cluster (default: one per core); 0 runs in
        this process. The result does not depend on it.
    progress : bool
        Print progress lines and bars.
    dossier : bool
        Write the dossier (prior and posterior predictive checks, posterior table).
    shared_design : path, optional
        (emulation) A CSV of wave-0 runs shared by calibrations of the same study on
        other data (the recovery's datasets): read when it exists and has every target,
        written after wave 0 when it does not. Wave 0 depends only on the study (its seed,
        priors and scale), so the runs are the same ones either way.

    Returns
    -------
    CalibrationResult
    """
    from model.runs.execution import Executor

    run_study = study.quick() if quick else study
    ids = list(run_study.target_ids if target_ids is None else target_ids)
    targets = run_study.targets(ids)
    if observed is None:
        obs = {k: targets[k].value for k in ids}
    else:
        missing = [k for k in ids if k not in observed.index]
        if missing:
            raise ValueError(f"observed has no value for target {missing[0]!r}")
        obs = {k: float(observed[k]) for k in ids}
    from model.analysis.targets import error_sd

    variances = {k: error_sd(targets[k].error_model, targets[k].error_e, obs[k]) ** 2
                 for k in ids}
    discrepancy = discrepancy_variances(run_study, targets, obs)
    folder = _Folder(Path(out_dir))
    out = folder.out
    say = print if progress else (lambda *a, **k: None)
    fp = _fingerprint(study, obs, ids, quick)
    if (out / "study.json").exists():
        old = json.loads((out / "study.json").read_text(encoding="utf-8"))
        if old != json.loads(json.dumps(fp)):
            changed = sorted(k for k in set(old) | set(fp) if old.get(k) != json.loads(
                json.dumps(fp)).get(k))
            raise OutFolderError(f"--out {out}: holds a calibration with other settings "
                                 f"({', '.join(changed)} differ); allowed: a new folder, or "
                                 "the same study and options as before")
    if (out / "result.json").exists():
        done = json.loads((out / "result.json").read_text(encoding="utf-8"))
        if not can_continue(done, run_study):
            say(f"calibration already finished; its results are in {out} "
                f"(posterior.csv, generations.csv, dossier/dossier.md)")
            return load_result(out)
        # stopped by its budget before temperature 1, and the budget is now larger:
        # the history goes on (result.json and the tables are rewritten at the end)
        say(f"continuing: the earlier run stopped by its budget at temperature "
            f"{done['final_temperature']:.3g} after {done['n_simulations']} simulations; "
            f"the budget is now {run_study.max_total_simulations} simulations, "
            f"{run_study.max_walltime:g} s")
    folder.write_text("study.json", json.dumps(fp, indent=2) + "\n")
    prior_time = 0.0
    if (out / ".wall_seconds").exists():
        prior_time = float((out / ".wall_seconds").read_text())
    with Executor(workers=workers, progress=progress) as ex:
        sim = ModelSimulator(run_study, ex, ids)
        if (out / "noise.csv").exists():
            noise = pd.read_csv(out / "noise.csv")
        else:
            say(f"measuring simulation noise: {run_study.noise_runs} runs at the scenario's "
                f"values, scale {run_study.scale:g}")
            noise = measure_noise(run_study, sim, obs, variances)
            folder.write_csv("noise.csv", noise)
        noisy = noise[noise["ratio"] > 0.5]
        say(f"simulation noise / observation sd: median {noise['ratio'].median():.2f}, "
            f"max {noise['ratio'].max():.2f} ({len(noisy)} of {len(noise)} targets above 0.5)")
        if run_study.noise_in_kernel:
            # the brief's explicit noise model: the kernel's variance is the observation
            # variance plus the simulation variance near the data, so that targets whose
            # down-scaling noise exceeds their observation error can still be accepted
            # at temperature 1 (the posterior is then exact for an error of variance
            # obs^2 + 2 noise^2: the noise enters once in the runs and once here)
            sd = dict(zip(noise["target_id"], noise["noise_sd"], strict=True))
            variances = {k: v + float(sd.get(k, 0.0)) ** 2 for k, v in variances.items()}
            say("kernel variance = observation variance + simulation noise variance "
                "(noise_in_kernel = true)")
        if any(v > 0 for v in discrepancy.values()):
            # the model is not the world: with only observation and noise variance the
            # posterior of a model that misses some targets by several sd concentrates on
            # a sliver (and pyABC never reaches temperature 1); a stated discrepancy makes
            # it the posterior of "data = model + discrepancy + observation error"
            variances = {k: v + discrepancy[k] for k, v in variances.items()}
            say(f"kernel variance includes model discrepancy: sd {run_study.discrepancy_level:g}"
                f" x observed for counts, balances and stocks, {run_study.discrepancy_share:g}"
                " for shares")
        if run_study.method == "emulation":
            result, failure = _emulate(run_study, sim, obs, variances, noise, targets,
                                       folder, prior_time, progress, shared_design)
        else:
            result, failure = _abc(run_study, sim, obs, variances, noise, discrepancy,
                                   folder, prior_time, progress)
        gens, posterior, wall, n_sims = (result.generations, result.posterior,
                                         result.wall_seconds, result.n_simulations)
        say(format_generations(gens))
        if failure:
            say(f"stopped early: {failure}; the result is generation {int(gens['t'].max())}"
                f" at temperature {result.final_temperature:.3g}")
        if dossier:
            from model.analysis.calibration.dossier import write_dossier

            write_dossier(run_study, result, observed=obs, target_ids=ids,
                          progress=progress, folder=folder, executor=ex)
    folder.write_text("result.json", json.dumps(
        {"n_simulations": n_sims, "wall_seconds": wall, "generations": int(len(gens)),
         "final_temperature": result.final_temperature, "failure": failure,
         "posterior_draws": int(len(posterior)), "method": run_study.method,
         **({"chain": dict(result.chain)} if result.chain else {})}, indent=2) + "\n")
    say(f"posterior: {out / 'posterior.csv'} ({len(posterior)} draws); "
        f"{n_sims} simulations, {wall:.0f} s of {_METHOD_NAMES[run_study.method]}")
    return result


_METHOD_NAMES = {"abc-smc": "ABC-SMC", "emulation": "emulation"}


def _abc(run_study: Study, sim: ModelSimulator, obs, variances, noise, discrepancy,
         folder: _Folder, prior_time: float, progress: bool
         ) -> tuple[CalibrationResult, str | None]:
    """ABC-SMC (:func:`~model.analysis.calibration.engine.run_abc`) into the folder."""
    say = print if progress else (lambda *a, **k: None)
    out = folder.out
    ids = list(obs)
    at_data, at_scenario = loglik_noise_sds(noise, discrepancy, run_study.noise_in_kernel)
    say(f"log-density noise sd of one particle: {at_data:.2f} where it meets every "
        f"target on average, {at_scenario:.2f} at the scenario's values (above about "
        "1.5 acceptance near temperature 1 collapses)")
    folder.claim("abc.db", ".wall_seconds")
    started = time.perf_counter()
    history = load_history(out / "abc.db")
    if history is not None:
        say(f"continuing the calibration in {out / 'abc.db'} after generation "
            f"{history.max_t}")
    say(f"ABC-SMC: {len(run_study.free)} parameters, {len(ids)} targets, "
        f"{run_study.population_size} particles, scale {run_study.scale:g}, "
        f"{run_study.replicates} run(s) a particle")
    res = run_abc(run_study.priors, sim, obs, variances, out / "abc.db",
                  population_size=run_study.population_size, seed=run_study.seed,
                  max_generations=run_study.max_generations,
                  min_temperature=run_study.min_temperature,
                  min_acceptance_rate=run_study.min_acceptance_rate,
                  max_total_simulations=run_study.max_total_simulations,
                  max_walltime=max(1.0, run_study.max_walltime - prior_time),
                  progress=progress, transition=run_study.transition)
    wall = prior_time + time.perf_counter() - started
    (out / ".wall_seconds").write_text(f"{wall}\n")
    gens = generations_table(res.history, res.simulated_by_generation)
    history = res.history
    if history.max_t < 0:
        raise CalibrationError(
            f"the budget ({run_study.max_total_simulations} simulations, "
            f"{run_study.max_walltime:g} s) ran out before the first generation was "
            f"complete; raise max_total_simulations or max_walltime (the history in "
            f"{out / 'abc.db'} is kept)")
    population = last_population(history, run_study.free)
    posterior = equal_weight_sample(population, run_study.posterior_draws,
                                    run_study.seed)
    folder.write_csv("generations.csv", gens)
    folder.write_csv("population.csv", population)
    folder.write_csv("posterior.csv", posterior)
    n_sims = int(history.total_nr_simulations) * run_study.replicates
    n_sims = max(n_sims, sim.runs)
    result = CalibrationResult(posterior.drop(columns="draw"), population, gens,
                               n_sims, wall, out, noise,
                               float(gens["temperature"].iloc[-1]) if len(gens) else np.nan)
    return result, res.failure


def _emulate(run_study: Study, sim: ModelSimulator, obs, variances, noise, targets,
             folder: _Folder, prior_time: float, progress: bool, shared_design
             ) -> tuple[CalibrationResult, str | None]:
    """History matching and MCMC on emulators (:mod:`.emulation`) into the folder."""
    from model.analysis.calibration.emulation import EmulationSettings, run_emulation

    say = print if progress else (lambda *a, **k: None)
    out = folder.out
    ids = list(obs)
    settings = EmulationSettings(**{k: getattr(run_study, k) for k in EMULATION_KEYS},
                                 posterior_draws=run_study.posterior_draws)
    design = None
    shared = Path(shared_design) if shared_design is not None else None
    if (out / "design.csv").exists():
        design = pd.read_csv(out / "design.csv")
        say(f"continuing the calibration in {out / 'design.csv'} ({len(design)} runs made)")
    elif shared is not None and shared.exists():
        wave0 = pd.read_csv(shared)
        if set(ids) <= set(wave0.columns):
            design = wave0[wave0["wave"] == 0]
            say(f"wave 0: {len(design)} runs shared from {shared}")
    folder.claim("design.csv", "emulator.csv", ".wall_seconds")

    def save(df: pd.DataFrame) -> None:
        folder.write_csv("design.csv", df)

    def simulate(w, idx, props):
        return sim(w, idx, props, label=f"wave {w}")

    say(f"emulation: {len(run_study.free)} parameters, {len(ids)} targets, "
        f"{run_study.waves} waves ({run_study.first_wave} + {run_study.wave_size} a wave "
        f"runs), scale {run_study.scale:g}, {run_study.replicates} run(s) a point")
    started = time.perf_counter()
    # counts grow about exponentially in the utilities, with noise about proportional to
    # them: their emulators work on the log scale (balances can be negative, shares are not)
    logged = [k for k in ids if targets[k].kind in ("count", "stock")]
    res = run_emulation(run_study.priors, simulate, obs, variances, settings,
                        seed=run_study.seed, log_targets=logged,
                        design=design, save=save,
                        max_total_simulations=run_study.max_total_simulations,
                        max_walltime=max(1.0, run_study.max_walltime - prior_time),
                        progress=progress)
    wall = prior_time + time.perf_counter() - started
    (out / ".wall_seconds").write_text(f"{wall}\n")
    save(res.design)
    if shared is not None and not shared.exists():
        shared.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(shared.parent, shared.name)
        res.design[res.design["wave"] == 0].to_csv(tmp, index=False)
        os.replace(tmp, shared)
    em = res.emulators[-1]
    lik_sd = np.array([res.variances[k] ** 0.5 for k in ids])
    measured = dict(zip(noise["target_id"], noise["noise_sd"], strict=True))
    folder.write_csv("emulator.csv", pd.DataFrame({
        "target_id": ids, "observed": [obs[k] for k in ids], "likelihood_sd": lik_sd,
        "emulator_sd": np.sqrt(em.error_var), "loo_sd": np.sqrt(em.loo_var),
        "nugget_sd": np.sqrt(em.nugget_var),
        "noise_sd_at_scenario": [measured.get(k, np.nan) for k in ids],
        "log_scale": em.log, "ratio": np.sqrt(em.error_var) / lik_sd}))
    posterior = res.posterior
    population = posterior.drop(columns="draw").assign(weight=1.0 / len(posterior))
    gens = res.waves
    folder.write_csv("generations.csv", gens)
    folder.write_csv("population.csv", population)
    folder.write_csv("posterior.csv", posterior)
    n_sims = int(len(res.design)) * run_study.replicates
    result = CalibrationResult(posterior.drop(columns="draw"), population, gens, n_sims, wall,
                               out, noise, 1.0, "emulation", res.chain_info)
    return result, res.failure


def format_generations(gens: pd.DataFrame) -> str:
    """The generations table as text lines.

    Examples
    --------
    >>> g = pd.DataFrame({"t": [0], "temperature": [3.5], "n_simulations": [40],
    ...                   "acceptance_rate": [0.25], "ess": [9.1]})
    >>> print(format_generations(g))
      t  temperature  simulations  acceptance    ESS
      0        3.500           40       25.0%    9.1
    """
    lines = ["  t  temperature  simulations  acceptance    ESS"]
    for _, g in gens.iterrows():
        lines.append(f"{int(g['t']):3d}  {g['temperature']:11.3f}  {int(g['n_simulations']):11d}"
                     f"  {g['acceptance_rate']:10.1%}  {g['ess']:5.1f}")
    return "\n".join(lines)
