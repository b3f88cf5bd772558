"""emigsim: an agent-based model of emigration from Kazakhstan.

Examples
--------
>>> import model as em
>>> sorted(em.REGISTRY)[:2]
['age_peak', 'age_width']
"""

from model import datasets, plots
from model.params import REGISTRY, Param, defaults
from model.runner import Results, run
from model.scenario import Scenario, ScenarioError, load_scenario
from model.simulation import EmigrationModel

__version__ = "0.1.0"
__all__ = ["REGISTRY", "Param", "defaults", "Scenario", "ScenarioError", "load_scenario",
           "run", "Results", "EmigrationModel", "datasets", "plots", "__version__"]
