"""Running the model and keeping its results.

Layer 3 (above ``model.simulation``): run specs and ids (``batch``), the Parquet result
store (``store``), the Dask executor (``execution``), the in-memory runner (``runner``),
manifests and output folders (``manifest``), and the figures of a results table
(``plots``), which the output writer draws into every finished folder.
"""
