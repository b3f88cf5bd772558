"""``em.run`` and ``em.compare``: the one path from scenarios to results, for Python and CLI.

``emigsim run`` and ``emigsim compare`` call :func:`run_scenarios` too, so the Python
functions and the commands give identical tables and write identical folders:

- one replicate of one scenario, without a scheduler and without a batch store in the
  output folder, runs in this process (:func:`model.runs.runner.run`) and its folder is
  written whole and swapped in;
- anything else is a batch: its runs (replicate ``r`` of every scenario with the same
  seed, so that differences are paired) go through the executor
  (:func:`model.runs.execution.execute`) into a resumable store, ``OUT/store`` or, without
  an output folder, a temporary one.

Both take the posterior (:mod:`model.posterior`) by default: replicate ``r`` of every
scenario runs with posterior draw ``r mod n_draws`` (parameters a scenario sets itself
win), so bands include parameter uncertainty and comparisons stay paired;
``posterior=None`` (``--no-posterior``) runs the registry defaults. While the shipped
posterior file does not exist, runs use the registry defaults with a notice.

Examples
--------
>>> import model as em
>>> res = em.run(em.Scenario(scale=4000, end=2012), seed=3, replicates=2, workers=0)
>>> res.scenarios, res.n_runs()
(['baseline'], 2)
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from model.posterior import Posterior, PosteriorNotice, apply_draw, resolve_posterior, wrap_notice
from model.runs.batch import RunSpec, replicate_specs
from model.runs.execution import (
    BatchInterrupted,
    BatchReport,
    Executor,
    estimate_run_seconds,
    execute,
)
from model.runs.outputs import (
    WrittenFolder,
    check_output_folder,
    claim_output_folder,
    has_batch_store,
    write_batch_folder,
    write_run_folder,
)
from model.runs.results import ResultSet
from model.runs.sizing import BatchEstimate, plan_batch
from model.runs.store import open_store, set_aside
from model.scenario import Scenario, load_scenario

__all__ = ["run", "compare", "run_scenarios", "BatchOutcome", "BatchFailedError",
           "auto_workers", "population_size", "AUTO_LOCAL_SECONDS"]

AUTO_LOCAL_SECONDS = 20.0
"""Batches estimated to take less than this run in-process when ``workers`` is not given:
starting a local Dask cluster would cost more than it saves."""


class BatchFailedError(RuntimeError):
    """Some runs of a batch failed; ``report`` lists them (a re-run retries them)."""

    def __init__(self, report: BatchReport, store_path: Path | None):
        self.report = report
        self.store_path = store_path
        first = report.errors[0]["error"] if report.errors else "unknown error"
        super().__init__(f"{report.failed} of {report.total} runs failed (first: {first})")


@dataclass
class BatchOutcome:
    """What :func:`run_scenarios` did.

    Attributes
    ----------
    results : ResultSet or None
        The tidy table and facts (None when runs failed).
    report : BatchReport or None
        Runs done, skipped and failed (None for the in-process single run).
    store_path : Path or None
        The batch's store (None for the single run, or a temporary store now deleted).
    written : WrittenFolder or None
        What was written into the output folder (None without one, or when runs failed).
    set_aside : Path or None
        Where ``fresh`` moved the folder's old store (``OUT/store.old-<pid>-<id>``) when
        the new runs failed: kept whole until a batch into the folder completes (rename
        it back to ``store`` to restore it); None otherwise.
    """

    results: ResultSet | None
    report: BatchReport | None = None
    store_path: Path | None = None
    written: WrittenFolder | None = None
    set_aside: Path | None = None

    @property
    def complete(self) -> bool:
        """True when every run finished."""
        return self.report is None or self.report.complete


def auto_workers(workers: int | None, scheduler: str | None, n_runs: int,
                 example: RunSpec) -> int | None:
    """Workers to use: as given; else in-process for batches under :data:`AUTO_LOCAL_SECONDS`.

    Examples
    --------
    >>> auto_workers(None, None, 2, RunSpec("x", Scenario(scale=4000, end=2012), 1, 1))
    0
    >>> auto_workers(3, None, 2, RunSpec("x", Scenario(), 1, 1))
    3
    """
    if workers is not None or scheduler:
        return workers
    return 0 if n_runs * estimate_run_seconds(example) < AUTO_LOCAL_SECONDS else None


def population_size(scenario: Scenario, seed: int) -> tuple[int, int]:
    """Households and persons simulated on 1 January 2012 for one seed (for the manifest).

    A batch's runs happen in workers that return only tidy rows, so the driver rebuilds
    the first replicate's synthetic population (a fraction of one run's time).
    """
    from model.core.population import synthesize

    households, persons = synthesize(scenario.params, scale=scenario.scale, seed=seed)
    return int(households.n), int(persons.n)


def _check_scenarios(scenarios: Sequence[Scenario]) -> None:
    names = [sc.name for sc in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"scenario {dup[0]!r} is named twice; scenarios of one batch need "
                         "different names")
    if len({(sc.start, sc.end, sc.scale) for sc in scenarios}) > 1:
        raise ValueError("the scenarios differ in [run] start, end or scale; a comparison "
                         "needs the same window and scale")


def run_scenarios(scenarios: Sequence[Scenario], *, seed: int = 1, replicates: int = 1,
                  workers: int | None = None, scheduler: str | None = None,
                  out: str | Path | None = None, fresh: bool = False, progress: bool = False,
                  argv: Sequence[str] | None = None, accept_long: bool = False,
                  on_start: Callable[[BatchEstimate | None], None] | None = None,
                  posterior: str | Path | Posterior | None = "default",
                  on_notice: Callable[[str], None] | None = None) -> BatchOutcome:
    """Run scenarios (paired replicates), optionally writing an output folder.

    Parameters
    ----------
    scenarios : sequence of Scenario
        One scenario (``run``) or several with the same window and scale (``compare``;
        the first is the reference of the differences).
    seed : int
        Base seed; replicate ``r`` of every scenario uses ``replicate_seed(seed, r)``.
    replicates : int
        Replicates per scenario (at least 1).
    workers, scheduler : optional
        As :func:`model.runs.execution.execute`; by default batches estimated under
        :data:`AUTO_LOCAL_SECONDS` run in this process, larger ones on one worker per core.
    out : str or Path, optional
        Output folder (checked by :func:`~model.runs.outputs.check_output_folder`), as
        ``emigsim run --out``; without it nothing is written but a temporary store.
    fresh : bool
        Start a new store instead of resuming the folder's: the old one is moved aside
        (``OUT/store.old-<pid>-<id>``) and deleted only once the new outputs are in
        place; if the new runs fail or are killed it stays, whole.
    progress : bool
        Progress bar.
    argv : sequence of str, optional
        Command line for the manifest (default ``sys.argv``).
    accept_long : bool
        Start a batch estimated to take longer than
        :func:`~model.runs.sizing.long_batch_hours` (``--yes``).
    on_start : callable, optional
        Called once everything is checked, just before the first thing is written, with
        the batch's :class:`~model.runs.sizing.BatchEstimate` (None for the single run).
    posterior : "default", None, path or Posterior
        Parameter draws of the replicates (:func:`model.posterior.resolve_posterior`):
        ``"default"`` the shipped posterior (registry defaults, with a notice, while its
        file is missing), None the registry defaults, or another posterior file. Replicate
        ``r`` of every scenario takes draw ``r mod n_draws``; parameters a scenario sets
        explicitly win over the draw. ``results.info["posterior"]`` (and the manifest)
        records the file, its sha256, its number of draws and the draws used, or why
        there was none.
    on_notice : callable, optional
        Receives each one-line notice (no posterior file yet, more replicates than
        draws) just before ``on_start``; default: a :class:`~model.posterior.PosteriorNotice`
        warning.

    Returns
    -------
    BatchOutcome
        With ``results`` None and ``report.errors`` listing them when runs failed (the
        folder's outputs are then left as they were; finished runs stay in its store).

    Raises
    ------
    model.runs.outputs.OutputFolderError, model.runs.store.StoreConflictError, ValueError
        Before any run (a :class:`~model.posterior.PosteriorError`, a ValueError, for a
        posterior file that is missing or invalid).
    model.runs.scheduler.SchedulerError, model.runs.sizing.BatchSizeError
        Before anything is written: the scheduler cannot be used, or the batch (estimated
        before its run list is built) does not fit or takes too long.
    model.runs.execution.BatchInterrupted
        On Ctrl-C during the batch (the finished runs stay in the store).
    """
    scenarios = list(scenarios)
    if not scenarios:
        raise ValueError("no scenario to run")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, not {replicates}")
    _check_scenarios(scenarios)
    argv = list(sys.argv) if argv is None else list(argv)
    out = None if out is None else Path(out)
    if out is not None:
        check_output_folder(out, kind="run" if len(scenarios) == 1 else "compare")
    post, none_text, notice = resolve_posterior(posterior)
    notices = [n for n in (notice, post and wrap_notice(post, replicates)) if n]

    def record() -> dict | str:
        # what the manifest records: the posterior and the draw of each replicate (the
        # same for every scenario), or why there was none; built only once the batch is
        # known to fit (a list of a billion draws would not)
        return post.record([post.index(r) for r in range(replicates)]) if post else none_text

    def started(estimate: BatchEstimate | None) -> None:
        for text in notices:
            if on_notice is not None:
                on_notice(text)
            else:
                warnings.warn(text, PosteriorNotice, stacklevel=4)
        if on_start is not None:
            on_start(estimate)

    has_store = out is not None and has_batch_store(out)
    if len(scenarios) == 1 and replicates == 1 and not scheduler \
            and not (has_store and not fresh):
        # the single run's draw, checked before anything is written
        single = apply_draw(scenarios[0], post.draw(0), f"{post.path}, draw 0") \
            if post else scenarios[0]
        started(None)
        aside = None
        if has_store:  # fresh: the single run replaces the batch; its store goes aside
            assert out is not None
            aside = set_aside(out / "store", on_aside=lambda p: claim_output_folder(
                out, "run", folders=[p.name]))
        return _run_single(scenarios[0], single, seed, out, progress, argv, record(), aside)
    # the batch is sized, and the scheduler reached, before its run list is built or
    # anything is written
    example = RunSpec("estimate", scenarios[0], 1, 1)
    n_runs = len(scenarios) * replicates
    with Executor(auto_workers(workers, scheduler, n_runs, example), scheduler,
                  progress=False) as ex:
        est = plan_batch(ex, example, n_runs, out if out is not None else
                         Path(tempfile.gettempdir()), accept_long=accept_long)
        # every replicate's draw is applied (and checked) before anything is written
        specs = [s for i, sc in enumerate(scenarios)
                 for s in replicate_specs(sc, seed, replicates, point=i, posterior=post)]
        started(est)
        drawn = record()
        if out is not None:
            return _run_batch(scenarios, specs, seed, replicates, ex, out, fresh, progress,
                              argv, drawn)
        try:
            with tempfile.TemporaryDirectory(prefix="emigsim-store-") as tmp:
                outcome = _run_batch(scenarios, specs, seed, replicates, ex, Path(tmp), False,
                                     progress, argv, drawn, write=False)
        except BatchInterrupted as exc:  # its store was temporary: nothing is kept
            raise KeyboardInterrupt(f"interrupted after {exc.done} of {exc.total} runs; "
                                    "without an output folder nothing is kept") from None
    outcome.store_path = None
    return outcome


def _run_single(scenario: Scenario, used: Scenario, seed: int, out: Path | None,
                progress: bool, argv: Sequence[str], record: dict | str,
                aside: Path | None = None) -> BatchOutcome:
    """One replicate in this process: ``used`` is ``scenario`` with its draw applied."""
    from model.runs.runner import run as run_here

    started = datetime.now(UTC)
    results = run_here(used, seed=seed, replicates=1, progress=progress)
    results.info["posterior"] = record
    ended = datetime.now(UTC)
    written = None
    if out is not None:
        written = write_run_folder(out, scenario, results, seed=seed, argv=argv,
                                   started=started, ended=ended,
                                   discard=[aside] if aside else [])
    if not isinstance(results, ResultSet):  # a stand-in runner (tests) returns its own
        results = ResultSet(results.series, results.info)
    return BatchOutcome(results, written=written)


def _run_batch(scenarios: list[Scenario], specs: list[RunSpec], seed: int, replicates: int,
               executor: Executor, out: Path, fresh: bool, progress: bool,
               argv: Sequence[str], record: dict | str, write: bool = True) -> BatchOutcome:
    started = datetime.now(UTC)
    scenario = scenarios[0]
    kind = "run" if len(scenarios) == 1 else "compare"
    # the marker lists store/ (and an old store --fresh moves aside) before they change
    claim = (lambda p: claim_output_folder(out, "batch", folders=["store", p.name])) \
        if write else None
    store = open_store(out / "store", specs, fresh=fresh,
                       batch={"kind": kind, "scenario": scenario.resolved(),
                              "scenarios": [sc.name for sc in scenarios], "seed": seed,
                              "replicates": replicates, "created": started.isoformat()},
                       on_aside=claim)
    if write:
        claim_output_folder(out, "batch", folders=["store"])
    report = execute(specs, store, executor=executor, progress=progress,
                     label=" vs ".join(sc.name for sc in scenarios)[:40])
    executor.close()  # the workers are not needed to read and write the results
    if not report.complete:
        return BatchOutcome(None, report, store.path, set_aside=store.replaced)
    n_households, n_persons = population_size(specs[0].scenario, specs[0].seed)
    batch = {"total": report.total, "done": report.done, "skipped": report.skipped,
             "failed": report.failed}
    info = {"n_households": n_households, "n_persons": n_persons, "scale": scenario.scale,
            "replicate_seeds": [s.seed for s in specs],
            "runtime_s": round((datetime.now(UTC) - started).total_seconds(), 3),
            "batch": batch, "posterior": record}
    # the labels are this batch's names: a run stored under another name is the same run
    results = ResultSet.from_store(store, [s.run_id for s in specs],
                                   [sc.name for sc in scenarios], info,
                                   labels={s.run_id: s.scenario.name for s in specs})
    written = None
    if write:
        written = write_batch_folder(out, scenarios, results, seed=seed, argv=argv,
                                     started=started, batch=batch,
                                     discard=[store.replaced] if store.replaced else [])
    return BatchOutcome(results, report, store.path, written)


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _results(outcome: BatchOutcome) -> ResultSet:
    if outcome.results is None:
        assert outcome.report is not None
        raise BatchFailedError(outcome.report, outcome.store_path)
    return outcome.results


def run(scenario: Scenario | str | Path = "baseline", *, seed: int = 1, replicates: int = 1,
        workers: int | None = None, scheduler: str | None = None,
        out: str | Path | None = None, fresh: bool = False,
        progress: bool = False, accept_long: bool = False,
        posterior: str | Path | Posterior | None = "default") -> ResultSet:
    """Run ``replicates`` replicates of a scenario, as ``emigsim run`` does.

    Parameters
    ----------
    scenario : Scenario, str or Path
        A scenario, or the path of a scenario file.
    seed : int
        Base seed; replicate seeds derive from it.
    replicates : int
        Number of replicates (at least 1).
    workers : int, optional
        Worker processes for a batch (0: this process; default: this process for small
        batches, else one per core).
    scheduler : str, optional
        Address of a running Dask scheduler.
    out : str or Path, optional
        Write the folder ``emigsim run --out`` writes (``series.csv``, ``manifest.json``,
        ``figures/``, and ``store/`` for a batch); default: write nothing.
    fresh : bool
        Start a new store in ``out`` instead of resuming it (the old one is kept aside
        until the new outputs are in place).
    progress : bool
        Show a progress bar.
    accept_long : bool
        Start a batch estimated to take more than 24 hours anyway (see
        :mod:`model.runs.sizing`).
    posterior : "default", None, str or Path
        ``"default"``: replicate ``r`` takes draw ``r mod n_draws`` of the shipped
        posterior (:mod:`model.posterior`; the registry defaults, with a notice, while its
        file does not exist); None: the registry defaults (``--no-posterior``); a path:
        that posterior file. Parameters the scenario sets explicitly win over the draw.

    Returns
    -------
    ResultSet

    Raises
    ------
    BatchFailedError
        When runs of a batch failed (finished runs stay in ``out/store``).
    model.runs.scheduler.SchedulerError, model.runs.sizing.BatchSizeError
        Before anything is written, for a scheduler that cannot be used or a batch that
        does not fit this machine or cluster.

    Examples
    --------
    >>> import model as em
    >>> res = em.run(em.Scenario(scale=4000, end=2012), seed=3)
    >>> int(res.info["n_households"]) > 0
    True
    """
    outcome = run_scenarios([_scenario(scenario)], seed=seed, replicates=replicates,
                            workers=workers, scheduler=scheduler, out=out, fresh=fresh,
                            progress=progress, accept_long=accept_long, posterior=posterior)
    return _results(outcome)


def compare(scenarios: Sequence[Scenario | str | Path], *, seed: int = 1, replicates: int = 5,
            workers: int | None = None, scheduler: str | None = None,
            out: str | Path | None = None, fresh: bool = False,
            progress: bool = False, accept_long: bool = False,
            posterior: str | Path | Posterior | None = "default") -> ResultSet:
    """Run several scenarios with paired replicates, as ``emigsim compare`` does.

    Replicate ``r`` of every scenario uses the same seed (common random numbers) and the
    same posterior draw, so :meth:`ResultSet.paired_differences` isolates each scenario's
    effect from the draw's. Parameters as :func:`run`; the first scenario is the
    reference. With ``out`` the folder also holds ``differences.csv``.

    Examples
    --------
    >>> import dataclasses
    >>> import model as em
    >>> a = em.Scenario(scale=4000, end=2012)
    >>> b = dataclasses.replace(a, name="same_as_a")
    >>> res = em.compare([a, b], replicates=2, workers=0)
    >>> d = res.paired_differences()
    >>> sorted(d["scenario"].unique()), float(d["mean"].abs().max())
    (['same_as_a'], 0.0)
    """
    scs = [_scenario(sc) for sc in scenarios]
    if len(scs) < 2:
        raise ValueError("compare needs at least two scenarios")
    outcome = run_scenarios(scs, seed=seed, replicates=replicates, workers=workers,
                            scheduler=scheduler, out=out, fresh=fresh, progress=progress,
                            accept_long=accept_long, posterior=posterior)
    return _results(outcome)
