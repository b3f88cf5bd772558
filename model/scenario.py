"""Scenarios: a resolved set of parameters plus the run window and scale.

A scenario file is TOML. ``extends = "baseline.toml"`` (relative to the file) inherits
another file; keys set here override it.

Examples
--------
>>> from model.scenario import Scenario
>>> s = Scenario()
>>> (s.start, s.end)
(2012, 2018)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from model.params import defaults

__all__ = ["Scenario", "ScenarioError", "DEFAULT_SCALE", "FIRST_YEAR", "LAST_YEAR", "load_scenario"]

FIRST_YEAR = 2012
"""Year of the synthetic population (1 January)."""
LAST_YEAR = 2050
"""Last year a run may reach."""
DEFAULT_SCALE = 50.0
"""Real households per simulated household when neither file nor CLI sets a scale."""


class ScenarioError(ValueError):
    """A scenario or experiment file is invalid; the message is one line naming file and key."""


@dataclass(frozen=True)
class Scenario:
    """A fully resolved scenario.

    Parameters
    ----------
    name : str
        Short name, used in the ``scenario`` column of results.
    description : str
        One or two sentences for people.
    params : dict
        The full parameter set (defaults updated with the file's overrides).
    overrides : dict
        Only what the file (and the files it extends) set.
    start, end : int
        First and last simulated calendar year (inclusive). The population is built on
        1 January 2012; a later ``start`` simulates from 2012 and records from ``start``.
    scale : float
        Real households represented by one simulated household (1 = full population).
    source : str or None
        Path of the file it was loaded from.

    Examples
    --------
    >>> Scenario(name="x", scale=100).with_run(end=2020).end
    2020
    """

    name: str = "baseline"
    description: str = ""
    params: dict = field(default_factory=defaults)
    overrides: dict = field(default_factory=dict)
    start: int = FIRST_YEAR
    end: int = 2018
    scale: float = DEFAULT_SCALE
    source: str | None = None

    def with_run(self, *, start: int | None = None, end: int | None = None,
                 scale: float | None = None) -> Scenario:
        """Return a copy with the run window or scale replaced where given."""
        return replace(self, start=self.start if start is None else int(start),
                       end=self.end if end is None else int(end),
                       scale=self.scale if scale is None else float(scale))

    def resolved(self) -> dict:
        """Return a JSON-ready dict of everything that defines the scenario."""
        return {"name": self.name, "description": self.description, "source": self.source,
                "start": self.start, "end": self.end, "scale": self.scale,
                "overrides": dict(self.overrides), "params": dict(self.params)}


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (filled in by the scenario-file module)."""
    raise NotImplementedError
