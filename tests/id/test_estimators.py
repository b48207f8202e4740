"""Each estimator finds the known dimension of simple manifolds."""

import numpy as np
import pytest
import torch

from latentlab.id import MLE, CorrelationDimension, LocalPCA, MultiscaleID, TwoNN, datasets
from latentlab.id.multiscale import gride_mle

# (estimator, relative tolerance) on low-dimensional, flat-ish manifolds
ESTIMATORS = [
    (TwoNN(), 0.1),
    (TwoNN(method="mle"), 0.1),
    (MLE(), 0.1),
    (MLE(k=8, averaging="mean"), 0.1),
    (LocalPCA(n_neighbors=20), 0.1),
    (CorrelationDimension(random_state=0), 0.12),
    (MultiscaleID(max_n1=8), 0.1),
]
SHAPES = {
    "2-sphere in R^6": (lambda: datasets.sphere(1500, 2, ambient_dim=6, random_state=0), 2),
    "3-D affine subspace of R^12": (lambda: datasets.affine(1500, 3, 12, random_state=1), 3),
    "swiss roll": (lambda: datasets.swiss_roll(1500, random_state=2), 2),
    "closed helix curve": (lambda: datasets.helix_curve(1500, random_state=3), 1),
}


@pytest.fixture(scope="module")
def shapes():
    return {name: (make(), d) for name, (make, d) in SHAPES.items()}


@pytest.mark.parametrize("estimator,rtol", ESTIMATORS, ids=lambda e: type(e).__name__ if not isinstance(e, float) else "")
@pytest.mark.parametrize("shape", list(SHAPES))
def test_recovers_known_dimension(estimator, rtol, shape, shapes):
    X, d = shapes[shape]
    est = estimator.fit(X)
    assert est.dimension_ == pytest.approx(d, rel=rtol)


def test_higher_dimension_is_found_higher():
    # a 6-sphere must come out clearly above a 3-sphere for every estimator
    low, high = datasets.sphere(1000, 3, random_state=0), datasets.sphere(1000, 6, random_state=0)
    for est, _ in ESTIMATORS:
        assert est.fit(high).dimension_ > est.fit(low).dimension_ + 2


def test_mle_reports_each_k_and_pointwise_estimates():
    X = datasets.sphere(1200, 3, random_state=4)
    est = MLE(k=(5, 12)).fit(X)
    np.testing.assert_array_equal(est.k_values_, np.arange(5, 13))
    assert est.dimension_k_.shape == (8,) and np.allclose(est.dimension_k_, 3, rtol=0.1)
    assert est.dimension_pw_.shape == (1200,) and np.isfinite(est.dimension_pw_).all()
    assert np.median(est.dimension_pw_) == pytest.approx(3, rel=0.2)
    for averaging in ("mean", "median"):
        assert MLE(k=(5, 12), averaging=averaging).fit(X).dimension_ == pytest.approx(3, rel=0.15)


def test_local_pca_counts_the_flat_directions_exactly():
    X = datasets.affine(800, 3, 10, random_state=5)
    est = LocalPCA(n_neighbors=15, criterion="ratio").fit(X)
    assert (est.dimension_pw_ == 3).all()


def test_multiscale_dimension_grows_at_small_scales_with_noise():
    # noise of size 0.03 around a unit 2-sphere: nearly the ambient dimension at the
    # scale of the noise, the manifold's dimension well above it
    rng = np.random.default_rng(6)
    X = datasets.sphere(2000, 2, ambient_dim=5, random_state=6) + 0.03 * rng.standard_normal((2000, 5))
    est = MultiscaleID(max_n1=64).fit(X)
    assert est.scales_.shape == est.dimensions_.shape == est.n1_.shape
    assert (np.diff(est.scales_) > 0).all()
    assert est.dimensions_[0] > 3.5
    assert (np.diff(est.dimensions_) < 0).all()
    assert est.dimensions_[-1] == pytest.approx(2, rel=0.1)


def test_correlation_dimension_subsamples_pairs_reproducibly():
    X = datasets.sphere(3000, 3, random_state=7)
    a = CorrelationDimension(max_pairs=200_000, random_state=1).fit(X)
    b = CorrelationDimension(max_pairs=200_000, random_state=1).fit(X)
    assert a.n_pairs_ == 200_000 and a.dimension_ == b.dimension_
    assert a.dimension_ == pytest.approx(3, rel=0.1)
    assert (np.diff(a.radii_) > 0).all()


@pytest.mark.parametrize("estimator,rtol", ESTIMATORS[:3], ids=["TwoNN", "TwoNN-mle", "MLE"])
def test_torch_and_float32_input_give_the_same_estimate(estimator, rtol):
    X = datasets.sphere(600, 3, random_state=8)
    ref = estimator.fit(X).dimension_
    assert estimator.fit(torch.from_numpy(X)).dimension_ == pytest.approx(ref, rel=1e-12)
    assert estimator.fit(X.astype(np.float32)).dimension_ == pytest.approx(ref, rel=1e-3)


@pytest.mark.parametrize("n1,n2,d", [(1, 2, 5.0), (4, 8, 7.0), (16, 32, 12.0)])
def test_gride_likelihood_recovers_d_from_its_own_model(n1, n2, d):
    # mu^d - 1 is beta-prime(n2 - n1, n1): the ratio of two independent gamma variables
    rng = np.random.default_rng(n1)
    bp = rng.gamma(n2 - n1, size=20000) / rng.gamma(n1, size=20000)
    log_mu = np.log1p(bp) / d
    assert gride_mle(log_mu, n1, n2) == pytest.approx(d, rel=0.03)


def test_twonn_fit_recovers_d_from_pareto_ratios():
    # on exact Pareto(d) ratios the two TwoNN forms agree with the truth
    log_mu = np.random.default_rng(0).exponential(1 / 6.0, size=20000)  # log(mu) ~ Exp(d)
    for method in ("fit", "mle"):
        assert TwoNN(method=method)._dimension_from_terms(log_mu) == pytest.approx(6.0, rel=0.03)
