"""Attribute directions: the unit normal of a hyperplane that separates an attribute.

The recipe is InterFaceGAN's (Shen et al., CVPR 2020): rank latent codes by an attribute
score, keep the most and the least attribute-like few percent, fit a linear classifier
on a seeded training split and report its accuracy on the held-out split. Two things
differ from the original code: the intercept is kept (the hyperplane need not pass
through the origin), and the default classifier is a primal Newton solver for the
squared-hinge linear SVM instead of a kernel SVM, so that millions of codes fit in
seconds to minutes rather than hours; ``loss="hinge"`` gives the original's hinge loss.
The solvers live in :mod:`latentlab.analysis.svm_solver`.

Sections: the estimator, helpers.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from latentlab._threads import single_blas_thread
from latentlab._validation import (
    check_choice,
    check_codes,
    check_float,
    check_int,
    check_targets,
    flatten_like,
    require_target,
    restore,
)
from latentlab.analysis.svm_solver import LOSSES, _CentredRows, fit_linear_svm

__all__ = ["AttributeDirection", "METHODS"]

Method = Literal["svm", "logistic", "lda", "mean_difference"]
METHODS = ("svm", "logistic", "lda", "mean_difference")
Loss = Literal["squared_hinge", "hinge"]

# A class needs one sample for training and one for validation.
_MIN_PER_CLASS = 2


# -- the estimator --------------------------------------------------------------------
class AttributeDirection(BaseEstimator):
    """Linear attribute direction in a latent space (InterFaceGAN recipe, intercept kept).

    Parameters
    ----------
    method : {"svm", "logistic", "lda", "mean_difference"}, default="svm"
        The linear classifier.

        * ``"svm"``: L2-regularised linear SVM, bias not penalised. With the default
          ``loss="squared_hinge"`` (the objective of scikit-learn's ``LinearSVC``) it is
          solved by a primal finite Newton method (typically 2-40 steps) whose cost is ``O(N·D)`` per step plus
          a linear solve in ``min(|A|, D)`` unknowns, ``A`` the samples inside the
          margin (few on nearly separable data, at most ``N``); it never forms an
          ``N × N`` kernel matrix. With ``N`` and ``D`` both in the tens of thousands a
          step can take minutes: use "logistic" or reduce ``D``. ``loss="hinge"``
          (the objective of ``SVC(kernel="linear")``, InterFaceGAN's) is solved by dual
          coordinate descent, one ``O(N·D)`` pass per iteration; it needs more passes
          than the Newton method needs steps, but it is less swayed by mislabelled
          samples far on the wrong side.
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
    loss : {"squared_hinge", "hinge"}, default="squared_hinge"
        For "svm": the per-sample loss, ``max(0, 1 - m)²`` or ``max(0, 1 - m)`` of the
        margin ``m``. Ignored by the other methods.
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
    max_iter : int or None, default=None
        Newton steps ("svm", squared hinge; None: 100), passes over the samples ("svm",
        hinge; None: 1000) or lbfgs iterations ("logistic"; None: 100).
    tol : float, default=1e-4
        Stopping tolerance: relative gradient norm for the squared hinge, the largest
        violation of the optimality conditions in margin units for the hinge, lbfgs
        ``tol`` for "logistic".
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
        loss: Loss = "squared_hinge",
        standardize: bool = True,
        max_samples: int | None = None,
        max_iter: int | None = None,
        tol: float = 1e-4,
        random_state=0,
    ):
        self.method = method
        self.fraction = fraction
        self.n_extreme = n_extreme
        self.val_fraction = val_fraction
        self.C = C
        self.loss = loss
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
        check_choice(self.method, "method", METHODS)
        check_float(self.fraction, "fraction", min=0, max=0.5, min_open=True)
        check_int(self.n_extreme, "n_extreme", min=1, allow_none=True)
        check_float(self.val_fraction, "val_fraction", min=0, max=1, max_open=True)
        check_float(self.C, "C", min=0, min_open=True)
        check_choice(self.loss, "loss", LOSSES)
        check_int(self.max_samples, "max_samples", min=2 * _MIN_PER_CLASS, allow_none=True)
        check_int(self.max_iter, "max_iter", min=1, allow_none=True)
        check_float(self.tol, "tol", min=0)

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
        hinge = self.method == "svm" and self.loss == "hinge"
        max_iter = int(self.max_iter) if self.max_iter is not None else (1000 if hinge else 100)
        if self.method == "svm":
            design = _CentredRows(X, train)
            p = np.where(design.var > 0, design.var, 1.0) if self.standardize else np.ones(design.d)
            t = np.where(pos, 1.0, -1.0)
            # Small problems are many small BLAS calls, which extra threads only slow down;
            # the block products of large ones do gain from them.
            with single_blas_thread() if design.dense is not None else contextlib.nullcontext():
                w, b, n_iter, ok = fit_linear_svm(
                    design, t, loss=self.loss, C=float(self.C), p=p, tol=float(self.tol), max_iter=max_iter
                )
            if not ok:
                steps = "Newton steps" if self.loss == "squared_hinge" else "passes over the samples"
                warnings.warn(
                    f"the SVM solver stopped after max_iter={max_iter} {steps} before converging; "
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
            clf = LogisticRegression(C=float(self.C), max_iter=max_iter, tol=float(self.tol))
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
