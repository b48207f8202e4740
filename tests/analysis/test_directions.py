"""AttributeDirection: planted hyperplanes are recovered, inputs are checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.svm import SVC, LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from latentlab.analysis import AttributeDirection
from latentlab.analysis import svm_solver
from latentlab.analysis.directions import METHODS


def planted_normal(d, seed=0):
    n = np.random.default_rng(seed).standard_normal(d)
    return n / np.linalg.norm(n)


def planted_binary(n_samples=4000, d=10, offset=0.5, noise=0.05, seed=0):
    """Codes ~ N(0, I) labelled by the side of the hyperplane n·z - offset = 0 (plus label noise)."""
    rng = np.random.default_rng(seed)
    n = planted_normal(d, seed + 100)
    Z = rng.standard_normal((n_samples, d))
    y = Z @ n - offset + noise * rng.standard_normal(n_samples) > 0
    return Z, y, n, -offset  # intercept of the planted hyperplane in signed-distance form


def planted_scores(n_samples=20000, d=10, offset=0.7, noise=0.2, seed=1):
    """Scores s = n·z + offset + noise with the codes centred so that median(s) ~ 0.

    The extremes of the ranking are then split by the hyperplane n·z + offset = 0, which
    does not pass through the origin. (With score noise 0.3 the exact SVM optimum itself
    sits at cos 0.9905 with the planted normal: a margin classifier on noisy extremes
    leans on the noisiest points, so the noise is kept at 0.2.)
    """
    rng = np.random.default_rng(seed)
    n = planted_normal(d, seed + 100)
    Z = rng.standard_normal((n_samples, d)) - offset * n
    s = Z @ n + offset + noise * rng.standard_normal(n_samples)
    return Z, s, n, offset


@pytest.mark.parametrize("method", METHODS)
def test_binary_labels_recover_planted_hyperplane(method):
    Z, y, n, b = planted_binary()
    est = AttributeDirection(method).fit(Z, y)
    assert est.direction_ @ n >= 0.99
    assert np.isclose(np.linalg.norm(est.direction_), 1.0)
    assert abs(est.intercept_ - b) < 0.15  # b = -0.5: right sign and size
    assert est.val_accuracy_ > 0.9
    assert est.target_type_ == "binary"
    assert np.isnan(est.accuracy_remaining_)


@pytest.mark.parametrize("method", METHODS)
def test_continuous_scores_recover_planted_hyperplane(method):
    Z, s, n, b = planted_scores()
    est = AttributeDirection(method, fraction=0.1).fit(Z, s)
    assert est.target_type_ == "scores"
    assert est.direction_ @ n >= 0.99
    assert abs(est.intercept_ - b) < 0.15  # b = +0.7
    assert est.val_accuracy_ > 0.95
    # the codes between the extremes are harder but still well above chance
    assert 0.75 < est.accuracy_remaining_ < 1.0
    assert est.n_train_ + est.n_val_ == 2 * int(0.1 * len(s))


def test_direction_points_towards_positive_class():
    Z, y, n, _ = planted_binary()
    est = AttributeDirection().fit(Z, y)
    dist = est.decision_function(Z)
    assert dist[y].mean() > 0 > dist[~y].mean()
    flipped = AttributeDirection().fit(Z, ~y)
    assert flipped.direction_ @ est.direction_ < -0.99
    # scores: higher score = more attribute
    Z, s, n, _ = planted_scores(n_samples=5000)
    assert AttributeDirection(fraction=0.1).fit(Z, s).direction_ @ n > 0.9
    assert AttributeDirection(fraction=0.1).fit(Z, -s).direction_ @ n < -0.9


def test_decision_function_is_signed_distance_in_latent_units():
    Z, y, n, _ = planted_binary()
    est = AttributeDirection().fit(Z, y)
    z0 = Z[:5]
    moved = z0 + 2.0 * est.direction_
    assert np.allclose(est.decision_function(moved) - est.decision_function(z0), 2.0)
    # a point on the hyperplane has distance 0
    assert np.isclose(est.decision_function((-est.intercept_ * est.direction_)[None])[0], 0.0, atol=1e-12)


def test_structured_codes_are_flattened_and_restored():
    Z, y, n, b = planted_binary(d=12)
    Z3 = Z.reshape(-1, 3, 4)
    est = AttributeDirection().fit(Z3, y)
    assert est.latent_shape_ == (3, 4)
    assert est.direction_.shape == (3, 4)
    assert est.direction_flat_.shape == (12,)
    assert est.direction_.reshape(-1) @ n >= 0.99
    assert np.allclose(est.decision_function(Z3[:7]), est.decision_function(Z[:7]))
    with pytest.raises(ValueError, match=r"expected \(n, 3, 4\) or \(n, 12\).*got|\(7, 4, 3\)"):
        est.decision_function(Z3[:7].reshape(7, 4, 3))


def test_torch_float32_input_and_label_kinds():
    Z, y, n, _ = planted_binary(n_samples=2000)
    est = AttributeDirection().fit(torch.from_numpy(Z).float(), torch.from_numpy(y))
    assert isinstance(est.direction_, np.ndarray) and est.direction_.dtype == np.float64
    assert est.direction_ @ n >= 0.99
    signed = np.where(y, 1, -1)
    est2 = AttributeDirection().fit(Z, signed)
    assert est2.classes_.tolist() == [-1, 1]
    assert set(np.unique(est2.predict(Z))) <= {-1, 1}
    assert est2.score(Z, signed) > 0.95
    assert est2.direction_ @ est.direction_ > 0.999


def noisy_labels():
    Z, y, _, _ = planted_binary(n_samples=600, d=8, noise=0.5)
    return Z, y


def fewer_samples_than_dimensions():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((40, 100))
    return Z, Z[:, 0] + 0.5 * Z[:, 1] > 0.3


def nearly_separable():
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((2000, 120))
    s = Z @ planted_normal(120, 6) - 0.4
    keep = np.abs(s) > 1.0  # a gap of 2 around the hyperplane
    return Z[keep], s[keep] > 0


@pytest.mark.parametrize("data", [noisy_labels, fewer_samples_than_dimensions, nearly_separable])
def test_agrees_with_liblinear_on_the_same_objective(data):
    """Our Newton solver minimises LinearSVC's squared-hinge objective (bias unpenalised;
    a huge intercept_scaling makes liblinear's bias penalty negligible), whichever form its
    steps take: with many samples inside the margin (noisy labels) through the D x D
    moments, with fewer than D (N < D, nearly separable data) through their Gram matrix."""
    Z, y = data()
    ours = AttributeDirection("svm", standardize=False, val_fraction=0, tol=1e-10).fit(Z, y)
    ref = LinearSVC(C=1.0, dual=False, intercept_scaling=1e4, tol=1e-10, max_iter=100_000).fit(Z, y)
    norm = np.linalg.norm(ref.coef_[0])
    assert ours.direction_ @ (ref.coef_[0] / norm) > 0.9999
    assert abs(ours.intercept_ - ref.intercept_[0] / norm) < 1e-3
    if data is not noisy_labels:
        assert ours.train_accuracy_ == 1.0


def test_newton_step_is_the_same_in_primal_and_dual_form():
    """The regularised least-squares step on an active set, from the D x D moments (one
    factorisation updated for a few changed rows, or a new one) and from the |A| x |A| Gram
    matrix (cached across calls, its factor extended while the set grows), is one and the
    same."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 40)) * rng.uniform(0.5, 2.0, 40) + 3.0
    t = np.where(rng.random(300) < 0.4, 1.0, -1.0)
    p = rng.uniform(0.5, 2.0, 40)
    design = svm_solver._CentredRows(X, np.arange(300))
    gram = svm_solver._ActiveGram(design, np.sqrt(p), 0.7)
    moments, primal = svm_solver._ActiveMoments(design, t), svm_solver._PrimalLeastSquares(design, p, 0.7)
    active = np.zeros(300, dtype=bool)
    active[rng.choice(300, 25, replace=False)] = True
    # rows only entering (both factorisations are extended/updated), a few rows in and
    # out (the primal one is updated, the dual one computed afresh), larger jumps (both
    # renewed; the Gram cache overflows and restarts)
    for grow, flips in ((0, 0), (3, 0), (2, 0), (0, 5), (4, 0), (0, 30), (0, 1), (3, 0), (0, 60), (0, 2)):
        active[rng.choice(np.flatnonzero(~active), grow, replace=False)] = True
        active[rng.choice(300, flips, replace=False)] ^= True
        while active.sum() > 39:
            active[rng.choice(np.flatnonzero(active))] = False
        rows = np.flatnonzero(active)
        moments.update(active)
        w_p, b_p = primal.solve(moments)
        held, Y, L = gram.take(rows)
        assert np.array_equal(np.sort(held), rows)
        w_d, b_d = svm_solver._least_squares_dual(Y, L, t[held], np.sqrt(p), 0.0)
        np.testing.assert_allclose(w_d, w_p, rtol=1e-7, atol=1e-9)
        assert abs(b_d - b_p) < 1e-7


@pytest.mark.parametrize("C", [0.05, 1.0])
@pytest.mark.parametrize("standardize", [False, True])
def test_hinge_agrees_with_libsvm_on_the_same_objective(C, standardize):
    """loss="hinge" minimises ``½|w|² + C Σ max(0, 1 - t(x·w + b))``, bias unpenalised:
    SVC(kernel="linear") with the same C. standardize=True is the same fit on codes
    divided by their (population) standard deviation, reported in original coordinates."""
    rng = np.random.default_rng(11)
    Z = rng.standard_normal((500, 6)) * rng.uniform(0.5, 2.0, 6) + 1.5
    y = Z @ planted_normal(6, 12) + 0.4 * rng.standard_normal(500) > 1.0
    ours = AttributeDirection(loss="hinge", C=C, standardize=standardize, val_fraction=0, tol=1e-9, max_iter=100_000)
    ours.fit(Z, y)
    scale = Z.std(axis=0) if standardize else np.ones(6)
    ref = SVC(kernel="linear", C=C, tol=1e-9).fit(Z / scale, y)
    w = ref.coef_[0] / scale
    norm = np.linalg.norm(w)
    assert ours.direction_ @ (w / norm) > 0.9999
    assert abs(ours.intercept_ - ref.intercept_[0] / norm) < 1e-3


@pytest.mark.parametrize("data", [noisy_labels, fewer_samples_than_dimensions, nearly_separable])
def test_hinge_agrees_with_libsvm_whatever_the_margin(data):
    """Many samples inside the margin, N < D, nearly separable: the same hyperplane as SVC."""
    Z, y = data()
    ours = AttributeDirection(loss="hinge", standardize=False, val_fraction=0, tol=1e-9, max_iter=100_000).fit(Z, y)
    ref = SVC(kernel="linear", C=1.0, tol=1e-9).fit(Z, y)
    norm = np.linalg.norm(ref.coef_[0])
    assert ours.direction_ @ (ref.coef_[0] / norm) > 0.9999
    assert abs(ours.intercept_ - ref.intercept_[0] / norm) < 1e-3


def test_hinge_resists_flipped_labels_at_least_as_well_as_squared_hinge():
    """5 % of the labels flipped at d = 512: the hinge loss, which grows linearly on the
    wrong side, recovers the planted normal at least as well as the squared hinge."""
    d, n = 512, 3000
    rng = np.random.default_rng(0)
    normal = planted_normal(d, 1)
    Z = rng.standard_normal((n, d))
    y = (Z @ normal > 0) ^ (rng.random(n) < 0.05)
    cosines = {}
    for loss in ("squared_hinge", "hinge"):
        est = AttributeDirection(loss=loss, C=0.01, val_fraction=0, tol=1e-3, max_iter=10_000).fit(Z, y)
        cosines[loss] = est.direction_ @ normal
    assert cosines["squared_hinge"] > 0.8  # both find the hyperplane ...
    assert cosines["hinge"] >= cosines["squared_hinge"]  # ... the hinge no worse


def test_hinge_converges_on_streamed_rows(monkeypatch):
    """Rows read block by block (too many to copy) give the same hinge fit."""
    Z, y, _, _ = planted_binary(n_samples=2000, d=12, noise=0.3)
    dense = AttributeDirection(loss="hinge", tol=1e-6, max_iter=10_000).fit(Z, y)
    monkeypatch.setattr(svm_solver, "_MATERIALIZE_ELEMENTS", 0)
    monkeypatch.setattr(svm_solver, "_BLOCK_ELEMENTS", 12 * 256)
    streamed = AttributeDirection(loss="hinge", tol=1e-6, max_iter=10_000).fit(Z, y)
    assert streamed.direction_ @ dense.direction_ > 0.9999
    assert abs(streamed.intercept_ - dense.intercept_) < 1e-3


def test_streamed_rows_give_the_same_fit(monkeypatch):
    """Training sets too big to copy are read block by block: same hyperplane."""
    Z, y, _, _ = planted_binary(n_samples=3000, d=12)
    Z = Z.astype(np.float32)
    dense = AttributeDirection().fit(Z, y)
    monkeypatch.setattr(svm_solver, "_MATERIALIZE_ELEMENTS", 0)
    monkeypatch.setattr(svm_solver, "_BLOCK_ELEMENTS", 12 * 256)  # many blocks
    streamed = AttributeDirection().fit(Z, y)
    np.testing.assert_allclose(streamed.direction_, dense.direction_, atol=1e-6)
    assert abs(streamed.intercept_ - dense.intercept_) < 1e-6


def test_standardisation_reports_the_normal_in_original_coordinates():
    rng = np.random.default_rng(4)
    scales = np.array([10.0, 0.1, 1.0, 3.0, 0.5, 1.0])
    Z = rng.standard_normal((5000, 6)) * scales
    n = np.array([0.05, 5.0, 1.0, 0.2, 1.0, -1.0])
    n /= np.linalg.norm(n)
    y = Z @ n > 0.2
    for method in ("svm", "logistic"):
        est = AttributeDirection(method, standardize=True).fit(Z, y)
        assert est.direction_ @ n >= 0.99, method


def test_split_is_seeded_and_max_samples_balances():
    Z, y, _, _ = planted_binary(n_samples=3000)
    a = AttributeDirection(random_state=7).fit(Z, y)
    b = AttributeDirection(random_state=7).fit(Z, y)
    assert np.array_equal(a.direction_, b.direction_) and a.val_accuracy_ == b.val_accuracy_
    sub = AttributeDirection(max_samples=400, random_state=0).fit(Z, y)
    assert sub.n_train_ + sub.n_val_ == 400


def test_convergence_warning_when_max_iter_too_small():
    Z, y, _, _ = planted_binary(n_samples=2000, noise=0.0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        AttributeDirection(max_iter=1, tol=1e-12).fit(Z, y)


@pytest.mark.parametrize(
    ("kwargs", "Z", "y", "match"),
    [
        ({"method": "kernel"}, np.zeros((10, 2)), np.arange(10) % 2, "'svm', 'logistic', 'lda', 'mean_difference'"),
        ({}, np.random.default_rng(0).normal(size=(10, 2)), np.ones(10), "single value"),
        ({}, np.random.default_rng(0).normal(size=(10, 2)), np.r_[1, np.zeros(9)], "at least 2 of each"),
        ({}, np.random.default_rng(0).normal(size=(50, 2)), np.arange(50.0), "keeps 1 samples .* at least 2"),
        ({"fraction": 0.7}, np.zeros((10, 2)), np.arange(10) % 2, r"fraction must be a number in \(0, 0.5\]"),
        ({}, np.full((10, 2), np.nan), np.arange(10) % 2, "NaN or infinite"),
        ({}, np.zeros((10, 2)), np.r_[np.inf, np.arange(9.0)], "y contains NaN or infinite"),
        ({}, np.zeros((10, 2)), np.arange(9) % 2, "9 entries but the codes have 10 rows"),
        ({}, np.zeros(10), np.arange(10) % 2, "at least 2-D"),
        ({}, np.zeros((3, 2)), np.arange(3) % 2, "at least 4 samples"),
        ({"loss": "l1"}, np.zeros((10, 2)), np.arange(10) % 2, "loss='l1' is not one of 'squared_hinge', 'hinge'"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, Z, y, match):
    with pytest.raises(ValueError, match=match):
        AttributeDirection(**kwargs).fit(Z, y)


def test_unfitted_and_clone():
    est = AttributeDirection("lda", fraction=0.1, C=3.0)
    with pytest.raises(NotFittedError):
        est.decision_function(np.zeros((1, 3)))
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    twin.set_params(method="logistic")
    assert twin.method == "logistic" and est.method == "lda"


# fraction=0.5 keeps every code at one end or the other, so the checks' small data work.
@parametrize_with_checks([AttributeDirection(fraction=0.5), AttributeDirection(fraction=0.5, loss="hinge")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
