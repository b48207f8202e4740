"""Bias calibration, bootstrap intervals, estimate_id and the benchmark datasets."""

import numpy as np
import pytest

from latentlab.id import METHODS, MLE, CalibratedID, TwoNN, bootstrap_ci, datasets, estimate_id
from latentlab.id.calibration import numerical_rank


def test_calibration_removes_the_high_dimensional_underestimate():
    X = datasets.affine(1500, 14, 30, random_state=0)  # a 14-cube in R^30
    raw = TwoNN().fit(X).dimension_
    assert raw < 14 * 0.88  # the plain estimator's known bias
    est = CalibratedID(TwoNN(), n_repeats=2).fit(X)
    assert est.raw_dimension_ == pytest.approx(raw)
    assert est.dimension_ == pytest.approx(14, rel=0.08)
    assert est.max_dimension_ == 14 and est.dimension_ <= 14


def test_calibration_curve_is_increasing_and_below_the_diagonal():
    est = CalibratedID(MLE(k=(5, 10)), reference="ball", n_repeats=1).fit(datasets.ball(1000, 12, ambient_dim=20, random_state=1))
    assert (np.diff(est.calibration_values_) > 0).all()
    assert (est.calibration_values_ < est.calibration_dims_).all()
    assert est.dimension_ == pytest.approx(12, rel=0.1)


def test_numerical_rank_with_fewer_points_than_features():
    # 60 points spanning 7 dimensions of R^200: the Gram-matrix route finds the same rank
    X = datasets.gaussian(60, 7, ambient_dim=200, random_state=3)
    assert numerical_rank(X) == 7 and numerical_rank(X[:, :100]) == 7
    assert numerical_rank(np.random.default_rng(0).standard_normal((30, 500))) == 29  # centring removes one


def test_calibrated_estimate_is_capped_at_the_rank_of_the_data():
    X = datasets.gaussian(1500, 8, ambient_dim=20, random_state=2)  # spans 8 dimensions
    assert numerical_rank(X) == 8
    est = CalibratedID(TwoNN(), reference="hypercube").fit(X)
    assert est.max_dimension_ == 8 and est.dimension_ <= 8
    assert CalibratedID(TwoNN(), max_dimension=5).fit(X).dimension_ <= 5


def test_low_dimensions_are_left_nearly_unchanged():
    X = datasets.swiss_roll(1500, random_state=3)
    est = CalibratedID(TwoNN()).fit(X)
    assert est.dimension_ == pytest.approx(2, rel=0.08)


def test_bootstrap_interval_covers_the_truth_and_is_reproducible():
    X = datasets.sphere(1500, 3, random_state=4)
    lo, hi = bootstrap_ci(MLE(), X, n_boot=200, random_state=0)
    assert lo < 3 < hi and hi - lo < 0.5
    assert (lo, hi) == bootstrap_ci(MLE(), X, n_boot=200, random_state=0)
    lo90, hi90 = bootstrap_ci(MLE(), X, n_boot=200, alpha=0.1, random_state=0)
    assert lo <= lo90 <= hi90 <= hi
    tw = bootstrap_ci(TwoNN(), X, n_boot=200, random_state=0)
    assert tw[0] < 3 < tw[1]


def test_bootstrap_of_a_calibrated_estimator_maps_the_interval_through_the_curve():
    X = datasets.affine(1200, 12, 20, random_state=5)
    raw = bootstrap_ci(TwoNN(), X, n_boot=100, random_state=0)
    cal = bootstrap_ci(CalibratedID(TwoNN(), n_repeats=1), X, n_boot=100, random_state=0)
    assert cal[0] > raw[0] and cal[1] > raw[1]
    assert cal[0] < 12 <= cal[1] <= 12  # the cap: the data span 12 dimensions


def test_estimate_id_by_name():
    X = datasets.sphere(1000, 3, random_state=6)
    for method in METHODS:
        result = estimate_id(X, method, random_state=0)
        assert float(result) == pytest.approx(3, rel=0.15), method
        assert result.method == method and result.ci is None
    result = estimate_id(X, "mle", k=(5, 10), n_boot=50, random_state=0)
    assert result.estimator.k == (5, 10) and result.ci[0] < result.dimension < result.ci[1]
    assert estimate_id(X, calibrate=True).calibrated


def test_estimate_id_errors_list_the_choices():
    X = datasets.sphere(100, 2, random_state=0)
    with pytest.raises(ValueError, match="'twonn', 'mle', 'local_pca', 'correlation', 'gride'"):
        estimate_id(X, "danco")
    with pytest.raises(TypeError, match="valid parameters: k, averaging"):
        estimate_id(X, "mle", n_neighbors=5)


def test_benchmark_registry_matches_its_generators():
    names = datasets.benchmark_names()
    assert len(names) == 24 and names[0] == "M1_Sphere"
    for name in names:
        spec = datasets.BENCHMARK[name]
        X = datasets.make(name, 60, random_state=0)
        assert X.shape == (60, spec.ambient_dim) and X.dtype == np.float64
        assert 1 <= spec.intrinsic_dim <= spec.ambient_dim
        assert np.isfinite(X).all()
    # linear sets span exactly their dimension
    assert numerical_rank(datasets.make("M9_Affine", 500, random_state=0)) == 20
    assert numerical_rank(datasets.make("M2_Affine_3to5", 500, random_state=0)) == 3
    assert numerical_rank(datasets.make("M10a_Cubic", 500, random_state=0)) == 11


def test_sampler_geometry():
    S = datasets.sphere(500, 4, ambient_dim=9, radius=2.0, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(S, axis=1), 2.0)
    assert (S[:, 5:] == 0).all()
    B = datasets.ball(4000, 3, random_state=0)
    # uniform in the unit 3-ball: P(|x| < 1/2) = 1/8
    assert (np.linalg.norm(B, axis=1) < 0.5).mean() == pytest.approx(1 / 8, abs=0.02)
    C = datasets.hypercube_surface(500, 5, random_state=0)
    assert ((C == 0) | (C == 1)).any(axis=1).all()
    noisy = datasets.make("M7_Roll", 300, noise=0.1, random_state=0)
    assert np.std(noisy - datasets.make("M7_Roll", 300, random_state=0)) > 0.05
    with pytest.raises(ValueError, match="M1_Sphere"):
        datasets.make("M99", 10)
