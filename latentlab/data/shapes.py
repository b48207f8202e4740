"""dSprites-like binary shapes with five known generative factors.

Each image shows one white shape on a black background (values ``+1`` and ``-1``),
made from five independent factors, as in dSprites (Matthey et al. 2017):

=============  ======  ==========================================================
factor         values  meaning
=============  ======  ==========================================================
shape          3       square, ellipse, heart
scale          6       ``linspace(0.5, 1, 6)``, relative size
orientation    40      ``2*pi*k/40`` radians, counter-clockwise as seen in the image
pos_x          32      ``linspace(0, 1, 32)``: left edge to right edge
pos_y          32      ``linspace(0, 1, 32)``: top edge to bottom edge (image rows)
=============  ======  ==========================================================

Every shape lies inside a disc of radius ``0.2 * size`` pixels at scale 1, whatever its
orientation, and positions are mapped so that this disc (plus one pixel) stays inside
the image: no shape is ever cut by the border, at any scale, orientation or position.
A pixel is ``+1`` when its centre lies inside the shape (no anti-aliasing).

The square has four-fold and the ellipse two-fold rotational symmetry, so for them
several orientations give the same image (as in dSprites); the heart has none.

Images are rendered on demand by :class:`ShapesSource`, so even the full grid of
``3*6*40*32*32 = 737,280`` images costs only its label arrays in memory.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from latentlab._validation import check_int
from latentlab.data.dataset import Dataset, check_memory

__all__ = [
    "SHAPES",
    "SCALES",
    "ORIENTATIONS",
    "POSITIONS",
    "FACTOR_NAMES",
    "render_shapes",
    "ShapesSource",
    "make_shapes",
]

SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = 2 * np.pi * np.arange(40) / 40
POSITIONS = np.linspace(0.0, 1.0, 32)
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
_GRID_SHAPE = (len(SHAPES), len(SCALES), len(ORIENTATIONS), len(POSITIONS), len(POSITIONS))

_SIZES = (32, 64)
_RADIUS = 0.2  # circumscribed radius of a scale-1 shape, as a fraction of the image size
# Shapes are defined in the unit disc. A square of half-side 0.7 has circumradius 0.99;
# the ellipse has semi-axes 1 and 0.5 so that its orientation is visible.
_SQUARE_HALF = 0.7
_ELLIPSE_AXES = (1.0, 0.5)
# The heart (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 spans x in [-1.14, 1.14], y in [-1, 1.24];
# its smallest enclosing disc centred on the axis of symmetry is centred at y = 0.25 with
# radius 1.25 (found numerically on a fine grid), so (x, y) = 1.25 * (u, v) + (0, 0.25).
_HEART_RADIUS = 1.25
_HEART_SHIFT = 0.25
_CHUNK = 2048  # images rendered per vectorised step, to bound temporary memory


def _positions_to_pixels(pos: torch.Tensor, size: int) -> torch.Tensor:
    # One pixel beyond the largest shape's radius keeps the border rows/columns empty.
    margin = _RADIUS * size + 1.0
    return margin + pos * (size - 2 * margin)


def render_shapes(shape, scale, orientation, pos_x, pos_y, size: int = 64) -> torch.Tensor:
    """Render shapes from factor values, vectorised over the batch.

    Parameters
    ----------
    shape : int or array of int, shape (N,)
        Shape codes: 0 square, 1 ellipse, 2 heart (index into :data:`SHAPES`).
    scale : float or array, shape (N,)
        Relative size in ``(0, 1]`` (the built-in grid uses ``0.5 .. 1``).
    orientation : float or array, shape (N,)
        Rotation in radians, counter-clockwise as seen in the image.
    pos_x, pos_y : float or array, shape (N,)
        Position in ``[0, 1]``; ``pos_x`` runs left to right, ``pos_y`` top to bottom.
    size : int
        Image side in pixels, 32 or 64.

    Returns
    -------
    torch.Tensor, float32, shape (N, 1, size, size)
        ``+1`` inside the shape, ``-1`` elsewhere. Scalars broadcast against arrays.
    """
    if size not in _SIZES:
        raise ValueError(f"size must be one of {_SIZES}, not {size!r}")
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v)) for v in (shape, scale, orientation, pos_x, pos_y)))
    shape_, scale_, theta, px, py = (a.reshape(-1) for a in arrays)
    if shape_.size and not np.isin(shape_, np.arange(len(SHAPES))).all():
        raise ValueError(f"shape codes must be 0, 1 or 2 ({', '.join(SHAPES)}); got {sorted(set(shape_.tolist()))}")
    if shape_.size and (scale_.min() <= 0 or scale_.max() > 1):
        raise ValueError(f"scale must lie in (0, 1] so the shape fits the image; got [{scale_.min()}, {scale_.max()}]")
    for name, v in (("pos_x", px), ("pos_y", py)):
        if v.size and (v.min() < 0 or v.max() > 1):
            raise ValueError(f"{name} must lie in [0, 1]; got [{v.min()}, {v.max()}]")
    chunks = [
        _render_chunk(*(torch.as_tensor(a[i : i + _CHUNK]) for a in (shape_, scale_, theta, px, py)), size=size)
        for i in range(0, len(shape_), _CHUNK)
    ]
    if not chunks:
        return torch.empty(0, 1, size, size)
    return torch.cat(chunks)


def _render_chunk(shape, scale, theta, px, py, size: int) -> torch.Tensor:
    n = shape.shape[0]
    centres = torch.arange(size, dtype=torch.float32) + 0.5  # pixel centres
    cx = _positions_to_pixels(px.float(), size).view(n, 1, 1)
    cy = _positions_to_pixels(py.float(), size).view(n, 1, 1)
    radius = (_RADIUS * size * scale.float()).view(n, 1, 1)
    dx = (centres.view(1, 1, size) - cx) / radius
    dy = (cy - centres.view(1, size, 1)) / radius  # image rows run down; shape y runs up
    cos = torch.cos(theta.float()).view(n, 1, 1)
    sin = torch.sin(theta.float()).view(n, 1, 1)
    # Rotating the pixel grid by -theta rotates the shape by +theta.
    u = cos * dx + sin * dy
    v = -sin * dx + cos * dy
    inside = torch.empty(n, size, size, dtype=torch.bool)
    # Each shape's test runs only on its own images (the heart's is the costly one).
    for code, test in enumerate((_in_square, _in_ellipse, _in_heart)):
        sel = shape == code
        if sel.any():
            inside[sel] = test(u[sel], v[sel])
    return (inside.float() * 2 - 1).unsqueeze(1)


def _in_square(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.maximum(u.abs(), v.abs()) <= _SQUARE_HALF


def _in_ellipse(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u / _ELLIPSE_AXES[0]) ** 2 + (v / _ELLIPSE_AXES[1]) ** 2 <= 1


def _in_heart(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    x = _HEART_RADIUS * u
    y = _HEART_RADIUS * v + _HEART_SHIFT
    return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0


class ShapesSource:
    """Renders shape images on demand from factor indices.

    Parameters
    ----------
    factor_indices : int array, shape (N, 5)
        Indices into :data:`SHAPES`, :data:`SCALES`, :data:`ORIENTATIONS`,
        :data:`POSITIONS` (x) and :data:`POSITIONS` (y), one row per image.
    size : int
        Image side in pixels (32 or 64).
    """

    def __init__(self, factor_indices: np.ndarray, size: int):
        self.factor_indices = np.asarray(factor_indices, dtype=np.int64)
        self.size = size

    def __len__(self) -> int:
        return len(self.factor_indices)

    def get(self, indices: np.ndarray) -> torch.Tensor:
        """Images at ``indices`` as a float32 tensor ``(len(indices), 1, size, size)``."""
        f = self.factor_indices[np.asarray(indices, dtype=np.int64)]
        return render_shapes(
            f[:, 0], SCALES[f[:, 1]], ORIENTATIONS[f[:, 2]], POSITIONS[f[:, 3]], POSITIONS[f[:, 4]], size=self.size
        )


# Memory taken by one shape while make_shapes runs (factor indices and values; the images
# are rendered on demand): measured with tracemalloc, about 100 bytes.
_PEAK_BYTES_PER_SHAPE = 128


def make_shapes(*, n: int = 10000, size: int = 64, seed: int = 0, full_grid: bool = False) -> Dataset:
    """dSprites-like shapes with their five generative factors.

    Parameters
    ----------
    n : int
        Number of images drawn at random (each factor uniform and independent).
        Ignored when ``full_grid`` is true.
    size : int
        Image side in pixels: 32 or 64.
    seed : int
        Seed of the factor draws (ignored when ``full_grid`` is true).
    full_grid : bool
        If true, every combination of factor values once: 737,280 images in C order
        over (shape, scale, orientation, pos_x, pos_y), ``pos_y`` varying fastest.
        Images are rendered when read, never all at once (``dataset.data`` would need
        about 12 GB at 64 px, so read batches with ``dataset.get``).

    Returns
    -------
    Dataset
        Samples ``(1, size, size)`` float32 in ``{-1, 1}``. ``attrs``: ``shape``
        (levels square, ellipse, heart) and the factor indices ``scale``,
        ``orientation``, ``pos_x``, ``pos_y``. ``factors``: ``shape`` (the code),
        ``scale``, ``orientation`` (radians), ``pos_x``, ``pos_y`` (in ``[0, 1]``).
    """
    if size not in _SIZES:
        raise ValueError(f"size must be one of {_SIZES}, not {size!r}")
    if full_grid:
        idx = np.stack(np.unravel_index(np.arange(math.prod(_GRID_SHAPE)), _GRID_SHAPE), axis=1)
    else:
        check_int(n, "n", min=1, noun="number of images")
        check_int(seed, "seed", min=0)
        check_memory(n, _PEAK_BYTES_PER_SHAPE, "shapes")
        rng = np.random.default_rng(seed)
        idx = np.stack([rng.integers(0, k, size=n) for k in _GRID_SHAPE], axis=1)
    values = (np.arange(len(SHAPES)), SCALES, ORIENTATIONS, POSITIONS, POSITIONS)
    attrs = {name: idx[:, j] for j, name in enumerate(FACTOR_NAMES)}
    factors = {name: values[j][idx[:, j]] for j, name in enumerate(FACTOR_NAMES)}
    levels = {
        "shape": list(SHAPES),
        "scale": [f"{s:g}" for s in SCALES],
        "orientation": [f"{math.degrees(t):g}deg" for t in ORIENTATIONS],
        "pos_x": [f"{p:.3g}" for p in POSITIONS],
        "pos_y": [f"{p:.3g}" for p in POSITIONS],
    }
    info = {
        "builtin": "shapes",
        "n": len(idx),
        "size": size,
        "seed": None if full_grid else seed,
        "full_grid": full_grid,
        "factor_order": list(FACTOR_NAMES),
        "grid_shape": list(_GRID_SHAPE),
    }
    return Dataset(ShapesSource(idx, size), attrs=attrs, factors=factors, attr_levels=levels, name="shapes", info=info)
