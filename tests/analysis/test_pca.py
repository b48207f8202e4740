"""PCADirections: planted principal directions and variances are recovered."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from latentlab.analysis import PCADirections


def planted(n=4000, d=16, seed=0, scales=(5.0, 3.0)):
    """Isotropic unit noise plus independent factors of std ``scales`` along orthonormal u_i."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((d, len(scales))))[0].T
    factors = rng.standard_normal((n, len(scales))) * np.asarray(scales)
    return rng.standard_normal((n, d)) + factors @ U + 2.0, U


def test_recovers_planted_directions_and_sorted_variances():
    Z, U = planted()
    pca = PCADirections(n_components=4).fit(Z)
    assert pca.components_.shape == (4, 16)
    assert abs(pca.components_[0] @ U[0]) > 0.99
    assert abs(pca.components_[1] @ U[1]) > 0.99
    # variances: 25 + 1 and 9 + 1 along the planted axes, ~1 elsewhere
    assert np.all(np.diff(pca.explained_variance_) <= 0)
    assert abs(pca.explained_variance_[0] - 26) / 26 < 0.1
    assert abs(pca.explained_variance_[1] - 10) / 10 < 0.1
    assert abs(pca.explained_variance_[3] - 1) < 0.2
    total = 26 + 10 + 14  # trace of the planted covariance
    assert abs(pca.explained_variance_ratio_[0] - 26 / total) < 0.03
    assert np.allclose(pca.mean_, 2.0, atol=0.2)
    assert np.allclose(pca.components_ @ pca.components_.T, np.eye(4), atol=1e-10)


def test_sign_convention_largest_entry_positive():
    Z, _ = planted()
    for flip in (1.0, -1.0):  # mirrored data must give the same directions
        comps = PCADirections(n_components=3).fit(flip * Z).components_
        idx = np.argmax(np.abs(comps), axis=1)
        assert np.all(comps[np.arange(3), idx] > 0)
    a = PCADirections(n_components=3).fit(Z).components_
    b = PCADirections(n_components=3).fit(-Z).components_
    assert np.allclose(a, b, atol=1e-8)


def test_fewer_codes_than_dimensions_uses_gram_matrix_consistently():
    Z, U = planted(n=60, d=200, scales=(20.0,))
    small = PCADirections(n_components=5).fit(Z)
    assert abs(small.components_[0] @ U[0]) > 0.97
    # eigenvalues of the Gram route equal those of the covariance route
    Xc = Z - Z.mean(axis=0)
    top = np.linalg.eigvalsh(Xc.T @ Xc / 59)[::-1][:5]
    assert np.allclose(small.explained_variance_, top, rtol=1e-8)
    assert np.allclose(small.components_ @ small.components_.T, np.eye(5), atol=1e-8)


def test_transform_inverse_round_trip_and_shapes():
    Z, _ = planted(n=500, d=12)
    Z4 = torch.from_numpy(Z.reshape(-1, 3, 4))
    pca = PCADirections(n_components=None).fit(Z4)
    assert pca.n_components_ == 12
    assert pca.directions().shape == (12, 3, 4)
    coords = pca.transform(Z4)
    assert coords.shape == (500, 12)
    assert np.allclose(pca.inverse_transform(coords), Z.reshape(-1, 3, 4), atol=1e-10)
    # the coordinates are uncorrelated with the fitted variances
    assert np.allclose(coords.var(axis=0, ddof=1), pca.explained_variance_, rtol=1e-8)
    assert np.isclose(pca.explained_variance_ratio_.sum(), 1.0)


def test_uncentred_directions_follow_the_mean():
    rng = np.random.default_rng(1)
    m = np.zeros(8)
    m[3] = 10.0
    Z = rng.standard_normal((300, 8)) + m
    pca = PCADirections(n_components=1, center=False).fit(Z)
    assert np.allclose(pca.mean_, 0.0)
    assert pca.components_[0, 3] > 0.99


@pytest.mark.parametrize("k", [0, 9, 2.5, True])
def test_bad_n_components(k):
    with pytest.raises(ValueError, match=r"n_components must be None or an int in \[1, min\(N, D\)\] = \[1, 8\]"):
        PCADirections(n_components=k).fit(np.random.default_rng(0).standard_normal((20, 8)))


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 samples"):
        PCADirections(n_components=1).fit(np.ones((1, 4)))
    with pytest.raises(ValueError, match="NaN"):
        PCADirections(n_components=1).fit(np.array([[1.0, np.nan], [0.0, 1.0]]))
    pca = PCADirections(n_components=1).fit(np.random.default_rng(0).standard_normal((10, 4)))
    with pytest.raises(ValueError, match=r"shape \(3, 5\); expected \(n, 4\)"):
        pca.transform(np.ones((3, 5)))
    assert clone(pca).get_params() == {"n_components": 1, "center": True}


@parametrize_with_checks([PCADirections(n_components=1)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
