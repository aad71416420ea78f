"""emcore: Expectation-Maximization for Gaussian mixtures, correct, stable and steppable.

- :class:`Gauss` and :class:`Mixture`: the friendly object model (a mixture is a list of
  components with ``expectation``, ``maximization``, ``log_likelihood`` and ``fit``).
- :class:`EM`: run EM one iteration or one half-step at a time and record its history.
- :func:`e_step`, :func:`m_step`: the two halves as plain functions.
- :class:`GaussianMixture`: a scikit-learn compatible estimator on the same core.
- :mod:`emcore.covariance`: the covariance types full, tied, diag and spherical.
- :func:`read_csv`, :func:`load_dataset`: CSV files and built-in data sets as clean numbers.
- :func:`select_model`: BIC/AIC/ICL across K and covariance types, like mclust.
"""

from emcore.covariance import COVARIANCE_TYPES, covariance_model
from emcore.data import DATASETS, DataError, ReadReport, load_dataset, read_csv
from emcore.engine import EM, Event, Snapshot
from emcore.init import INIT_METHODS, initial_params
from emcore.mixture import Gauss, Mixture
from emcore.params import MixtureParams
from emcore.selection import ModelSelection, select_model
from emcore.sklearn_api import GaussianMixture
from emcore.steps import EStep, e_step, log_likelihood, m_step

__all__ = [
    "COVARIANCE_TYPES",
    "DATASETS",
    "EM",
    "INIT_METHODS",
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
