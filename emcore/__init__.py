"""emcore: Expectation-Maximization for Gaussian mixtures, correct, stable and steppable.

- :class:`Gauss` and :class:`Mixture`: the friendly object model (a mixture is a list of
  components with ``expectation``, ``maximization``, ``log_likelihood`` and ``fit``).
- :class:`EM`: run EM one iteration or one half-step at a time and record its history.
- :func:`e_step`, :func:`m_step`: the two halves as plain functions.
- :class:`GaussianMixture`: a scikit-learn compatible estimator on the same core.
- :mod:`emcore.covariance`: the covariance models, mclust's 14 (EII, VII, EEI, VEI, EVI,
  VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV: :data:`MCLUST_MODELS`) and scikit-learn's
  names for four of them (spherical = VII, diag = VVI, tied = EEE, full = VVV:
  :data:`COVARIANCE_TYPES`, those four names only). Every class and function that takes a
  ``covariance_type`` takes any of the 18 names.
- :func:`read_csv`, :func:`load_dataset`: CSV files and built-in data sets as clean numbers.
- :func:`select_model`: BIC/AIC/ICL across K and covariance types, like mclust.
- :mod:`emcore.missing`: EM on data with NaN cells (``missing="em"`` everywhere above).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public names and the module that defines each. They are imported on first use (PEP 562), so
# `import emcore.data` alone (the upload reader's child process) does not pay for
# scikit-learn and the EM engine.
_EXPORTS = {
    "COVARIANCE_TYPES": "emcore.covariance",
    "MCLUST_MODELS": "emcore.covariance",
    "covariance_model": "emcore.covariance",
    "DATASETS": "emcore.data",
    "DataError": "emcore.data",
    "ReadReport": "emcore.data",
    "load_dataset": "emcore.data",
    "read_csv": "emcore.data",
    "EM": "emcore.engine",
    "Event": "emcore.engine",
    "Snapshot": "emcore.engine",
    "INIT_METHODS": "emcore.init",
    "initial_params": "emcore.init",
    "Gauss": "emcore.mixture",
    "Mixture": "emcore.mixture",
    "MixtureParams": "emcore.params",
    "ModelSelection": "emcore.selection",
    "select_model": "emcore.selection",
    "GaussianMixture": "emcore.sklearn_api",
    "EStep": "emcore.steps",
    "e_step": "emcore.steps",
    "log_likelihood": "emcore.steps",
    "m_step": "emcore.steps",
}

if TYPE_CHECKING:
    from emcore.covariance import COVARIANCE_TYPES, MCLUST_MODELS, covariance_model
    from emcore.data import DATASETS, DataError, ReadReport, load_dataset, read_csv
    from emcore.engine import EM, Event, Snapshot
    from emcore.init import INIT_METHODS, initial_params
    from emcore.mixture import Gauss, Mixture
    from emcore.params import MixtureParams
    from emcore.selection import ModelSelection, select_model
    from emcore.sklearn_api import GaussianMixture
    from emcore.steps import EStep, e_step, log_likelihood, m_step


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "COVARIANCE_TYPES",
    "DATASETS",
    "EM",
    "INIT_METHODS",
    "MCLUST_MODELS",
    "DataError",
    "EStep",
    "Event",
    "Gauss",
    "GaussianMixture",
    "Mixture",
    "MixtureParams",
    "ModelSelection",
    "ReadReport",
    "Snapshot",
    "covariance_model",
    "e_step",
    "initial_params",
    "load_dataset",
    "log_likelihood",
    "m_step",
    "read_csv",
    "select_model",
]
