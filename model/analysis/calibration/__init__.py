"""Bayesian calibration of a study's behaviour parameters (emulation + MCMC, or ABC-SMC).

Public API::

    from model.analysis.calibration import (load_study, calibrate, simulate_summaries,
                                            Study, CalibrationResult)
    study = load_study("calibration/kz_2012_2018.toml")
    result = calibrate(study, "runs/calibration", quick=True, workers=0)
    result.posterior, result.population, result.generations

Modules: :mod:`.study` (the study file), :mod:`.summaries` (the worker-side summaries),
:mod:`.sampler` (a deterministic pyABC sampler), :mod:`.engine` (ABC-SMC with the
observation errors as the acceptance kernel), :mod:`.emulator` (Gaussian-process emulators
with measured errors), :mod:`.emulation` (history matching and emcee on the emulated
likelihood), :mod:`.calibrate` (the out folder, resume,
noise), :mod:`.dossier` (the checks and tables), :mod:`.recovery` (recovery on synthetic data),
:mod:`.verdicts` (the identifiability rule).

Examples
--------
>>> from model.analysis.calibration import load_study, default_study_path
>>> load_study(default_study_path()).seed
2026
"""

from model.analysis.calibration.calibrate import (
    CalibrationError,
    CalibrationResult,
    OutFolderError,
    calibrate,
    load_result,
)
from model.analysis.calibration.dossier import posterior_table, write_dossier
from model.analysis.calibration.study import Study, StudyError, default_study_path, load_study
from model.analysis.calibration.summaries import simulate_summaries
from model.analysis.calibration.verdicts import identifiability

__all__ = ["load_study", "calibrate", "simulate_summaries", "Study", "StudyError",
           "CalibrationResult", "CalibrationError", "OutFolderError", "default_study_path",
           "load_result", "write_dossier", "posterior_table", "identifiability"]
