"""Least-squares Kazakh / other fertility ratio across regions (``kazakh_fertility_ratio``).

Method: on the model's synthetic women of 1 January 2012 (scale 50, seed 1), ``M_kazakh[r]``
and ``M_other[r]`` are the sums of the fertility shape over the Kazakh and the other women
at home of region ``r``; the births a region should have at its mean crude birth rate of
2012-2018 (BNS) are ``B[r] = cbr[r] * population[r]``. Fit ``B[r] = a * M_kazakh[r] + b *
M_other[r]`` by least squares without intercept, once over the 16 regions and once over the
4 regions whose ethnic shares come from the 2009 census (Akmola, Kostanay, Pavlodar, North
Kazakhstan); the ratio is ``a / b``. The implied total fertility of each group is
``a * sum(shape)`` and ``b * sum(shape)``.

Usage::

    .venv/bin/python calibration/fertility/fit_ethnic_ratio.py
"""

from __future__ import annotations

import numpy as np

from model import datasets
from model.core import fertility as fert
from model.core.population import HOME, synthesize
from model.params import defaults
from model.simulation import age_tables


def main(scale: float = 50.0, seed: int = 1) -> None:
    """Print the two least-squares ratios and the Kazakh share of the mass by region."""
    p = defaults()
    _, pp = synthesize(p, scale=scale, seed=seed)
    shape = age_tables(p).fertility
    women = (pp.sex == 1) & (pp.status == HOME)
    mk, mo = fert.women_mass(pp.region[women], pp.ethnicity[women], shape[pp.age[women]])
    births = fert.observed_birth_rate() * np.bincount(pp.region, minlength=len(mk))
    observed = [datasets.REGIONS.index(r)
                for r in ("Akmola", "Kostanay", "Pavlodar", "North Kazakhstan")]
    for label, rows in (("16 regions", slice(None)), ("4 census regions", observed)):
        x = np.c_[mk[rows], mo[rows]]
        (a, b), *_ = np.linalg.lstsq(x, births[rows], rcond=None)
        print(f"{label:18s} ratio {a / b:6.2f}   implied TFR Kazakh {a * shape.sum():5.2f}"
              f"  other {b * shape.sum():5.2f}")
    share = mk / (mk + mo)
    print("Kazakh share of the fertility mass by region:",
          " ".join(f"{s:.2f}" for s in share))
    print("(12 regions share one filled ethnic mix in datasets.ethnicity_by_region, so the "
          "cross-regional fit reads regional differences as ethnic: not identified)")


if __name__ == "__main__":
    main()
