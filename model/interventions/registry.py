"""The registry of intervention lever types: what each does, in which unit, within which bounds.

A lever is *what* an intervention does; *who* it reaches (:mod:`.targets`) and *when* (its
window) are kept apart, as Starsim keeps products apart from their delivery. Every lever
whose ``bounds`` contain 0 (or, for the realisation multiplier, whose magnitude is the
relative change) does nothing at magnitude 0, so a scenario whose magnitudes are all 0
reproduces the scenario without interventions.

Examples
--------
>>> LEVERS["utility_shift"].bounds
(-5.0, 5.0)
>>> sorted(SWITCHES)
['compatriot_programme', 'eaeu']
"""

from __future__ import annotations

from dataclasses import dataclass

from model.params import RowError

__all__ = ["Lever", "LEVERS", "ALTERNATIVES", "SWITCHES", "InterventionError"]

ALTERNATIVES = ("emigrate", "labour", "study", "stay")
"""Alternatives of the household decision a lever may name (``stay`` is the reference)."""

SWITCHES = {"compatriot_programme": "compatriot_on", "eaeu": "eaeu_on"}
"""Context switches: the name in scenario files -> the flag of the year's context
(:class:`model.core.decisions.Context`) it overrides."""


@dataclass(frozen=True)
class Lever:
    """One intervention type.

    Attributes
    ----------
    name : str
        The registry key (``type`` in a scenario file).
    unit : str
        Unit of ``magnitude`` (empty for levers without one).
    bounds : tuple of float or None
        Inclusive bounds of ``magnitude``; None when the lever takes no magnitude.
    alternatives : tuple of str
        Values allowed for ``alternative`` (empty: the lever takes no alternative).
    households : bool
        True when it reaches households (``target``, ``uptake``); False for a national
        context switch, which every deciding household meets.
    doc : str
        What the lever does in the model.

    Examples
    --------
    >>> LEVERS["context"].households
    False
    """

    name: str
    unit: str
    bounds: tuple[float, float] | None
    alternatives: tuple[str, ...]
    households: bool
    doc: str


_LEVERS = [
    Lever("utility_shift", "utility", (-5.0, 5.0), ALTERNATIVES, True,
          "Adds magnitude to the utility of one alternative for every reached household; "
          "for stay it subtracts magnitude from every other alternative (the same choice "
          "probabilities as raising stay, the reference with utility 0)."),
    Lever("optimism_shift", "optimism (0-1 scale)", (-1.0, 1.0), (), True,
          "Raises the optimism the household decides with by magnitude (clipped to [0, 1]); "
          "it enters every alternative through its b_optimism_* coefficient. The optimism "
          "state itself, and its random walk, are untouched."),
    Lever("income_shift", "log points of own income", (-1.0, 1.0), (), True,
          "Raises the household's own income in the utility by magnitude log points (0.1 is "
          "about 10% more), which narrows every income gap by magnitude: each alternative "
          "moves by -b_income_* x magnitude."),
    Lever("realisation_multiplier", "relative change of the realisation rate", (-1.0, 4.0),
          ALTERNATIVES[:3], True,
          "Multiplies realise_<alternative> by (1 + magnitude), capped at 1, for the reached "
          "households that intend that alternative; -1 stops them acting, 0 changes nothing."),
    Lever("context", "", None, (), False,
          "Sets a flag of the year's context (switch = compatriot_programme or eaeu) on or off "
          "for the window, for every household; the flag returns to its parameter-driven "
          "value after the window."),
]
LEVERS: dict[str, Lever] = {lever.name: lever for lever in _LEVERS}
"""Every lever type by its key."""


class InterventionError(RowError):
    """An intervention row is invalid (the key is the row's, e.g. ``target.region``).

    The scenario loader adds the file and the row number.

    Examples
    --------
    >>> str(InterventionError("uptake", "= 2 is outside [0, 1]", "a share from 0 to 1"))
    "key 'uptake' = 2 is outside [0, 1]; allowed: a share from 0 to 1"
    """
