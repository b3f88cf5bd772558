"""Shared pytest options: ``--update-baseline`` rewrites the regression baselines."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-baseline", action="store_true", default=False,
        help="rewrite tests/baselines/ from the current code (commit the change with its reason)",
    )


@pytest.fixture
def update_baseline(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-baseline"))
