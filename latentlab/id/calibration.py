"""Bias correction of an intrinsic-dimension estimator by calibration on known shapes.

Neighbour-based estimators underestimate high dimensions: with a few thousand points in
20 dimensions, neighbourhoods are not small, most points see the boundary of the data and
the density is far from locally constant (the curse of dimensionality). The bias depends
mainly on the true dimension ``d``, the number of points ``n`` and the estimator's own
settings, so it can be measured: draw ``n`` points of a reference shape of known
dimension ``d`` (a uniform d-ball by default), run the same estimator, and record the
mean estimate ``f(d)``. Inverting that curve at the raw estimate of the data gives the
corrected dimension (the calibration idea of MiND and DANCo, Rozza et al. 2012,
Ceruti et al. 2014).

The curve is evaluated lazily, only at the integer dimensions that the inversion needs,
and cached for the session. The answer is capped at the numerical rank of the data
(a manifold cannot have more dimensions than the linear span of its points).

The correction assumes the data are biased the way the reference shape is. Effects that
push the raw estimate up (noise at the scale of the neighbourhoods, strong curvature)
are amplified with the rest, and where the curve flattens (tens of dimensions for a few
thousand points) the statistical error of the raw estimate is amplified too: look at
``raw_dimension_`` and a bootstrap interval as well.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from latentlab.id import datasets
from latentlab._validation import check_choice, check_int
from latentlab.id.base import IntrinsicDimension
from latentlab.id.twonn import TwoNN

__all__ = ["CalibratedID", "numerical_rank", "REFERENCES"]

#: Reference shapes of the calibration: name -> sampler(n, d, random_state) with ID d.
REFERENCES = {
    "ball": lambda n, d, rs: datasets.ball(n, d, random_state=rs),
    "hypercube": lambda n, d, rs: datasets.hypercube(n, d, random_state=rs),
    "sphere": lambda n, d, rs: datasets.sphere(n, d, random_state=rs),
    "gaussian": lambda n, d, rs: datasets.gaussian(n, d, random_state=rs),
}

# settings that change where the estimate is computed, not its value
_NEUTRAL_PARAMS = ("device", "memory_budget")

# (estimator class, its params, reference, n, d, n_repeats, seed) -> mean estimate
_CURVE_CACHE: dict[tuple, float] = {}


def numerical_rank(X: np.ndarray, rtol: float = 1e-5) -> int:
    """Dimension of the affine span of the rows of ``X`` (shape (N, D)).

    Counts singular values of the centred data above ``rtol`` times the largest; they
    come from the eigenvalues of the D x D scatter matrix or, with fewer points than
    features, of the N x N Gram matrix (the same nonzero eigenvalues), so this costs
    ``O(N D min(N, D))`` (1,000 images of 3,072 pixels: a 1,000 x 1,000 problem, not 3,072).
    """
    Xc = np.asarray(X, dtype=np.float64)
    Xc = Xc - Xc.mean(axis=0)
    ev = np.linalg.eigvalsh(Xc @ Xc.T if Xc.shape[0] < Xc.shape[1] else Xc.T @ Xc)
    return int((ev > (rtol**2) * ev[-1]).sum()) if ev[-1] > 0 else 0


class CalibratedID(IntrinsicDimension):
    """An estimator's result corrected with its bias curve on a reference shape.

    Parameters
    ----------
    estimator : IntrinsicDimension, optional
        The estimator to correct (unfitted; it is cloned). Default ``TwoNN()``.
    reference : {"ball", "hypercube", "sphere", "gaussian"}, default="ball"
        Shape of the calibration samples: uniform in the d-ball, uniform in
        ``[0, 1]^d``, uniform on the d-sphere, or standard normal in ``R^d``. On the
        24-manifold benchmark (n = 2,500) "ball" and "hypercube" do equally well (mean
        relative error about 6% with TwoNN, over three seeds), "sphere" and "gaussian"
        worse (7-8%).
    n_repeats : int, default=3
        Reference samples averaged at each calibrated dimension.
    max_dimension : int, optional
        Largest dimension the answer may take; default the numerical rank of the data.
    max_samples : int, default=10000
        Data with more (distinct) points are subsampled to this many, without
        replacement, so that calibration samples of the same size stay affordable (the
        bias depends on ``n``; both sides must use the same ``n``).
    random_state : int, default=0
        Seed of the reference samples and of the subsampling. Fixed by default so that
        the calibration curve is a reproducible property of ``(estimator, n)``.

    Attributes
    ----------
    dimension_ : float
        Corrected estimate, in ``[0, max_dimension_]``.
    raw_dimension_ : float
        The estimator's own result on the (subsampled) data.
    estimator_ : IntrinsicDimension
        The fitted clone of ``estimator``.
    calibration_dims_ : ndarray of shape (m,), int64
        Dimensions at which the bias curve was evaluated, ascending.
    calibration_values_ : ndarray of shape (m,), float64
        Mean estimate on the reference shape at ``calibration_dims_``.
    max_dimension_ : int
        The cap actually used.
    n_samples_used_ : int
        Points used (after deduplication and subsampling): the ``n`` of the calibration.
    n_features_in_ : int
        Ambient dimension of the data seen by ``fit``.
    n_duplicates_ : int
        Duplicate rows left out of the estimate (see the base class).

    Examples
    --------
    >>> from latentlab.id import CalibratedID, TwoNN, datasets
    >>> X = datasets.make("Mn1_Nonlinear", 2500, random_state=0)  # an 18-manifold in R^72
    >>> est = CalibratedID(TwoNN()).fit(X)
    >>> round(est.raw_dimension_, 1), round(est.dimension_, 1)
    (14.8, 18.5)
    """

    def __init__(self, estimator=None, reference: str = "ball", n_repeats: int = 3, max_dimension: int | None = None, max_samples: int = 10000, random_state: int = 0):
        self.estimator = estimator
        self.reference = reference
        self.n_repeats = n_repeats
        self.max_dimension = max_dimension
        self.max_samples = max_samples
        self.random_state = random_state

    def _inner(self) -> IntrinsicDimension:
        est = TwoNN() if self.estimator is None else self.estimator
        if not isinstance(est, IntrinsicDimension):
            raise TypeError(f"estimator must be a latentlab.id estimator (TwoNN(), MLE(), ...); got {est!r}")
        return est

    def _min_samples(self) -> tuple[int, str]:
        return self._inner()._min_samples()

    def _fit(self, X: np.ndarray) -> None:
        check_choice(self.reference, "reference", tuple(REFERENCES))
        check_int(self.n_repeats, "n_repeats", min=1, type_error=TypeError)
        m = check_int(self.max_samples, "max_samples", min=self._min_samples()[0], type_error=TypeError)
        if X.shape[0] > m:
            rows = np.random.default_rng(self.random_state).choice(X.shape[0], m, replace=False)
            X = X[np.sort(rows)]
        self.n_samples_used_ = X.shape[0]
        if self.max_dimension is None:
            cap = numerical_rank(X)
        else:
            cap = check_int(self.max_dimension, "max_dimension", min=1, type_error=TypeError)
        self.max_dimension_ = max(1, cap)
        self.estimator_ = clone(self._inner()).fit(X)
        self.raw_dimension_ = float(self.estimator_.dimension_)
        self._curve: dict[int, float] = {}
        self.dimension_ = self._invert(self.raw_dimension_)
        self._store_curve()

    # -- the bias curve ---------------------------------------------------------------

    def _curve_at(self, d: int) -> float:
        """Mean estimate on ``n_repeats`` reference samples of dimension ``d``."""
        if d in self._curve:
            return self._curve[d]
        inner = clone(self._inner())
        params = tuple(sorted((k, repr(v)) for k, v in inner.get_params(deep=False).items() if k not in _NEUTRAL_PARAMS))
        n = self.n_samples_used_
        key = (type(inner).__name__, params, self.reference, n, d, self.n_repeats, self.random_state)
        if key not in _CURVE_CACHE:
            seeds = np.random.SeedSequence([self.random_state, d, n]).spawn(self.n_repeats)
            sample = REFERENCES[self.reference]
            _CURVE_CACHE[key] = float(np.mean([clone(inner).fit(sample(n, d, np.random.default_rng(s))).dimension_ for s in seeds]))
        self._curve[d] = _CURVE_CACHE[key]
        return self._curve[d]

    def _invert(self, raw: float) -> float:
        """The dimension ``x`` with ``f(x) = raw``, ``f`` linear between integers."""
        if not np.isfinite(raw):
            return float(self.max_dimension_)
        top = self.max_dimension_
        f = self._curve_at
        if raw <= f(1):
            return max(0.0, raw / f(1))  # below the curve's start: proportional
        # bracket: lo with f(lo) < raw and hi with f(hi) >= raw, found by growing steps
        d = int(np.clip(np.floor(raw), 1, top))
        if f(d) >= raw:
            hi, step = d, 1
            lo = max(1, hi - step)
            while lo > 1 and f(lo) >= raw:
                hi, step = lo, 2 * step
                lo = max(1, hi - step)
        else:
            lo, step = d, 1
            hi = min(top, lo + step)
            while f(hi) < raw:
                if hi == top:
                    return float(top)  # more than the curve reaches below the cap
                lo, step = hi, 2 * step
                hi = min(top, lo + step)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if f(mid) >= raw:
                hi = mid
            else:
                lo = mid
        f_lo, f_hi = f(lo), f(hi)
        return float(lo + (raw - f_lo) / (f_hi - f_lo)) if f_hi > f_lo else float(hi)

    def _store_curve(self) -> None:
        dims = np.array(sorted(self._curve), dtype=np.int64)
        self.calibration_dims_ = dims
        self.calibration_values_ = np.array([self._curve[d] for d in dims])

    # -- bootstrap hooks ----------------------------------------------------------------

    def _bootstrap_terms(self) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_._bootstrap_terms()

    def _dimension_from_terms(self, terms: np.ndarray) -> float:
        return self._invert(self.estimator_._dimension_from_terms(terms))
