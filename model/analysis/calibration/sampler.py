"""A pyABC sampler whose result depends only on the seed, not on workers or timing.

pyABC's parallel samplers accept particles in the order their simulations finish, and
reseed the global random state from entropy, so two runs of the same calibration differ.
:class:`OrderedBatchSampler` evaluates proposals in index-ordered batches instead:

1. for evaluation ``j`` of generation ``t`` it seeds numpy's (and Python's) global random
   state from ``(seed, t, j)`` and lets pyABC draw the proposal; the model call stops it
   there (:class:`ReplayModel` raises :class:`Proposed`);
2. the batch's proposals are simulated together (``simulate(t, indices, proposals)``: on the
   Dask executor, in this process, or a toy function), each with model seeds from
   ``(seed, t, j)``;
3. each evaluation is replayed in index order from the same seed: pyABC draws the same
   proposal again, the model returns the stored summaries, and pyABC's acceptor decides
   (its random draw also comes from the seeded state). The first ``n`` accepted by index
   make the generation.

The batch sizes depend only on what was accepted so far, so any number of workers gives
the same particles. Simulations of a batch past the ``n``-th acceptance are wasted work
(counted in :attr:`OrderedBatchSampler.n_simulated`, not in pyABC's evaluations).

Examples
--------
>>> import numpy as np
>>> m = ReplayModel()
>>> try:
...     m({"a": 1.0})
... except Proposed as p:
...     p.params
{'a': 1.0}
>>> m.replay = {"y": 2.0}
>>> m({"a": 1.0})
{'y': 2.0}
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

import numpy as np
from pyabc.sampler import Sampler

__all__ = ["OrderedBatchSampler", "ReplayModel", "Proposed", "rng_seed"]

BatchSimulator = Callable[[int, Sequence[int], Sequence[dict]], list[dict]]
"""``simulate(generation, indices, proposals) -> summaries``, one dict per proposal."""


class Proposed(Exception):  # noqa: N818 - a signal, not an error
    """Raised by :class:`ReplayModel` to hand a proposal back to the sampler."""

    def __init__(self, params: dict):
        super().__init__("proposal")
        self.params = params


class ReplayModel:
    """The model pyABC calls: raises :class:`Proposed`, or returns the stored summaries."""

    __name__ = "emigsim"

    def __init__(self) -> None:
        self.replay: dict | None = None

    def __call__(self, pars) -> dict:
        """Hand the proposal back (no stored summaries), or return the stored ones."""
        if self.replay is None:
            raise Proposed({k: float(v) for k, v in dict(pars).items()})
        out, self.replay = self.replay, None
        return out


def rng_seed(seed: int, generation: int, index: int) -> int:
    """Seed of pyABC's random draws (proposal, acceptance) for one evaluation.

    Examples
    --------
    >>> rng_seed(1, 0, 3) == rng_seed(1, 0, 3), rng_seed(1, 0, 3) == rng_seed(1, 1, 3)
    (True, False)
    """
    ss = np.random.SeedSequence([int(seed), int(generation) + 10, int(index), 2**20])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


class OrderedBatchSampler(Sampler):
    """Deterministic batch sampler for :class:`pyabc.ABCSMC` (see the module notes).

    Parameters
    ----------
    simulate : callable
        ``simulate(generation, indices, proposals) -> list of summary dicts``.
    model : ReplayModel
        The model object given to :class:`pyabc.ABCSMC`.
    seed : int
        The calibration's seed.
    min_batch, max_batch : int
        Fewest and most evaluations in a batch (the first batch of a generation has ``n``;
        default most: ``20 n``).
    max_simulations : float
        Simulations (of this sampler) after which no new batch starts (from the second
        generation on: the first one always finishes).
    deadline : float, optional
        ``time.monotonic()`` after which no new batch starts (idem).
    report : callable, optional
        ``report(generation, accepted, evaluated, simulated, seconds)`` after each
        generation.
    """

    def __init__(self, simulate: BatchSimulator, model: ReplayModel, seed: int, *,
                 min_batch: int = 8, max_batch: int | None = None,
                 max_simulations: float = math.inf, deadline: float | None = None,
                 report: Callable | None = None):
        super().__init__()
        self.simulate = simulate
        self.model = model
        self.seed = int(seed)
        self.min_batch = int(min_batch)
        self.max_batch = max_batch
        self.max_simulations = max_simulations
        self.deadline = deadline
        self.report = report
        self.n_simulated = 0
        self.simulated_by_generation: dict[int, int] = {}

    def _seed(self, t: int, j: int) -> None:
        s = rng_seed(self.seed, t, j)
        np.random.seed(s)  # noqa: NPY002 - pyABC draws from the global state
        random.seed(s)

    def _propose(self, simulate_one, t: int, j: int) -> dict:
        self._seed(t, j)
        try:
            simulate_one()
        except Proposed as p:
            return p.params
        raise RuntimeError("the model did not ask for a simulation")  # pragma: no cover

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                all_accepted=False, ana_vars=None):  # noqa: ARG002
        """Evaluate index-ordered batches until ``n`` are accepted (or ``max_eval``)."""
        started = time.perf_counter()
        sample = self._create_empty_sample()
        accepted = evaluated = simulated = j = 0
        size = int(n)
        while accepted < n and j < max_eval:
            # budgets end a generation between batches (pyABC then keeps the last whole
            # generation); the simulation budget is reproducible, the deadline is not.
            # The prior sample and the first generation always finish, so that even a
            # small budget ends with a population.
            over = self.n_simulated + simulated >= self.max_simulations or (
                self.deadline is not None and time.monotonic() > self.deadline)
            if over and t > 0:
                break
            size = int(min(size, max_eval - j)) if math.isfinite(max_eval) else size
            indices = list(range(j, j + size))
            proposals = [self._propose(simulate_one, t, i) for i in indices]
            summaries = self.simulate(t, indices, proposals)
            simulated += size
            for i, params, stats in zip(indices, proposals, summaries, strict=True):
                self._seed(t, i)
                self.model.replay = stats
                particle = simulate_one()
                if {k: float(v) for k, v in particle.parameter.items()} != params:
                    raise RuntimeError("a replayed proposal differs from the simulated one")
                sample.append(particle)
                evaluated = i + 1
                if particle.accepted:
                    accepted += 1
                    if accepted == n:
                        break
            j += size
            # the next batch from the acceptance rate so far (depends on data only)
            rate = max(accepted / max(evaluated, 1), 1.0 / (20 * n))
            size = max(self.min_batch, min(self.max_batch or 20 * n,
                                           math.ceil(1.2 * (n - accepted) / rate)))
        self.nr_evaluations_ = evaluated
        self.n_simulated += simulated
        self.simulated_by_generation[int(t)] = simulated
        if accepted < n:
            sample.ok = False
        if self.report is not None:
            self.report(int(t), accepted, evaluated, simulated, time.perf_counter() - started)
        return sample
