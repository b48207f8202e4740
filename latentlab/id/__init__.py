"""Intrinsic-dimension estimation on point clouds (latent codes, features, any arrays).

Estimators follow the scikit-learn contract (``TwoNN().fit(X).dimension_``), one per
module on the common base :class:`IntrinsicDimension`; all take arrays of shape (N, D),
NumPy or torch, and share one exact neighbour engine (:func:`kneighbors`) that runs in
bounded memory on CPU or CUDA.

* :class:`TwoNN`, :class:`MLE`, :class:`LocalPCA`, :class:`CorrelationDimension`,
  :class:`MultiscaleID` (GRIDE: dimension against scale) - the plain estimators;
* :class:`CalibratedID` - any of them corrected for its (large, at high dimension)
  bias by calibration on reference shapes of known dimension;
* :func:`estimate_id` - one call, method by name; :func:`bootstrap_ci` - intervals;
* :mod:`latentlab.id.datasets` - manifolds of known dimension and the benchmark suite.
"""

from latentlab.id import datasets
from latentlab.id.base import IntrinsicDimension
from latentlab.id.bootstrap import bootstrap_ci
from latentlab.id.calibration import CalibratedID
from latentlab.id.correlation import CorrelationDimension
from latentlab.id.estimate import METHODS, IDEstimate, estimate_id
from latentlab.id.local_pca import LocalPCA
from latentlab.id.mle import MLE
from latentlab.id.multiscale import MultiscaleID
from latentlab.id.neighbors import kneighbors
from latentlab.id.twonn import TwoNN

__all__ = [
    "IntrinsicDimension",
    "TwoNN",
    "MLE",
    "LocalPCA",
    "CorrelationDimension",
    "MultiscaleID",
    "CalibratedID",
    "estimate_id",
    "IDEstimate",
    "METHODS",
    "bootstrap_ci",
    "kneighbors",
    "datasets",
]
