"""The single identifiability rule: its thresholds on hand-picked cases."""

import math

import pytest

from model.analysis.calibration import identifiability as from_package
from model.analysis.calibration.dossier import identifiability as from_dossier
from model.analysis.calibration.verdicts import (
    IDENTIFIED_MAX_RATIO,
    IDENTIFIED_MIN_COVERAGE,
    NOT_IDENTIFIED_MIN_RATIO,
    identifiability,
)


def test_thresholds_are_the_documented_ones():
    assert (IDENTIFIED_MAX_RATIO, IDENTIFIED_MIN_COVERAGE, NOT_IDENTIFIED_MIN_RATIO) == (
        0.5, 0.7, 0.85)


@pytest.mark.parametrize("ratio,covered,expect", [
    (0.2, 0.9, "identified"),
    (0.49, 0.7, "identified"),          # coverage 0.7 is enough
    (0.3, 0.69, "weakly identified"),   # narrow, but recovery coverage below 0.7
    (0.3, 0.0, "weakly identified"),    # never demoted past "weakly" by coverage alone
    (0.5, 0.9, "weakly identified"),    # 0.5 is not below 0.5
    (0.85, 0.9, "weakly identified"),   # 0.85 is not above 0.85
    (0.86, 1.0, "not identified"),      # good coverage does not rescue a wide posterior
    (0.86, 0.1, "not identified"),
    (1.2, None, "not identified"),
    # without recovery data: the ratio alone
    (0.2, None, "identified"),
    (0.2, math.nan, "identified"),
    (0.7, None, "weakly identified"),
    (0.9, None, "not identified"),
    (math.nan, None, "not identified"),
])
def test_hand_cases(ratio, covered, expect):
    assert identifiability(ratio, covered) == expect


def test_one_rule_everywhere():
    assert from_dossier is identifiability and from_package is identifiability
    import model.analysis.calibration.recovery as recovery

    assert not hasattr(recovery, "identifiability")
