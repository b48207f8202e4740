"""Disentanglement metrics on data with known generative factors.

Six scores of how well a representation separates the ground-truth factors of its data,
each as defined in its paper, with the sample sizes and discretisation of
disentanglement_lib (Locatello et al. 2019) as defaults. Higher is better for all; all
lie in ``[0, 1]``.

Metrics on arrays of codes ``(N, D)`` and factors ``(N, K)``:

* :func:`mig` — Mutual Information Gap (Chen et al. 2018): for each factor, the gap
  between the two code dimensions sharing most mutual information with it, divided by
  the factor's entropy; averaged over factors. Codes are discretised into 20 equal-width
  bins per dimension (as disentanglement_lib does).
* :func:`dci` — Disentanglement, Completeness, Informativeness (Eastwood & Williams
  2018): one classifier per factor gives a ``(D, K)`` importance matrix; disentanglement
  is ``1 - entropy_K`` of each code's importance over factors, weighted by the code's
  share of importance; completeness is ``1 - entropy_D`` of each factor's importance
  over codes, weighted likewise; informativeness is the classifiers' mean held-out
  accuracy. Gradient-boosted trees by default (disentanglement_lib), random forests or
  L1 logistic regression ("lasso") on request.
* :func:`sap` — Separated Attribute Predictability (Kumar et al. 2018): a ``(D, K)``
  score matrix of how well each single code dimension predicts each factor — ``R^2`` of a
  linear fit for a continuous factor, held-out balanced accuracy of a threshold
  classifier on that one dimension for a categorical factor — and the mean over factors
  of the gap between the two best dimensions.
* :func:`modularity` — Ridgeway & Mozer 2018: from the ``(D, K)`` mutual-information
  matrix, each code dimension's squared deviation from the ideal template where it
  shares information with one factor only, ``1 - sum_{k != k*} m_k^2 / ((K-1) m_{k*}^2)``;
  averaged over dimensions (a dimension with no information scores 0).

Interventional metrics, which need data rendered from chosen factors (a
:class:`FactorOracle`):

* :func:`betavae_score` (Higgins et al. 2017): each point fixes one random factor in
  ``batch_size`` pairs of observations (every other factor drawn afresh), and its
  feature is the mean ``|z1 - z2|`` over the pairs; a linear classifier (logistic
  regression on standardised features) trained on ``n_train`` points predicts the fixed
  factor of ``n_eval`` new ones. The score is that held-out accuracy.
* :func:`factorvae_score` (Kim & Mnih 2018): each code dimension is scaled by its
  standard deviation over ``n_variance`` observations; dimensions whose standard
  deviation is below ``prune_threshold`` times the largest are pruned (collapsed to the
  prior). Each vote fixes one factor in a batch of ``batch_size`` observations and
  records the (fixed factor, dimension of least scaled variance) pair; a majority-vote
  classifier (each dimension predicts the factor it was most often argmin for) trained on
  ``n_train`` votes is scored on ``n_eval`` new ones.

**Factors: categorical or continuous.** A factor column whose values are all whole
numbers (level indices, 0/1 labels) is categorical: its values are its classes. Any
other column is continuous, and is discretised into ``n_bins`` equal-width bins (20 by
default) wherever a metric needs discrete values (mutual information, the DCI
classifiers). SAP scores continuous factors with ``R^2`` instead.

**Chance levels.** A code independent of the factors scores about 0 on MIG, SAP, DCI
disentanglement and completeness; about ``1/K`` on the BetaVAE and FactorVAE scores
(chance among ``K`` factors) and the average chance accuracy of each factor on DCI
informativeness. Modularity of an uninformative code is not 0: finite-sample bias in
the mutual information differs between factors with different numbers of levels. Mutual
information is in nats, not normalised per factor, so in modularity a factor with more
levels dominates a coordinate that mixes factors evenly. MIG of a perfect code is below
1 when a categorical factor has more than ``n_bins`` levels (20 bins cannot hold 32
positions); disentanglement_lib has the same ceiling. SAP of a perfect code with
categorical factors is ``mean(1 - 1/L_k)``, since an uninformative dimension still
classifies at chance.

**Rotations.** MIG, SAP and DCI disentanglement/completeness fall as soon as a rotation
spreads factors over coordinates. The BetaVAE score, the FactorVAE score and modularity
are lenient (Kim & Mnih 2018 make this point about the BetaVAE score): they stay at their
maximum under a generic rotation as long as each factor still has a distinct signature —
a distinct pattern of ``|z1 - z2|``, a distinct least-varying coordinate, a dominant
factor per coordinate. Only a rotation that mixes every factor into every coordinate
evenly takes them to chance.

**Cost.** The standard interventional sizes are large: the BetaVAE score encodes
``2 * batch_size * (n_train + n_eval)`` = 1.92 million observations, the FactorVAE
score ``batch_size * (n_train + n_eval) + n_variance`` = 970,000. This is what the
literature reports; pass smaller sizes for a quick look.

:func:`evaluate_disentanglement` computes everything for a
:class:`~latentlab.models.base.Generator` with an ``encode`` on the built-in ``shapes``
or ``faces`` data (see :class:`ShapesOracle` and :class:`FacesOracle` for their
factors).
"""

from __future__ import annotations

import abc
import inspect
import math
from typing import Callable, Iterable, Literal, Sequence

import numpy as np
import torch
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from latentlab._progress import progress_bar
from latentlab._validation import check_codes, check_finite, check_float, check_int, to_numpy
from latentlab.codes import encode_dataset
from latentlab.data import Dataset, load_for_model, shapes
from latentlab.data.faces import BINARY_ATTRIBUTES, make_faces, render_faces
from latentlab.data.shapes import render_shapes
from latentlab.models.base import Generator

__all__ = [
    "DISENTANGLEMENT_METRICS",
    "FACTOR_DATASETS",
    "FactorOracle",
    "ShapesOracle",
    "FacesOracle",
    "FunctionOracle",
    "oracle_for",
    "mig",
    "dci",
    "sap",
    "modularity",
    "betavae_score",
    "factorvae_score",
    "evaluate_disentanglement",
]

DISENTANGLEMENT_METRICS = ("betavae", "factorvae", "mig", "dci", "sap", "modularity")
FACTOR_DATASETS = ("shapes", "faces")  # built-in datasets whose generative factors are known

_MIN_SAMPLES = 10
# observations per call to ``represent`` in the interventional metrics: large enough that
# per-call overhead vanishes, small enough that images stay ~100 MB at 64 px RGB
_OBS_PER_CALL = 4096
_ENCODE_BATCH = 256
_BLOCK_ELEMENTS = 1 << 22  # one-hot entries per row block in the mutual information


# ----------------------------------------------------------------------------------
# input checks and discretisation
# ----------------------------------------------------------------------------------
def _check_pair(codes, factors, min_samples: int = _MIN_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``codes (N, D)`` and ``factors (N, K)``; both returned as float64."""
    Z, _ = check_codes(codes, "codes")
    if min_samples > Z.shape[0]:
        raise ValueError(f"codes need at least {min_samples} samples (rows) for a disentanglement metric; got {Z.shape[0]}")
    F = to_numpy(factors, "factors")
    if F.ndim == 1:
        F = F[:, None]
    if F.ndim != 2 or F.shape[1] == 0:
        raise ValueError(f"factors must have shape (n_samples, n_factors) with at least one factor; got shape {F.shape}")
    if F.shape[0] != Z.shape[0]:
        raise ValueError(f"codes have {Z.shape[0]} rows but factors have {F.shape[0]}; they must describe the same samples")
    F = F.astype(np.float64)
    check_finite(F, "factors")
    constant = np.flatnonzero(F.min(axis=0) == F.max(axis=0))
    if constant.size:
        raise ValueError(
            f"factor column {int(constant[0])} is constant (value {F[0, constant[0]]:g}): a factor that never "
            "varies cannot be disentangled; drop it"
        )
    return Z.astype(np.float64, copy=False), F


def _check_bins(n_bins) -> int:
    return check_int(n_bins, "n_bins", min=2)


def _check_fraction(test_fraction) -> float:
    return check_float(test_fraction, "test_fraction", min=0, max=1, min_open=True, max_open=True)


def _histogram_bins(X: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin index ``0 .. n_bins-1`` of each column of ``X (N, D)`` over its range."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    width = np.where(hi > lo, hi - lo, 1.0)
    return np.minimum(((X - lo) / width * n_bins).astype(np.int64), n_bins - 1)


def _is_categorical(F: np.ndarray) -> np.ndarray:
    """Which factor columns hold only whole numbers (and are therefore categorical)."""
    return np.all(F == np.round(F), axis=0)


def _factor_labels(F: np.ndarray, n_bins: int) -> np.ndarray:
    """Factors as class labels ``0 .. L_k-1`` (N, K): categorical as is, continuous binned."""
    categorical = _is_categorical(F)
    out = np.empty(F.shape, dtype=np.int64)
    for k in range(F.shape[1]):
        column = F[:, k] if categorical[k] else _histogram_bins(F[:, k : k + 1], n_bins)[:, 0]
        out[:, k] = np.unique(column, return_inverse=True)[1].reshape(-1)
    return out


def _mutual_info(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Mutual information (nats) of every column of labels ``A (N, D)`` with every column of ``B (N, K)``.

    All contingency tables at once, as products of one-hot matrices (in row blocks, so
    the one-hot temporaries stay ~32 MB whatever ``N``).
    """
    n = A.shape[0]
    a_levels, b_levels = A.max(axis=0) + 1, B.max(axis=0) + 1
    a_off = np.concatenate([[0], np.cumsum(a_levels)])
    b_off = np.concatenate([[0], np.cumsum(b_levels)])
    joint = np.zeros((a_off[-1], b_off[-1]))  # block (d, k) counts the pairs (a_d, b_k)
    step = max(1, _BLOCK_ELEMENTS // int(a_off[-1] + b_off[-1]))
    for start in range(0, n, step):
        a, b = A[start : start + step], B[start : start + step]
        rows = np.arange(len(a))[:, None]
        onehot_a = np.zeros((len(a), a_off[-1]))
        onehot_a[rows, a + a_off[:-1]] = 1.0
        onehot_b = np.zeros((len(b), b_off[-1]))
        onehot_b[rows, b + b_off[:-1]] = 1.0
        joint += onehot_a.T @ onehot_b
    joint /= n
    # each column of A (B) alone: any one block row (column) of the joint, summed
    pa = joint[:, : b_off[1]].sum(axis=1)
    pb = joint[: a_off[1]].sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / np.outer(pa, pb)), 0.0)
    # sum each (d, k) block: reduce rows by code dimension, then columns by factor
    per_row = np.add.reduceat(terms, b_off[:-1], axis=1)
    return np.maximum(np.add.reduceat(per_row, a_off[:-1], axis=0), 0.0)


def _entropy(labels: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each column of ``labels (N, K)``."""
    out = np.empty(labels.shape[1])
    for k in range(labels.shape[1]):
        p = np.bincount(labels[:, k]) / labels.shape[0]
        p = p[p > 0]
        out[k] = -(p * np.log(p)).sum()
    return out


def _top_two_gap(S: np.ndarray) -> np.ndarray:
    """Per column of ``S (D, K)``: largest minus second largest entry (0 stands in for a missing second)."""
    ordered = np.sort(S, axis=0)[::-1]
    second = ordered[1] if S.shape[0] > 1 else np.zeros(S.shape[1])
    return ordered[0] - second


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true`` (chance: 1 / their number)."""
    classes, y = np.unique(y_true, return_inverse=True)
    hits = np.bincount(y, weights=(y_pred == y_true), minlength=len(classes))
    return float(np.mean(hits / np.bincount(y, minlength=len(classes))))


def _split(n: int, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(n)
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n - n_test < 2:
        raise ValueError(f"{n} samples are too few to split into training and test parts (test_fraction={test_fraction})")
    return order[n_test:], order[:n_test]


# ----------------------------------------------------------------------------------
# metrics on arrays
# ----------------------------------------------------------------------------------
def mig(codes, factors, *, n_bins: int = 20) -> float:
    """Mutual Information Gap (Chen et al. 2018).

    Parameters
    ----------
    codes : array-like, shape (N, D)
        One representation per row (e.g. posterior means).
    factors : array-like, shape (N, K) or (N,)
        Ground-truth factors of the same samples; categorical or continuous (see the
        module docstring).
    n_bins : int
        Equal-width bins per code dimension (and per continuous factor) for the
        discrete mutual information; 20 as in disentanglement_lib.

    Returns
    -------
    float
        ``mean_k (I(z_{j1}; v_k) - I(z_{j2}; v_k)) / H(v_k)`` over factors ``k``, where
        ``j1, j2`` are the dimensions with the most and second-most information about
        ``v_k``. In ``[0, 1]``; a one-dimensional code counts the gap to 0.
    """
    n_bins = _check_bins(n_bins)
    Z, F = _check_pair(codes, factors)
    labels = _factor_labels(F, n_bins)
    mi = _mutual_info(_histogram_bins(Z, n_bins), labels)
    return float(np.mean(_top_two_gap(mi) / _entropy(labels)))


def modularity(codes, factors, *, n_bins: int = 20) -> float:
    """Modularity (Ridgeway & Mozer 2018).

    Parameters
    ----------
    codes : array-like, shape (N, D)
    factors : array-like, shape (N, K) or (N,)
        At least two factors (with one, every code is trivially modular).
    n_bins : int
        Equal-width bins per code dimension (and continuous factor) for the mutual
        information.

    Returns
    -------
    float
        Mean over code dimensions of ``1 - delta_d``, where ``delta_d`` is the sum of the
        squared mutual information of dimension ``d`` with every factor but its best,
        divided by ``(K - 1)`` times the squared information with its best factor
        (disentanglement_lib's form); dimensions without information score 0. In ``[0, 1]``.
    """
    n_bins = _check_bins(n_bins)
    Z, F = _check_pair(codes, factors)
    if F.shape[1] < 2:
        raise ValueError("modularity needs at least two factors; with one, every code dimension is modular by definition")
    mi2 = _mutual_info(_histogram_bins(Z, n_bins), _factor_labels(F, n_bins)) ** 2
    best = mi2.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - (mi2.sum(axis=1) - best) / (best * (F.shape[1] - 1))
    return float(np.mean(np.where(best > 0, score, 0.0)))


def _importance_entropy_score(R: np.ndarray) -> float:
    """Weighted ``1 - H_base(row distribution)`` over the rows of a non-negative ``R``.

    Rows are weighted by their share of the total; the entropy base is the row length
    (so a row concentrated on one entry scores 1, a uniform row 0). A single column
    scores 1 by definition.
    """
    if R.shape[1] == 1:
        return 1.0
    totals = R.sum(axis=1)
    if totals.sum() <= 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(totals[:, None] > 0, R / totals[:, None], 1.0 / R.shape[1])
        plogp = np.where(P > 0, P * np.log(P), 0.0)
    per_row = 1.0 + plogp.sum(axis=1) / math.log(R.shape[1])
    return float(np.sum(per_row * totals / totals.sum()))


def _dci_model(estimator: str, random_state: int):
    if estimator == "gbt":
        return GradientBoostingClassifier(random_state=random_state)
    if estimator == "forest":
        return RandomForestClassifier(n_estimators=100, max_features=None, random_state=random_state, n_jobs=1)
    # scikit-learn 1.8 replaced penalty="l1" with l1_ratio=1; support both
    if inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated":
        l1 = {"l1_ratio": 1.0}
    else:
        l1 = {"penalty": "l1"}
    return LogisticRegression(**l1, solver="saga", C=0.1, max_iter=2000, random_state=random_state)


def dci(
    codes,
    factors,
    *,
    estimator: Literal["gbt", "forest", "lasso"] = "gbt",
    test_fraction: float = 1 / 3,
    n_bins: int = 20,
    random_state: int = 0,
) -> dict[str, float]:
    """Disentanglement, completeness and informativeness (Eastwood & Williams 2018).

    Parameters
    ----------
    codes : array-like, shape (N, D)
    factors : array-like, shape (N, K) or (N,)
        Categorical factors are the classifiers' targets as they are; continuous ones
        are binned into ``n_bins`` equal-width classes.
    estimator : {"gbt", "forest", "lasso"}
        The per-factor classifier whose feature importances fill the ``(D, K)``
        importance matrix: scikit-learn's ``GradientBoostingClassifier`` with default
        settings (disentanglement_lib), a 100-tree ``RandomForestClassifier``, or an L1
        logistic regression on standardised codes (importance ``|coef|`` summed over
        classes; Eastwood & Williams' lasso).
    test_fraction : float
        Share of the samples held out to measure informativeness; 1/3 turns 15,000
        samples into disentanglement_lib's 10,000 training and 5,000 test points.
    n_bins : int
        Bins for continuous factors.
    random_state : int
        Seeds the split and the classifiers.

    Returns
    -------
    dict
        ``disentanglement``, ``completeness`` (both in ``[0, 1]``) and
        ``informativeness``: mean held-out accuracy over factors, in ``[0, 1]``.
    """
    if estimator not in ("gbt", "forest", "lasso"):
        raise ValueError(f"estimator must be 'gbt', 'forest' or 'lasso', not {estimator!r}")
    n_bins = _check_bins(n_bins)
    test_fraction = _check_fraction(test_fraction)
    Z, F = _check_pair(codes, factors)
    labels = _factor_labels(F, n_bins)
    train, test = _split(len(Z), test_fraction, np.random.default_rng(random_state))
    X_train, X_test = Z[train], Z[test]
    if estimator == "lasso":
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    importance = np.zeros((Z.shape[1], F.shape[1]))
    accuracy = np.zeros(F.shape[1])
    for k in range(F.shape[1]):
        y_train, y_test = labels[train, k], labels[test, k]
        if np.unique(y_train).size < 2:
            raise ValueError(f"factor {k} takes a single value in the training part; give more samples")
        model = _dci_model(estimator, random_state).fit(X_train, y_train)
        if estimator == "lasso":
            importance[:, k] = np.abs(model.coef_).sum(axis=0)
        else:
            importance[:, k] = model.feature_importances_
        accuracy[k] = np.mean(model.predict(X_test) == y_test)
    return {
        "disentanglement": _importance_entropy_score(importance),
        "completeness": _importance_entropy_score(importance.T),
        "informativeness": float(accuracy.mean()),
    }


def sap(codes, factors, *, test_fraction: float = 1 / 3, random_state: int = 0) -> float:
    """Separated Attribute Predictability (Kumar et al. 2018).

    Parameters
    ----------
    codes : array-like, shape (N, D)
    factors : array-like, shape (N, K) or (N,)
        A categorical factor (whole numbers) is scored by the held-out balanced accuracy
        of a threshold classifier on one code dimension — a depth-first decision tree on
        that dimension with as many leaves as the factor has levels, i.e. ``L - 1``
        thresholds, trained with balanced class weights. A continuous factor is scored by
        the ``R^2`` of a linear fit on one dimension (its squared correlation, over all
        samples).
    test_fraction : float
        Share of the samples held out for the classifiers' accuracy.
    random_state : int
        Seeds the split and the trees' tie-breaking.

    Returns
    -------
    float
        Mean over factors of the gap between the best and second-best dimension's score,
        in ``[0, 1]``.
    """
    test_fraction = _check_fraction(test_fraction)
    Z, F = _check_pair(codes, factors)
    categorical = _is_categorical(F)
    train, test = _split(len(Z), test_fraction, np.random.default_rng(random_state))
    scores = np.zeros((Z.shape[1], F.shape[1]))
    if (~categorical).any():
        Zc = Z - Z.mean(axis=0)
        Fc = F[:, ~categorical] - F[:, ~categorical].mean(axis=0)
        var_z, var_f = (Zc**2).sum(axis=0), (Fc**2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = (Zc.T @ Fc) ** 2 / np.outer(var_z, var_f)
        scores[:, ~categorical] = np.where(var_z[:, None] > 1e-12 * Z.shape[0], r2, 0.0)
    for k in np.flatnonzero(categorical):
        y = np.unique(F[:, k], return_inverse=True)[1].reshape(-1)
        if np.unique(y[train]).size < 2:
            raise ValueError(f"factor {k} takes a single value in the training part; give more samples")
        n_levels = int(y.max()) + 1
        for d in range(Z.shape[1]):
            tree = DecisionTreeClassifier(max_leaf_nodes=max(2, n_levels), class_weight="balanced", random_state=random_state)
            tree.fit(Z[train, d : d + 1], y[train])
            scores[d, k] = _balanced_accuracy(y[test], tree.predict(Z[test, d : d + 1]))
    return float(np.mean(_top_two_gap(scores)))


# ----------------------------------------------------------------------------------
# factor oracles: data rendered from chosen factors
# ----------------------------------------------------------------------------------
class FactorOracle(abc.ABC):
    """Ground-truth data that can be rendered from factor values chosen by the caller.

    The interventional metrics draw factor vectors, overwrite a factor to fix it, and ask
    for the observations. A subclass sets ``factor_names`` and implements
    :meth:`sample_factors` (independent draws of every factor) and :meth:`render`. Factor
    values are whatever :meth:`render` takes (level indices, or continuous values):
    copying a column between rows must fix that factor.
    """

    factor_names: tuple[str, ...] = ()

    @property
    def n_factors(self) -> int:
        return len(self.factor_names)

    @abc.abstractmethod
    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws of the factors, shape ``(n, n_factors)``."""

    @abc.abstractmethod
    def render(self, factors: np.ndarray, rng: np.random.Generator):
        """Observations ``(n, ...)`` (tensor or array) for factor rows ``(n, n_factors)``.

        ``rng`` draws anything the factors leave free (nuisance not scored).
        """

    def factors_of(self, dataset) -> np.ndarray:
        """The factors of a :class:`~latentlab.data.Dataset`, ``(N, n_factors)``, for the array metrics."""
        missing = [k for k in self.factor_names if k not in dataset.factors]
        if missing:
            raise ValueError(f"dataset {dataset.name!r} lacks the factor(s) {', '.join(missing)}")
        return np.stack([np.asarray(dataset.factors[k], np.float64) for k in self.factor_names], axis=1)


class ShapesOracle(FactorOracle):
    """The built-in ``shapes`` data (:mod:`latentlab.data.shapes`) as a factor oracle.

    Factors are the level indices of ``shape`` (3), ``scale`` (6), ``orientation`` (40),
    ``pos_x`` (32) and ``pos_y`` (32), drawn uniformly as in dSprites; images are
    ``(1, size, size)`` in ``{-1, 1}``.

    Parameters
    ----------
    size : int
        Image side in pixels, 32 or 64.
    """

    def __init__(self, size: int = 64):

        if size not in (32, 64):
            raise ValueError(f"size must be 32 or 64 pixels, not {size!r}")
        self.size = size
        self.factor_names = tuple(shapes.FACTOR_NAMES)
        self._values = (np.arange(len(shapes.SHAPES)), shapes.SCALES, shapes.ORIENTATIONS, shapes.POSITIONS, shapes.POSITIONS)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, len(v), size=n) for v in self._values], axis=1)

    def render(self, factors: np.ndarray, rng: np.random.Generator) -> torch.Tensor:

        idx = np.asarray(factors, dtype=np.int64)
        return render_shapes(*(v[idx[:, j]] for j, v in enumerate(self._values)), size=self.size)

    def factors_of(self, dataset) -> np.ndarray:
        # the level indices (attrs), as disentanglement_lib scores dSprites
        missing = [k for k in self.factor_names if k not in dataset.attrs]
        if missing:
            raise ValueError(f"dataset {dataset.name!r} lacks the factor(s) {', '.join(missing)}")
        return np.stack([dataset.attrs[k] for k in self.factor_names], axis=1).astype(np.float64)


class FacesOracle(FactorOracle):
    """The built-in ``faces`` data (:mod:`latentlab.data.faces`) as a factor oracle.

    Scored factors: the six binary attributes' factors (``glasses``, ``smile``, ``age``,
    ``beard``, ``hat``, ``male``; continuous, the label being a threshold of each),
    ``hair_color`` (a level index) and ``skin_tone`` (continuous), and, when
    ``nuisance > 0``, the nuisance factors ``pos_x``, ``pos_y``, ``scale`` and ``tilt``.
    They are drawn independently (``make_faces(correlations={})``), since the metrics
    assume independent factors. The remaining factors (``hair_shade``, ``face_width``,
    ``hat_hue``, ``shirt_hue``, ``background``) are not scored and vary at random in
    every rendered face.

    Interventions fix a factor at its exact value, continuous or not; the array metrics
    bin continuous factors (see the module docstring).

    Parameters
    ----------
    size : int
        Image side in pixels, 32 or 64.
    nuisance : float
        Range of the nuisance factors, as in :func:`~latentlab.data.faces.make_faces`.
    """

    def __init__(self, size: int = 32, nuisance: float = 1.0):

        if size not in (32, 64):
            raise ValueError(f"size must be 32 or 64 pixels, not {size!r}")
        self.size = size
        self.nuisance = float(nuisance)
        nuisances = ("pos_x", "pos_y", "scale", "tilt") if self.nuisance > 0 else ()
        self.factor_names = (*BINARY_ATTRIBUTES, "hair_color", "skin_tone", *nuisances)

    def _draw(self, n: int, rng: np.random.Generator) -> dict:

        seed = int(rng.integers(0, 2**31 - 1))
        return make_faces(n=n, size=self.size, seed=seed, correlations={}, nuisance=self.nuisance).factors

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        drawn = self._draw(n, rng)
        return np.stack([drawn[k].astype(np.float64) for k in self.factor_names], axis=1)

    def render(self, factors: np.ndarray, rng: np.random.Generator) -> torch.Tensor:

        factors = np.asarray(factors, dtype=np.float64)
        values = self._draw(len(factors), rng)
        values.update({k: factors[:, j].astype(np.float32) for j, k in enumerate(self.factor_names)})
        return render_faces(values, self.size)


class FunctionOracle(FactorOracle):
    """Synthetic ground truth: integer factors drawn uniformly, rendered by a function.

    Parameters
    ----------
    n_values : sequence of int
        Number of values of each factor; factor ``k`` takes ``0 .. n_values[k]-1``.
    render : callable
        Maps factors ``(n, K)`` int64 to observations ``(n, ...)`` (array or tensor).
    names : sequence of str, optional
        Factor names (default ``factor0``, ``factor1``, ...).
    """

    def __init__(self, n_values: Sequence[int], render: Callable[[np.ndarray], object], names: Sequence[str] | None = None):
        n_values = [int(v) for v in n_values]
        if not n_values or min(n_values) < 2:
            raise ValueError(f"n_values must list at least one factor, each with >= 2 values; got {n_values}")
        if not callable(render):
            raise TypeError(f"render must be a callable factors -> observations, not {type(render).__name__}")
        names = tuple(names) if names is not None else tuple(f"factor{k}" for k in range(len(n_values)))
        if len(names) != len(n_values):
            raise ValueError(f"{len(names)} names for {len(n_values)} factors")
        self.n_values = tuple(n_values)
        self.render_fn = render
        self.factor_names = names

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, v, size=n) for v in self.n_values], axis=1)

    def render(self, factors: np.ndarray, rng: np.random.Generator):
        return self.render_fn(np.asarray(factors, dtype=np.int64))


def oracle_for(dataset) -> FactorOracle:
    """The factor oracle of a built-in dataset, given by name or as a loaded Dataset.

    Images are rendered at the dataset's size (``info["size"]``; 64 px for ``"shapes"``
    and 32 px for ``"faces"`` by name), and a ``faces`` dataset's ``nuisance`` carries over.
    """
    name = dataset if isinstance(dataset, str) else getattr(dataset, "name", None)
    info = {} if isinstance(dataset, str) else dict(getattr(dataset, "info", {}) or {})
    if name == "shapes":
        return ShapesOracle(size=int(info.get("size", 64)))
    if name == "faces":
        return FacesOracle(size=int(info.get("size", 32)), nuisance=float(info.get("nuisance", 1.0)))
    shown = name if name is not None else type(dataset).__name__
    raise ValueError(
        f"the generative factors of {shown!r} are not known; disentanglement metrics need a dataset with "
        f"known factors: {', '.join(FACTOR_DATASETS)}"
    )


# ----------------------------------------------------------------------------------
# interventional metrics
# ----------------------------------------------------------------------------------
def _check_oracle(oracle) -> None:
    if not isinstance(oracle, FactorOracle):
        raise TypeError(f"oracle must be a FactorOracle (ShapesOracle, FacesOracle, FunctionOracle), not {type(oracle).__name__}")
    if oracle.n_factors < 2:
        raise ValueError("the interventional metrics classify which factor was fixed, so they need at least two factors")


def _represent(represent, observations) -> np.ndarray:
    """Codes ``(n, D)`` float64 of ``observations`` via the user's ``represent``."""
    out = to_numpy(represent(observations), "represent(observations)")
    n = len(observations)
    if out.ndim < 1 or out.shape[0] != n:
        raise ValueError(f"represent returned shape {out.shape} for {n} observations; expected ({n}, code_dim)")
    out = out.reshape(n, -1).astype(np.float64)
    check_finite(out, "represent(observations)")
    return out


def _betavae_points(represent, oracle, n_points: int, batch_size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n_points`` BetaVAE training points: features ``(n_points, D)`` and fixed-factor labels."""
    features, labels = [], []
    per_call = max(1, _OBS_PER_CALL // (2 * batch_size))
    for start in range(0, n_points, per_call):
        p = min(per_call, n_points - start)
        fixed = rng.integers(0, oracle.n_factors, size=p)
        first = oracle.sample_factors(p * batch_size, rng)
        second = oracle.sample_factors(p * batch_size, rng)
        rows = np.arange(p * batch_size)
        column = np.repeat(fixed, batch_size)
        second[rows, column] = first[rows, column]
        z = _represent(represent, oracle.render(np.concatenate([first, second]), rng))
        diff = np.abs(z[: p * batch_size] - z[p * batch_size :])
        features.append(diff.reshape(p, batch_size, -1).mean(axis=1))
        labels.append(fixed)
    return np.concatenate(features), np.concatenate(labels)


def betavae_score(represent, oracle: FactorOracle, *, batch_size: int = 64, n_train: int = 10000,
                  n_eval: int = 5000, seed: int = 0) -> float:
    """The BetaVAE disentanglement score (Higgins et al. 2017).

    Parameters
    ----------
    represent : callable
        Observations ``(n, ...)`` -> codes ``(n, D)`` (a Generator's ``encode``, or any
        function; tensors and arrays both work).
    oracle : FactorOracle
        Renders observations from chosen factors.
    batch_size : int
        Pairs of observations per point (``L``); 64 as in disentanglement_lib.
    n_train, n_eval : int
        Points to train the classifier on and to score it on (10,000 and 5,000).
    seed : int
        Seeds every draw.

    Returns
    -------
    float
        Held-out accuracy of the logistic-regression classifier predicting the fixed
        factor, in ``[0, 1]``; chance is ``1 / n_factors``.
    """
    _check_oracle(oracle)
    batch_size = check_int(batch_size, "batch_size", min=1)
    n_train = check_int(n_train, "n_train", min=2)
    n_eval = check_int(n_eval, "n_eval", min=1)
    rng = np.random.default_rng(seed)
    X_train, y_train = _betavae_points(represent, oracle, n_train, batch_size, rng)
    X_eval, y_eval = _betavae_points(represent, oracle, n_eval, batch_size, rng)
    if np.unique(y_train).size < 2:
        raise ValueError(f"all {n_train} training points fixed the same factor; use a larger n_train")
    # Standardising the features leaves a linear classifier's capacity unchanged and makes
    # its default regularisation independent of the code's scale.
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    model = LogisticRegression(max_iter=1000, random_state=seed)
    model.fit((X_train - mean) / std, y_train)
    return float(np.mean(model.predict((X_eval - mean) / std) == y_eval))


def _factorvae_votes(represent, oracle, n_votes: int, batch_size: int, scale: np.ndarray,
                     active: np.ndarray, rng) -> np.ndarray:
    """Vote counts ``(n_factors, D)``: how often fixing factor ``k`` made dimension ``d`` the argmin."""
    votes = np.zeros((oracle.n_factors, len(scale)), dtype=np.int64)
    active_dims = np.flatnonzero(active)
    per_call = max(1, _OBS_PER_CALL // batch_size)
    for start in range(0, n_votes, per_call):
        p = min(per_call, n_votes - start)
        fixed = rng.integers(0, oracle.n_factors, size=p)
        factors = oracle.sample_factors(p * batch_size, rng)
        rows = np.arange(p * batch_size)
        column = np.repeat(fixed, batch_size)
        factors[rows, column] = factors[rows - rows % batch_size, column]  # the batch's first row
        z = _represent(represent, oracle.render(factors, rng)).reshape(p, batch_size, -1)
        local = z[:, :, active_dims].var(axis=1, ddof=1) / scale[active_dims] ** 2
        np.add.at(votes, (fixed, active_dims[np.argmin(local, axis=1)]), 1)
    return votes


def factorvae_score(represent, oracle: FactorOracle, *, batch_size: int = 64, n_train: int = 10000,
                    n_eval: int = 5000, n_variance: int = 10000, prune_threshold: float = 0.05,
                    seed: int = 0) -> float:
    """The FactorVAE disentanglement score (Kim & Mnih 2018).

    Parameters
    ----------
    represent : callable
        Observations ``(n, ...)`` -> codes ``(n, D)``.
    oracle : FactorOracle
    batch_size : int
        Observations per vote sharing the fixed factor (``L``); 64 as in disentanglement_lib.
    n_train, n_eval : int
        Votes to build the majority-vote classifier from and to score it on.
    n_variance : int
        Observations for each dimension's standard deviation over the data.
    prune_threshold : float
        Dimensions whose standard deviation is below this fraction of the largest one
        have collapsed and are left out of the argmin.
    seed : int

    Returns
    -------
    float
        Held-out accuracy of the majority-vote classifier, in ``[0, 1]`` (0 when every
        dimension has collapsed); chance is ``1 / n_factors``.
    """
    _check_oracle(oracle)
    batch_size = check_int(batch_size, "batch_size", min=2)
    n_train = check_int(n_train, "n_train", min=1)
    n_eval = check_int(n_eval, "n_eval", min=1)
    n_variance = check_int(n_variance, "n_variance", min=2)
    check_float(prune_threshold, "prune_threshold", min=0, max=1, max_open=True)
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, n_variance, _OBS_PER_CALL):
        factors = oracle.sample_factors(min(_OBS_PER_CALL, n_variance - start), rng)
        parts.append(_represent(represent, oracle.render(factors, rng)))
    scale = np.concatenate(parts).std(axis=0, ddof=1)
    active = scale > prune_threshold * scale.max()
    if not active.any():
        return 0.0
    train_votes = _factorvae_votes(represent, oracle, n_train, batch_size, scale, active, rng)
    classifier = np.argmax(train_votes, axis=0)  # each dimension votes for its most frequent factor
    eval_votes = _factorvae_votes(represent, oracle, n_eval, batch_size, scale, active, rng)
    return float(eval_votes[classifier, np.arange(len(scale))].sum() / eval_votes.sum())


# ----------------------------------------------------------------------------------
# a Generator on built-in data
# ----------------------------------------------------------------------------------
def _resolve_metrics(metrics) -> tuple[str, ...]:
    if metrics is None:
        return DISENTANGLEMENT_METRICS
    chosen = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in chosen if m not in DISENTANGLEMENT_METRICS]
    if unknown or not chosen:
        raise ValueError(f"unknown disentanglement metric {unknown[0] if unknown else '(none given)'!r}; "
                         f"choose from {', '.join(DISENTANGLEMENT_METRICS)}")
    return tuple(m for m in DISENTANGLEMENT_METRICS if m in chosen)


def _encoder(model) -> Callable:
    """``model.encode`` in batches without gradients, as a ``represent`` function."""

    def represent(x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        with torch.no_grad():
            outs = [torch.as_tensor(model.encode(x[i : i + _ENCODE_BATCH])).detach().float().cpu()
                    for i in range(0, len(x), _ENCODE_BATCH)]
        return torch.cat(outs).reshape(len(x), -1)

    return represent


def evaluate_disentanglement(model, dataset, *, n: int = 10000, seed: int = 0,
                             metrics: Iterable[str] | str | None = None, progress: bool = False) -> dict[str, float]:
    """Every disentanglement metric of a model's encoder on data with known factors.

    Parameters
    ----------
    model : Generator
        A latentlab :class:`~latentlab.models.base.Generator` that implements
        ``encode`` (images in ``[-1, 1]`` -> codes); codes of any latent shape are
        flattened.
    dataset : str or Dataset
        ``"shapes"`` or ``"faces"`` (rendered at the model's image size; ``faces`` with
        independent attributes, as the metrics assume), or a loaded ``shapes``/``faces``
        :class:`~latentlab.data.Dataset`, from which ``n`` samples are drawn at random.
    n : int
        Samples per metric: the encoded samples of MIG, DCI, SAP and modularity, and the
        training points of the BetaVAE and FactorVAE scores (``n // 2`` evaluation
        points, ``n`` observations for the FactorVAE variances). The default 10,000
        gives disentanglement_lib's sizes — about three million encoded images in all
        (see the module docstring); pass ``metrics`` or a smaller ``n`` for a quick look.
        At least 10.
    seed : int
        Seeds the data draws and every metric.
    metrics : str or iterable of str, optional
        A subset of :data:`DISENTANGLEMENT_METRICS`; all by default.
    progress : bool
        A progress bar over the metrics (each encodes up to ``n``-scale batches of images).

    Returns
    -------
    dict of str -> float
        ``betavae``, ``factorvae``, ``mig``, ``dci_disentanglement``,
        ``dci_completeness``, ``dci_informativeness``, ``sap`` and ``modularity`` (those
        asked for), each in ``[0, 1]``.

    Raises
    ------
    ValueError
        For a dataset without known factors (the message lists ``shapes`` and
        ``faces``), samples of another shape than the model takes, an unknown metric.
    NotImplementedError
        For a Generator that does not implement ``encode``.
    """

    chosen = _resolve_metrics(metrics)
    n = check_int(n, "n", min=_MIN_SAMPLES)
    seed = check_int(seed, "seed", min=0)
    if not callable(getattr(model, "encode", None)):
        raise TypeError(f"model must be a Generator with an encode method, not {type(model).__name__}")
    if isinstance(model, Generator) and type(model).encode is Generator.encode:
        # NotImplementedError, as Generator.encode itself raises: callers scoring many
        # models leave such a model's cells empty
        raise NotImplementedError(f"{type(model).__name__} cannot encode images, and disentanglement metrics score an encoder")
    if isinstance(dataset, Dataset):
        oracle = oracle_for(dataset)
        shape = tuple(getattr(model, "sample_shape", ()) or ())
        if shape and tuple(dataset.sample_shape) != shape:
            raise ValueError(f"{dataset.name} has samples of shape {tuple(dataset.sample_shape)} but the model takes {shape}")
        if len(dataset) > n:
            dataset = dataset.subset(np.sort(np.random.default_rng(seed).choice(len(dataset), n, replace=False)))
    elif isinstance(dataset, str):
        oracle_for(dataset)  # the error for a dataset without known factors, before loading anything
        options = {"correlations": {}} if dataset == "faces" else {}
        dataset = load_for_model(dataset, model, n=n, seed=seed, **options)
        oracle = oracle_for(dataset)
    else:
        raise TypeError(f"dataset must be a name ({', '.join(FACTOR_DATASETS)}) or a latentlab Dataset, not {type(dataset).__name__}")


    results: dict[str, float] = {}
    codes = factors = None
    represent = _encoder(model)
    for name in progress_bar(chosen, enabled=progress, desc="disentanglement", unit="metric"):
        if name in ("mig", "dci", "sap", "modularity") and codes is None:  # one encoding serves these four
            codes = encode_dataset(model, dataset).z.reshape(len(dataset), -1)
            factors = oracle.factors_of(dataset)
        if name == "mig":
            results["mig"] = mig(codes, factors)
        elif name == "dci":
            results.update({f"dci_{k}": v for k, v in dci(codes, factors, random_state=seed).items()})
        elif name == "sap":
            results["sap"] = sap(codes, factors, random_state=seed)
        elif name == "modularity":
            results["modularity"] = modularity(codes, factors)
        elif name == "betavae":
            results["betavae"] = betavae_score(represent, oracle, n_train=n, n_eval=max(1, n // 2), seed=seed)
        else:
            results["factorvae"] = factorvae_score(represent, oracle, n_train=n, n_eval=max(1, n // 2), n_variance=n,
                                                   seed=seed)
    order = ("betavae", "factorvae", "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap", "modularity")
    return {k: results[k] for k in order if k in results}
