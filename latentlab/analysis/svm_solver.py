"""Linear SVM solvers behind ``AttributeDirection(method="svm")``.

Both minimise ``½ wᵀPw + C Σ_i loss(t_i (x̃_i·w + b))`` over ``(w, b)``: ``x̃`` are the
training codes centred on their mean, ``t = ±1`` the labels, ``P`` a diagonal penalty
(``P = diag(var)`` is the same as fitting on standardised features) and the bias ``b``
is not penalised. With ``P = I`` that is the objective of scikit-learn's ``SVC(kernel=
"linear", C=C)`` for the hinge loss and of ``LinearSVC(C=C)`` (bias unpenalised) for the
squared hinge.

* ``loss="squared_hinge"``, ``max(0, 1 - m)²``: a primal finite Newton method (Keerthi &
  DeCoste, JMLR 2005), a handful of steps each ``O(N·D)`` plus a linear solve in
  ``min(|A|, D)`` unknowns, ``A`` the samples inside the margin.
* ``loss="hinge"``, ``max(0, 1 - m)``, InterFaceGAN's (its ``SVC``): dual coordinate
  descent (Hsieh et al., ICML 2008, the method of liblinear), one pass over the samples
  per iteration, with the unpenalised bias found by the method of multipliers on the
  dual's equality constraint ``Σ α_i t_i = 0``.

Both read the rows through :class:`_CentredRows`, which never copies a large training
set. Sections: the rows, the squared-hinge Newton solver, the hinge coordinate descent.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dgemm as _dgemm

from latentlab._validation import _BLOCK_ELEMENTS

__all__ = ["LOSSES", "fit_linear_svm"]

LOSSES = ("squared_hinge", "hinge")

# Training sets up to this many numbers (64 MB in float32) are copied once, contiguous.
_MATERIALIZE_ELEMENTS = 1 << 24
# Numbers per block in the pass that computes the column statistics.
_STATS_BLOCK_ELEMENTS = 1 << 19
# Hinge: passes of coordinate descent between two exact solves on the current face, the
# largest face solved (margin samples per dimension) and the weight of the bias term.
_FACE_EVERY = 10
_FACE_ROWS_PER_DIM = 2
_BIAS_WEIGHT = 0.01


def fit_linear_svm(
    design: "_CentredRows", t: np.ndarray, *, loss: str, C: float, p: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, float, int, bool]:
    """Minimise the objective above for the centred rows ``design`` and labels ``t = ±1``.

    ``tol``: for the squared hinge, the gradient norm relative to its value at
    ``(w, b) = 0``; for the hinge, the largest violation of the optimality conditions,
    in margin units. ``max_iter``: Newton steps, or passes over the samples.

    Returns ``(w, b, n_iter, converged)``, ``b`` the bias for the centred rows.
    """
    if loss == "squared_hinge":
        return _fit_squared_hinge(design, t, C, p, tol, max_iter)
    if loss == "hinge":
        return _fit_hinge(design, t, C, p, tol, max_iter)
    raise ValueError(f"loss={loss!r} is not one of {', '.join(map(repr, LOSSES))}")


# -- the rows -----------------------------------------------------------------------
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


# -- the squared-hinge Newton solver --------------------------------------------------
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




# -- the hinge coordinate descent --------------------------------------------------------
def _fit_hinge(
    design: _CentredRows, t: np.ndarray, C: float, p: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, float, int, bool]:
    """Minimise ``½ Σ p_j w_j² + C Σ_i max(0, 1 - t_i (x̃_i·w + b))`` over ``(w, b)``.

    In the coordinates ``y_i = P^-½ x̃_i`` (weights ``v = P^½ w``) the dual is the box-
    constrained quadratic ``min ½|Σ α_i t_i y_i|² - Σ α_i`` over ``0 ≤ α ≤ C`` with
    ``Σ α_i t_i = 0``, and ``v = Σ α_i t_i y_i``. Coordinate descent minimises it one
    ``α_i`` at a time in closed form (Hsieh et al. 2008), keeping ``v`` up to date in
    ``O(D)``. The equality constraint, whose multiplier is the bias, is what liblinear
    avoids by penalising the bias; here the method of multipliers handles it: each pass
    works on ``+ ρ/2 (Σ α_i t_i)² + b_k Σ α_i t_i`` (a proximal step on ``b``, the bias
    of that pass being ``b_k + ρ Σ α_i t_i``), then sets ``b_{k+1}`` to that bias.

    Coordinate descent alone crawls when the samples on the margin (``0 < α_i < C``)
    are nearly as many as the dimensions, the usual case for noisy labels. So every
    ``_FACE_EVERY`` passes :func:`_face_step` solves the dual exactly on the current
    face (which samples sit on the margin, which at ``C``) and moves towards that
    solution as far as the box allows; once the face is the right one, that is the
    answer, and the next pass confirms it.

    Stops when, within one pass, the projected gradients (each ``t_i o_i - 1`` clipped
    where ``α_i`` sits at a bound) span at most ``tol`` and the bias moved at most
    ``tol``: every sample is then within ``tol`` of where the optimality conditions
    put it (outside the margin if ``α_i = 0``, on it if ``0 < α_i < C``, inside if
    ``α_i = C``). Rows are visited block by block, in a seeded random order.

    Returns ``(w, b, passes, converged)``.
    """
    kernel = _coordinate_descent_kernel()
    root = np.sqrt(p)
    rho = _BIAS_WEIGHT * (float(np.sum(design.var / p)) or 1.0)
    blocks = list(design._blocks())
    cached = {} if design.n * design.d <= _BLOCK_ELEMENTS else None
    alpha, v = np.zeros(design.n), np.zeros(design.d)
    bias, s = 0.0, 0.0  # b_k and Σ α_i t_i
    rng = np.random.default_rng(0)
    for it in range(1, max_iter + 1):
        low, high = np.inf, -np.inf
        for k in rng.permutation(len(blocks)):
            start, stop = blocks[k]
            Y, q = cached[k] if cached is not None and k in cached else _scaled_rows(design, start, stop, root, rho)
            if cached is not None:
                cached[k] = (Y, q)
            order = rng.permutation(stop - start)
            s, lo, hi = kernel(Y, t[start:stop], q, alpha[start:stop], v, C, bias, rho, s, order)
            low, high = min(low, lo), max(high, hi)
        step = rho * s
        if high - low <= tol and abs(step) <= tol:
            return v / root, bias + step, it, True
        bias += step
        if it % _FACE_EVERY == 0:
            moved = _face_step(design, t, C, root, alpha)
            if moved is not None:
                v, bias = moved
                s = float(alpha @ t)
                bias -= rho * s  # the next pass starts from the face's bias
    return v / root, bias + rho * s, max_iter, False


def _face_step(design: _CentredRows, t: np.ndarray, C: float, root: np.ndarray, alpha: np.ndarray):
    """Move ``alpha`` (in place) towards the dual's minimiser on its current face.

    With ``F`` the samples strictly inside the box and ``B`` those at ``C``, the face's
    minimiser puts every sample of ``F`` on the margin, ``t_i (y_i·v + b) = 1``, with
    ``v = Σ_F β_i y_i + u``, ``β_i = α_i t_i``, ``u = C Σ_B t_i y_i`` and ``Σ_F β_i = -C Σ_B t_i``:
    a linear system in ``(β, b)`` through the Gram matrix of ``F``. ``alpha`` moves along
    the segment towards it until the first ``α_i`` reaches a bound (or all the way); the
    dual objective falls along it since it is convex and lowest at the segment's end.

    Returns the new ``(v, b)``, or None when ``F`` is empty or too large to solve for.
    """
    free = np.flatnonzero((alpha > 0) & (alpha < C))
    if free.size == 0 or free.size > _FACE_ROWS_PER_DIM * design.d:
        return None
    bound = alpha >= C
    u = design.tdot(np.where(bound, C * t, 0.0)) / root
    Y = design.gather(free) / root
    m = free.size
    kkt = np.empty((m + 1, m + 1))
    kkt[:m, :m] = Y @ Y.T
    kkt[np.diag_indices(m)] += 1e-12 * (1.0 + float(np.trace(kkt[:m, :m])) / m)
    kkt[:m, m] = kkt[m, :m] = 1.0
    kkt[m, m] = 0.0
    rhs = np.concatenate([t[free] - Y @ u, [-C * float(t[bound].sum())]])
    try:
        solution = scipy.linalg.solve(kkt, rhs, assume_a="sym", check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        solution = scipy.linalg.lstsq(kkt, rhs, check_finite=False)[0]
    target = solution[:m] * t[free]
    change = target - alpha[free]
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(change > 0, (C - alpha[free]) / change, np.where(change < 0, -alpha[free] / change, np.inf))
    tau = min(1.0, float(room.min()))
    alpha[free] = np.clip(alpha[free] + tau * change, 0.0, C)
    v = Y.T @ (alpha[free] * t[free]) + u
    return v, float(solution[m])


def _scaled_rows(design: _CentredRows, start: int, stop: int, root: np.ndarray, rho: float):
    """Rows ``start:stop`` as ``y_i = P^-½ x̃_i`` (float64, C-ordered) and the diagonal
    ``|y_i|² + ρ`` of the dual's quadratic (with the multiplier term)."""
    Y = design.gather(np.arange(start, stop))
    Y /= root
    return Y, np.einsum("ij,ij->i", Y, Y) + rho


def _coordinate_descent_pass(Y, t, q, alpha, v, C, bias, rho, s, order):
    """One pass of dual coordinate descent over the rows ``Y`` in ``order``.

    Updates ``alpha`` and ``v`` in place; returns the new ``s = Σ α_i t_i`` and the
    smallest and largest projected gradient met. Written in plain loops for Numba.
    """
    low, high = np.inf, -np.inf
    d = v.shape[0]
    for i in order:
        out = 0.0
        for j in range(d):
            out += Y[i, j] * v[j]
        grad = t[i] * (out + bias + rho * s) - 1.0
        a = alpha[i]
        projected = min(grad, 0.0) if a <= 0.0 else (max(grad, 0.0) if a >= C else grad)
        low, high = min(low, projected), max(high, projected)
        if projected != 0.0:
            new = min(max(a - grad / q[i], 0.0), C)
            change = (new - a) * t[i]
            for j in range(d):
                v[j] += change * Y[i, j]
            s += change
            alpha[i] = new
    return s, low, high


@functools.cache
def _coordinate_descent_kernel():
    """:func:`_coordinate_descent_pass` compiled by Numba (a dependency of umap-learn),
    on first use: a pass then costs about what one matrix-vector product does."""
    import numba

    return numba.njit(nogil=True)(_coordinate_descent_pass)
