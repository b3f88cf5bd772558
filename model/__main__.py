"""``python -m model ...``: the same program as the ``emigsim`` console script.

Examples
--------
``python -m model run baseline --out runs/baseline``
"""

import sys

from model.ui.cli import main

if __name__ == "__main__":
    sys.exit(main())
