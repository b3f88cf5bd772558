"""The yearly effects object: what every active intervention adds, per household slot.

Each year the model makes one :class:`Effects` for its households, adds every active
intervention with the slots it reaches, and the decision reads it. Nothing carries over
to the next year: a window's end ends its effect. Accumulation across interventions:

* utility shifts (rows CIS, non-CIS, labour, study) add; ``emigrate`` shifts both
  destinations, ``stay`` subtracts from all four (stay is the reference, utility 0);
* optimism shifts add, and the sum is clipped so that the optimism decided with stays in
  [0, 1]; income shifts add; both become utility shifts through the year's parameters
  (:meth:`Effects.utility_shifts`);
* realisation multipliers multiply (``1 + magnitude`` each);
* context switches set a flag of the year's context (two rows may not disagree on a
  switch in the same year; the scenario loader refuses that).

Arrays are made only for the levers in use, so a year without interventions costs
nothing and the decision takes its unchanged path.

Examples
--------
>>> import numpy as np
>>> from model.interventions.rows import Intervention
>>> fx = Effects(3)
>>> fx.add(Intervention("a", "utility_shift", 2013, 2013, magnitude=0.5,
...                     alternative="labour"), np.array([0, 2]))
>>> fx.add(Intervention("b", "utility_shift", 2013, 2013, magnitude=0.25,
...                     alternative="labour"), np.array([2]))
>>> fx.utility[2].tolist(), fx.reached
([0.5, 0.0, 0.75], {'a': 2, 'b': 1})
"""

from __future__ import annotations

import numpy as np

from model.interventions.registry import SWITCHES
from model.interventions.rows import Intervention

__all__ = ["Effects", "UTILITY_ROWS", "NO_SHIFTS"]

UTILITY_ROWS = {"emigrate": (0, 1), "labour": (2,), "study": (3,), "stay": (0, 1, 2, 3)}
"""Rows of the (4, households) utility-shift array (CIS, non-CIS, labour, study) that a
``utility_shift`` of each alternative moves (``stay`` with the opposite sign)."""
_REALISATION_ROW = {"emigrate": 1, "labour": 2, "study": 3}  # choice codes
_ROW_COEF = {"b_optimism": ("b_optimism_emigrate", "b_optimism_emigrate", "b_optimism_labour",
                            "b_optimism_study"),
             "b_income": ("b_income_emigrate", "b_income_emigrate", "b_income_labour",
                          "b_income_study")}
NO_SHIFTS = np.zeros((4, 0), dtype=np.float32)
"""What the compiled utility pass takes for "no shifts"."""
_F32 = np.float32


class Effects:
    """One year's accumulated intervention effects for ``n`` household slots.

    Attributes
    ----------
    utility : ndarray or None
        (4, n) float32 utility shifts of CIS, non-CIS, labour and study.
    optimism, income : ndarray or None
        (n,) float32 optimism shift and income shift (log points).
    realisation : ndarray or None
        (4, n) float32 multipliers of the realisation rate by choice code (row 0, stay,
        stays 1).
    context : dict
        Flags of :class:`model.core.decisions.Context` to override (``compatriot_on``,
        ``eaeu_on``).
    reached : dict
        Simulated households reached, by intervention name (active interventions only).
    cost : dict
        Their cost this year in simulated households x ``cost_per_household``.

    Examples
    --------
    >>> Effects(4).utility_shifts({}, np.zeros(4, np.float32)) is None
    True
    """

    def __init__(self, n: int):
        self.n = int(n)
        self.utility: np.ndarray | None = None
        self.optimism: np.ndarray | None = None
        self.income: np.ndarray | None = None
        self.realisation: np.ndarray | None = None
        self.context: dict[str, bool] = {}
        self.reached: dict[str, int] = {}
        self.cost: dict[str, float] = {}

    def _array(self, attr: str, shape: tuple[int, ...], fill: float) -> np.ndarray:
        if getattr(self, attr) is None:
            setattr(self, attr, np.full(shape, fill, dtype=_F32))
        return getattr(self, attr)

    def add(self, iv: Intervention, slots: np.ndarray) -> None:
        """Add one active intervention that reaches the household ``slots`` (int indices).

        For a context switch ``slots`` are the households that meet the year's context
        (every deciding household); they are counted as reached.
        """
        self.reached[iv.name] = len(slots)
        self.cost[iv.name] = len(slots) * iv.cost_per_household
        m = _F32(iv.magnitude)
        if iv.type == "context":
            self.context[SWITCHES[iv.switch]] = bool(iv.on)
        elif iv.type == "utility_shift":
            u = self._array("utility", (4, self.n), 0.0)
            sign = _F32(-1.0) if iv.alternative == "stay" else _F32(1.0)
            for row in UTILITY_ROWS[iv.alternative]:
                u[row, slots] += sign * m
        elif iv.type == "optimism_shift":
            self._array("optimism", (self.n,), 0.0)[slots] += m
        elif iv.type == "income_shift":
            self._array("income", (self.n,), 0.0)[slots] += m
        elif iv.type == "realisation_multiplier":
            row = _REALISATION_ROW[iv.alternative]
            self._array("realisation", (4, self.n), 1.0)[row, slots] *= _F32(1.0) + m
        else:  # the registry and this method must name the same levers
            raise ValueError(f"no effect defined for lever type {iv.type!r}")

    def utility_shifts(self, params: dict, optimism: np.ndarray) -> np.ndarray | None:
        """All utility effects as one (4, n) float32 array, or None when there are none.

        ``optimism`` is the households' optimism at decision time: an optimism shift moves
        each alternative by ``b_optimism_<alt> * (clip(optimism + shift, 0, 1) -
        optimism)``; an income shift ``x`` by ``-b_income_<alt> * x`` (the household's own
        income enters every gap with a minus sign, see :mod:`model.core.decisions`).

        Examples
        --------
        >>> from model.params import defaults
        >>> fx = Effects(2)
        >>> fx.optimism = np.array([0.5, 0.5], np.float32)
        >>> s = fx.utility_shifts(defaults(), np.array([0.2, 0.9], np.float32))
        >>> [round(float(x), 3) for x in s[0]]  # b_optimism_emigrate = -2; the second capped at 1
        [-1.0, -0.2]
        """
        if self.utility is None and self.optimism is None and self.income is None:
            return None
        out = np.zeros((4, self.n), dtype=_F32) if self.utility is None else self.utility.copy()
        terms = []
        if self.optimism is not None:
            opt = optimism.astype(_F32, copy=False)
            terms.append(("b_optimism", np.clip(opt + self.optimism, _F32(0.0), _F32(1.0)) - opt))
        if self.income is not None:
            terms.append(("b_income", -self.income))
        for family, change in terms:
            for row, name in enumerate(_ROW_COEF[family]):
                out[row] += _F32(params[name]) * change
        return out

    def realisation_rates(self, rate: np.ndarray, choice: np.ndarray,
                          slots: np.ndarray) -> np.ndarray | None:
        """Realisation rate of each chooser's choice, or None without multipliers.

        ``rate`` is the (4,) float32 rate by choice code, ``choice`` the choosers' codes and
        ``slots`` their household slots; the result is ``min(rate[choice] * multiplier,
        1)`` in float32 (equal to ``rate[choice]`` where the multiplier is 1).

        Examples
        --------
        >>> fx = Effects(2)
        >>> fx.realisation = np.array([[1, 1], [3, 1], [1, 1], [1, 1]], np.float32)
        >>> rate = np.array([0, 0.5, 0.1, 0.1], np.float32)
        >>> fx.realisation_rates(rate, np.array([1, 1]), np.array([0, 1])).tolist()
        [1.0, 0.5]
        """
        if self.realisation is None:
            return None
        return np.minimum(rate[choice] * self.realisation[choice, slots], _F32(1.0))
