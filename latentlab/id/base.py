"""The common base of the intrinsic-dimension estimators.

Every estimator follows the scikit-learn contract: ``__init__`` stores keyword
parameters, ``fit(X)`` validates ``X``, sets ``dimension_`` (and, where a pointwise
estimate is meaningful, ``dimension_pw_``) and returns ``self``.

The base does the work that is the same for all of them:

* input validation (:func:`check_points`): a finite 2-D real array of shape (N, D), NumPy
  or torch; too few points for the neighbours needed is an error that says how many;
* duplicate points: distances of zero break every neighbour-ratio formula, so exact
  duplicates are detected, reported in one ``UserWarning`` with their number, and the
  estimate is computed on the distinct points; pointwise estimates are mapped back to
  every input row;
* the neighbour search (:meth:`IntrinsicDimension._kneighbors`), through the blockwise
  engine of :mod:`latentlab.id.neighbors`, with the estimator's ``device`` and
  ``memory_budget``;
* the hooks that :func:`latentlab.id.bootstrap_ci` uses to resample per-point statistics.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted

from latentlab.id.neighbors import kneighbors

__all__ = ["IntrinsicDimension", "check_points", "unique_rows"]


def check_points(X, *, min_samples: int = 2, what: str = "this estimator") -> np.ndarray:
    """Validate a point cloud and return it as a float NumPy array of shape (N, D).

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (N, D)
        Real-valued points. float32 input stays float32; anything else becomes float64.
    min_samples : int, default=2
        Fewest rows accepted.
    what : str
        Name used in the error messages.

    Raises
    ------
    TypeError
        Sparse or non-numeric input.
    ValueError
        Not 2-D, empty, complex, NaN or infinite values, or fewer than ``min_samples``
        rows (the message says how many are needed).
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    # scikit-learn's own checks and messages: dimensionality, dtype, sparse, NaN/inf
    X = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=min(2, min_samples), input_name="X")
    if X.shape[0] < min_samples:
        raise ValueError(f"{what} needs at least {min_samples} points; got n_samples={X.shape[0]}")
    return X


def unique_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``X`` in order of first appearance.

    Returns
    -------
    first : ndarray of shape (M,), int64
        Row index of the first occurrence of each distinct row (ascending).
    inverse : ndarray of shape (N,), int64
        For each row of ``X``, its position in ``first``: ``X == X[first][inverse]``.
    """
    rows = np.ascontiguousarray(X)
    # -0.0 and 0.0 are equal but differ in their bytes; adding +0.0 unifies them. Look
    # for negative zeros chunk by chunk first: a full copy of big data is rarely needed.
    step = max(1, 2**24 // max(1, X.shape[1]))
    if any((np.signbit(rows[s : s + step]) & (rows[s : s + step] == 0)).any() for s in range(0, len(rows), step)):
        rows = rows + rows.dtype.type(0.0)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order].astype(np.int64), rank[inverse.ravel()].astype(np.int64)


class IntrinsicDimension(BaseEstimator):
    """Base class of the intrinsic-dimension estimators (not used directly).

    Subclasses implement :meth:`_fit` (on distinct points, already validated) and
    :meth:`_min_samples`; :meth:`fit` does the rest.

    Attributes
    ----------
    dimension_ : float
        The global estimate of the intrinsic dimension.
    dimension_pw_ : ndarray of shape (N,), float64
        Pointwise estimates, one per input row (duplicates share their estimate); only
        for estimators where a pointwise estimate is meaningful.
    n_features_in_ : int
        Ambient dimension ``D`` of the data seen by ``fit``.
    n_duplicates_ : int
        Number of input rows that repeat an earlier row (0 for data without duplicates).
    """

    def _min_samples(self) -> tuple[int, str]:
        """Fewest distinct points this estimator can work with, and why (for messages)."""
        raise NotImplementedError

    def _fit(self, X: np.ndarray) -> None:
        """Compute the estimate on distinct, validated points; set the attributes."""
        raise NotImplementedError

    def fit(self, X, y=None):
        """Estimate the intrinsic dimension of the points ``X``.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (N, D)
            Points sampled from the manifold, one per row.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self
        """
        need, why = self._min_samples()
        name = type(self).__name__
        X = check_points(X, min_samples=need, what=f"{name} ({why})")
        first, inverse = unique_rows(X)
        n_dup = X.shape[0] - len(first)
        if len(first) == 1:
            raise ValueError(f"all {X.shape[0]} points of X are identical; the intrinsic dimension is undefined")
        if n_dup:
            warnings.warn(
                f"X has {n_dup} duplicate rows ({len(first)} distinct points of {X.shape[0]}); "
                f"{name} uses the distinct points only, since zero distances break neighbour-based estimates",
                UserWarning,
                stacklevel=2,
            )
            if len(first) < need:
                raise ValueError(f"{name} ({why}) needs at least {need} distinct points; X has only {len(first)} distinct points ({X.shape[0]} rows)")
            X = X[first]
        self.n_features_in_ = X.shape[1]
        self.n_duplicates_ = int(n_dup)
        self._fit(X)
        if n_dup and getattr(self, "dimension_pw_", None) is not None:
            self.dimension_pw_ = self.dimension_pw_[inverse]
        return self

    # -- shared helpers -------------------------------------------------------------

    def _kneighbors(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``k`` nearest neighbours of every row of ``X`` (see :func:`kneighbors`)."""
        return kneighbors(
            X,
            k,
            device=getattr(self, "device", "cpu"),
            memory_budget=getattr(self, "memory_budget", None),
        )

    # -- bootstrap hooks (see latentlab.id.bootstrap) ----------------------------------

    def _bootstrap_terms(self) -> np.ndarray:
        """Per-point statistics, shape (M, ...), from which :meth:`_dimension_from_terms`
        recomputes ``dimension_``; resampling their rows gives a bootstrap replicate."""
        check_is_fitted(self)
        terms = getattr(self, "_terms", None)
        if terms is None:
            raise TypeError(f"{type(self).__name__} does not support bootstrap confidence intervals")
        return terms

    def _dimension_from_terms(self, terms: np.ndarray) -> float:
        raise TypeError(f"{type(self).__name__} does not support bootstrap confidence intervals")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "dimension_")

