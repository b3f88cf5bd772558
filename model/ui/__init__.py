"""The interfaces: the ``emigsim`` command line (and later the report and dashboard).

Layer 5, the top: nothing in the package imports it.
"""
