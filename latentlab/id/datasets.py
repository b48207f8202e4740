"""Point clouds on manifolds of known intrinsic dimension.

Samplers of the standard shapes (spheres, balls, cubes, affine subspaces, Gaussians,
swiss roll, helices, Möbius band, ...) and the benchmark suite of synthetic manifolds
collected by Hein & Audibert (2005) and Campadelli et al. (2015), "Intrinsic dimension
estimation: relevant techniques and a benchmark framework", Mathematical Problems in
Engineering 2015:759567, as used by scikit-dimension's ``BenchmarkManifolds``: 24 sets
named ``M1_Sphere`` ... ``Mp3_Paraboloid`` with intrinsic dimensions from 1 to 70 in
ambient dimensions from 3 to 96.

Every sampler takes the number of points ``n`` and a ``random_state`` (int,
``numpy.random.Generator`` or None for fresh entropy) and returns a float64 array of
shape ``(n, D)``. :data:`BENCHMARK` lists the suite with the true dimensions;
:func:`make` draws one of them, optionally with Gaussian noise in the ambient space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from latentlab._validation import check_choice, check_float, check_int

__all__ = [
    "sphere",
    "ball",
    "hypercube",
    "hypercube_surface",
    "gaussian",
    "affine",
    "affine_3to5",
    "nonlinear_4to6",
    "cyclic_product",
    "helix_curve",
    "helicoid",
    "swiss_roll",
    "s_curve",
    "spiral",
    "moebius",
    "beta_product",
    "tan_product",
    "paraboloid",
    "Manifold",
    "BENCHMARK",
    "benchmark_names",
    "make",
]


def _rng(random_state) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _pad(X: np.ndarray, ambient_dim: int | None) -> np.ndarray:
    """Embed ``X`` (n, m) in ``ambient_dim >= m`` dimensions by appending zero columns."""
    if ambient_dim is None:
        return X
    ambient_dim = check_int(ambient_dim, "ambient_dim", min=X.shape[1], type_error=TypeError)
    return np.hstack([X, np.zeros((X.shape[0], ambient_dim - X.shape[1]))])


def _check_n(n) -> int:
    return check_int(n, "n", min=1, type_error=TypeError)


# -- standard shapes -------------------------------------------------------------------


def sphere(n: int, d: int, ambient_dim: int | None = None, radius: float = 1.0, random_state=None) -> np.ndarray:
    """Uniform sample of the d-sphere ``S^d`` of the given radius in ``R^(d+1)``.

    Returns an array of shape ``(n, ambient_dim or d + 1)`` (extra coordinates are 0).
    """
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    g = _rng(random_state).standard_normal((n, d + 1))
    return _pad(radius * g / np.linalg.norm(g, axis=1, keepdims=True), ambient_dim)


def ball(n: int, d: int, ambient_dim: int | None = None, radius: float = 1.0, random_state=None) -> np.ndarray:
    """Uniform sample of the d-dimensional ball; shape ``(n, ambient_dim or d)``."""
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    rng = _rng(random_state)
    g = rng.standard_normal((n, d))
    r = radius * rng.random(n) ** (1.0 / d)  # P(|x| < r) ~ r^d
    return _pad(g / np.linalg.norm(g, axis=1, keepdims=True) * r[:, None], ambient_dim)


def hypercube(n: int, d: int, ambient_dim: int | None = None, random_state=None) -> np.ndarray:
    """Uniform sample of the unit cube ``[0, 1]^d``; shape ``(n, ambient_dim or d)``."""
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    return _pad(_rng(random_state).random((n, d)), ambient_dim)


def hypercube_surface(n: int, d: int, ambient_dim: int | None = None, random_state=None) -> np.ndarray:
    """Uniform sample of the boundary of the unit cube ``[0, 1]^(d+1)``, a d-manifold.

    Each of the ``2 (d + 1)`` faces (one coordinate fixed at 0 or 1) is equally likely.
    Shape ``(n, ambient_dim or d + 1)``.
    """
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    rng = _rng(random_state)
    X = rng.random((n, d + 1))
    face = rng.integers(0, d + 1, size=n)
    X[np.arange(n), face] = rng.integers(0, 2, size=n)
    return _pad(X, ambient_dim)


def gaussian(n: int, d: int, ambient_dim: int | None = None, random_state=None) -> np.ndarray:
    """Standard normal sample in ``R^d``; shape ``(n, ambient_dim or d)``."""
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    return _pad(_rng(random_state).standard_normal((n, d)), ambient_dim)


def affine(n: int, d: int, ambient_dim: int, side: float = 5.0, random_state=None) -> np.ndarray:
    """Uniform sample of a d-cube of the given side in a random d-dimensional affine
    subspace of ``R^ambient_dim`` (random orthonormal basis and offset); shape
    ``(n, ambient_dim)``.
    """
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    D = check_int(ambient_dim, "ambient_dim", min=d, type_error=TypeError)
    rng = _rng(random_state)
    basis, _ = np.linalg.qr(rng.standard_normal((D, d)))
    coords = side * (rng.random((n, d)) - 0.5)
    return coords @ basis.T + rng.standard_normal(D)


# -- the Hein & Audibert / Campadelli et al. benchmark shapes ---------------------------------


def affine_3to5(n: int, random_state=None) -> np.ndarray:
    """M2: a 3-cube ``[0, 4]^3`` mapped affinely into ``R^5`` (fixed map); shape (n, 5)."""
    A = np.array([[1.2, -0.5, 0.0], [0.5, 0.9, 0.0], [-0.5, -0.2, 1.0], [0.4, -0.9, -0.1], [1.1, -0.3, 0.0]])
    b = np.array([3.0, -1.0, 0.0, 0.0, 8.0])
    return 4.0 * _rng(random_state).random((_check_n(n), 3)) @ A.T + b


def nonlinear_4to6(n: int, random_state=None) -> np.ndarray:
    """M3: a 4-manifold in ``R^6``, concentrated so that it looks 3-dimensional; (n, 6)."""
    p0, p1, p2, p3 = _rng(random_state).random((4, _check_n(n)))
    return np.stack(
        [
            p1**2 * np.cos(2 * np.pi * p0),
            p2**2 * np.sin(2 * np.pi * p0),
            p1 + p2 + (p1 - p3) ** 2,
            p1 - 2 * p2 + (p0 - p3) ** 2,
            -p1 - 2 * p2 + (p2 - p3) ** 2,
            p0**2 - p1**2 + p2**2 - p3**2,
        ],
        axis=1,
    )


def cyclic_product(n: int, d: int, copies: int = 1, random_state=None) -> np.ndarray:
    """M4, M6, M8: a curved d-manifold in ``R^(2 d copies)``.

    With ``p`` uniform in ``[0, 1]^d``, coordinates ``2i, 2i+1`` are
    ``p_{i+1} (cos 2 pi p_i, sin 2 pi p_i)`` (indices cyclic); the ``2d`` coordinates
    are repeated ``copies`` times.
    """
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    p = _rng(random_state).random((n, d))
    r = np.roll(p, -1, axis=1)
    block = np.empty((n, 2 * d))
    block[:, 0::2] = r * np.cos(2 * np.pi * p)
    block[:, 1::2] = r * np.sin(2 * np.pi * p)
    return np.tile(block, (1, check_int(copies, "copies", min=1, type_error=TypeError)))


def helix_curve(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """M5a: a closed curve winding 8 times around a torus; shape (n, ambient_dim)."""
    t = 2 * np.pi * _rng(random_state).random(_check_n(n))
    X = np.stack([(2 + np.cos(8 * t)) * np.cos(t), (2 + np.cos(8 * t)) * np.sin(t), np.sin(8 * t)], axis=1)
    return _pad(X, ambient_dim)


def helicoid(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """M5b: ``(r cos p, r sin p, p / 2)`` for ``r, p`` uniform in ``[0, 10 pi]``; (n, ambient_dim)."""
    r, p = 10 * np.pi * _rng(random_state).random((2, _check_n(n)))
    return _pad(np.stack([r * np.cos(p), r * np.sin(p), 0.5 * p], axis=1), ambient_dim)


def swiss_roll(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """M7: ``(t cos t, h, t sin t)``, ``t`` uniform in ``[1.5 pi, 4.5 pi]``, ``h`` in ``[0, 21]``."""
    u, v = _rng(random_state).random((2, _check_n(n)))
    t = 1.5 * np.pi * (1 + 2 * u)
    return _pad(np.stack([t * np.cos(t), 21 * v, t * np.sin(t)], axis=1), ambient_dim)


def s_curve(n: int, ambient_dim: int = 3, random_state=None) -> np.ndarray:
    """M13a: the S-shaped surface ``(sin t, h, sign(t)(cos t - 1))``, ``|t| <= 1.5 pi``."""
    u, v = _rng(random_state).random((2, _check_n(n)))
    t = 3 * np.pi * (u - 0.5)
    return _pad(np.stack([np.sin(t), 2.0 * v, np.sign(t) * (np.cos(t) - 1)], axis=1), ambient_dim)


def spiral(n: int, ambient_dim: int = 13, random_state=None) -> np.ndarray:
    """M13b: the helix ``(100 cos t, 100 sin t, t)``, ``t`` in ``[0, 10 pi]``, in
    ``R^ambient_dim``."""
    t = 10 * np.pi * _rng(random_state).random(_check_n(n))
    return _pad(np.stack([100 * np.cos(t), 100 * np.sin(t), t], axis=1), ambient_dim)


def moebius(n: int, half_twists: int = 5, random_state=None) -> np.ndarray:
    """M11: a Möbius-like band of half-width 0.5 around the unit circle, turning
    ``half_twists`` half-turns (the benchmark's "10-times twisted" band); shape (n, 3)."""
    phi, s = _rng(random_state).random((2, _check_n(n)))
    phi, s = 2 * np.pi * phi, 2 * s - 1
    w = 0.5 * s
    k = check_int(half_twists, "half_twists", min=0, type_error=TypeError)
    return np.stack([(1 + w * np.cos(k * phi)) * np.cos(phi), (1 + w * np.cos(k * phi)) * np.sin(phi), w * np.sin(k * phi)], axis=1)


def beta_product(n: int, d: int = 10, alpha: float = 10.0, beta: float = 0.5, random_state=None) -> np.ndarray:
    """Mbeta: a d-manifold in ``R^(4d)`` with a strongly non-uniform density.

    ``x_i ~ Beta(alpha, beta)`` independently; coordinates ``x_i sin(cos(2 pi x_i))`` and
    ``x_i cos(sin(2 pi x_i))``, the ``2d`` of them repeated twice.
    """
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    x = _rng(random_state).beta(alpha, beta, size=(n, d))
    a, b = x * np.sin(np.cos(2 * np.pi * x)), x * np.cos(np.sin(2 * np.pi * x))
    return np.hstack([a, b, a, b])


def tan_product(n: int, d: int, random_state=None) -> np.ndarray:
    """Mn1, Mn2: a nonlinearly embedded d-manifold in ``R^(4d)``.

    ``x`` uniform in ``[0, 1]^d``; coordinates ``tan(x_i cos x_{d-1-i})`` and
    ``arctan(x_{d-1-i} sin x_i)``, the ``2d`` of them repeated twice.
    """
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    x = _rng(random_state).random((n, d))
    xr = x[:, ::-1]
    a, b = np.tan(x * np.cos(xr)), np.arctan(xr * np.sin(x))
    return np.hstack([a, b, a, b])


def paraboloid(n: int, d: int, random_state=None) -> np.ndarray:
    """Mp1-Mp3: a d-dimensional paraboloid in ``R^(3(d+1))`` with a multivariate Burr
    density: ``y_i = 1 / (1 + E_i / E_0)`` with ``E`` standard exponential, ``y_{d+1} =
    |y|^2``, and the coordinates ``(y, sin y, y^2)``.
    """
    n, d = _check_n(n), check_int(d, "d", min=1, type_error=TypeError)
    E = _rng(random_state).exponential(1.0, size=(n, d + 1))
    y = 1.0 / (1.0 + E[:, 1:] / E[:, :1])
    y = np.hstack([y, (y**2).sum(axis=1, keepdims=True)])
    return np.hstack([y, np.sin(y), y**2])


# -- the benchmark registry ---------------------------------------------------------------


@dataclass(frozen=True)
class Manifold:
    """One benchmark set: how to draw it and its true dimensions."""

    name: str
    intrinsic_dim: int
    ambient_dim: int
    description: str
    sample: Callable[[int, np.random.Generator], np.ndarray]


def _entry(name, d, D, description, sample):
    return name, Manifold(name, d, D, description, sample)


BENCHMARK: dict[str, Manifold] = dict(
    [
        _entry("M1_Sphere", 10, 11, "10-sphere in R^11", lambda n, g: sphere(n, 10, random_state=g)),
        _entry("M2_Affine_3to5", 3, 5, "3-D affine space in R^5", lambda n, g: affine_3to5(n, random_state=g)),
        _entry("M3_Nonlinear_4to6", 4, 6, "concentrated 4-manifold, mistakable for 3-D", lambda n, g: nonlinear_4to6(n, random_state=g)),
        _entry("M4_Nonlinear", 4, 8, "curved 4-manifold in R^8", lambda n, g: cyclic_product(n, 4, 1, random_state=g)),
        _entry("M5a_Helix1d", 1, 3, "closed helix curve", lambda n, g: helix_curve(n, random_state=g)),
        _entry("M5b_Helix2d", 2, 3, "helicoid surface", lambda n, g: helicoid(n, random_state=g)),
        _entry("M6_Nonlinear", 6, 36, "curved 6-manifold in R^36", lambda n, g: cyclic_product(n, 6, 3, random_state=g)),
        _entry("M7_Roll", 2, 3, "swiss roll", lambda n, g: swiss_roll(n, random_state=g)),
        _entry("M8_Nonlinear", 12, 72, "highly curved 12-manifold in R^72", lambda n, g: cyclic_product(n, 12, 3, random_state=g)),
        _entry("M9_Affine", 20, 20, "20-D affine space (cube)", lambda n, g: affine(n, 20, 20, random_state=g)),
        _entry("M10a_Cubic", 10, 11, "boundary of the 11-cube", lambda n, g: hypercube_surface(n, 10, random_state=g)),
        _entry("M10b_Cubic", 17, 18, "boundary of the 18-cube", lambda n, g: hypercube_surface(n, 17, random_state=g)),
        _entry("M10c_Cubic", 24, 25, "boundary of the 25-cube", lambda n, g: hypercube_surface(n, 24, random_state=g)),
        _entry("M10d_Cubic", 70, 71, "boundary of the 71-cube", lambda n, g: hypercube_surface(n, 70, random_state=g)),
        _entry("M11_Moebius", 2, 3, "Möbius band, 10 times twisted", lambda n, g: moebius(n, random_state=g)),
        _entry("M12_Norm", 20, 20, "isotropic 20-D Gaussian", lambda n, g: gaussian(n, 20, random_state=g)),
        _entry("M13a_Scurve", 2, 3, "S-curve surface", lambda n, g: s_curve(n, random_state=g)),
        _entry("M13b_Spiral", 1, 13, "helix curve in R^13", lambda n, g: spiral(n, random_state=g)),
        _entry("Mbeta", 10, 40, "10-manifold with a smooth, very non-uniform density", lambda n, g: beta_product(n, 10, random_state=g)),
        _entry("Mn1_Nonlinear", 18, 72, "nonlinearly embedded 18-manifold", lambda n, g: tan_product(n, 18, random_state=g)),
        _entry("Mn2_Nonlinear", 24, 96, "nonlinearly embedded 24-manifold", lambda n, g: tan_product(n, 24, random_state=g)),
        _entry("Mp1_Paraboloid", 3, 12, "3-D paraboloid, Burr density", lambda n, g: paraboloid(n, 3, random_state=g)),
        _entry("Mp2_Paraboloid", 6, 21, "6-D paraboloid, Burr density", lambda n, g: paraboloid(n, 6, random_state=g)),
        _entry("Mp3_Paraboloid", 9, 30, "9-D paraboloid, Burr density", lambda n, g: paraboloid(n, 9, random_state=g)),
    ]
)


def benchmark_names() -> list[str]:
    """Names of the benchmark manifolds, in the suite's order."""
    return list(BENCHMARK)


def make(name: str, n: int = 2500, *, noise: float = 0.0, random_state=None) -> np.ndarray:
    """Draw ``n`` points of the benchmark manifold ``name``.

    Parameters
    ----------
    name : str
        One of :func:`benchmark_names`.
    n : int, default=2500
        Number of points.
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added in the ambient space (units
        of the manifold's coordinates). Noise makes the data full-dimensional at small
        scales; the true dimension refers to the noiseless manifold.
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    ndarray of shape (n, BENCHMARK[name].ambient_dim), float64
    """
    check_choice(name, "name", tuple(BENCHMARK))
    noise = check_float(noise, "noise", min=0.0, type_error=TypeError)
    rng = _rng(random_state)
    X = BENCHMARK[name].sample(_check_n(n), rng)
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    return X
