"""Interventions as data: lever types, targets, windows and the yearly effects object.

Inputs layer (imports ``model.params`` and ``model.datasets`` only). A scenario's
``[[interventions]]`` rows become :class:`Intervention` values (:mod:`.rows`), each a lever
of the registry (:mod:`.registry`, *what* it does) with a target (:mod:`.targets`, *whom*
it reaches) and a window (*when*). Each simulated year the model adds the active ones to
one :class:`Effects` (:mod:`.effects`) that the decision reads.

Examples
--------
>>> from model.interventions import LEVERS, parse_intervention
>>> iv = parse_intervention({"type": "income_shift", "magnitude": 0.1, "start": 2013,
...                          "end": 2014, "target": {"children": True}, "name": "kids"})
>>> iv.target.children, LEVERS[iv.type].unit
(True, 'log points of own income')
"""

from model.interventions.effects import NO_SHIFTS, Effects
from model.interventions.registry import ALTERNATIVES, LEVERS, SWITCHES, InterventionError, Lever
from model.interventions.rows import (
    DESIGN_FIELDS,
    Intervention,
    parse_intervention,
    with_design_value,
)
from model.interventions.targets import (
    HouseholdAttributes,
    Target,
    parse_target,
    unreachable_in_2012,
)

__all__ = ["ALTERNATIVES", "DESIGN_FIELDS", "LEVERS", "NO_SHIFTS", "SWITCHES", "Effects",
           "HouseholdAttributes", "Intervention", "InterventionError", "Lever", "Target",
           "parse_intervention", "parse_target", "unreachable_in_2012", "with_design_value"]
