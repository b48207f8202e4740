import numpy as np
import pytest
import torch

from latentlab.analysis.editing import interpolate, move, traversal_images, traverse
from latentlab.models.base import Generator


class LinearGenerator(Generator):
    """A user-style generator: images are a fixed linear function of a 3-d code."""

    latent_shape = (3,)

    def __init__(self):
        self.w = torch.randn(3, 1 * 2 * 2, generator=torch.Generator().manual_seed(0))

    def decode(self, z):
        return torch.tanh(torch.as_tensor(z, dtype=torch.float32) @ self.w).view(-1, 1, 2, 2)


class Fitted:
    """Stands in for a fitted AttributeDirection: a unit normal and an offset."""

    direction_ = np.array([0.0, 0.6, 0.8])
    intercept_ = -1.5


def test_move_by_step_and_to_distance():
    z = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    d = np.array([0.0, 3.0, 4.0])  # not unit: normalised
    moved = move(z, d, step=2.0)
    np.testing.assert_allclose(moved - z, np.tile([0, 1.2, 1.6], (5, 1)), atol=1e-6)
    assert moved.dtype == np.float32
    target = move(z, Fitted(), to_distance=0.7)
    dist = target @ Fitted.direction_ + Fitted.intercept_
    np.testing.assert_allclose(dist, 0.7, atol=1e-5)
    # orthogonal components untouched
    np.testing.assert_allclose(target[:, 0], z[:, 0])
    zt = torch.from_numpy(z)
    assert isinstance(move(zt, d, step=1.0), torch.Tensor)


def test_move_errors():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="exactly one"):
        move(z, [1, 0, 0])
    with pytest.raises(ValueError, match="has 4 numbers.*shape \\(3,\\)"):
        move(z, [1, 0, 0, 0], step=1)
    with pytest.raises(ValueError, match="zero"):
        move(z, [0, 0, 0], step=1)


def test_structured_codes_keep_their_shape():
    z = np.random.default_rng(1).normal(size=(4, 2, 3))
    d = np.zeros((2, 3))
    d[1, 2] = 1
    out = move(z, d, step=1.5)
    assert out.shape == (4, 2, 3)
    np.testing.assert_allclose(out[:, 1, 2] - z[:, 1, 2], 1.5)


def test_traversal_grid():
    gen = LinearGenerator()
    z = gen.sample_latents(2, generator=torch.Generator().manual_seed(0))
    codes = traverse(z, [1, 0, 0], steps=[-1, 0, 1])
    assert codes.shape == (2, 3, 3)
    np.testing.assert_allclose(codes[:, 2, 0] - codes[:, 0, 0], 2.0, atol=1e-6)
    images = traversal_images(gen, z, [1, 0, 0], steps=[-1, 0, 1])
    assert images.shape == (2, 3, 1, 2, 2)
    torch.testing.assert_close(images[:, 1], gen.decode(z))


def test_interpolation_endpoints_and_slerp_norm():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=64), rng.normal(size=64)
    for method in ("linear", "slerp"):
        path = interpolate(a, b, n=9, method=method)
        np.testing.assert_allclose(path[0], a, atol=1e-5)
        np.testing.assert_allclose(path[-1], b, atol=1e-5)
    # equal-norm endpoints: slerp stays on the sphere, the straight line cuts inside it
    b = b / np.linalg.norm(b) * np.linalg.norm(a)
    slerp = np.linalg.norm(interpolate(a, b, n=9, method="slerp"), axis=1)
    line = np.linalg.norm(interpolate(a, b, n=9, method="linear"), axis=1)
    np.testing.assert_allclose(slerp, np.linalg.norm(a), rtol=1e-4)
    assert line[4] < 0.9 * np.linalg.norm(a)
    with pytest.raises(ValueError, match="'linear' or 'slerp'"):
        interpolate(a, b, method="cubic")


class PixelCodes(Generator):
    """Codes are the images themselves (flattened): encode and decode are exact inverses."""

    latent_shape = (4,)

    def decode(self, z):
        return torch.as_tensor(z, dtype=torch.float32).view(-1, 1, 2, 2)

    def encode(self, x):
        return torch.as_tensor(x, dtype=torch.float32).reshape(-1, 4)


def test_edit_images_moves_every_image_by_each_step():
    from latentlab.analysis.editing import edit_images

    x = torch.randn(5, 1, 2, 2, generator=torch.Generator().manual_seed(0)) * 0.1
    d = np.array([1.0, 0.0, 0.0, 0.0])
    edited, rebuilt = edit_images(PixelCodes(), x, d, [0.0, 0.5], batch_size=2)
    assert edited.shape == (2, 5, 1, 2, 2) and torch.equal(rebuilt, x) and torch.allclose(edited[0], x)
    assert torch.allclose(edited[1] - x, torch.tensor([0.5, 0, 0, 0]).view(1, 1, 2, 2).expand(5, 1, 2, 2))


def test_class_gap_recovers_a_planted_shift():
    from latentlab.analysis.editing import class_gap

    g = np.random.default_rng(0)
    labels = np.repeat([0, 1], 500)
    z = g.normal(size=(1000, 3)) + np.outer(labels, [0.0, 1.8, 2.4])  # shift 3 along (0, 0.6, 0.8)
    assert class_gap(z, labels, [0, 0.6, 0.8]) == pytest.approx(3.0, abs=0.15)
    assert class_gap(z, labels, [1, 0, 0]) == pytest.approx(0.0, abs=0.15)
    with pytest.raises(ValueError, match="both classes"):
        class_gap(z, np.zeros(1000), [1, 0, 0])
