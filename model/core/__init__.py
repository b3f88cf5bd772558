"""The simulation core: households and persons as arrays, and the yearly rules.

Layer 1 of the package (imports only the inputs layer: ``model.params``,
``model.datasets``, ``model.scenario``). States and their codes, named random streams, the
synthetic 2012 population, the contact network, the decision model, demography, the
recorder of metrics, and the compiled per-person passes (``kernels``).
"""
