"""Orthogonalization, Gram–Schmidt and cosines between directions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.analysis import (
    AttributeDirection,
    cosine_matrix,
    gram_schmidt,
    orthogonalization_report,
    orthogonalize,
)


def random_directions(k, d, seed=0):
    return np.random.default_rng(seed).standard_normal((k, d))


def test_result_is_unit_and_orthogonal_to_every_condition():
    rng = np.random.default_rng(0)
    primal = rng.standard_normal(32)
    conditions = random_directions(5, 32, seed=1) + 0.8 * primal  # strongly correlated with the primal
    out = orthogonalize(primal, conditions)
    assert out.shape == (32,)
    assert np.isclose(np.linalg.norm(out), 1.0)
    cos = conditions @ out / np.linalg.norm(conditions, axis=1)
    assert np.abs(cos).max() < 1e-6
    # it is the normalised residual of the primal: still positively aligned with it
    assert out @ primal > 0


def test_single_condition_matches_textbook_projection():
    n = np.array([1.0, 1.0, 0.0])
    c = np.array([1.0, 0.0, 0.0])
    assert np.allclose(orthogonalize(n, c), [0.0, 1.0, 0.0])
    report = orthogonalization_report(n, [c])
    assert np.allclose(report.cosines_before, [np.sqrt(0.5)])
    assert np.allclose(report.cosines_after, [0.0], atol=1e-12)
    assert np.isclose(report.residual, np.sqrt(0.5))


def test_nearly_dependent_conditions_are_handled():
    rng = np.random.default_rng(2)
    c1 = rng.standard_normal(16)
    c2 = c1 + 1e-9 * rng.standard_normal(16)  # numerically the same direction twice
    primal = rng.standard_normal(16)
    out = orthogonalize(primal, [c1, c2])
    assert abs(out @ c1) / np.linalg.norm(c1) < 1e-6
    assert abs(out @ c2) / np.linalg.norm(c2) < 1e-6


def test_primal_in_span_of_conditions_raises():
    C = random_directions(3, 10, seed=3)
    primal = C[0] - 2.0 * C[2]
    with pytest.raises(ValueError, match="span of the 3 condition"):
        orthogonalize(primal, C)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="must match"):
        orthogonalize(np.ones(6), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"shape \(4, 3\) per direction but the primal has shape \(3, 4\)"):
        orthogonalize(np.ones((3, 4)), np.ones((2, 4, 3)))
    assert orthogonalize(np.eye(3, 4), np.ones((1, 12))).shape == (3, 4)  # flat conditions are fine
    with pytest.raises(ValueError, match="share one shape"):
        orthogonalize(np.ones(6), [np.ones(6), np.ones(5)])


def test_structured_directions_and_torch_input():
    rng = np.random.default_rng(4)
    primal = rng.standard_normal((3, 4))
    cond = torch.from_numpy(rng.standard_normal((2, 3, 4)))
    out = orthogonalize(torch.from_numpy(primal), cond)
    assert out.shape == (3, 4)
    assert np.abs(cond.numpy().reshape(2, -1) @ out.reshape(-1)).max() < 1e-9
    # a single condition of the primal's own shape is accepted too
    assert orthogonalize(primal, cond[0]).shape == (3, 4)


def test_no_conditions_returns_normalised_primal():
    v = np.array([3.0, 4.0])
    assert np.allclose(orthogonalize(v, []), [0.6, 0.8])


def test_conditional_direction_separates_primal_attribute_without_moving_condition():
    """Two planted attributes with correlated normals (cos 0.6). The conditional direction
    must be orthogonal to the fitted condition, still separate the primal attribute, and
    editing along it must leave the condition attribute's score almost unchanged."""
    rng = np.random.default_rng(5)
    d = 12
    n1 = np.zeros(d)
    n1[0] = 1.0
    n2 = np.zeros(d)
    n2[:2] = [0.6, 0.8]
    Z = rng.standard_normal((6000, d))
    y1 = Z @ n1 + 0.05 * rng.standard_normal(6000) > 0
    y2 = Z @ n2 + 0.05 * rng.standard_normal(6000) > 0
    primal = AttributeDirection().fit(Z, y1)
    condition = AttributeDirection().fit(Z, y2)
    assert primal.direction_ @ condition.direction_ > 0.5  # correlated before

    out = orthogonalize(primal, [condition])
    assert abs(out @ condition.direction_) < 1e-6
    # still separates attribute 1: the projection on the new direction predicts y1
    proj = Z @ out
    accuracy = np.mean((proj > np.median(proj)) == y1)
    assert accuracy > 0.7
    assert out @ n1 > 0.7  # the planted primal direction has a large component on it
    # editing along it moves attribute 1 but barely attribute 2
    assert abs(out @ n2) < 0.1 < out @ n1


def test_gram_schmidt_gives_orthonormal_rows_in_order():
    D = random_directions(4, 9, seed=6)
    Q = gram_schmidt(D)
    assert Q.shape == (4, 9)
    assert np.allclose(Q @ Q.T, np.eye(4), atol=1e-12)
    # row 0 is the first direction normalised; each row keeps its input's orientation
    assert np.allclose(Q[0], D[0] / np.linalg.norm(D[0]))
    assert np.all(np.einsum("ij,ij->i", Q, D) > 0)
    # row k lies in the span of the first k+1 inputs
    for k in range(4):
        coef, *_ = np.linalg.lstsq(D[: k + 1].T, Q[k], rcond=None)
        assert np.allclose(D[: k + 1].T @ coef, Q[k], atol=1e-10)


def test_gram_schmidt_restores_shape_and_rejects_dependent_rows():
    D = random_directions(2, 6, seed=7).reshape(2, 2, 3)
    assert gram_schmidt(D).shape == (2, 2, 3)
    dep = np.stack([D[0].reshape(-1), D[1].reshape(-1), D[0].reshape(-1) + D[1].reshape(-1)])
    with pytest.raises(ValueError, match=r"directions\[2\] lies in the span"):
        gram_schmidt(dep)


def test_cosine_matrix_known_angles():
    D = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, -2.0]])
    C = cosine_matrix(D)
    expected = np.array([[1, np.sqrt(0.5), 0], [np.sqrt(0.5), 1, -np.sqrt(0.5)], [0, -np.sqrt(0.5), 1]])
    assert np.allclose(C, expected)
    assert np.allclose(C, C.T)


def test_unfitted_attribute_direction_is_rejected():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        orthogonalize(AttributeDirection(), np.ones((1, 3)))
    with pytest.raises(NotFittedError):
        orthogonalize(np.ones(3), AttributeDirection())
