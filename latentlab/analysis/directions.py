"""Attribute directions: the unit normal of a hyperplane that separates an attribute.

The recipe is InterFaceGAN's (Shen et al., CVPR 2020): rank latent codes by an attribute
score, keep the most and the least attribute-like few percent, fit a linear classifier
on a seeded training split and report its accuracy on the held-out split. Two things
differ from the original code: the intercept is kept (the hyperplane need not pass
through the origin), and the default classifier is a primal Newton solver for the
squared-hinge linear SVM instead of a kernel SVM, so that millions of codes fit in
seconds to minutes rather than hours.

Sections: the squared-hinge Newton solver, the estimator, helpers.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Literal

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dgemm as _dgemm
from sklearn.base import BaseEstimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from latentlab._threads import single_blas_thread
from latentlab.analysis._arrays import (
    _BLOCK_ELEMENTS,
    check_codes,
    check_targets,
    flatten_like,
    require_target,
    restore,
)

__all__ = ["AttributeDirection", "METHODS"]

Method = Literal["svm", "logistic", "lda", "mean_difference"]
METHODS = ("svm", "logistic", "lda", "mean_difference")

# A class needs one sample for training and one for validation.
_MIN_PER_CLASS = 2
# Training sets up to this many numbers (64 MB in float32) are copied once, contiguous.
_MATERIALIZE_ELEMENTS = 1 << 24
# Numbers per block in the pass that computes the column statistics.
_STATS_BLOCK_ELEMENTS = 1 << 19


# -- the squared-hinge Newton solver --------------------------------------------------
class _CentredRows:
    """The rows ``X[rows]``, centred on their mean, as the solver reads them.

    Small problems (up to ``_MATERIALIZE_ELEMENTS`` numbers) are copied once, in the
    dtype of ``X``, so that every pass is one BLAS call on contiguous memory; larger ones
    are never copied: each pass gathers one block (~32 MB) at a time, so memory stays
    flat whatever ``N``. Passes over all rows (:meth:`dot`, :meth:`tdot`) compute in
    the dtype of ``X``: for float32 codes the products carry ~1e-7 relative error, far
    below what decides a margin, and it halves the memory traffic. The solver's
    gradients and Newton systems use float64 copies of the rows they need
    (:meth:`gather`, :meth:`add_moments`).

    Attributes: ``mean`` and ``var`` (per column, float64), ``n``, ``d``.
    """

    def __init__(self, X: np.ndarray, rows: np.ndarray):
        self.X, self.rows = X, rows
        self.n, self.d = len(rows), X.shape[1]
        self.block = max(1, _BLOCK_ELEMENTS // self.d)
        self.dense = None
        if self.n * self.d <= _MATERIALIZE_ELEMENTS:
            whole = rows.size == X.shape[0] and np.array_equal(rows, np.arange(self.n))
            self.dense = np.ascontiguousarray(X) if whole else np.ascontiguousarray(X[rows])
        # Chan et al.'s pairwise merge of block statistics: one pass, no cancellation.
        # Cache-sized blocks (~2 MB in float32) make this pass about twice as fast.
        count, self.mean, m2 = 0, np.zeros(self.d), np.zeros(self.d)
        for s, e in self._blocks(max(1, _STATS_BLOCK_ELEMENTS // self.d)):
            raw = self._raw(s, e)
            m, block_mean = raw.shape[0], raw.sum(axis=0).astype(np.float64) / raw.shape[0]
            A = raw - block_mean.astype(raw.dtype)  # centred within the block: small, safe in float32
            diff = block_mean - self.mean
            m2 += np.einsum("ij,ij->j", A, A) + diff**2 * count * m / (count + m)
            self.mean += diff * m / (count + m)
            count += m
        self.var = m2 / self.n

    def _blocks(self, size: int | None = None):
        size = size or self.block
        return ((s, min(s + size, self.n)) for s in range(0, self.n, size))

    def _raw(self, start: int, stop: int) -> np.ndarray:
        """Uncentred rows ``start:stop`` in the dtype of ``X`` (a view when copied once)."""
        return self.dense[start:stop] if self.dense is not None else self.X[self.rows[start:stop]]

    def gather(self, positions: np.ndarray) -> np.ndarray:
        """The centred rows at ``positions``, shape (len(positions), d), float64."""
        out = (self.dense[positions] if self.dense is not None else self.X[self.rows[positions]]).astype(np.float64)
        out -= self.mean
        return out

    def dot(self, v: np.ndarray) -> np.ndarray:
        """``(X[rows] - mean) @ v``, shape (n,), float64."""
        out = np.empty(self.n)
        v_cast = v.astype(self.X.dtype)
        for s, e in self._blocks():
            out[s:e] = self._raw(s, e) @ v_cast
        out -= float(self.mean @ v)
        return out

    def tdot(self, r: np.ndarray) -> np.ndarray:
        """``(X[rows] - mean).T @ r``, shape (d,), float64."""
        out = np.zeros(self.d)
        r_cast = r.astype(self.X.dtype)
        for s, e in self._blocks():
            out += r_cast[s:e] @ self._raw(s, e)
        out -= self.mean * float(r.sum())
        return out

    def add_moments(self, positions: np.ndarray, weights, t: np.ndarray, S, s, u) -> None:
        """Add ``(AᵀWA, AᵀW1, AᵀWt)`` to ``(S, s, u)`` in place, for ``A`` the centred rows at
        ``positions`` and ``W`` the ``weights``: one number for all rows, or one per row."""
        for k in range(0, len(positions), self.block):
            pos = positions[k : k + self.block]
            A = self.gather(pos)
            if np.ndim(weights) == 0:
                S += weights * (A.T @ A)  # NumPy hands A.T @ A to BLAS syrk
                s += weights * A.sum(axis=0)
                u += weights * (t[pos] @ A)
                continue
            wk = weights[k : k + self.block]
            # S += Aᵀ (wk A) in one BLAS call writing into S (S is symmetric, so its
            # C-ordered memory is also the Fortran-ordered S that dgemm updates)
            out = _dgemm(1.0, A.T, (wk[:, None] * A).T, beta=1.0, c=S.T, trans_b=1, overwrite_c=1)
            if not np.shares_memory(out, S):
                S[...] = out.T
            s += wk @ A
            u += (wk * t[pos]) @ A


class _ActiveMoments:
    """``(AᵀA, Aᵀ1, Aᵀt, |A|, Σt)`` over the rows ``A`` inside the margin, kept up to date
    by adding the rows that enter and removing those that leave (or rebuilt when that is
    cheaper)."""

    def __init__(self, design: _CentredRows, t: np.ndarray):
        self.design, self.t = design, t
        d = design.d
        self.S, self.s, self.u = np.zeros((d, d)), np.zeros(d), np.zeros(d)
        self.rows = np.zeros(design.n, dtype=bool)

    def update(self, active: np.ndarray) -> None:
        changed = np.flatnonzero(active != self.rows)
        moments = (self.t, self.S, self.s, self.u)
        if changed.size > np.count_nonzero(active):
            self.S[:], self.s[:], self.u[:] = 0.0, 0.0, 0.0
            self.design.add_moments(np.flatnonzero(active), 1.0, *moments)
        elif changed.size > self.design.d:  # add the rows that entered the margin, remove those that left it
            self.design.add_moments(changed[active[changed]], 1.0, *moments)
            self.design.add_moments(changed[~active[changed]], -1.0, *moments)
        elif changed.size:  # the same in one product: few rows make syrk's halved work moot
            self.design.add_moments(changed, np.where(active[changed], 1.0, -1.0), *moments)
        self.rows = active.copy()
        self.n_act, self.t_act = float(np.count_nonzero(active)), float(self.t[active].sum())


class _ActiveGram:
    """Rows of ``Y = X̃ P^-½`` met in the dual Newton steps, their inner products, and the
    Cholesky factor of ``YYᵀ + I/2C`` over all of them.

    The active set changes by a few rows per step, so each step computes products only
    for the rows that entered the margin, and while the set only grows the factor is
    extended by those rows (``O(|A|² r)``) rather than recomputed (``O(|A|³)``). The cache
    starts over (from the current active set) when it would outgrow ``2 D`` rows.
    """

    def __init__(self, design: _CentredRows, root_p: np.ndarray, C: float):
        self.design, self.root, self.ridge = design, root_p, 1 / (2 * C)
        self.capacity = min(design.n, 2 * design.d)
        self.slot = np.full(design.n, -1)
        self.Y = np.empty((self.capacity, design.d))
        self.G = np.empty((self.capacity, self.capacity))
        self.L = np.zeros((self.capacity, self.capacity))
        self.row_of = np.empty(self.capacity, dtype=np.intp)
        self.size = self.factored = 0

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The active ``rows`` in the order the cache holds them, their ``Y`` (|rows|, D)
        and the lower Cholesky factor of ``Y Yᵀ + I/2C`` (|rows|, |rows|), float64."""
        new = rows[self.slot[rows] < 0]
        if self.size + new.size > self.capacity:
            self.slot[:], self.size, self.factored, new = -1, 0, 0, rows
        if new.size:
            k, m = self.size, self.size + new.size
            Yn = self.design.gather(new) / self.root
            self.Y[k:m] = Yn
            self.G[k:m, :m] = Yn @ self.Y[:m].T
            self.G[:k, k:m] = self.G[k:m, :k].T
            self.slot[new], self.row_of[k:m], self.size = np.arange(k, m), new, m
        if rows.size == self.size:  # every cached row is active: extend the factor
            k, m = self.factored, self.size
            if k < m:
                B = scipy.linalg.solve_triangular(self.L[:k, :k], self.G[:k, k:m], lower=True, check_finite=False)
                schur = self.G[k:m, k:m] - B.T @ B
                schur[np.diag_indices_from(schur)] += self.ridge
                self.L[k:m, :k] = B.T
                self.L[k:m, k:m] = scipy.linalg.cholesky(schur, lower=True, overwrite_a=True, check_finite=False)
                self.factored = m
            return self.row_of[:m], self.Y[:m], self.L[:m, :m]
        pos = np.sort(self.slot[rows])
        M = self.G[np.ix_(pos, pos)]
        M[np.diag_indices_from(M)] += self.ridge
        return self.row_of[pos], self.Y[pos], scipy.linalg.cholesky(M, lower=True, overwrite_a=True, check_finite=False)


def _line_search(o, t, delta, wPd, dPd, C) -> float:
    """Exact minimiser over ``tau >= 0`` of the objective along a Newton direction.

    Along ``theta + tau * step`` the objective is convex and piecewise quadratic, so its
    derivative is piecewise linear and non-decreasing; the breakpoints are where a sample
    enters or leaves the margin. Sort them and find the segment where the slope crosses 0.
    ``o``: current outputs, ``delta``: change of outputs per unit step, ``wPd``/``dPd``:
    ``w·P·Δw`` and ``Δw·P·Δw`` from the penalty.
    """
    slack, rate = 1 - t * o, t * delta  # (o - t)·delta = -slack·rate since t² = 1
    active = slack > 0
    slack_act, rate_act = np.where(active, slack, 0.0), np.where(active, rate, 0.0)
    a0 = wPd - 2 * C * float(slack_act @ rate)
    b0 = dPd + 2 * C * float(rate_act @ rate_act)
    if a0 >= 0:
        return 0.0
    # active samples moving out of the margin leave it, inactive ones moving in enter it
    events = np.flatnonzero(np.where(active, rate > 0, rate < 0))
    ev_slack, ev_rate = slack[events], rate[events]
    tau = ev_slack / ev_rate
    order = np.argsort(tau)
    tau, ev_slack, ev_rate = tau[order], ev_slack[order], ev_rate[order]
    A = a0 + np.concatenate([[0.0], np.cumsum(2 * C * ev_slack * np.abs(ev_rate))])
    B = b0 - np.concatenate([[0.0], np.cumsum(2 * C * ev_rate * np.abs(ev_rate))])
    ends = np.concatenate([tau, [np.inf]])
    with np.errstate(invalid="ignore"):
        slope_at_end = np.where(np.isinf(ends), np.where(B > 0, np.inf, A), A + B * ends)
    k = int(np.argmax(slope_at_end >= 0))
    if slope_at_end[k] < 0 or B[k] <= 0:  # no finite minimiser along this line
        return 1.0
    return float(-A[k] / B[k])


def _fit_squared_hinge(
    design: _CentredRows, t: np.ndarray, C: float, p: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, float, int, bool]:
    """Minimise ``½ Σ p_j w_j² + C Σ_i max(0, 1 - t_i (x̃_i·w + b))²`` over ``(w, b)``.

    The L2-SVM objective of ``LinearSVC(loss="squared_hinge")`` with an unpenalised
    bias and a diagonal penalty ``p`` (``p = var`` is the same as fitting on
    standardised features), solved by :func:`_newton`. Stops when the gradient norm
    falls to ``tol`` times its value at ``(w, b) = 0``.

    The path starts from the class-mean difference in standardised coordinates with its
    scale and bias fitted exactly (a two-parameter problem of the same kind) instead of
    from ``w = 0``, where every sample is active and the first step costs a full
    ``N·D²`` pass.

    Returns ``(w, b, n_iter, converged)``.
    """
    xt, g0 = _gradient_at_zero(design, t, C)
    if g0 == 0:  # (0, 0) is optimal
        return np.zeros(design.d), 0.0, 0, True
    w, b, o = _mean_difference_start(design, t, C, p, xt, tol)
    return _newton(design, t, C, p, tol, max_iter, w, b, g0, o)


def _gradient_at_zero(design: _CentredRows, t: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    """``X̃ᵀt`` and the norm of the gradient at ``(w, b) = 0``.

    There every sample is inside the margin and the gradient is ``-2C (X̃ᵀt, Σt)``;
    ``X̃ᵀt`` is proportional to the difference of the class means.
    """
    xt = design.tdot(t)
    return xt, 2 * C * math.hypot(float(np.linalg.norm(xt)), float(t.sum()))


def _newton(design, t, C, p, tol, max_iter, w, b, g0, o=None) -> tuple[np.ndarray, float, int, bool]:
    """Modified finite Newton iterations (Keerthi & DeCoste, JMLR 2005) from ``(w, b)``.

    Each step solves the regularised least-squares problem on the samples inside the
    margin, then an exact line search. That least-squares problem is solved in whichever
    form is smaller: through the ``|A|×|A|`` Gram matrix of the active samples when there
    are at most ``D`` of them (nearly separable data, and always when ``N ≤ D``), else
    through the ``D×D`` moment matrix, which is updated by the rows that enter or leave
    rather than recomputed. ``o``: the outputs ``X̃w + b`` if already known.

    Returns ``(w, b, steps, converged)``; converged means gradient norm ``<= tol * g0``.
    """
    d = design.d
    o = design.dot(w) + b if o is None else o
    moments, gram, root = None, None, np.sqrt(p)
    for it in range(max_iter + 1):
        active = t * o < 1
        rows = np.flatnonzero(active)
        if rows.size <= d:
            if gram is None:
                gram = _ActiveGram(design, root, C)
            rows, Y, L = gram.take(rows)
            r = o[rows] - t[rows]
            g_w, g_b = p * w + 2 * C * root * (r @ Y), 2 * C * float(r.sum())
        else:
            if moments is None:
                moments, primal = _ActiveMoments(design, t), _PrimalLeastSquares(design, p, C)
            moments.update(active)
            g_w = p * w + 2 * C * (moments.S @ w + moments.s * b - moments.u)
            g_b = 2 * C * (float(moments.s @ w) + moments.n_act * b - moments.t_act)
        if math.hypot(float(np.linalg.norm(g_w)), g_b) <= tol * g0:
            return w, b, it, True
        if it == max_iter:
            break
        if rows.size <= d:
            w_new, b_new = _least_squares_dual(Y, L, t[rows], root, b)
        else:
            w_new, b_new = primal.solve(moments)
        dw, db = w_new - w, b_new - b
        delta = design.dot(dw) + db
        step = _line_search(o, t, delta, float(w @ (p * dw)), float(dw @ (p * dw)), C)
        if step == 0.0:
            return w, b, it + 1, True
        w, b = w + step * dw, b + step * db
        o += step * delta
        if step == 1.0 and np.array_equal(t * o < 1, active):
            return w, b, it + 1, True  # the least-squares solution is consistent with its active set
    return w, b, max_iter, False


def _mean_difference_start(design: _CentredRows, t, C, p, xt, tol: float):
    """``(w, b, outputs)`` on the ray of ``w0 = X̃ᵀt / p`` with the best scale and bias
    (to the same relative tolerance as the whole problem: a tighter one can cycle on
    samples sitting exactly at the margin)."""
    w0 = xt / p
    s = design.dot(w0)
    line = _CentredRows(s[:, None], np.arange(design.n))
    _, g0 = _gradient_at_zero(line, t, C)
    a, c, _, _ = _newton(line, t, C, np.array([float(w0 @ (p * w0))]), tol, 100, np.zeros(1), 0.0, g0)
    shift = float(line.mean[0])
    return a[0] * w0, c - a[0] * shift, a[0] * (s - shift) + c


class _PrimalLeastSquares:
    """Minimiser of ``½ wᵀPw + C Σ_A (t - x̃·w - b)²`` from the active-set moments.

    Its matrix ``H = [[P + 2C AᵀA, 2C Aᵀ1], [2C 1ᵀA, 2C|A|]]`` is factored (Cholesky) for
    one active set and reused while at most ``D / 8`` rows have entered or left the
    margin since: they change ``H`` by ``±2C a aᵀ`` each (``a = [x̃, 1]``), which the
    Woodbury identity folds in at ``O(D² r)`` instead of a new ``O(D³)`` factorisation.
    """

    def __init__(self, design: _CentredRows, p: np.ndarray, C: float):
        self.design, self.p, self.C = design, p, C
        self.limit = max(8, design.d // 8)
        self.factor, self.reference = None, None

    def solve(self, moments: _ActiveMoments) -> tuple[np.ndarray, float]:
        d, C = self.p.size, self.C
        rhs = np.concatenate([2 * C * moments.u, [2 * C * moments.t_act]])
        changed = None if self.factor is None else np.flatnonzero(moments.rows != self.reference)
        if changed is None or changed.size > self.limit:
            H = np.empty((d + 1, d + 1))
            np.multiply(moments.S, 2 * C, out=H[:d, :d])
            H[np.diag_indices(d)] += self.p
            H[:d, d] = H[d, :d] = 2 * C * moments.s
            H[d, d] = 2 * C * moments.n_act + 1e-12 * (1 + float(self.p.max()))  # definite if no sample is active
            try:  # H is symmetric: its transpose is the Fortran-ordered matrix LAPACK factors in place
                self.factor = scipy.linalg.cho_factor(H.T, overwrite_a=True, check_finite=False)
            except np.linalg.LinAlgError:
                self.factor = None
                target = scipy.linalg.lstsq(H, rhs)[0]
                return target[:d], float(target[d])
            self.reference, changed = moments.rows.copy(), np.empty(0, dtype=np.intp)
        target = scipy.linalg.cho_solve(self.factor, rhs, check_finite=False)
        if changed.size:
            U = np.empty((changed.size, d + 1))
            U[:, :d], U[:, d] = self.design.gather(changed), 1.0
            Z = scipy.linalg.cho_solve(self.factor, U.T, check_finite=False)
            capacitance = U @ Z
            capacitance[np.diag_indices(changed.size)] += np.where(moments.rows[changed], 1.0, -1.0) / (2 * C)
            target -= Z @ np.linalg.solve(capacitance, U @ target)
        return target[:d], float(target[d])


def _least_squares_dual(Y, L, tA, root_p, b: float) -> tuple[np.ndarray, float]:
    """The same minimiser through the Gram matrix of the active rows (|A| ≤ D).

    ``Y`` holds the active rows scaled by ``P^-½`` and ``L`` is the lower Cholesky factor
    of ``M = YYᵀ + I/2C``. The optimality conditions give ``w = P^-½ Yᵀα`` with
    ``α = M⁻¹(t - b1)`` and ``Σα = 0``, so ``b = 1ᵀM⁻¹t / 1ᵀM⁻¹1``.
    """
    if tA.size == 0:
        return np.zeros(root_p.size), b
    half = scipy.linalg.solve_triangular(L, np.column_stack([tA, np.ones_like(tA)]), lower=True, check_finite=False)
    sol = scipy.linalg.solve_triangular(L, half, lower=True, trans="T", check_finite=False)
    b_new = float(sol[:, 0].sum() / sol[:, 1].sum())
    v = (sol[:, 0] - b_new * sol[:, 1]) @ Y
    return v / root_p, b_new


# -- the estimator --------------------------------------------------------------------
class AttributeDirection(BaseEstimator):
    """Linear attribute direction in a latent space (InterFaceGAN recipe, intercept kept).

    Parameters
    ----------
    method : {"svm", "logistic", "lda", "mean_difference"}, default="svm"
        The linear classifier.

        * ``"svm"``: L2-regularised squared-hinge linear SVM (the objective of
          scikit-learn's ``LinearSVC``, bias not penalised), solved by a primal finite
          Newton method (typically 2-40 steps) whose cost is ``O(N·D)`` per step plus
          a linear solve in ``min(|A|, D)`` unknowns, ``A`` the samples inside the
          margin (few on nearly separable data, at most ``N``); it never forms an
          ``N × N`` kernel matrix. With ``N`` and ``D`` both in the tens of thousands a
          step can take minutes: use "logistic" or reduce ``D``.
        * ``"logistic"``: L2-regularised logistic regression (lbfgs).
        * ``"lda"``: linear discriminant analysis with Ledoit-Wolf shrinkage of the
          shared covariance (works for ``N < D``); intercept includes the class priors.
        * ``"mean_difference"``: the difference of the class means, with the threshold
          of one-dimensional LDA on the projections (midpoint corrected for priors).
    fraction : float in (0, 0.5], default=0.02
        For continuous scores: the share of samples kept at each end of the ranking
        (``floor(fraction * N)`` positives and as many negatives). Ignored for binary labels.
    n_extreme : int or None, default=None
        For continuous scores: the number kept at each end; overrides ``fraction``.
    val_fraction : float in [0, 1), default=0.3
        Share of each class held out (seeded, stratified) to measure ``val_accuracy_``.
        With 0 everything is used for training and ``val_accuracy_`` is NaN.
    C : float > 0, default=1.0
        Inverse regularisation strength of "svm" and "logistic", as in scikit-learn
        (it multiplies the *sum* of the per-sample losses).
    standardize : bool, default=True
        For "svm" and "logistic": apply the penalty in standardised coordinates
        (each latent coordinate divided by its standard deviation), which keeps the
        problem well conditioned when coordinates differ in scale. The reported
        direction is always the normal of the fitted hyperplane in the original space.
    max_samples : int or None, default=None
        For binary labels: if ``N > max_samples``, fit on a seeded class-balanced
        subsample of at most ``max_samples`` codes (at most ``max_samples // 2`` per
        class; all of a rarer class). Balancing changes the class priors, so it moves
        the intercept towards the middle between the classes. ``None`` uses all samples.
    max_iter : int, default=100
        Newton steps ("svm") or lbfgs iterations ("logistic").
    tol : float, default=1e-4
        Stopping tolerance: relative gradient norm for "svm", lbfgs ``tol`` for "logistic".
    random_state : int, RandomState or None, default=0
        Seed of the train/validation split and of ``max_samples`` subsampling.

    Attributes
    ----------
    direction_ : ndarray of shape latent_shape_, float64
        Unit normal of the hyperplane, pointing towards the attribute (positive class).
    direction_flat_ : ndarray of shape (n_features_in_,)
        The same vector flattened.
    intercept_ : float
        Offset of the hyperplane in latent units: ``direction·z + intercept_`` is the
        signed distance of code ``z`` from it (positive on the attribute side).
    val_accuracy_ : float
        Accuracy on the held-out split (NaN when ``val_fraction == 0``).
    train_accuracy_ : float
        Accuracy on the training split.
    accuracy_remaining_ : float
        For scores: accuracy on the codes between the two extremes, each labelled by
        whether its score is above their median. NaN for binary labels or when no
        code lies between the extremes.
    target_type_ : {"binary", "scores"}
        How ``y`` was read: two distinct values are labels, more are scores.
    classes_ : ndarray of shape (2,)
        The label values (negative first); ``[0, 1]`` for scores.
    latent_shape_ : tuple of int
        Shape of one code, ``Z.shape[1:]``.
    n_features_in_ : int
        ``prod(latent_shape_)``.
    n_train_, n_val_ : int
        Sizes of the splits.
    n_iter_ : int
        Solver iterations ("svm", "logistic"); 0 for the closed-form methods.

    Examples
    --------
    >>> direction = AttributeDirection(fraction=0.02).fit(codes, smile_scores)
    >>> edited = codes + 3.0 * direction.direction_          # move 3 latent units
    >>> distance = direction.decision_function(codes)        # signed distance per code
    """

    def __init__(
        self,
        method: Method = "svm",
        *,
        fraction: float = 0.02,
        n_extreme: int | None = None,
        val_fraction: float = 0.3,
        C: float = 1.0,
        standardize: bool = True,
        max_samples: int | None = None,
        max_iter: int = 100,
        tol: float = 1e-4,
        random_state=0,
    ):
        self.method = method
        self.fraction = fraction
        self.n_extreme = n_extreme
        self.val_fraction = val_fraction
        self.C = C
        self.standardize = standardize
        self.max_samples = max_samples
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        # Read by scikit-learn >= 1.6: fit needs labels or scores.
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # -- parameter checks -------------------------------------------------------------
    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r} is not one of {', '.join(map(repr, METHODS))}")
        if not (isinstance(self.fraction, (int, float)) and 0 < self.fraction <= 0.5):
            raise ValueError(f"fraction must be a number in (0, 0.5]; got {self.fraction!r}")
        if self.n_extreme is not None and not (isinstance(self.n_extreme, (int, np.integer)) and self.n_extreme >= 1):
            raise ValueError(f"n_extreme must be None or a positive int; got {self.n_extreme!r}")
        if not (isinstance(self.val_fraction, (int, float)) and 0 <= self.val_fraction < 1):
            raise ValueError(f"val_fraction must be a number in [0, 1); got {self.val_fraction!r}")
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise ValueError(f"C must be a positive number; got {self.C!r}")
        if self.max_samples is not None and not (
            isinstance(self.max_samples, (int, np.integer)) and self.max_samples >= 2 * _MIN_PER_CLASS
        ):
            raise ValueError(f"max_samples must be None or an int >= {2 * _MIN_PER_CLASS}; got {self.max_samples!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive int; got {self.max_iter!r}")
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise ValueError(f"tol must be a non-negative number; got {self.tol!r}")

    # -- fitting ----------------------------------------------------------------------
    def fit(self, Z, y) -> "AttributeDirection":
        """Fit the hyperplane.

        Parameters
        ----------
        Z : array-like or torch.Tensor, shape (N, *latent_shape)
            Latent codes; extra dimensions are flattened for the fit and restored in
            ``direction_``.
        y : array-like, shape (N,)
            Binary labels (bool, 0/1 or any two values; the larger is the attribute)
            or continuous attribute scores (more than two distinct values; higher
            means more of the attribute).

        Returns
        -------
        self
        """
        self._check_params()
        require_target(y, type(self).__name__, "labels or scores of shape (N,)")
        X, self.latent_shape_ = check_codes(Z, "Z", min_samples=2 * _MIN_PER_CLASS)
        y = check_targets(y, X.shape[0], "y")
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)

        values = _two_values(y)
        if values is not None and values.size < 2:
            raise ValueError(f"y has a single value ({values[0]!r}); need two classes or varying scores")
        if values is not None:
            self.target_type_, self.classes_ = "binary", values
            positive = y == values[1]
            rows, middle = self._binary_rows(positive, rng), None
        else:
            self.target_type_, self.classes_ = "scores", np.array([0, 1])
            rows, positive, middle = self._extreme_rows(y)
        train, val = _stratified_split(rows, positive, self.val_fraction, rng)

        w, b, self.n_iter_ = self._fit_hyperplane(X, train, positive[train])
        norm = float(np.linalg.norm(w))
        if not norm > 0 or not np.isfinite(norm):
            raise ValueError(
                f"method={self.method!r} found no separating direction (all weights zero); "
                "the two classes may be indistinguishable in Z"
            )
        self.direction_flat_ = w / norm
        self.direction_ = restore(self.direction_flat_, self.latent_shape_)
        self.intercept_ = float(b / norm)
        self.n_train_, self.n_val_ = len(train), len(val)
        # One contiguous pass over all codes is cheaper than gathering the subsets.
        above = (X @ self.direction_flat_.astype(X.dtype)).astype(np.float64) + self.intercept_ > 0
        self.train_accuracy_ = _accuracy(above[train], positive[train])
        self.val_accuracy_ = _accuracy(above[val], positive[val])
        if middle is None or middle.size == 0:
            self.accuracy_remaining_ = float("nan")
        else:
            mid_scores = y[middle]
            self.accuracy_remaining_ = _accuracy(above[middle], mid_scores > np.median(mid_scores))
        return self

    def _binary_rows(self, positive: np.ndarray, rng) -> np.ndarray:
        counts = (int((~positive).sum()), int(positive.sum()))
        if min(counts) < _MIN_PER_CLASS:
            raise ValueError(
                f"y has {counts[0]} negative and {counts[1]} positive samples; "
                f"need at least {_MIN_PER_CLASS} of each (one to train, one to validate)"
            )
        n = positive.size
        if self.max_samples is None or n <= self.max_samples:
            return np.arange(n)
        per_class = self.max_samples // 2
        keep = []
        for cls in (False, True):
            idx = np.flatnonzero(positive == cls)
            keep.append(idx if idx.size <= per_class else rng.choice(idx, per_class, replace=False))
        return np.sort(np.concatenate(keep))

    def _extreme_rows(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = scores.size
        k = int(self.n_extreme) if self.n_extreme is not None else int(self.fraction * n)
        source = f"n_extreme={self.n_extreme}" if self.n_extreme is not None else f"fraction={self.fraction} of {n}"
        if k < _MIN_PER_CLASS:
            raise ValueError(
                f"{source} keeps {k} samples at each end of the score ranking; need at least "
                f"{_MIN_PER_CLASS} per end: pass more codes, a larger fraction or n_extreme"
            )
        if 2 * k > n:
            raise ValueError(f"{source} asks for {k} samples at each end but there are only {n} codes")
        # A partition (O(N)) is enough: only the two ends and the rest are needed.
        order = np.argpartition(scores, [k - 1, n - k]) if n > 2 * k else np.argsort(scores)
        positive = np.zeros(n, dtype=bool)
        positive[order[n - k :]] = True
        rows = np.sort(np.concatenate([order[:k], order[n - k :]]))
        return rows, positive, order[k : n - k]

    def _fit_hyperplane(self, X: np.ndarray, train: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, float, int]:
        """Weights and bias of the hyperplane in the original coordinates."""
        if self.method == "svm":
            design = _CentredRows(X, train)
            p = np.where(design.var > 0, design.var, 1.0) if self.standardize else np.ones(design.d)
            t = np.where(pos, 1.0, -1.0)
            # Small problems are many small BLAS calls, which extra threads only slow down;
            # the block products of large ones do gain from them.
            with single_blas_thread() if design.dense is not None else contextlib.nullcontext():
                w, b, n_iter, ok = _fit_squared_hinge(design, t, float(self.C), p, float(self.tol), int(self.max_iter))
            if not ok:
                warnings.warn(
                    f"the SVM solver stopped after max_iter={self.max_iter} Newton steps before converging; "
                    "increase max_iter",
                    ConvergenceWarning,
                    stacklevel=3,
                )
            return w, b - float(w @ design.mean), n_iter
        Xtr = X[train].astype(np.float64)
        if self.method == "logistic":
            mu = Xtr.mean(axis=0)
            Xtr -= mu
            scale = Xtr.std(axis=0) if self.standardize else np.ones(Xtr.shape[1])
            scale[scale == 0] = 1.0
            Xtr /= scale
            clf = LogisticRegression(C=float(self.C), max_iter=int(self.max_iter), tol=float(self.tol))
            clf.fit(Xtr, pos)
            w = clf.coef_[0] / scale
            return w, float(clf.intercept_[0]) - float(w @ mu), int(np.max(clf.n_iter_))
        if self.method == "lda":
            clf = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(Xtr, pos)
            return clf.coef_[0].copy(), float(clf.intercept_[0]), 0
        # mean_difference
        w = Xtr[pos].mean(axis=0) - Xtr[~pos].mean(axis=0)
        proj = Xtr @ w
        m1, m0 = proj[pos].mean(), proj[~pos].mean()
        pooled = (((proj[pos] - m1) ** 2).sum() + ((proj[~pos] - m0) ** 2).sum()) / max(1, proj.size - 2)
        prior_ratio = pos.mean() / (1 - pos.mean())
        threshold = 0.5 * (m1 + m0) - pooled * math.log(prior_ratio) / (m1 - m0) if m1 != m0 else 0.5 * (m1 + m0)
        return w, -float(threshold), 0

    # -- using the fitted hyperplane ----------------------------------------------------
    def decision_function(self, Z) -> np.ndarray:
        """Signed distance of each code from the hyperplane, in latent units.

        Parameters
        ----------
        Z : array-like, shape (M, *latent_shape_) or (M, n_features_in_)

        Returns
        -------
        ndarray of shape (M,), float64
            Positive on the attribute side.
        """
        check_is_fitted(self, "direction_flat_")
        X = flatten_like(Z, self.latent_shape_, "Z", type(self).__name__)
        return (X @ self.direction_flat_.astype(X.dtype)).astype(np.float64) + self.intercept_

    def predict(self, Z) -> np.ndarray:
        """Predicted label per code: ``classes_[1]`` on the attribute side, else ``classes_[0]``."""
        check_is_fitted(self, "direction_flat_")
        return self.classes_[(self.decision_function(Z) > 0).astype(int)]

    def score(self, Z, y) -> float:
        """Accuracy on ``(Z, y)``.

        Binary ``y`` (values among ``classes_``) is compared with :meth:`predict`;
        continuous scores are labelled by whether they lie above their median, as in
        ``accuracy_remaining_``.
        """
        check_is_fitted(self, "direction_flat_")
        dist = self.decision_function(Z)
        y = check_targets(y, dist.shape[0], "y")
        if np.unique(y).size > 2:
            return float(np.mean((dist > 0) == (y > np.median(y))))
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y holds labels {unknown.tolist()} not seen in fit; known: {self.classes_.tolist()}")
        return float(np.mean(self.predict(Z) == y))


# -- helpers ------------------------------------------------------------------------
def _two_values(y: np.ndarray) -> np.ndarray | None:
    """The sorted distinct values of ``y`` if there are at most two, else None (O(N))."""
    first = y[0]
    others = y[y != first]
    if others.size == 0:
        return np.array([first])
    second = others[0]
    if np.any(others != second):
        return None
    return np.sort(np.array([first, second]))


def _accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(predicted == truth)) if truth.size else float("nan")


def _stratified_split(
    rows: np.ndarray, positive: np.ndarray, val_fraction: float, rng
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split of ``rows`` into sorted (train, validation) row indices."""
    train, val = [], []
    for cls in (False, True):
        idx = rows[positive[rows] == cls]
        idx = idx[rng.permutation(idx.size)]
        n_val = 0 if val_fraction == 0 else min(idx.size - 1, max(1, round(val_fraction * idx.size)))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
