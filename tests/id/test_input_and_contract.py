"""Input validation, duplicate points, determinism and the scikit-learn contract."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from latentlab.id import MLE, CalibratedID, CorrelationDimension, LocalPCA, MultiscaleID, TwoNN, datasets

ALL = [TwoNN(), MLE(), LocalPCA(), CorrelationDimension(random_state=0), MultiscaleID(max_n1=4), CalibratedID(TwoNN())]
IDS = [type(e).__name__ for e in ALL]


# the contract lives in the base class: one estimator of each kind of parameter handling
@parametrize_with_checks([TwoNN(), MLE(k=5), CorrelationDimension(quantile_range=(0.5, 0.9), random_state=0), CalibratedID(MLE(k=4))])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the checks' data contain duplicate rows
        check(estimator)


@pytest.mark.parametrize("estimator", ALL, ids=IDS)
def test_duplicates_warn_once_with_their_number_and_leave_the_estimate_intact(estimator):
    X = datasets.sphere(1000, 3, random_state=0)
    ref = clone(estimator).fit(X).dimension_
    Xdup = np.vstack([X, X[:37], X[:3]])  # 40 duplicate rows
    with pytest.warns(UserWarning, match="40 duplicate rows") as record:
        est = clone(estimator).fit(Xdup)
    assert len([w for w in record if issubclass(w.category, UserWarning)]) == 1
    assert np.isfinite(est.dimension_) and est.dimension_ == pytest.approx(ref, rel=1e-9)
    assert est.n_duplicates_ == 40
    if hasattr(est, "dimension_pw_"):
        assert est.dimension_pw_.shape == (1040,) and np.isfinite(est.dimension_pw_).all()
        np.testing.assert_array_equal(est.dimension_pw_[1000:1037], est.dimension_pw_[:37])


def test_no_warning_without_duplicates():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TwoNN().fit(datasets.sphere(200, 2, random_state=0))


@pytest.mark.parametrize("estimator", ALL, ids=IDS)
def test_deterministic_given_seeds(estimator):
    X = datasets.sphere(800, 4, random_state=1)
    assert clone(estimator).fit(X).dimension_ == clone(estimator).fit(X).dimension_


def test_datasets_are_deterministic_by_seed():
    for name in datasets.benchmark_names():
        np.testing.assert_array_equal(datasets.make(name, 50, random_state=3), datasets.make(name, 50, random_state=3))
    assert not np.array_equal(datasets.sphere(50, 2, random_state=1), datasets.sphere(50, 2, random_state=2))


@pytest.mark.parametrize(
    "X,match",
    [
        (np.arange(10.0), "2D array"),
        (np.full((50, 3), 2.0), "identical"),
        (np.array([[0.0, 1.0], [np.nan, 0.0]] * 10), "NaN"),
        (np.array([[0.0, 1.0], [np.inf, 0.0]] * 10), "infinity"),
        (np.zeros((0, 3)), "0 sample"),
    ],
    ids=["1-D", "constant", "NaN", "inf", "empty"],
)
def test_bad_input_raises_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        TwoNN().fit(X)


def test_too_few_points_says_how_many_are_needed():
    X = np.random.default_rng(0).normal(size=(15, 3))
    with pytest.raises(ValueError, match=r"MLE \(20 neighbours per point\) needs at least 21 points; got n_samples=15"):
        MLE(k=(10, 20)).fit(X)
    with pytest.raises(ValueError, match="needs at least 21 distinct points; X has only 15 distinct"):
        with pytest.warns(UserWarning):
            MLE(k=(10, 20)).fit(np.vstack([X, X]))
    with pytest.raises(ValueError, match="at least 3 points"):
        TwoNN().fit(X[:2])


@pytest.mark.parametrize(
    "estimator,match",
    [
        (TwoNN(method="least_squares"), "'fit', 'mle'"),
        (TwoNN(discard_fraction=1.0), "discard_fraction"),
        (MLE(averaging="harmonic"), "'mackay', 'mean', 'median'"),
        (MLE(k=(20, 10)), "k_max"),
        (MLE(k=2), "k must be"),
        (LocalPCA(criterion="kaiser"), "'variance', 'ratio'"),
        (LocalPCA(threshold=1.5), "threshold"),
        (CorrelationDimension(quantile_range=(0.5, 0.1)), "quantile_range"),
        (CalibratedID(reference="torus"), "'ball', 'hypercube', 'sphere', 'gaussian'"),
    ],
)
def test_bad_parameters_name_the_allowed_values(estimator, match):
    with pytest.raises((ValueError, TypeError), match=match):
        estimator.fit(datasets.sphere(300, 2, random_state=0))


def test_calibrated_rejects_a_foreign_estimator():
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="latentlab.id estimator"):
        CalibratedID(PCA()).fit(datasets.sphere(100, 2, random_state=0))


def test_torch_tensor_on_any_device_is_accepted():
    X = torch.from_numpy(datasets.sphere(300, 2, random_state=0)).requires_grad_(True)
    assert TwoNN().fit(X).dimension_ == pytest.approx(2, rel=0.15)


def test_negative_zero_counts_as_a_duplicate_of_zero():
    from latentlab.id.base import unique_rows

    X = np.array([[0.0, 1.0], [-0.0, 1.0], [2.0, 3.0], [0.0, 1.0]])
    first, inverse = unique_rows(X)
    np.testing.assert_array_equal(first, [0, 2])
    np.testing.assert_array_equal(inverse, [0, 0, 1, 0])
