"""LatentMap: planted linear, affine and orthogonal relations are recovered."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from latentlab.analysis import AttributeDirection, LatentMap, transport_direction


def planted(n, d_src=8, d_dst=6, noise=0.05, bias=True, seed=0, W=None, b=None):
    """Pairs (X, Y = X Wᵀ + b + noise); W and b are drawn from ``seed`` unless given."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d_dst, d_src)) if W is None else W
    if b is None:
        b = rng.standard_normal(W.shape[0]) if bias else np.zeros(W.shape[0])
    X = rng.standard_normal((n, W.shape[1]))
    Y = X @ W.T + b + noise * rng.standard_normal((n, W.shape[0]))
    return X, Y, W, b


def random_orthogonal(d, seed):
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def test_linear_recovers_relation_and_error_falls_with_support_size():
    W = np.random.default_rng(9).standard_normal((6, 8))
    errors = []
    for n in (20, 80, 320, 1280):
        X, Y, _, _ = planted(n, bias=False, noise=0.2, seed=1, W=W)
        m = LatentMap("linear").fit(X, Y)
        assert np.allclose(m.intercept_, 0.0)
        errors.append(np.linalg.norm(m.coef_ - W) / np.linalg.norm(W))
    assert errors[-1] < 0.02
    assert all(a > b for a, b in zip(errors, errors[1:]))


def test_affine_recovers_weights_and_bias():
    X, Y, W, b = planted(2000, seed=2)
    m = LatentMap("affine").fit(torch.from_numpy(X), torch.from_numpy(Y))
    assert m.coef_.shape == (6, 8) and m.intercept_.shape == (6,)
    assert np.abs(m.coef_ - W).max() < 0.01
    assert np.abs(m.intercept_ - b).max() < 0.01
    Xt, Yt, _, _ = planted(500, seed=3, W=W, b=b)  # same map, fresh points
    assert m.score(Xt, Yt) > 0.99
    # a linear (no bias) map cannot explain the planted offset
    assert LatentMap("linear").fit(X, Y).score(Xt, Yt) < m.score(Xt, Yt)


def test_ridge_handles_fewer_points_than_dimensions():
    rng = np.random.default_rng(4)
    d = 50
    W = np.eye(d) + 0.1 * rng.standard_normal((d, d))
    X, Y, _, b = planted(30, d_src=d, d_dst=d, W=W, seed=5)
    Xt, Yt, _, _ = planted(1000, d_src=d, d_dst=d, W=W, b=b, seed=6)
    with pytest.warns(UserWarning, match="underdetermined.*use kind='ridge'"):
        LatentMap("affine").fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ridge is well posed: no warning
        ridge = LatentMap("ridge", alpha=1.0).fit(X, Y)
    assert ridge.coef_.shape == (d, d)
    # 30 points span 30 of the 50 source directions: about 30/50 of the variance is reachable
    assert 0.45 < ridge.score(Xt, Yt) < 0.7
    # ridge with a tiny penalty and plenty of points is the affine least-squares fit
    X2, Y2, _, _ = planted(3000, seed=7)
    a = LatentMap("affine").fit(X2, Y2)
    r = LatentMap("ridge", alpha=1e-8).fit(X2, Y2)
    assert np.allclose(a.coef_, r.coef_, atol=1e-8) and np.allclose(a.intercept_, r.intercept_, atol=1e-8)


def test_ridge_does_not_penalise_the_bias():
    # a huge penalty shrinks W to ~0 but the bias still matches the mean destination code
    X, Y, _, _ = planted(400, seed=8)
    m = LatentMap("ridge", alpha=1e9).fit(X, Y)
    assert np.abs(m.coef_).max() < 1e-5
    assert np.allclose(m.intercept_, Y.mean(axis=0), atol=1e-4)


def test_procrustes_recovers_rotation_and_scale():
    Q = random_orthogonal(10, seed=9)
    X, Y, _, b = planted(500, d_src=10, d_dst=10, W=2.5 * Q, noise=0.01, seed=10)
    m = LatentMap("procrustes", scaling=True).fit(X, Y)
    assert np.allclose(m.rotation_ @ m.rotation_.T, np.eye(10), atol=1e-10)
    assert np.abs(m.rotation_ - Q).max() < 0.01
    assert abs(m.scale_ - 2.5) < 0.01
    assert np.abs(m.intercept_ - b).max() < 0.01
    Z = np.random.default_rng(11).standard_normal((5, 10))
    assert np.allclose(m.inverse_transform(m.transform(Z)), Z, atol=1e-10)
    plain = LatentMap("procrustes").fit(X, Y)
    assert plain.scale_ == 1.0 and np.allclose(plain.coef_, plain.rotation_)


def test_procrustes_between_spaces_of_different_size():
    Q = random_orthogonal(9, seed=12)[:, :6]  # 6 -> 9, orthonormal columns
    X, Y, _, _ = planted(400, d_src=6, d_dst=9, W=Q, noise=0.01, seed=13)
    m = LatentMap("procrustes").fit(X, Y)
    assert m.coef_.shape == (9, 6)
    assert np.allclose(m.coef_.T @ m.coef_, np.eye(6), atol=1e-10)
    assert np.abs(m.coef_ - Q).max() < 0.01
    Z = np.random.default_rng(14).standard_normal((4, 6))
    assert np.allclose(m.inverse_transform(m.transform(Z)), Z, atol=1e-10)
    down = LatentMap("procrustes").fit(Y, X)  # 9 -> 6: orthonormal rows
    assert np.allclose(down.coef_ @ down.coef_.T, np.eye(6), atol=1e-10)


def test_affine_inverse_uses_pseudo_inverse():
    X, Y, _, _ = planted(500, d_src=5, d_dst=8, seed=15)
    m = LatentMap("affine").fit(X, Y)
    Z = np.random.default_rng(16).standard_normal((3, 5))
    assert np.allclose(m.inverse_transform(m.transform(Z)), Z, atol=1e-8)  # full column rank: exact


def test_structured_codes_are_flattened_and_restored():
    X, Y, W, _ = planted(300, d_src=12, d_dst=12, seed=17)
    m = LatentMap("affine").fit(X.reshape(-1, 3, 4), Y.reshape(-1, 2, 6))
    assert m.src_shape_ == (3, 4) and m.dst_shape_ == (2, 6)
    out = m.transform(X[:5].reshape(-1, 3, 4))
    assert out.shape == (5, 2, 6)
    assert np.allclose(out, m.transform(X[:5]))  # flat codes accepted too
    assert m.inverse_transform(out).shape == (5, 3, 4)
    with pytest.raises(ValueError, match=r"expected \(n, 3, 4\) or \(n, 12\).*got|shape \(5, 4, 3\)"):
        m.transform(X[:5].reshape(-1, 4, 3))


def test_transport_direction_through_orthogonal_map():
    Q = random_orthogonal(6, seed=18)
    X, Y, _, _ = planted(300, d_src=6, d_dst=6, W=Q, noise=0.0, seed=19)
    m = LatentMap("procrustes").fit(X, Y)
    v = np.random.default_rng(20).standard_normal(6)
    out = transport_direction(m, v)
    assert np.isclose(np.linalg.norm(out), 1.0)
    assert np.allclose(out, Q @ v / np.linalg.norm(v), atol=1e-8)
    # an attribute direction fitted in the source moves to the destination's attribute
    y = X @ v > 0
    direction = AttributeDirection().fit(X, y)
    moved = transport_direction(m, direction)
    refit = AttributeDirection().fit(Y, y)
    assert moved @ refit.direction_ > 0.95
    with pytest.raises(ValueError, match="source code shape"):
        transport_direction(m, np.ones(5))


def test_save_load_round_trip(tmp_path):
    X, Y, _, _ = planted(200, seed=21)
    for kind in ("linear", "affine", "ridge", "procrustes"):
        m = LatentMap(kind, alpha=0.5, scaling=True).fit(X.reshape(-1, 2, 4), Y)
        path = tmp_path / f"{kind}.npz"
        m.save(path)
        back = LatentMap.load(path)
        assert back.get_params() == m.get_params()
        assert back.src_shape_ == (2, 4) and back.dst_shape_ == (6,)
        assert np.array_equal(back.transform(X[:7]), m.transform(X[:7]))
        if kind == "procrustes":
            assert back.scale_ == m.scale_
    with pytest.raises(FileExistsError):
        m.save(tmp_path / "procrustes.npz")
    m.save(tmp_path / "procrustes.npz", overwrite=True)
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a LatentMap file"):
        LatentMap.load(tmp_path / "other.npz")


@pytest.mark.parametrize(
    ("kwargs", "X", "Y", "match"),
    [
        ({"kind": "cca"}, np.zeros((5, 2)), np.zeros((5, 2)), "'linear', 'affine', 'ridge', 'procrustes'"),
        ({"kind": "ridge", "alpha": 0}, np.zeros((5, 2)), np.zeros((5, 2)), "alpha must be a positive"),
        ({}, np.zeros((5, 2)), np.zeros((4, 2)), "got 5 and 4 rows"),
        ({}, np.full((5, 2), np.nan), np.zeros((5, 2)), "Z_src contains NaN"),
        ({}, np.zeros((5, 2)), np.r_[np.zeros((4, 2)), [[np.inf, 0]]], "Z_dst contains NaN or infinite values"),
        ({}, np.zeros((1, 2)), np.zeros((1, 2)), "at least 2 samples"),
    ],
)
def test_bad_input(kwargs, X, Y, match):
    with pytest.raises(ValueError, match=match):
        LatentMap(**kwargs).fit(X, Y)


# -- a map from known coefficients -----------------------------------------------------------
def test_map_from_known_coefficients_maps_points_exactly(tmp_path):
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((6, 4)), rng.standard_normal(6)
    m = LatentMap.from_coefficients("affine", W, b, (2, 2), (3, 2))
    Z = rng.standard_normal((5, 2, 2))
    out = m.transform(Z)
    assert out.shape == (5, 3, 2) and m.n_features_in_ == 4
    np.testing.assert_allclose(out.reshape(5, 6), Z.reshape(5, 4) @ W.T + b, rtol=1e-12, atol=1e-12)
    m.save(tmp_path / "known.npz")
    np.testing.assert_array_equal(LatentMap.load(tmp_path / "known.npz").transform(Z), out)
    flat = LatentMap.from_coefficients("linear", W)
    assert flat.src_shape_ == (4,) and flat.dst_shape_ == (6,)
    np.testing.assert_allclose(flat.transform(Z.reshape(5, 4)), Z.reshape(5, 4) @ W.T, rtol=1e-12, atol=1e-12)


def test_procrustes_map_from_coefficients_inverts_exactly():
    Q = random_orthogonal(5, seed=4)[:, :3]  # orthonormal columns: 3 -> 5
    m = LatentMap.from_coefficients("procrustes", 2.0 * Q, np.ones(5), scale=2.0)
    Z = np.random.default_rng(5).standard_normal((7, 3))
    np.testing.assert_allclose(m.inverse_transform(m.transform(Z)), Z, atol=1e-12)
    np.testing.assert_allclose(m.rotation_, Q)
    assert m.scale_ == 2.0 and m.scaling


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("diagonal", np.eye(3)), {}, "kind="),
        (("affine", np.ones(3)), {}, "coef must be a non-empty matrix"),
        (("affine", np.eye(3), np.zeros(2)), {}, r"intercept must have shape \(3,\)"),
        (("affine", np.eye(3), None, (2, 2)), {}, "src_shape=.* must hold 3 numbers"),
        (("affine", np.eye(3), None, None, (4,)), {}, "dst_shape=.* must hold 3 numbers"),
        (("affine", np.full((2, 2), np.nan)), {}, "finite"),
        (("linear", np.eye(3), np.ones(3)), {}, "no bias"),
        (("procrustes", 2.0 * np.eye(3)), {}, "coef / scale is not"),
        (("procrustes", np.eye(3)), {"scale": 0.0}, "scale must be a positive number"),
        (("affine", np.eye(3)), {"scale": 2.0}, "procrustes' only"),
    ],
)
def test_map_from_coefficients_rejects_bad_shapes_and_values(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LatentMap.from_coefficients(*args, **kwargs)


def test_transform_shape_error_names_expected_and_got():
    X, Y, _, _ = planted(50, seed=22)
    m = LatentMap().fit(X, Y)
    with pytest.raises(ValueError, match=r"Z_src has shape \(3, 7\); expected \(n, 8\)"):
        m.transform(np.ones((3, 7)))
    with pytest.raises(ValueError, match=r"Z_dst has shape \(3, 8\); expected \(n, 6\)"):
        m.inverse_transform(np.ones((3, 8)))
    assert clone(m).get_params() == m.get_params()


# fit(Z_src, Z_dst) names its arguments after latent codes and needs 2-D destination
# codes; the checks that assume fit(X, y) with a 1-D y cannot apply.
_NOT_APPLICABLE = {
    "check_fit_score_takes_y": "fit(Z_src, Z_dst): the target is named Z_dst",
    "check_n_features_in_after_fitting": "score(Z_src, Z_dst) takes no keyword y",
    "check_transformer_data_not_an_array": "destination codes must be 2-D",
    "check_transformer_general": "destination codes must be 2-D",
    "check_transformer_preserve_dtypes": "destination codes must be 2-D",
}


@parametrize_with_checks(
    [LatentMap("affine"), LatentMap("procrustes")], expected_failed_checks=lambda est: _NOT_APPLICABLE
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
