"""Procedural RGB cartoon faces with CelebA-like attributes and known factors.

Each image is a head and shoulders on a plain background, drawn from a small set of
continuous factors. Binary attributes, their latent factors and what they look like:

=========  =====================  ===========================================================
attribute  factor (label = 1 if)  in the pixels
=========  =====================  ===========================================================
glasses    ``glasses >= 0.5``     dark rims and tinted lenses around both eyes, bridge, arms;
                                  the factor above 0.6 sets the lens tint (clear to dark)
smile      ``smile > 0``          mouth curvature in ``[-0.35, 1]``: corners up, a wider
                                  mouth and teeth when positive, flat or turned down when
                                  negative
age        ``age >= 0.5``         old: grey hair and eyebrows, a receding hairline and two
                                  wrinkle lines on the forehead (stronger as age -> 1)
beard      ``beard >= 0.5``       a beard over the lower face and sideburns, of the hair
                                  colour darkened to stand out from the skin
hat        ``hat >= 0.5``         a coloured hat with a brim over the top of the head;
                                  the factor sets its height, ``hat_hue`` its colour
male       ``male >= 0.5``        short hair and thicker eyebrows; otherwise long hair
                                  falling past the ears (the factor sets its length)
=========  =====================  ===========================================================

Categorical attributes: ``hair_color`` (:data:`HAIR_COLORS`; grey comes from ``age``,
not from this attribute) and ``skin_tone`` (:data:`SKIN_TONES`). Their factors are the
level index of the hair colour with a ``hair_shade`` in ``[-1, 1]`` (darker to lighter),
and the skin darkness ``skin_tone`` in ``[0, 1]`` (level ``floor(3 * skin_tone)``).

Attribute correlations follow a Gaussian copula: each binary attribute is a latent
standard normal above the threshold that gives its prevalence, the latents are jointly
normal with a correlation matrix solved so that the binary labels have the requested
Pearson correlation (phi coefficient), and each factor is an increasing function of its
latent with a gap around the label threshold, so labels are never ambiguous in the
pixels. By default glasses go with age (phi = 0.5), as in photographs of people.

Nuisance factors: ``pos_x``, ``pos_y`` (shift in half-image units, right and down),
``scale`` (relative size), ``tilt`` (radians, counter-clockwise as seen in the image) and
``background`` (hue in ``[0, 1)``); their ranges are multiplied by ``nuisance``
(0 = centred, upright, fixed size, one background colour). Other appearance factors,
not nuisance and not labelled: ``face_width`` in ``[-1, 1]``, ``hat_hue`` and
``shirt_hue`` in ``[0, 1)``.

``Dataset.factors`` holds every factor, so ``render_faces(dataset.factors, size)``
reproduces ``dataset.images``; change one factor to re-draw the same face with one
attribute switched. Each face depends only on its own factors, and the first ``m`` faces
of a dataset do not depend on ``n``. Images are rendered on demand, vectorised over
chunks of about a million pixels, so a large dataset costs only its factor arrays until
read. Read batches (``dataset.get(indices)``, or ``dataset.data`` once): reading one image
at a time (``dataset[i]``) pays the fixed cost of a chunk for each image.

Geometry, for ``nuisance=0``, in image coordinates running over ``[-1, 1]`` left to right
and top to bottom: the head is centred at ``(0, 0.05)``, about 0.95 wide and 1.25 tall;
the eyes are at ``(+-0.2, -0.03)``, the mouth at ``y = 0.4``, the hat brim at
``y = -0.41`` and the shoulders below ``y = 0.78``. (The drawing itself is defined in
canonical head coordinates, mapped to the image by ``1.1 * scale``, the tilt and the
shift.)
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri
from scipy.stats import multivariate_normal

from latentlab._validation import check_float, check_int
from latentlab.data.dataset import Dataset, check_memory
from latentlab.errors import OptionError

__all__ = [
    "SIZES",
    "BINARY_ATTRIBUTES",
    "CATEGORICAL_ATTRIBUTES",
    "HAIR_COLORS",
    "SKIN_TONES",
    "DEFAULT_PREVALENCE",
    "DEFAULT_CORRELATIONS",
    "FACTOR_DEFAULTS",
    "make_faces",
    "render_faces",
    "attributes_from_factors",
    "latent_correlation",
    "FacesSource",
]

SIZES = (32, 64)
BINARY_ATTRIBUTES = ("glasses", "smile", "age", "beard", "hat", "male")
HAIR_COLORS = ("black", "brown", "blond", "red")
SKIN_TONES = ("light", "medium", "dark")
CATEGORICAL_ATTRIBUTES = {"hair_color": HAIR_COLORS, "skin_tone": SKIN_TONES}
DEFAULT_PREVALENCE = {
    "glasses": 0.3, "smile": 0.5, "age": 0.35, "beard": 0.25, "hat": 0.2, "male": 0.5,
    "hair_color": (0.3, 0.3, 0.25, 0.15), "skin_tone": (0.4, 0.35, 0.25),
}
DEFAULT_CORRELATIONS = {("glasses", "age"): 0.5}

# Factor value ranges below / above each binary label's threshold. The gap between the
# two ranges keeps every label clearly readable in the pixels.
_BINARY_RANGES = {
    "glasses": ((0.0, 0.4), (0.6, 1.0), 0.5),
    "smile": ((-0.35, -0.05), (0.4, 1.0), 0.0),
    "age": ((0.0, 0.4), (0.6, 1.0), 0.5),
    "beard": ((0.0, 0.4), (0.6, 1.0), 0.5),
    "hat": ((0.0, 0.4), (0.6, 1.0), 0.5),
    "male": ((0.0, 0.4), (0.6, 1.0), 0.5),
}
_SKIN_GAP = 0.05  # skin darkness is drawn at least this far from the level boundaries
_NUISANCE_MAX = 2.0
# ranges at nuisance = 1
_POS_RANGE = 0.08  # half-image units
_SCALE_RANGE = 0.08
_TILT_RANGE = 0.2  # radians
_BACKGROUND_HUE = 0.58  # the one background hue at nuisance = 0 (pale blue)
# canonical head coordinates -> image at scale 1: a slight zoom, and the head a little
# below the centre so that a hat fits above it
_ZOOM = 1.1
_OFFSET_Y = 0.05

# A neutral face: the values render_faces uses for factors that are not given.
FACTOR_DEFAULTS = {
    "glasses": 0.0, "smile": 0.6, "age": 0.0, "beard": 0.0, "hat": 0.0, "male": 0.0,
    "hair_color": 1.0, "hair_shade": 0.0, "skin_tone": 0.15,
    "face_width": 0.0, "hat_hue": 0.0, "shirt_hue": 0.6,
    "pos_x": 0.0, "pos_y": 0.0, "scale": 1.0, "tilt": 0.0, "background": _BACKGROUND_HUE,
}

# pixels per vectorised step (1024 images at 32 px, 256 at 64 px): bounds the memory
# used while rendering to about 50 MB, whatever the number of images
_CHUNK_PIXELS = 2**20
_LATENT_RHO_MAX = 0.995  # latent correlations are solved in [-0.995, 0.995]

# RGB in [0, 1]
_HAIR_RGB = np.array([[0.10, 0.08, 0.08], [0.40, 0.24, 0.12], [0.92, 0.78, 0.42], [0.78, 0.30, 0.10]], np.float32)
_GREY_RGB = np.array([0.80, 0.80, 0.82], np.float32)
# skin colour at darkness 0, 0.5, 1 (linear in between)
_SKIN_RGB = np.array([[1.00, 0.86, 0.76], [0.80, 0.58, 0.40], [0.36, 0.22, 0.14]], np.float32)
_LENS_RGB = np.array([0.10, 0.12, 0.18], np.float32)
_FRAME_RGB = np.array([0.05, 0.05, 0.06], np.float32)
_EYE_WHITE_RGB = np.array([0.97, 0.97, 0.97], np.float32)
_PUPIL_RGB = np.array([0.08, 0.06, 0.10], np.float32)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # brightness of an RGB colour
_LIPS_RGB = np.array([0.42, 0.04, 0.08], np.float32)


# ----------------------------------------------------------------------------------
# options: prevalence and correlations
# ----------------------------------------------------------------------------------
def _check_binary_name(name, what: str) -> str:
    if name not in BINARY_ATTRIBUTES:
        categorical = f" ({name!r} is categorical)" if name in CATEGORICAL_ATTRIBUTES else ""
        raise ValueError(
            f"unknown attribute {name!r} in {what}{categorical}; valid binary attributes: {', '.join(BINARY_ATTRIBUTES)}"
        )
    return name


def _resolve_prevalence(prevalence) -> dict:
    out = dict(DEFAULT_PREVALENCE)
    if prevalence is None:
        return out
    if not isinstance(prevalence, Mapping):
        raise OptionError(f"prevalence must be a dict of attribute -> frequency, not {type(prevalence).__name__}")
    valid = (*BINARY_ATTRIBUTES, *CATEGORICAL_ATTRIBUTES)
    for name, value in prevalence.items():
        if name in CATEGORICAL_ATTRIBUTES:
            levels = CATEGORICAL_ATTRIBUTES[name]
            if isinstance(value, Mapping):
                unknown = [k for k in value if k not in levels]
                if unknown:
                    raise ValueError(f"unknown {name} level {unknown[0]!r}; levels: {', '.join(levels)}")
                value = [value.get(k, 0.0) for k in levels]
            probs = np.asarray(value, dtype=np.float64).reshape(-1)
            if probs.shape != (len(levels),) or not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.sum() <= 0:
                raise ValueError(
                    f"prevalence[{name!r}] must give {len(levels)} non-negative frequencies "
                    f"(for {', '.join(levels)}) or a dict level -> frequency; got {value!r}"
                )
            out[name] = tuple(float(p) for p in probs / probs.sum())
        elif name in BINARY_ATTRIBUTES:
            try:
                p = float(value)
            except (TypeError, ValueError):
                p = math.nan
            if not 0.0 < p < 1.0:
                raise ValueError(f"prevalence[{name!r}] must lie strictly between 0 and 1, not {value!r}")
            out[name] = p
        else:
            raise ValueError(f"unknown attribute {name!r} in prevalence; valid attributes: {', '.join(valid)}")
    return out


def _parse_pair(key) -> tuple[str, str]:
    if isinstance(key, str):
        parts = [p.strip() for p in key.split("~")]
    elif isinstance(key, (tuple, list)):
        parts = list(key)
    else:
        parts = []
    if len(parts) != 2:
        raise ValueError(f"correlation keys are pairs like ('glasses', 'age') or 'glasses~age', not {key!r}")
    a, b = (_check_binary_name(p, "correlations") for p in parts)
    if a == b:
        raise ValueError(f"correlation pair {key!r} names {a!r} twice; give two different attributes")
    return a, b


def _resolve_correlations(correlations) -> dict[tuple[str, str], float]:
    """Normalise the ``correlations`` option to ``{(a, b): phi}`` with ``a`` before ``b``
    in :data:`BINARY_ATTRIBUTES` order."""
    if correlations is None:
        correlations = DEFAULT_CORRELATIONS
    if isinstance(correlations, str):
        # command-line form: "glasses~age=0.5,smile~male=-0.2" ("" or "none": independent)
        text = correlations.strip()
        items = {}
        if text.lower() not in ("", "none"):
            for item in text.split(","):
                key, sep, value = item.partition("=")
                if not sep:
                    raise ValueError(f"correlation {item!r} is not of the form 'a~b=phi', e.g. 'glasses~age=0.5'")
                items[key.strip()] = value.strip()
        correlations = items
    if not isinstance(correlations, Mapping):
        raise OptionError(
            "correlations must be a dict like {('glasses', 'age'): 0.5} or a string 'glasses~age=0.5', "
            f"not {type(correlations).__name__}"
        )
    out = {}
    for key, value in correlations.items():
        a, b = _parse_pair(key)
        if BINARY_ATTRIBUTES.index(a) > BINARY_ATTRIBUTES.index(b):
            a, b = b, a
        try:
            phi = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"correlation of {a}~{b} must be a number in [-1, 1], not {value!r}") from None
        if not -1.0 <= phi <= 1.0:
            raise ValueError(f"correlation of {a}~{b} must lie in [-1, 1], not {phi}")
        if (a, b) in out and out[(a, b)] != phi:
            raise ValueError(f"correlation of {a}~{b} is given twice, as {out[(a, b)]} and {phi}")
        out[(a, b)] = phi
    return out


def _phi_from_rho(rho: float, p_a: float, p_b: float) -> float:
    """Phi coefficient of two thresholded standard normals with correlation ``rho``."""
    # P(Z_a > t_a, Z_b > t_b) = Phi2(-t_a, -t_b; rho), and -t = ndtri(p).
    upper = np.array([ndtri(p_a), ndtri(p_b)])
    p11 = float(multivariate_normal.cdf(upper, mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]]))
    return (p11 - p_a * p_b) / math.sqrt(p_a * (1 - p_a) * p_b * (1 - p_b))


def latent_correlation(phi: float, p_a: float, p_b: float, pair: str = "a~b") -> float:
    """Latent normal correlation giving binary labels with Pearson correlation ``phi``.

    Each label is ``Z > t`` with ``Z`` standard normal and ``P(Z > t) = p``.

    Parameters
    ----------
    phi : float
        Target phi coefficient of the two binary labels, in ``[-1, 1]``.
    p_a, p_b : float
        Prevalences of the two labels, in ``(0, 1)``.
    pair : str
        Name of the pair, used in error messages.

    Returns
    -------
    float
        The latent correlation ``rho`` in ``[-0.995, 0.995]``.

    Raises
    ------
    ValueError
        If ``phi`` cannot be reached with these prevalences; the message gives the
        achievable range.
    """
    if phi == 0.0:
        return 0.0
    lo = _phi_from_rho(-_LATENT_RHO_MAX, p_a, p_b)
    hi = _phi_from_rho(_LATENT_RHO_MAX, p_a, p_b)
    if not lo <= phi <= hi:
        raise ValueError(
            f"correlation {phi} for {pair} is impossible with prevalences {p_a:g} and {p_b:g}: "
            f"the achievable range is [{lo:.3f}, {hi:.3f}]"
        )
    return float(brentq(lambda r: _phi_from_rho(r, p_a, p_b) - phi, -_LATENT_RHO_MAX, _LATENT_RHO_MAX, xtol=1e-10))


def _latent_correlation_matrix(correlations: dict, prevalence: dict) -> np.ndarray:
    k = len(BINARY_ATTRIBUTES)
    corr = np.eye(k)
    for (a, b), phi in correlations.items():
        i, j = BINARY_ATTRIBUTES.index(a), BINARY_ATTRIBUTES.index(b)
        corr[i, j] = corr[j, i] = latent_correlation(phi, prevalence[a], prevalence[b], pair=f"{a}~{b}")
    min_eig = float(np.linalg.eigvalsh(corr).min())
    if min_eig <= 1e-8:
        pairs = ", ".join(f"{a}~{b}={phi:g}" for (a, b), phi in correlations.items())
        raise ValueError(
            f"the requested correlations ({pairs}) cannot hold together: their latent correlation matrix is "
            f"not positive definite (smallest eigenvalue {min_eig:.3g}); weaken some of them"
        )
    return corr


# ----------------------------------------------------------------------------------
# sampling factors
# ----------------------------------------------------------------------------------
def _two_sided(z: np.ndarray, threshold: float, off: tuple, on: tuple) -> np.ndarray:
    """Increasing map of a standard normal ``z``: uniform over ``off`` below ``threshold``,
    uniform over ``on`` above it."""
    cz, ct = ndtr(z), ndtr(threshold)
    below = off[0] + (off[1] - off[0]) * cz / ct
    above = on[0] + (on[1] - on[0]) * (cz - ct) / (1 - ct)
    return np.where(z > threshold, above, below)


_UNIFORM_COLUMNS = (
    *BINARY_ATTRIBUTES, "hair_color", "hair_shade", "skin_level", "skin_tone", "face_width", "hat_hue",
    "shirt_hue", "pos_x", "pos_y", "scale", "tilt", "background",
)


def _sample_factors(n: int, rng: np.random.Generator, latent_corr: np.ndarray, prevalence: dict, nuisance: float) -> dict:
    # All randomness comes from one (n, columns) matrix filled row by row, so the first
    # m faces are the same whatever n is.
    uniform = rng.random((n, len(_UNIFORM_COLUMNS)))
    col = {name: uniform[:, i] for i, name in enumerate(_UNIFORM_COLUMNS)}
    normal = ndtri(np.clip(uniform[:, : len(BINARY_ATTRIBUTES)], 1e-12, 1 - 1e-12))
    z = normal @ np.linalg.cholesky(latent_corr).T
    factors = {}
    for i, name in enumerate(BINARY_ATTRIBUTES):
        off, on, _ = _BINARY_RANGES[name]
        factors[name] = _two_sided(z[:, i], ndtri(1 - prevalence[name]), off, on)

    def categorical(u, probs):
        return np.minimum(np.searchsorted(np.cumsum(probs), u, side="right"), len(probs) - 1)

    factors["hair_color"] = categorical(col["hair_color"], prevalence["hair_color"]).astype(np.float64)
    factors["hair_shade"] = 2 * col["hair_shade"] - 1
    # skin darkness: uniform within its level's third of [0, 1], away from the boundaries
    width = 1.0 / len(SKIN_TONES)
    level = categorical(col["skin_level"], prevalence["skin_tone"])
    factors["skin_tone"] = (level + _SKIN_GAP / width + col["skin_tone"] * (1 - 2 * _SKIN_GAP / width)) * width
    factors["face_width"] = 2 * col["face_width"] - 1
    factors["hat_hue"] = col["hat_hue"]
    factors["shirt_hue"] = col["shirt_hue"]
    factors["pos_x"] = nuisance * _POS_RANGE * (2 * col["pos_x"] - 1)
    factors["pos_y"] = nuisance * _POS_RANGE * (2 * col["pos_y"] - 1)
    factors["scale"] = 1.0 + nuisance * _SCALE_RANGE * (2 * col["scale"] - 1)
    factors["tilt"] = nuisance * _TILT_RANGE * (2 * col["tilt"] - 1)
    factors["background"] = np.mod(_BACKGROUND_HUE + min(nuisance, 1.0) * (col["background"] - 0.5), 1.0)
    return {k: v.astype(np.float32) for k, v in factors.items()}


def _label(f: Mapping, name: str) -> np.ndarray:
    """The binary attribute ``name`` (bool array) implied by its factor."""
    value = np.asarray(f[name])
    threshold = _BINARY_RANGES[name][2]
    # smile: a flat mouth (curvature exactly 0) is not a smile
    return value > threshold if name == "smile" else value >= threshold


def _strength(f: Mapping, name: str) -> np.ndarray:
    """Where a present attribute's factor lies in its range, from 0 to 1 (float64)."""
    (_, (lo, hi), _) = _BINARY_RANGES[name]
    return np.clip((np.asarray(f[name], np.float64) - lo) / (hi - lo), 0.0, 1.0)


def attributes_from_factors(factors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Attribute labels implied by factor values.

    Parameters
    ----------
    factors : dict of str -> array, shape (N,)
        Must hold the binary attributes' factors, ``hair_color`` and ``skin_tone``.

    Returns
    -------
    dict of str -> int64 array, shape (N,)
        Binary attributes as 0/1, ``hair_color`` and ``skin_tone`` as level indices.
    """
    missing = [k for k in (*BINARY_ATTRIBUTES, *CATEGORICAL_ATTRIBUTES) if k not in factors]
    if missing:
        raise ValueError(f"factors lack {', '.join(missing)} (needed to derive the attribute labels)")
    out = {name: _label(factors, name).astype(np.int64) for name in BINARY_ATTRIBUTES}
    out["hair_color"] = np.clip(np.rint(np.asarray(factors["hair_color"])), 0, len(HAIR_COLORS) - 1).astype(np.int64)
    skin_level = np.floor(np.asarray(factors["skin_tone"]) * len(SKIN_TONES))
    out["skin_tone"] = np.clip(skin_level, 0, len(SKIN_TONES) - 1).astype(np.int64)
    return out


# ----------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------
def _hsv_to_rgb(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """Hues ``h`` (N,) in [0, 1) at fixed saturation and value -> RGB (N, 3) in [0, 1]."""
    k = np.mod(np.array([5.0, 3.0, 1.0]) + 6.0 * np.asarray(h, np.float64)[:, None], 6.0)
    return (v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)).astype(np.float32)


def _colours(f: dict) -> dict[str, np.ndarray]:
    """Per-image RGB colours (N, 3) of every part, from the factors."""
    n = len(f["age"])
    hair = _HAIR_RGB[np.clip(np.rint(f["hair_color"]), 0, len(HAIR_COLORS) - 1).astype(np.int64)]
    hair = np.clip(hair * (1.0 + 0.18 * f["hair_shade"][:, None]), 0, 1)
    grey = np.where(_label(f, "age"), 0.7 + 0.3 * _strength(f, "age"), 0.0)[:, None]
    hair = (1 - grey) * hair + grey * _GREY_RGB
    t = np.clip(f["skin_tone"], 0, 1)[:, None] * 2.0
    skin = np.where(t < 1, (1 - t) * _SKIN_RGB[0] + t * _SKIN_RGB[1], (2 - t) * _SKIN_RGB[1] + (t - 1) * _SKIN_RGB[2])
    background = _hsv_to_rgb(f["background"], 0.22, 0.93)
    # a beard must stand out from the skin: a hair colour much lighter than the skin is
    # kept, any other is darkened well below the skin's brightness
    lum_hair, lum_skin = hair @ _LUMA, skin @ _LUMA
    darken = np.minimum(0.8, 0.55 * lum_skin / np.maximum(lum_hair, 1e-3))
    beard = hair * np.where(lum_hair >= lum_skin + 0.25, 1.0, darken)[:, None]
    ones = np.ones((n, 1), np.float32)
    return {
        "background": background,
        "background_low": background * 0.88,  # bottom of the vertical gradient
        "shirt": _hsv_to_rgb(f["shirt_hue"], 0.55, 0.62),
        "hat": _hsv_to_rgb(f["hat_hue"], 0.75, 0.85),
        "hat_band": _hsv_to_rgb(f["hat_hue"], 0.75, 0.45),
        "hair": hair,
        "brows": hair * 0.8,
        "beard": beard,
        "skin": skin,
        "skin_shadow": skin * 0.82,
        "wrinkle": skin * 0.55,
        "lens": ones * _LENS_RGB,
        "frame": ones * _FRAME_RGB,
        "eye_white": ones * _EYE_WHITE_RGB,
        "pupil": ones * _PUPIL_RGB,
        "lips": ones * _LIPS_RGB,
        "teeth": ones * _EYE_WHITE_RGB,
    }


# Every shape is drawn from a quadratic form q(u, v) in the canonical head coordinates,
# scaled so that q is the shape's coverage of a pixel before clipping to [0, 1] (a
# one-pixel anti-aliasing ramp across the edge). A quadratic form is held as a
# symmetric (B, 3, 3) matrix M acting on homogeneous coordinates p = (u, v, 1): q = p' M p.
# Under the per-image pose, canonical coordinates are an affine function of the pixel
# coordinates, p = T(x, y, 1), so q = (x, y, 1) T'MT (x, y, 1)' is again quadratic, and
# evaluating it over an image costs two or three passes over the pixels whatever the
# shape: the pose and the shape are folded into six numbers per image.
def _quad(b: int, uu=0.0, uv=0.0, vv=0.0, u=0.0, v=0.0, c=0.0) -> np.ndarray:
    """``q = uu u^2 + uv u v + vv v^2 + u u + v v + c`` as (b, 3, 3) matrices; every
    coefficient is a number or an array of shape (b,)."""
    m = np.zeros((b, 3, 3))
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = uu, vv, c
    m[:, 0, 1] = m[:, 1, 0] = np.multiply(uv, 0.5)
    m[:, 0, 2] = m[:, 2, 0] = np.multiply(u, 0.5)
    m[:, 1, 2] = m[:, 2, 1] = np.multiply(v, 0.5)
    return m


def _substitute(m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The form ``m`` after the change of variables ``p = t p'`` (``t``: (b, 3, 3))."""
    return np.matmul(np.matmul(t.transpose(0, 2, 1), m), t)


def _ellipse(b, k, cx, cy, rx, ry, angle=0.0) -> np.ndarray:
    """Coverage form of an ellipse centred at ``(cx, cy)`` with semi-axes ``rx``, ``ry``,
    turned by ``angle`` radians (clockwise as seen; rows run down).

    ``0.5 + (1 - f) r k / 2``, with ``f`` the ellipse's implicit function and ``r`` the
    smaller semi-axis, approximates ``0.5 + k * signed distance`` near the edge (exactly
    at the ends of the minor axis; the ramp is wider at the ends of the major axis).
    """
    slope = np.minimum(rx, ry) * k * 0.5
    local = _quad(b, uu=-slope / np.square(rx), vv=-slope / np.square(ry), c=0.5 + slope)
    cos, sin = np.cos(angle), np.sin(angle)
    t = np.zeros((b, 3, 3))  # canonical (u, v, 1) -> the ellipse's own axes
    t[:, 0, 0], t[:, 0, 1], t[:, 0, 2] = cos, sin, -(cos * cx + sin * cy)
    t[:, 1, 0], t[:, 1, 1], t[:, 1, 2] = -sin, cos, sin * cx - cos * cy
    t[:, 2, 2] = 1.0
    return _substitute(local, t)


def _line(b, k, nu, nv, c) -> np.ndarray:
    """Coverage form of the half-plane ``nu u + nv v + c > 0`` (``(nu, nv)`` a unit normal)."""
    return _quad(b, u=np.multiply(k, nu), v=np.multiply(k, nv), c=0.5 + np.multiply(k, c))


class _Workspace:
    """Buffers reused from chunk to chunk and layer to layer: allocating fresh tensors of
    a few megabytes for every operation costs as much as the arithmetic (page faults)."""

    def __init__(self):
        self._buffers: dict[str, torch.Tensor] = {}
        self._scratch: list[torch.Tensor] = []
        self._used = 0

    def buffer(self, name: str, *shape: int) -> torch.Tensor:
        """A tensor of ``shape`` kept under ``name`` (its content is overwritten by the
        next request for the same name)."""
        n = math.prod(shape)
        if name not in self._buffers or self._buffers[name].numel() < n:
            self._buffers[name] = torch.empty(n)
        return self._buffers[name][:n].view(*shape)

    def scratch(self, *shape: int) -> torch.Tensor:
        """A tensor of ``shape`` that stays valid until the next :meth:`release`."""
        n = math.prod(shape)
        if self._used == len(self._scratch):
            self._scratch.append(torch.empty(0))
        if self._scratch[self._used].numel() < n:
            self._scratch[self._used] = torch.empty(n)
        out = self._scratch[self._used][:n].view(*shape)
        self._used += 1
        return out

    def release(self) -> None:
        self._used = 0


class _Chunk:
    """A batch of images being painted, or a contiguous span of one (:meth:`span`).

    Tensors are laid out pixel-major and batch-minor, ``(H, W, B)``, so that every
    elementwise operation runs over contiguous runs of ``B`` values and per-image
    parameters broadcast along that fast axis. Each shape is evaluated only inside the
    pixel box that its canonical box can reach under the poses of the images painted.
    """

    def __init__(self, f: dict, size: int, workspace: _Workspace):
        b = self.b = len(f["age"])
        self.size = size
        self.workspace = workspace
        # image = zoom * scale * R(tilt) (u, v) + pos + (0, offset), R counter-clockwise as seen
        self.scale = f["scale"].astype(np.float64) * _ZOOM
        self.tilt = f["tilt"].astype(np.float64)
        self.shift_x = f["pos_x"].astype(np.float64)
        self.shift_y = f["pos_y"].astype(np.float64) + _OFFSET_Y
        self.k = self.scale * (size / 2.0)  # pixels per canonical unit
        cos, sin = np.cos(self.tilt) / self.scale, np.sin(self.tilt) / self.scale
        tx, ty = self.shift_x, self.shift_y
        self.pose = np.zeros((b, 3, 3))  # (u, v, 1) = pose @ (x, y, 1)
        self.pose[:, 0, 0], self.pose[:, 0, 1], self.pose[:, 0, 2] = cos, -sin, sin * ty - cos * tx
        self.pose[:, 1, 0], self.pose[:, 1, 1], self.pose[:, 1, 2] = sin, cos, -(sin * tx + cos * ty)
        self.pose[:, 2, 2] = 1.0
        self.centres = (np.arange(size) * 2.0 + 1.0) / size - 1.0  # pixel centres in [-1, 1]
        grid = torch.from_numpy(self.centres.astype(np.float32))
        self.xy = (grid.view(size, 1) * grid.view(1, size)).unsqueeze(-1)  # y * x, (H, W, 1)
        # colours go straight to the output's [-1, 1] scale (blending commutes with it)
        self.rgb = {
            k: torch.from_numpy(np.ascontiguousarray(c.T * 2 - 1, dtype=np.float32)).view(3, 1, 1, b)
            for k, c in _colours(f).items()
        }
        top, low = self.rgb["background"], self.rgb["background_low"]
        w = ((grid + 1) / 2).view(1, size, 1, 1)  # 0 at the top row, 1 at the bottom
        self.canvas = workspace.buffer("canvas", 3, size, size, b)
        self.canvas.copy_((top + (low - top) * w).expand(3, size, size, b))

    def span(self, b0: int, b1: int) -> "_Chunk":
        """The images ``b0:b1`` of this chunk, painting into the same canvas."""
        sub = object.__new__(_Chunk)
        sub.__dict__.update(self.__dict__)
        sub.b = b1 - b0
        for name in ("scale", "tilt", "shift_x", "shift_y", "k", "pose"):
            setattr(sub, name, getattr(self, name)[b0:b1])
        sub.rgb = {k: v[..., b0:b1] for k, v in self.rgb.items()}
        sub.canvas = self.canvas[..., b0:b1]
        return sub

    def layer(self, u0, u1, v0, v1):
        """Start painting a layer: frees the scratch tensors of the previous layer and
        returns the pixel slices ``(rows, cols)`` covering the canonical box
        ``[u0, u1] x [v0, v1]`` in every image (plus a pixel and a half for
        anti-aliasing), or ``None`` if it misses them all."""
        self.workspace.release()
        cu = np.array([u0, u1, u0, u1])
        cv = np.array([v0, v0, v1, v1])
        s, c, sn = self.scale[:, None], np.cos(self.tilt)[:, None], np.sin(self.tilt)[:, None]
        x = s * (c * cu + sn * cv) + self.shift_x[:, None]
        y = s * (-sn * cu + c * cv) + self.shift_y[:, None]
        half = self.size / 2.0
        c0 = max(0, math.floor((x.min() + 1) * half - 1.5))
        c1 = min(self.size, math.ceil((x.max() + 1) * half + 1.5))
        r0 = max(0, math.floor((y.min() + 1) * half - 1.5))
        r1 = min(self.size, math.ceil((y.max() + 1) * half + 1.5))
        if c0 >= c1 or r0 >= r1:
            return None
        return slice(r0, r1), slice(c0, c1)

    def field(self, reg, m: np.ndarray) -> torch.Tensor:
        """Values ``(h, w, B)`` of the canonical quadratic form ``m`` over the region."""
        n = _substitute(m, self.pose)
        rows, cols = reg
        x, y = self.centres[cols][:, None], self.centres[rows][:, None]
        along_x = torch.from_numpy(((n[:, 0, 0] * x + 2 * n[:, 0, 2]) * x).astype(np.float32))  # (w, B)
        along_y = torch.from_numpy(((n[:, 1, 1] * y + 2 * n[:, 1, 2]) * y + n[:, 2, 2]).astype(np.float32))
        out = torch.add(along_y.unsqueeze(1), along_x.unsqueeze(0), out=self.workspace.scratch(len(y), len(x), self.b))
        cross = 2 * n[:, 0, 1]
        if np.any(cross != 0):
            out.addcmul_(self.xy[rows, cols], torch.from_numpy(cross.astype(np.float32)))
        return out

    def cover(self, reg, m: np.ndarray) -> torch.Tensor:
        """Coverage ``(h, w, B)`` in [0, 1] of the shape whose coverage form is ``m``."""
        return self.field(reg, m).clamp_(0.0, 1.0)

    def band(self, reg, d: np.ndarray, half_width) -> torch.Tensor:
        """Coverage of ``|d| < half_width``; ``d`` is a distance form already multiplied
        by ``k`` (pixels per unit)."""
        edge = torch.from_numpy(np.asarray(np.multiply(half_width, self.k) + 0.5, dtype=np.float32))
        return self.field(reg, d).abs_().neg_().add_(edge).clamp_(0.0, 1.0)

    def paint(self, reg, alpha: torch.Tensor, colour: str, present: np.ndarray | None = None):
        """Blend ``colour`` over the canvas inside ``reg`` with coverage ``alpha`` (h, w, B),
        only in the images where ``present`` (B,) is true (all when ``None``)."""
        if present is not None and not present.all():
            alpha = alpha.mul_(torch.from_numpy(present.astype(np.float32)))
        rows, cols = reg
        self.canvas[:, rows, cols].lerp_(self.rgb[colour], alpha)


# -- the parts of a face, painted back to front --------------------------------------
# Each painter takes the chunk (or a span of it), the factors of its images and, for an
# optional part, which of those images have it.
def _head_size(f: dict):
    """Head semi-axes (rx (B,), ry) in canonical units."""
    return 0.43 * (1.0 + 0.08 * f["face_width"].astype(np.float64)), 0.57


def _paint_body(ch: _Chunk, f: dict, on=None) -> None:
    b, k = ch.b, ch.k
    # Every shape must lie inside its layer's box (plus the anti-aliasing ramp), or an
    # image would depend on the poses of the others painted with it.
    reg = ch.layer(-0.2, 0.2, 0.2, 1.3)  # neck; its ends are hidden by the head and the shirt
    if reg:
        ch.paint(reg, ch.cover(reg, _ellipse(b, k, 0.0, 0.75, 0.15, 0.5)), "skin_shadow")
    reg = ch.layer(-0.95, 0.95, 0.64, 1.78)  # shoulders
    if reg:
        ch.paint(reg, ch.cover(reg, _ellipse(b, k, 0.0, 1.2, 0.92, 0.54)), "shirt")


def _paint_ears_and_cap(ch: _Chunk, f: dict, on=None) -> None:
    # the cap is the hair seen above the head; it stops above the ears
    b, k = ch.b, ch.k
    head_rx, _ = _head_size(f)
    reg = ch.layer(-0.56, 0.56, -0.12, 0.16)
    if reg:
        ears = ch.cover(reg, _ellipse(b, k, -head_rx, 0.02, 0.075, 0.11))
        ch.paint(reg, ears.add_(ch.cover(reg, _ellipse(b, k, head_rx, 0.02, 0.075, 0.11))), "skin_shadow")
    reg = ch.layer(-0.62, 0.62, -0.76, -0.08)
    if reg:
        cap = ch.cover(reg, _ellipse(b, k, 0.0, -0.16, 1.16 * head_rx, 0.58))
        ch.paint(reg, cap.mul_(ch.cover(reg, _line(b, k, 0.0, -1.0, -0.1))), "hair")


def _paint_long_hair(ch: _Chunk, f: dict, on) -> None:
    # a curtain down the sides that covers the ears and falls on the shoulders
    b, k = ch.b, ch.k
    head_rx, _ = _head_size(f)
    reg = ch.layer(-0.62, 0.62, -0.22, 0.8)
    if reg:
        bottom = 0.78 - 0.8 * f["male"].astype(np.float64)
        curtain = ch.band(reg, _line(b, k, 1.0, 0.0, 0.0), 1.28 * head_rx)
        curtain.mul_(ch.cover(reg, _line(b, k, 0.0, -1.0, bottom))).mul_(ch.cover(reg, _line(b, k, 0.0, 1.0, 0.2)))
        ch.paint(reg, curtain, "hair", on)


def _paint_head(ch: _Chunk, f: dict, on=None) -> None:
    reg = ch.layer(-0.52, 0.52, -0.62, 0.62)
    if reg:
        ch.paint(reg, ch.cover(reg, _ellipse(ch.b, ch.k, 0.0, 0.0, *_head_size(f))), "skin")


def _paint_beard(ch: _Chunk, f: dict, on) -> None:
    # the face below a line under the nose that rises towards the sideburns
    b, k = ch.b, ch.k
    reg = ch.layer(-0.52, 0.52, -0.15, 0.62)
    if reg:
        alpha = ch.cover(reg, _quad(b, uu=1.2 * k, v=k, c=0.5 - 0.13 * k))
        alpha.mul_(ch.cover(reg, _ellipse(b, k, 0.0, 0.0, *_head_size(f))))
        density = torch.from_numpy((0.75 + 0.25 * _strength(f, "beard")).astype(np.float32))
        ch.paint(reg, alpha.mul_(density), "beard", on)


def _paint_features(ch: _Chunk, f: dict, on=None) -> None:
    b, k = ch.b, ch.k
    reg = ch.layer(-0.07, 0.07, -0.02, 0.18)  # nose
    if reg:
        ch.paint(reg, ch.cover(reg, _ellipse(b, k, 0.0, 0.08, 0.045, 0.075)), "skin_shadow")
    reg = ch.layer(-0.3, 0.3, -0.15, 0.01)  # eyes
    if reg:
        whites = ch.cover(reg, _ellipse(b, k, -0.18, -0.07, 0.092, 0.062))
        ch.paint(reg, whites.add_(ch.cover(reg, _ellipse(b, k, 0.18, -0.07, 0.092, 0.062))), "eye_white")
        pupils = ch.cover(reg, _ellipse(b, k, -0.18, -0.065, 0.048, 0.048))
        ch.paint(reg, pupils.add_(ch.cover(reg, _ellipse(b, k, 0.18, -0.065, 0.048, 0.048))), "pupil")
    reg = ch.layer(-0.3, 0.3, -0.27, -0.14)  # eyebrows: thicker for men, sloping to the temples
    if reg:
        thickness = 0.024 + 0.012 * _label(f, "male")
        brows = ch.cover(reg, _ellipse(b, k, -0.18, -0.205, 0.09, thickness, angle=-0.12))
        ch.paint(reg, brows.add_(ch.cover(reg, _ellipse(b, k, 0.18, -0.205, 0.09, thickness, angle=0.12))), "brows")
    # mouth: a band around a parabola through (0, 0.32); a positive smile lifts the
    # corners, widens the mouth and opens it on a row of teeth
    reg = ch.layer(-0.24, 0.24, 0.14, 0.5)
    if reg:
        smile = f["smile"].astype(np.float64)
        grin = np.maximum(smile, 0.0)
        half = 0.15 + 0.03 * grin
        lift = 0.16 * smile
        clip = ch.cover(reg, _ellipse(b, k, 0.0, 0.32, half, 0.3))
        curve = _quad(b, uu=k * lift / half**2, v=k, c=-k * (0.32 + 0.5 * lift))
        ch.paint(reg, ch.band(reg, curve, 0.024 + 0.04 * grin).mul_(clip), "lips")
        if np.any(_label(f, "smile")):
            teeth = _quad(b, uu=k * lift / half**2, v=k, c=-k * (0.32 + 0.5 * lift - 0.014 * grin))
            ch.paint(reg, ch.band(reg, teeth, 0.022 * grin).mul_(clip).mul_(0.9), "teeth", _label(f, "smile"))


def _paint_glasses(ch: _Chunk, f: dict, on) -> None:
    # tinted lenses, then the frame: rims, bridge and arms
    b, k = ch.b, ch.k
    head_rx, _ = _head_size(f)
    reg = ch.layer(-0.5, 0.5, -0.21, 0.06)
    if reg:
        rx, ry, rim = 0.135, 0.095, 0.045
        lenses = [ch.cover(reg, _ellipse(b, k, cx, -0.07, rx - rim / 2, ry - rim / 2)) for cx in (-0.18, 0.18)]
        frame = ch.cover(reg, _ellipse(b, k, -0.18, -0.07, rx + rim / 2, ry + rim / 2))
        frame.add_(ch.cover(reg, _ellipse(b, k, 0.18, -0.07, rx + rim / 2, ry + rim / 2)))
        # bridge and arms: a bar across the face, from ear to ear, outside the lenses
        bar = ch.band(reg, _line(b, k, 0.0, 1.0, 0.08), 0.02)
        bar.mul_(ch.cover(reg, _ellipse(b, k, 0.0, -0.08, head_rx + 0.02, 0.4))).mul_(frame.neg().add_(1.0))
        frame.sub_(lenses[0]).sub_(lenses[1]).add_(bar)
        tint = torch.from_numpy((0.25 + 0.6 * _strength(f, "glasses")).astype(np.float32))
        ch.paint(reg, lenses[0].add_(lenses[1]).mul_(tint), "lens", on)
        ch.paint(reg, frame.clamp_(0.0, 1.0), "frame", on)


def _paint_fringe(ch: _Chunk, f: dict, on=None) -> None:
    # hair above a curved hairline, which recedes with age; drawn over a slightly grown
    # head so that the head's soft edge does not show through
    b, k = ch.b, ch.k
    head_rx, head_ry = _head_size(f)
    reg = ch.layer(-0.52, 0.52, -0.66, -0.18)
    if reg:
        hairline = -0.36 - 0.1 * _label(f, "age")
        fringe = ch.cover(reg, _quad(b, uu=0.55 * k, u=0.04 * k, v=-k, c=0.5 + k * hairline))
        fringe.mul_(ch.cover(reg, _ellipse(b, k, 0.0, 0.0, head_rx + 0.04, head_ry + 0.04)))
        ch.paint(reg, fringe, "hair")


def _paint_wrinkles(ch: _Chunk, f: dict, on) -> None:
    # two bands along parabolas across the forehead, within |u| < 0.18
    b, k = ch.b, ch.k
    reg = ch.layer(-0.22, 0.22, -0.36, -0.24)
    if reg:
        lines = ch.band(reg, _quad(b, uu=-0.35 * k, v=k, c=0.32 * k), 0.017)
        lines.add_(ch.band(reg, _quad(b, uu=-0.35 * k, v=k, c=0.27 * k), 0.017))
        lines.clamp_(max=1.0).mul_(ch.cover(reg, _ellipse(b, k, 0.0, -0.3, 0.18, 0.3)))
        depth = torch.from_numpy((0.6 + 0.4 * _strength(f, "age")).astype(np.float32))
        ch.paint(reg, lines.mul_(depth), "wrinkle", on)


def _paint_hat(ch: _Chunk, f: dict, on) -> None:
    # crown (the top half of an ellipse), a dark band, the brim
    b, k = ch.b, ch.k
    head_rx, _ = _head_size(f)
    reg = ch.layer(-0.72, 0.72, -0.92, -0.36)
    if reg:
        height = 0.36 + 0.12 * _strength(f, "hat")
        crown = ch.cover(reg, _ellipse(b, k, 0.0, -0.42, 1.12 * head_rx, height))
        crown.mul_(ch.cover(reg, _line(b, k, 0.0, -1.0, -0.42)))
        ch.paint(reg, crown, "hat", on)
        ch.paint(reg, ch.band(reg, _line(b, k, 0.0, 1.0, 0.51), 0.045).mul_(crown), "hat_band", on)
        # a band with rounded ends (a flat ellipse would fade out along its long axis)
        brim = ch.band(reg, _line(b, k, 0.0, 1.0, 0.42), 0.045)
        ch.paint(reg, brim.mul_(ch.cover(reg, _ellipse(b, k, 0.0, -0.42, 1.49 * head_rx, 0.4))), "hat", on)


def _optional_parts(f: dict) -> dict[str, np.ndarray]:
    """Which images have each optional part (bool arrays), costliest part first."""
    return {
        "glasses": _label(f, "glasses"),
        "hat": _label(f, "hat"),
        "long_hair": ~_label(f, "male"),
        "beard": _label(f, "beard"),
        "wrinkles": _label(f, "age"),
    }


# (painter, the optional part it paints or None), back to front
_LAYERS = (
    (_paint_body, None),
    (_paint_ears_and_cap, None),
    (_paint_long_hair, "long_hair"),
    (_paint_head, None),
    (_paint_beard, "beard"),
    (_paint_features, None),
    (_paint_glasses, "glasses"),
    (_paint_fringe, None),
    (_paint_wrinkles, "wrinkles"),
    (_paint_hat, "hat"),
)


def _render_order(f: dict) -> np.ndarray:
    """An order of the images in which those with each optional part come in few runs.

    Images are sorted by the reflected Gray code of their optional parts, costliest part
    as the top bit: then the images with the top two parts form one run each, and the
    rest few runs. An optional part is painted only over the span of its images in a
    chunk, so this order saves most of the work on parts that few faces have.
    """
    code = np.zeros(len(f["age"]), dtype=np.int64)
    for present in _optional_parts(f).values():
        code = (code << 1) | present
    rank = code.copy()  # position of `code` in the reflected Gray sequence
    shift = code >> 1
    while np.any(shift):
        rank ^= shift
        shift >>= 1
    return np.argsort(rank, kind="stable")


def _render_chunk(f: dict, size: int, workspace: _Workspace) -> torch.Tensor:
    """Paint one chunk of faces; returns the canvas ``(3, size, size, B)`` in ``[-1, 1]``
    (a view into ``workspace``)."""
    ch = _Chunk(f, size, workspace)
    parts = _optional_parts(f)
    for painter, part in _LAYERS:
        if part is None:
            painter(ch, f)
            continue
        where = np.flatnonzero(parts[part])
        if where.size:
            b0, b1 = int(where[0]), int(where[-1]) + 1
            painter(ch.span(b0, b1), {k: v[b0:b1] for k, v in f.items()}, parts[part][b0:b1])
    return ch.canvas.clamp_(-1.0, 1.0)  # only rounding can step outside


def _factor_arrays(factors: Mapping) -> dict[str, np.ndarray]:
    unknown = [k for k in factors if k not in FACTOR_DEFAULTS]
    if unknown:
        raise ValueError(f"unknown face factor {unknown[0]!r}; valid factors: {', '.join(FACTOR_DEFAULTS)}")
    arrays = {}
    for name, default in FACTOR_DEFAULTS.items():
        value = factors.get(name, default)
        if torch.is_tensor(value):
            value = value.detach().cpu().numpy()
        arrays[name] = np.atleast_1d(np.asarray(value, dtype=np.float32))
    try:
        shaped = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = {k: v.shape for k, v in arrays.items() if v.shape != (1,)}
        raise ValueError(f"face factors must be scalars or 1-D arrays of one common length; got shapes {shapes}") from None
    if shaped[0].ndim != 1:
        raise ValueError(f"face factors must be scalars or 1-D arrays; got shape {shaped[0].shape}")
    out = dict(zip(arrays, (np.ascontiguousarray(a) for a in shaped)))
    if not all(np.all(np.isfinite(a)) for a in out.values()):
        raise ValueError("face factors must be finite numbers")
    if np.any(out["scale"] <= 0):
        raise ValueError("factor 'scale' must be positive")
    return out


def _check_size(size) -> int:
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, SIZES))} pixels, not {size!r}")
    return int(size)


def render_faces(factors: Mapping[str, np.ndarray | torch.Tensor | float], size: int = 32) -> torch.Tensor:
    """Render faces from factor values, vectorised over images.

    Parameters
    ----------
    factors : dict of str -> float or array of shape (N,)
        Factor values (see the module docstring for their meaning and ranges); scalars
        broadcast, and factors not given take :data:`FACTOR_DEFAULTS` (a neutral,
        centred face). ``make_faces(...).factors`` is a valid input.
    size : int
        Image side in pixels, 32 or 64.

    Returns
    -------
    torch.Tensor, float32, shape (N, 3, size, size)
        RGB images in ``[-1, 1]``. Rendering is deterministic, and a face's pixels depend
        only on its own factors (to float32 rounding, ~1e-7, when it is rendered in
        batches of different make-up).
    """
    size = _check_size(size)
    f = _factor_arrays(factors)
    n = len(f["age"])
    order = _render_order(f)
    f = {k: v[order] for k, v in f.items()}
    out = torch.empty(n, 3, size, size)
    flat = out.view(n, -1)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    workspace = _Workspace()
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        canvas = _render_chunk({k: v[start:stop] for k, v in f.items()}, size, workspace)
        # (3, H, W, B) -> (B, 3 H W): one 2-D transpose, which torch copies in cache blocks
        images = workspace.buffer("images", stop - start, 3 * size * size)
        images.copy_(canvas.view(-1, stop - start).t())
        flat.index_copy_(0, torch.from_numpy(order[start:stop]), images)
    return out


# Memory taken by one face while make_faces runs (factors, labels and temporaries; the
# images are rendered on demand): measured with tracemalloc, about 440 bytes.
_PEAK_BYTES_PER_FACE = 512


class FacesSource:
    """Renders faces on demand from stored factors (a :class:`SampleSource`).

    Parameters
    ----------
    factors : dict of str -> float32 array, shape (N,)
        Every factor in :data:`FACTOR_DEFAULTS`.
    size : int
        Image side in pixels, 32 or 64.
    """

    def __init__(self, factors: Mapping[str, np.ndarray], size: int):
        self.factors = dict(factors)
        self.size = size

    def __len__(self) -> int:
        return len(self.factors["age"])

    def get(self, indices: np.ndarray) -> torch.Tensor:
        """Images at ``indices`` as float32 ``(len(indices), 3, size, size)`` in ``[-1, 1]``."""
        idx = np.asarray(indices, dtype=np.int64)
        return render_faces({k: v[idx] for k, v in self.factors.items()}, self.size)


def make_faces(
    *,
    n: int = 10000,
    size: int = 32,
    seed: int = 0,
    correlations: Mapping | str | None = None,
    prevalence: Mapping | None = None,
    nuisance: float = 1.0,
) -> Dataset:
    """Cartoon faces with CelebA-like attributes, configurable attribute correlations and
    known factors.

    Parameters
    ----------
    n : int
        Number of faces.
    size : int
        Image side in pixels: 32 or 64.
    seed : int
        Seed of every random draw; the same seed gives identical images and labels.
    correlations : dict or str, optional
        Target Pearson correlations (phi coefficients) of pairs of binary attributes,
        keyed by pair: ``{("glasses", "age"): 0.5}`` or ``{"glasses~age": 0.5}``, or the
        string ``"glasses~age=0.5,smile~male=-0.2"``. Replaces the default
        :data:`DEFAULT_CORRELATIONS` (glasses~age = 0.5); pairs not named are
        uncorrelated, so ``{}`` (or ``"none"``) makes all attributes independent.
    prevalence : dict, optional
        Frequencies overriding :data:`DEFAULT_PREVALENCE`: a number in ``(0, 1)`` for a
        binary attribute (``{"glasses": 0.3}``), or level frequencies for
        ``hair_color`` / ``skin_tone`` (a sequence in level order, or a dict level ->
        frequency; normalised to sum to one).
    nuisance : float
        Multiplies the ranges of the nuisance factors, in ``[0, 2]``. At 1: shifts up to
        0.08 half-widths, size +-8 %, tilt +-0.2 rad, any background hue; at 0 every face
        is centred, upright, the same size, on the same background.

    Returns
    -------
    Dataset
        ``n`` images ``(3, size, size)``, float32 in ``[-1, 1]``, rendered on demand.
        ``attrs``: ``glasses``, ``smile``, ``age``, ``beard``, ``hat``, ``male`` (0/1),
        ``hair_color`` and ``skin_tone`` (level indices; names in ``attr_levels``).
        ``factors``: every factor (float32), see the module docstring.

    Raises
    ------
    ValueError
        For a size other than 32 or 64, an unknown attribute, a prevalence outside
        ``(0, 1)``, a correlation impossible for the prevalences (the message gives the
        achievable range) or correlations that cannot hold together.
    """
    size = _check_size(size)
    check_int(n, "n", min=0, noun="number of faces")
    check_int(seed, "seed", min=0)
    check_memory(n, _PEAK_BYTES_PER_FACE, "faces")
    check_float(nuisance, "nuisance", min=0, max=_NUISANCE_MAX)
    prev = _resolve_prevalence(prevalence)
    corr = _resolve_correlations(correlations)
    latent_corr = _latent_correlation_matrix(corr, prev)
    rng = np.random.default_rng(seed)
    factors = _sample_factors(int(n), rng, latent_corr, prev, float(nuisance))
    info = {
        "name": "faces",
        "n": int(n),
        "size": size,
        "seed": int(seed),
        "correlations": {f"{a}~{b}": phi for (a, b), phi in corr.items()},
        "prevalence": {k: (list(v) if isinstance(v, tuple) else v) for k, v in prev.items()},
        "nuisance": float(nuisance),
    }
    return Dataset(
        FacesSource(factors, size),
        attrs=attributes_from_factors(factors),
        factors=factors,
        attr_levels={
            **{k: ["no", "yes"] for k in BINARY_ATTRIBUTES},
            **{k: list(v) for k, v in CATEGORICAL_ATTRIBUTES.items()},
        },
        name="faces",
        info=info,
    )
