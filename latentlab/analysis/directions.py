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

import math
import warnings
from typing import Literal

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

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
# Training sets up to this many numbers (128 MB in float64) are held as one centred copy.
_MATERIALIZE_ELEMENTS = 1 << 24


# -- the squared-hinge Newton solver --------------------------------------------------
class _CentredRows:
    """The rows ``X[rows]``, centred on their mean, as the solver reads them.

    Small problems (up to ``_MATERIALIZE_ELEMENTS`` numbers) are copied once, centred,
    into a float64 array so that every pass is one BLAS call. Larger ones are never
    copied: each pass gathers one block (~32 MB) at a time, so memory stays flat
    whatever ``N``.

    Attributes: ``mean`` and ``var`` (per column, float64), ``n``, ``d``.
    """

    def __init__(self, X: np.ndarray, rows: np.ndarray):
        self.X, self.rows = X, rows
        self.n, self.d = len(rows), X.shape[1]
        self.block = max(1, _BLOCK_ELEMENTS // self.d)
        self.dense = None
        if self.n * self.d <= _MATERIALIZE_ELEMENTS:
            A = X[rows].astype(np.float64)
            self.mean = A.mean(axis=0)
            A -= self.mean
            self.var = np.einsum("ij,ij->j", A, A) / self.n
            self.dense = A
            return
        # Chan et al.'s pairwise merge of block statistics: one pass, no cancellation.
        count, self.mean, m2 = 0, np.zeros(self.d), np.zeros(self.d)
        for s in range(0, self.n, self.block):
            A = X[rows[s : s + self.block]].astype(np.float64)
            m, block_mean = A.shape[0], A.mean(axis=0)
            diff = block_mean - self.mean
            m2 += ((A - block_mean) ** 2).sum(axis=0) + diff**2 * count * m / (count + m)
            self.mean += diff * m / (count + m)
            count += m
        self.var = m2 / self.n

    def _gather(self, positions: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            return self.dense[positions]
        out = self.X[self.rows[positions]].astype(np.float64)
        out -= self.mean
        return out

    def all_rows(self) -> np.ndarray:
        """The whole centred matrix, shape (n, d), float64 (a copy when streaming)."""
        if self.dense is not None:
            return self.dense
        starts = range(0, self.n, self.block)
        return np.concatenate([self._gather(np.arange(s, min(s + self.block, self.n))) for s in starts])

    def dot(self, v: np.ndarray) -> np.ndarray:
        """``(X[rows] - mean) @ v``, shape (n,), float64.

        When streaming, computed in the dtype of ``X``: for float32 codes the products
        carry ~1e-7 relative error, far below what decides a margin, and skipping the
        float64 copy of every block halves the time of a pass.
        """
        if self.dense is not None:
            return self.dense @ v
        out = np.empty(self.n)
        v_cast = v.astype(self.X.dtype)
        for s in range(0, self.n, self.block):
            e = min(s + self.block, self.n)
            out[s:e] = self.X[self.rows[s:e]] @ v_cast
        out -= float(self.mean @ v)
        return out

    def add_moments(self, positions: np.ndarray, sign: float, t: np.ndarray, S, s, u) -> None:
        """Add ``sign`` times ``(AᵀA, Aᵀ1, Aᵀt)`` to ``(S, s, u)`` in place, for ``A`` the
        centred rows at ``positions``."""
        for k in range(0, len(positions), self.block):
            pos = positions[k : k + self.block]
            A = self._gather(pos)
            S += sign * (A.T @ A)  # NumPy hands A.T @ A to BLAS syrk
            s += sign * A.sum(axis=0)
            u += sign * (t[pos] @ A)


def _line_search(o, t, delta, wPd, dPd, C) -> float:
    """Exact minimiser over ``tau >= 0`` of the objective along a Newton direction.

    Along ``theta + tau * step`` the objective is convex and piecewise quadratic, so its
    derivative is piecewise linear and non-decreasing; the breakpoints are where a sample
    enters or leaves the margin. Sort them and find the segment where the slope crosses 0.
    ``o``: current outputs, ``delta``: change of outputs per unit step, ``wPd``/``dPd``:
    ``w·P·Δw`` and ``Δw·P·Δw`` from the penalty.
    """
    margin = t * o
    rate = t * delta
    active = margin < 1
    a0 = wPd + 2 * C * np.dot((o - t)[active], delta[active])
    b0 = dPd + 2 * C * np.dot(delta[active], delta[active])
    if a0 >= 0:
        return 0.0
    leaves = active & (rate > 0)
    enters = ~active & (rate < 0)
    events = np.flatnonzero(leaves | enters)
    tau = (1 - margin[events]) / rate[events]
    order = np.argsort(tau, kind="stable")
    events, tau = events[order], tau[order]
    sign = np.where(active[events], -1.0, 1.0)
    A = a0 + np.concatenate([[0.0], np.cumsum(sign * 2 * C * (o - t)[events] * delta[events])])
    B = b0 + np.concatenate([[0.0], np.cumsum(sign * 2 * C * delta[events] ** 2)])
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
    standardised features). Solved by the modified finite Newton method (Keerthi &
    DeCoste, JMLR 2005): each step solves the regularised least-squares problem on
    the samples inside the margin, then an exact line search; the Gram matrix of that
    active set is updated by the rows that enter or leave rather than recomputed.

    Returns ``(w, b, n_iter, converged)``.
    """
    n, d = design.n, design.d
    w, b = np.zeros(d), 0.0
    o = np.zeros(n)
    active = np.ones(n, dtype=bool)  # at w = 0 every sample violates the margin
    S, s, u = np.zeros((d, d)), np.zeros(d), np.zeros(d)
    design.add_moments(np.arange(n), 1.0, t, S, s, u)
    n_act, t_act = float(n), float(t.sum())
    g0 = None
    for it in range(1, max_iter + 1):
        # gradient from the maintained active-set moments (o_A = Ãw + b on the active rows)
        g_w = p * w + 2 * C * (S @ w + s * b - u)
        g_b = 2 * C * (s @ w + n_act * b - t_act)
        g_norm = math.hypot(float(np.linalg.norm(g_w)), g_b)
        g0 = g_norm if g0 is None else g0
        if g_norm <= tol * g0:
            return w, b, it - 1, True
        H = np.empty((d + 1, d + 1))
        H[:d, :d] = 2 * C * S
        H[np.diag_indices(d)] += p
        H[:d, d] = H[d, :d] = 2 * C * s
        H[d, d] = 2 * C * n_act + 1e-12 * (1 + float(p.max()))  # keeps H definite if no sample is active
        rhs = np.concatenate([2 * C * u, [2 * C * t_act]])
        try:
            target = scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), rhs)
        except np.linalg.LinAlgError:
            target = scipy.linalg.lstsq(H, rhs)[0]
        dw, db = target[:d] - w, float(target[d] - b)
        delta = design.dot(dw) + db
        step = _line_search(o, t, delta, float(w @ (p * dw)), float(dw @ (p * dw)), C)
        if step == 0.0:
            return w, b, it, True
        w, b = w + step * dw, b + step * db
        o += step * delta
        new_active = t * o < 1
        changed = np.flatnonzero(new_active != active)
        if changed.size == 0 and step == 1.0:
            return w, b, it, True  # the least-squares solution is consistent with its active set
        active = new_active
        if changed.size > np.count_nonzero(active):  # cheaper to rebuild than to update
            S[:], s[:], u[:] = 0.0, 0.0, 0.0
            design.add_moments(np.flatnonzero(active), 1.0, t, S, s, u)
        else:  # add the rows that entered the margin, remove those that left it
            design.add_moments(changed[active[changed]], 1.0, t, S, s, u)
            design.add_moments(changed[~active[changed]], -1.0, t, S, s, u)
        n_act, t_act = float(np.count_nonzero(active)), float(t[active].sum())
    return w, b, max_iter, False


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
          ``O(D³)`` and ``O(D²)`` memory; it never forms a kernel matrix. For ``N < D``
          the problem is first rotated into the ``N``-dimensional span of the
          samples, which gives the same solution. With ``N`` and ``D`` both in the
          tens of thousands a step takes minutes: use "logistic" or reduce ``D``.
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
            solve = _fit_reduced if design.n < design.d else _fit_squared_hinge
            w, b, n_iter, ok = solve(design, t, float(self.C), p, float(self.tol), int(self.max_iter))
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


def _fit_reduced(design: _CentredRows, t, C, p, tol, max_iter):
    """Solve the SVM in the span of the samples when there are fewer samples than features.

    With ``v = sqrt(p) w`` the penalty is ``½|v|²`` and the optimal ``v`` lies in the row
    space of the rescaled centred samples; a QR factorisation ``Ãᵀ/sqrt(p) = Q R`` turns
    the problem into one with ``n`` features ``Rᵀ`` and identity penalty. Same optimum.
    Returns ``(w, b, n_iter, converged)`` for the centred features of ``design``.
    """
    root = np.sqrt(p)
    Q, R = scipy.linalg.qr((design.all_rows() / root).T, mode="economic")
    small = _CentredRows(np.ascontiguousarray(R.T), np.arange(design.n))
    v, b, n_iter, ok = _fit_squared_hinge(small, t, C, np.ones(small.d), tol, max_iter)
    return (Q @ v) / root, b - float(v @ small.mean), n_iter, ok
