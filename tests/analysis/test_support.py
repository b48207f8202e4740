"""Support sets: a planted linear/affine relation between two latent spaces is recovered.

``LinkedPair`` builds two user-style Generators whose latent spaces are related by a
known map by construction: ``dst.decode(W z + b) == src.decode(z)`` for every source
code ``z`` (and both models encode exactly, up to optional seeded noise in the
destination). The classes are imported by test_map_evaluation.py too.
"""

import warnings

import numpy as np
import pytest
import torch

from latentlab.analysis.maps import LatentMap
from latentlab.analysis.support import SupportSet, support_set
from latentlab.models.base import Generator

IMAGE_SHAPE = (1, 12, 12)  # big enough for an 11-pixel SSIM window


def _tensor(a):
    return torch.as_tensor(a, dtype=torch.float64)


class Pixels:
    """The shared invertible decoder ``u -> tanh(P u)`` from a k-d code to images."""

    def __init__(self, k, seed=0):
        rng = np.random.default_rng(seed)
        # scaled so that tanh's input has a spread of about one: far from saturation, where
        # float32 images would lose the digits the inverse needs
        self.P = _tensor(rng.normal(scale=0.7 / np.sqrt(k), size=(int(np.prod(IMAGE_SHAPE)), k)))
        self.P_pinv = torch.linalg.pinv(self.P)

    def decode(self, u):
        return torch.tanh(_tensor(u) @ self.P.T).float().view(-1, *IMAGE_SHAPE)

    def encode(self, x):
        t = torch.atanh(_tensor(x).reshape(len(x), -1).clamp(-1 + 1e-12, 1 - 1e-12))
        return t @ self.P_pinv.T


class Dst(Generator):
    """Destination: codes are the k-d input of the shared decoder; ``encode`` inverts it."""

    def __init__(self, pixels, noise=0.0, seed=0):
        self.pixels, self.noise, self.seed, self.calls = pixels, noise, seed, 0
        self.latent_shape = (pixels.P.shape[1],)

    def decode(self, z):
        return self.pixels.decode(z)

    def encode(self, x):
        u = self.pixels.encode(x)
        if self.noise:  # a fresh seeded draw per call: an imperfect, but deterministic, encoder
            self.calls += 1
            g = torch.Generator().manual_seed(1000 * self.seed + self.calls)
            u = u + self.noise * torch.randn(u.shape, generator=g, dtype=torch.float64)
        return u.float()


class Src(Generator):
    """Source: ``decode(z) = pixels(W z + b)``, so the true map to ``Dst`` is ``z -> W z + b``."""

    def __init__(self, pixels, W, b):
        self.pixels, self.W, self.b = pixels, _tensor(W), _tensor(b)
        self.latent_shape = (self.W.shape[1],)
        self.W_pinv = torch.linalg.pinv(self.W)

    def decode(self, z):
        return self.pixels.decode(_tensor(z) @ self.W.T + self.b)

    def encode(self, x):
        return ((self.pixels.encode(x) - self.b) @ self.W_pinv.T).float()


def linked_pair(d_src=4, d_dst=6, bias=True, noise=0.0, seed=0):
    """``(src, dst, W, b)`` with ``dst.decode(W z + b) == src.decode(z)``."""
    rng = np.random.default_rng(seed + 100)
    W = rng.normal(scale=1 / np.sqrt(d_src), size=(d_dst, d_src))
    b = rng.normal(scale=0.5, size=d_dst) if bias else np.zeros(d_dst)
    pixels = Pixels(d_dst, seed)
    return Src(pixels, W, b), Dst(pixels, noise=noise, seed=seed), W, b


# -- the planted map is recovered -----------------------------------------------------------
@pytest.mark.parametrize("kind,bias", [("linear", False), ("affine", True)])
def test_generated_support_recovers_planted_map(kind, bias):
    src, dst, W, b = linked_pair(bias=bias)
    s = support_set(src, dst, source="generated", n=200, seed=1)
    assert isinstance(s, SupportSet) and len(s) == 200 and s.source == "generated" and s.data is None
    assert s.Z_src.shape == (200, 4) and s.Z_dst.shape == (200, 6) and s.images.shape == (200, *IMAGE_SHAPE)
    m = s.fit(kind)
    np.testing.assert_allclose(m.coef_, W, atol=1e-3)
    np.testing.assert_allclose(m.intercept_, b, atol=1e-3)
    # the mapped codes draw the same images as the source does
    z = src.sample_latents(16, generator=torch.Generator().manual_seed(9))
    mapped = dst.decode(m.transform(z.numpy()))
    np.testing.assert_allclose(mapped.numpy(), src.decode(z).numpy(), atol=1e-3)


def test_data_support_encodes_real_images_in_both_models():
    src, dst, W, b = linked_pair()
    # "real" images: on the source's image manifold, where the relation holds exactly
    z_true = torch.randn(300, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    images = src.decode(z_true)
    s = support_set(src, dst, source="data", data=images, n=120, seed=2)
    assert s.source == "data" and s.data == "array" and len(s) == 120
    # the images are a random subset of the ones given, encoded to their true codes
    rows = [int(torch.argmin(((images - torch.as_tensor(x)) ** 2).flatten(1).sum(1))) for x in s.images[:5]]
    np.testing.assert_allclose(s.Z_src[:5], z_true[rows].numpy(), atol=1e-3)
    m = s.fit("affine")
    np.testing.assert_allclose(m.coef_, W, atol=1e-3)
    np.testing.assert_allclose(m.intercept_, b, atol=1e-3)
    # the inverse relation is recovered too: dst -> src is W⁺ (u - b) on the source's image
    back = support_set(dst, src, source="data", data=images, n=120, seed=2).fit("affine")
    np.testing.assert_allclose(back.transform(s.Z_dst), s.Z_src, atol=1e-3)


def test_same_seed_same_support_and_split_is_disjoint():
    src, dst, _, _ = linked_pair()
    a = support_set(src, dst, source="generated", n=50, seed=4)
    b = support_set(src, dst, source="generated", n=50, seed=4)
    c = support_set(src, dst, source="generated", n=50, seed=5)
    np.testing.assert_array_equal(a.Z_src, b.Z_src)
    assert not np.allclose(a.Z_src, c.Z_src)
    fit, test = a.split(10, seed=0)
    assert len(fit) == 40 and len(test) == 10
    rows = {tuple(r) for r in np.round(fit.Z_src, 6)}
    assert not any(tuple(r) in rows for r in np.round(test.Z_src, 6))
    assert {tuple(r) for r in np.round(a.Z_src, 6)} == rows | {tuple(r) for r in np.round(test.Z_src, 6)}


def test_support_with_a_builtin_dataset():
    from latentlab import data

    class FaceCoder(Generator):
        """Codes are 8 fixed linear features of 32 px faces; decoding is their least-squares image."""

        latent_shape = (8,)
        sample_shape = (3, 32, 32)

        def __init__(self, seed):
            self.A = torch.randn(8, 3 * 32 * 32, generator=torch.Generator().manual_seed(seed)) / 55

        def encode(self, x):
            return x.flatten(1) @ self.A.T

        def decode(self, z):
            return (torch.as_tensor(z, dtype=torch.float32) @ torch.linalg.pinv(self.A).T).clamp(-1, 1).view(-1, 3, 32, 32)

    s = support_set(FaceCoder(0), FaceCoder(1), source="data", data="faces", n=40, seed=3)
    assert s.data == "faces" and s.images.shape == (40, 3, 32, 32)
    reference = data.load("faces", n=40, size=32, seed=3).data.numpy()
    np.testing.assert_allclose(np.sort(s.images.reshape(40, -1).sum(1)), np.sort(reference.reshape(40, -1).sum(1)), rtol=1e-5)


# -- warnings and bad input -----------------------------------------------------------------
def test_fewer_points_than_source_coordinates_warns_and_suggests_ridge():
    src, dst, _, _ = linked_pair(d_src=6, d_dst=6)
    with pytest.warns(UserWarning, match="ridge"):
        support_set(src, dst, source="generated", n=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        support_set(src, dst, source="generated", n=6)


@pytest.mark.parametrize("kwargs,match", [
    ({"source": "prior"}, "source='prior' is not one of 'data', 'generated'"),
    ({"n": 1}, "n must be an integer >= 2"),
    ({"n": 2.5}, "n must be an integer >= 2"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"data": np.zeros((10, *IMAGE_SHAPE)), "n": 20}, "has 10 samples but n=20"),
    ({"data": np.zeros((30, 1, 8, 8)), "n": 20}, "shape"),
    ({"data": np.full((30, *IMAGE_SHAPE), np.nan), "n": 20}, "NaN"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    src, dst, _, _ = linked_pair()
    with pytest.raises(ValueError, match=match):
        support_set(src, dst, **kwargs)


def test_models_that_cannot_encode_or_give_nan_are_refused():
    src, dst, _, _ = linked_pair()

    class DecodeOnly(Generator):
        latent_shape = (6,)

        def decode(self, z):
            return dst.decode(z)

    with pytest.raises(TypeError, match="cannot encode"):
        support_set(src, DecodeOnly(), source="generated", n=10)
    with pytest.raises(TypeError, match="source='generated'"):
        support_set(DecodeOnly(), dst, source="data", data=np.zeros((20, *IMAGE_SHAPE)), n=10)
    with pytest.raises(TypeError, match="Generator"):
        support_set(object(), dst, source="generated", n=10)

    other_src, _, _, _ = linked_pair()
    other_src.pixels = type(other_src.pixels)(6)
    other_src.pixels.decode = lambda u: torch.zeros(len(u), 1, 8, 8)
    with pytest.raises(ValueError, match=r"dst \(Dst\) takes samples of shape \(1, 12, 12\), but src has samples of shape \(1, 8, 8\)"):
        support_set(other_src, dst, source="generated", n=10)

    class NaNCoder(Dst):
        def encode(self, x):
            return torch.full((len(x), 6), float("nan"))

    with pytest.raises(ValueError, match="NaN"):
        support_set(src, NaNCoder(dst.pixels), source="generated", n=10)


def test_support_set_checks_its_arrays():
    with pytest.raises(ValueError, match="same samples in the same order; got 5 and 4 rows"):
        SupportSet(np.zeros((5, 2)), np.zeros((4, 3)), np.zeros((5, 1, 2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        SupportSet(np.full((5, 2), np.nan), np.zeros((5, 3)), np.zeros((5, 1, 2, 2)))
    with pytest.raises(ValueError, match="images must have shape"):
        SupportSet(np.zeros((5, 2)), np.zeros((5, 3)), np.zeros((4, 1, 2, 2)))
    with pytest.raises(ValueError, match="n_test"):
        SupportSet(np.zeros((5, 2)), np.zeros((5, 3)), np.zeros((5, 1, 2, 2))).split(4)
    # and a map fitted on mismatched codes says what is wrong
    with pytest.raises(ValueError, match="got 5 and 4 rows"):
        LatentMap().fit(np.zeros((5, 2)), np.zeros((4, 3)))
