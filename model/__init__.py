"""emigsim: an agent-based model of emigration from Kazakhstan.

The heavy parts (the simulation, pandas, matplotlib, Mesa) load on first use, so the
command line answers ``--help`` and bad input at once.

Examples
--------
>>> import model as em
>>> em.REGISTRY["age_peak"].default, em.REGISTRY["age_peak"].role
(35.0, 'behaviour')
"""

from importlib import import_module

from model.params import REGISTRY, Param, defaults
from model.scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"
__all__ = ["REGISTRY", "Param", "defaults", "Scenario", "ScenarioError", "load_scenario",
           "run", "compare", "ResultSet", "Results", "EmigrationModel", "datasets", "plots",
           "__version__"]

_LAZY = {"run": "model.runs.batches", "compare": "model.runs.batches",
         "ResultSet": "model.runs.results", "Results": "model.runs.results",
         "EmigrationModel": "model.simulation", "datasets": "model.datasets",
         "plots": "model.runs.plots"}


def __getattr__(name: str):
    if name in _LAZY:
        module = import_module(_LAZY[name])
        return module if module.__name__.endswith(name) else getattr(module, name)
    raise AttributeError(f"module 'model' has no attribute {name!r}")
