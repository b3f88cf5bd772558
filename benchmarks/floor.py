"""How much of the 100x budget the unavoidable parts of an emigsim year already take.

Issue 2 asks for 100 times the plain-Mesa reference's household-years per second at 100k
households. This script asks whether that is reachable for a model with emigsim's content,
by timing, on a mid-run state (default: 100k households, the year 2024), the parts of a year
that no design of such a model can skip:

* the **decision**: utilities of four alternatives for every resident household (gathering
  its head, composition, region cell, optimism and contacts abroad), nested-logit
  probabilities and the two draws. Timed three ways: as the model does it (a compiled
  gather, numpy probabilities, a compiled draw pass), and fused into one compiled loop on 1
  and on 2 threads (numba ``prange``; an experiment kept here, not in the model: the choices
  it makes are checked against the model's and the count of differences is printed);
* the **census**: one compiled pass over the person table that finds who is at home in which
  household (members by kind, ties abroad, group counts). Every person-level model needs it;
* a **whole year** of the model (``EmigrationModel.step``), for comparison.

Each is compared with the **budget**: the time per year 100x the reference allows at this
number of households (reference microseconds per household-year / 100 x households). The
reference is measured here in a subprocess (``--ref-years`` years at ``--households``), or
given with ``--ref-us``.

Nothing is asserted: the script prints numbers (fastest of ``--repeat`` timings of each part,
because this shared machine swings by a third from minute to minute).

Usage (from the repository root)::

    python benchmarks/floor.py                      # 100k households, reference measured
    python benchmarks/floor.py --ref-us 6.95        # reference speed known (us/household-year)
    python benchmarks/floor.py --households 10000 --year 2018 --repeat 20
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "bench"
sys.path.insert(0, str(REPO))

import numba  # noqa: E402
from numba import njit, prange  # noqa: E402

from model import datasets  # noqa: E402
from model.core import kernels  # noqa: E402
from model.core.decisions import Context, nested_logit, utility_tables  # noqa: E402
from model.core.kernels import _N_ETH, _ix  # noqa: E402
from model.core.population import RESIDENT  # noqa: E402
from model.core.recorder import Recorder  # noqa: E402
from model.scenario import Scenario  # noqa: E402
from model.simulation import EmigrationModel, age_tables  # noqa: E402


@njit(nogil=True, parallel=True)
def fused_decision(choosers, region, ethnicity, diaspora, optimism, hh_head, age, edu, packed,
                   contacts, abroad_hh, tab, u_int, u_real, rate, choice, act, noncis):
    """The model's decision (utilities, nested logit, intention and realisation) in one loop.

    Term for term :func:`model.core.kernels.household_utilities`, then the float32 steps of
    :func:`model.core.decisions.nested_logit` and :func:`model.core.kernels.realise`, per household,
    over ``prange`` (households are independent, so any number of threads gives the same
    choices). Interventions' utility shifts are left out: the benchmark runs none.

    Why a copy of the kernel's gather rather than a shared helper: factoring the gather
    into a compiled function called by both made ``household_utilities`` twice as slow
    (measured with this script, 2.9 -> 5.9-6.3 ms a year at 100k), in the model's hot
    path. The copy is checked instead: ``main`` prints how many choices differ from the
    model's (0 so far).
    """
    # tables and coefficients read by name, into locals: numba's prange cannot lower
    # named tuples used inside the parallel loop
    cell_cis, cell_non = tab.cell.cis, tab.cell.noncis
    cell_lab, cell_stu = tab.cell.labour, tab.cell.study
    head_emi, head_lab, head_stu = tab.head.emigrate, tab.head.labour, tab.head.study
    family, coef = tab.family, tab.coef
    b_opt_emi, b_net_emi = coef.b_optimism_emigrate, coef.b_network_emigrate
    b_children = coef.b_children_emigrate
    b_opt_lab, b_net_lab = coef.b_optimism_labour, coef.b_network_labour
    b_opt_stu, b_net_stu = coef.b_optimism_study, coef.b_network_study
    k = contacts.shape[1]
    fk = np.float32(k)
    top_member = len(family) - 1
    half, zero, one = np.float32(0.5), np.float32(0.0), np.float32(1.0)
    ninf = np.float32(-np.inf)
    lam = coef.nest_scale
    for j in prange(len(choosers)):
        h = _ix(choosers[j])
        pk = packed[h]
        head = _ix(hh_head[h])
        hidx = _ix(min(age[head], 120) * 2 + (edu[head] == 2))
        c_ix = _ix((np.int64(region[h]) * _N_ETH + ethnicity[h]) * 2 + diaspora[h])
        count = 0
        for c in range(k):
            count += abroad_hh[_ix(contacts[h, c])]
        share = np.float32(count) / fk
        opt = optimism[h] - half
        dyn = (head_emi[hidx] + family[min(pk & 255, top_member)] + b_opt_emi * opt
               + b_net_emi * share)
        if (pk >> 8) & 255 > 0:
            dyn += b_children
        v_cis = cell_cis[c_ix] + dyn
        v_non = cell_non[c_ix] + dyn
        v_lab = cell_lab[c_ix] + head_lab[hidx] + b_opt_lab * opt + b_net_lab * share
        v_stu = cell_stu[c_ix] + head_stu[hidx] + b_opt_stu * opt + b_net_stu * share
        if (pk >> 16) & 255 == 0:
            v_lab = ninf
        if (pk >> 24) & 255 == 0:
            v_stu = ninf
        a = v_cis / lam
        b = v_non / lam
        m = max(a, b)
        if m == ninf:
            iv, nc = ninf, zero
        else:
            iv = lam * (m + np.log(np.exp(a - m) + np.exp(b - m)))
            nc = one / (one + np.exp(a - b))
        top = max(max(iv, v_lab), max(v_stu, zero))
        e_stay = np.exp(-top)
        e_emig = np.exp(iv - top)
        e_lab = np.exp(v_lab - top)
        e_stu = np.exp(v_stu - top)
        total = e_stay + e_emig + e_lab + e_stu
        p_emig, p_lab, p_stu = e_emig / total, e_lab / total, e_stu / total
        c1 = e_stay / total
        c2 = c1 + p_emig
        c3 = c2 + p_lab
        if p_stu == 0:
            c3 = one
            if p_lab == 0:
                c2 = one
                if p_emig == 0:
                    c1 = one
        u = u_int[h]
        ch = np.int8((u >= c1) + (u >= c2) + (u >= c3))
        choice[j] = ch
        act[j] = u_real[h] < rate[ch]
        noncis[j] = nc


def reference_us(ref_dir: Path, households: int, years: int) -> float:
    """Microseconds per household-year of ``mesa_ref.py``, run in a subprocess."""
    proc = subprocess.run([sys.executable, "mesa_ref.py", "--households", str(households),
                           "--years", str(years), "--seed", "1"],
                          cwd=ref_dir, capture_output=True, text=True)
    found = re.search(r"per_hh_year_us=([0-9.eE+-]+)", proc.stderr)
    if proc.returncode != 0 or not found:
        sys.exit(f"floor.py: the reference in {ref_dir} failed (exit {proc.returncode}); "
                 "give its speed with --ref-us")
    return float(found.group(1))


def fastest_ms(fn, repeat: int) -> float:
    """Fastest of ``repeat`` timings of ``fn()`` in milliseconds (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=100_000,
                    help="simulated households in 2012 (default 100000)")
    ap.add_argument("--year", type=int, default=2024,
                    help="the state is taken on 1 January of this year (default 2024)")
    ap.add_argument("--repeat", type=int, default=10, help="timings per part (default 10)")
    ap.add_argument("--ref-us", type=float, default=None,
                    help="reference microseconds per household-year (default: measure it)")
    ap.add_argument("--ref-years", type=int, default=8,
                    help="years of the reference run that measures it (default 8)")
    ap.add_argument("--ref-dir", type=Path, default=DEFAULT_REF_DIR)
    args = ap.parse_args(argv)
    if args.households < 1 or args.repeat < 1 or not 2013 <= args.year <= 2050:
        ap.error("--households and --repeat must be >= 1, --year in 2013..2050")

    if args.ref_us is None:
        print(f"measuring the reference ({args.households:,} households, {args.ref_years} "
              "years)...", file=sys.stderr, flush=True)
        ref_us = reference_us(args.ref_dir, args.households, args.ref_years)
    else:
        ref_us = args.ref_us
    budget_ms = ref_us / 100 * args.households / 1e3

    print(f"building emigsim at {args.households:,} households and running to "
          f"{args.year}...", file=sys.stderr, flush=True)
    real = (datasets.population_by_region(2012).sum()
            / Scenario().params["mean_household_size"])
    model = EmigrationModel(Scenario(scale=float(real / args.households), end=2050), seed=1)
    while model.year < args.year:
        model.step()
    hh, pp = model.households, model.persons
    sizes = (f"state on 1 January {args.year}: {hh.n:,} household slots, {pp.n:,} person "
             "slots")

    # 1. the model's own passes, timed in place over --repeat simulated years
    per_part, year_ms = time_passes(model, args.repeat)
    # 2. the decision fused into one compiled loop, on 1 and on all threads, on the state the
    # model has reached
    fused_rows, differ, n_c = time_fused_decision(model, args.repeat)

    print(f"\n{sizes}")
    print(f"reference: {ref_us:.3f} us per household-year; 100x that at "
          f"{args.households:,} households allows {budget_ms:.2f} ms per simulated year\n")
    rows = [(f"kernels.{name}" if name != "nested_logit" else "decisions.nested_logit (numpy)",
             min(times)) for name, times in per_part.items()]
    passes = sum(ms for _, ms in rows)
    rows.append(("all of these together", passes))
    rows.append((f"a whole model year (fastest of {len(year_ms)})", min(year_ms)))
    rows += fused_rows
    width = max(len(name) for name, _ in rows)
    print(f"{'part of a year (fastest of the timed years)':<{width}}  {'ms':>7}  "
          f"{'of the budget':>13}")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:>7.2f}  {ms / budget_ms:>13.0%}")
    print(f"\nthe compiled passes and the logit alone need {passes / budget_ms:.1f}x the budget "
          f"on one core; even both cores used perfectly would leave "
          f"{passes / 2 / budget_ms:.1f}x")
    print(f"fused vs model decision (on the state after the timed years): {differ} different "
          f"choices or realisations of {n_c:,} households")


def time_passes(model: EmigrationModel, years: int) -> tuple[dict[str, list[float]], list]:
    """Step the model ``years`` times, timing each compiled pass and the numpy logit inside.

    The model calls ``kernels.<name>`` and ``simulation.nested_logit`` through module
    attributes, so wrapping those attributes times the calls where they happen.
    """
    from model import simulation

    names = [n for n in kernels.__all__ if n not in ("uniform_of", "warm_up")]
    spent: dict[str, float] = {}
    originals = {n: getattr(kernels, n) for n in names}
    originals["nested_logit"] = simulation.nested_logit

    def timed(name, fn):
        def wrapper(*a, **kw):
            start = time.perf_counter()
            out = fn(*a, **kw)
            spent[name] = spent.get(name, 0.0) + 1e3 * (time.perf_counter() - start)
            return out
        return wrapper

    per_part: dict[str, list[float]] = {}
    year_ms = []
    try:
        for n in names:
            setattr(kernels, n, timed(n, originals[n]))
        simulation.nested_logit = timed("nested_logit", originals["nested_logit"])
        for _ in range(min(years, 2050 - model.year + 1)):
            spent.clear()
            start = time.perf_counter()
            model.step()
            year_ms.append(1e3 * (time.perf_counter() - start))
            for name, ms in spent.items():
                per_part.setdefault(name, []).append(ms)
    finally:
        for n in names:
            setattr(kernels, n, originals[n])
        simulation.nested_logit = originals["nested_logit"]
    return per_part, year_ms


def time_fused_decision(model: EmigrationModel, repeat: int) -> tuple[list, int, int]:
    """Time the model's decision and :func:`fused_decision` on 1 and on all threads."""
    hh, pp, p = model.households, model.persons, model.params
    counts = kernels.Census(np.zeros(Recorder.OUTSIDE + 1, dtype=np.int64),
                            np.zeros(hh.n, dtype=np.int64), np.zeros(hh.n, dtype=bool))
    kernels.census(kernels.PersonArrays.of(pp), Recorder.BAND_CODE, age_tables(p).pack, counts)
    packed, abroad_hh = counts.packed, counts.abroad
    choosers = np.flatnonzero((hh.status == RESIDENT) & (packed & 255 > 0))
    n_c = len(choosers)
    tab = utility_tables(p, Context.for_year(model.year, p))
    rng = np.random.default_rng(1)
    u_int = rng.random(hh.n, dtype=np.float32)
    u_real = rng.random(hh.n, dtype=np.float32)
    rate = np.array([0.0, p["realise_emigrate"], p["realise_labour"], p["realise_study"]],
                    dtype=np.float32)
    no_shifts = np.zeros((4, 0), dtype=np.float32)
    v = np.empty((4, n_c), dtype=np.float32)
    outs = {name: (np.empty(n_c, np.int8), np.empty(n_c, bool), np.empty(n_c, np.float32))
            for name in ("model", "fused")}

    def model_decision() -> None:
        kernels.household_utilities(choosers, kernels.HouseholdArrays.of(hh),
                                    kernels.PersonArrays.of(pp), counts, tab, no_shifts, v)
        prob = nested_logit(v[0], v[1], v[2], v[3], p["nest_scale"])
        choice, act, noncis = outs["model"]
        kernels.realise(choosers, prob, kernels.Draws(u_int, u_real), rate,
                        kernels.Choices(choice, act))
        noncis[:] = prob.noncis

    def fused() -> None:
        choice, act, noncis = outs["fused"]
        fused_decision(choosers, hh.region, hh.ethnicity, hh.diaspora, hh.optimism, hh.head,
                       pp.age, pp.edu, packed, hh.contacts, abroad_hh, tab, u_int, u_real, rate,
                       choice, act, noncis)

    rows = [("decision as the model makes it (gather, logit, draws)",
             fastest_ms(model_decision, repeat))]
    threads = numba.get_num_threads()
    for n in sorted({1, threads}):
        numba.set_num_threads(n)
        rows.append((f"decision fused, compiled, {n} thread{'s' * (n > 1)}",
                     fastest_ms(fused, repeat)))
    numba.set_num_threads(threads)
    differ = int((outs["model"][0] != outs["fused"][0]).sum()
                 + (outs["model"][1] != outs["fused"][1]).sum())
    return rows, differ, n_c


if __name__ == "__main__":
    main()
