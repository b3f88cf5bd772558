"""References the model is tested against; the model itself never imports them.

* :mod:`tests.reference.oracles`: numpy statements of the yearly rules, whole-array
  expressions as the step was written before it was compiled; ``tests/test_kernels.py``
  checks every compiled pass of :mod:`model.core.kernels` against them, with exact
  equality.
* :mod:`tests.reference.household`: the decision rule of one household at a time in plain
  Python (:mod:`math`), from the formulas of :mod:`model.core.decisions`.
* :mod:`tests.reference.year`: a whole simulated year with one Python object per household
  and per person, written from the docstring of ``EmigrationModel.step``, drawing the
  model's named random streams; ``tests/test_reference_year.py`` steps it beside the model.
"""
