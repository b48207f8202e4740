"""How good is a map between two latent spaces? Errors on held-out images, with baselines.

For held-out images ``x`` located in both spaces (a held-out :class:`SupportSet`, with
``z_src`` and ``z_dst = dst.encode(x)``) and a fitted map ``T``, three errors are
reported, as in the literature on relating latent spaces (e.g. Asperti & Tonelli 2022):

``R``  the destination's own reconstruction error, ``x`` vs ``dst.decode(z_dst)``: the
       floor that no map into this space can beat in pixel space;
``L``  the latent error ``|T(z_src) - z_dst|²``, per coordinate (``L mse``), and relative
       to the spread of the destination codes (``L rel``: the unexplained fraction of
       their variance, 0 = perfect, about 1 = no better than the mean code);
``M``  the image error of the whole route, ``x`` vs ``dst.decode(T(z_src))``.

Image errors are the per-pixel mean squared error (pixels in ``[-1, 1]``, so the units
are squared half-ranges) and SSIM (:func:`ssim`, Wang et al. 2004). Two baselines give
the numbers a scale: a seeded random orthogonal map (a rigid change of basis that knows
nothing about the pairing, with the support means matched) and the mean destination code
(every image sent to the same code). :func:`support_curve` shows the errors as the
support set grows, for each kind of map.

:func:`map_samples` applies a saved map to fresh source samples;
:func:`check_map_models` refuses a map fitted for models of other latent sizes.
:func:`direction_transfer` scores an attribute direction carried through a map in the
destination; :func:`carry_direction` carries a saved direction (for ``latentlab edit``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted

from latentlab.analysis._arrays import to_numpy
from latentlab.analysis.maps import KINDS, LatentMap
from latentlab.analysis.support import SupportSet, _in_batches

__all__ = [
    "ssim",
    "MapScores",
    "MapEvaluation",
    "SupportCurve",
    "MappedSamples",
    "BASELINES",
    "baseline_maps",
    "evaluate_maps",
    "compare_maps",
    "support_curve",
    "check_map_models",
    "map_samples",
    "direction_transfer",
    "carry_direction",
]

BASELINES = ("random-orthogonal", "mean")
# 10, 30, 100, 300, ...: even steps on a log axis
_DEFAULT_SIZES = (10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000)


# -- SSIM ---------------------------------------------------------------------------------
def ssim(x, y, *, data_range: float = 2.0, window_size: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> np.ndarray:
    """Mean structural similarity of each pair of images (Wang et al. 2004).

    Local means, variances and covariance are taken under a Gaussian window (11 x 11,
    σ = 1.5 pixels by default), over the positions where the window fits inside the
    image; the SSIM map is averaged over those positions and over the channels.

    Parameters
    ----------
    x, y : array-like or torch.Tensor, shape (N, C, H, W)
        Two batches of images, paired by index. ``H, W >= window_size``.
    data_range : float, default=2.0
        The dynamic range ``L`` of the pixel values (2 for images in ``[-1, 1]``).
    window_size : odd int, default=11
    sigma : float, default=1.5
        Standard deviation of the Gaussian window, in pixels.
    k1, k2 : float, default=0.01, 0.03
        Stabilising constants: ``C1 = (k1 L)²``, ``C2 = (k2 L)²``.

    Returns
    -------
    ndarray of shape (N,), float64
        SSIM per image pair; 1 for identical images, lower for less similar ones
        (it can be negative for anti-correlated images).
    """
    a = torch.as_tensor(to_numpy(x, "x"), dtype=torch.float64)
    b = torch.as_tensor(to_numpy(y, "y"), dtype=torch.float64)
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(f"x and y must be image batches of the same shape (N, C, H, W); "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    is_int = isinstance(window_size, (int, np.integer)) and not isinstance(window_size, bool)
    if not is_int or window_size < 1 or window_size % 2 == 0:
        raise ValueError(f"window_size must be a positive odd integer; got {window_size!r}")
    if min(a.shape[-2:]) < window_size:
        raise ValueError(f"images of {a.shape[-2]}x{a.shape[-1]} pixels are smaller than the "
                         f"{window_size}-pixel SSIM window")
    if not (data_range > 0 and sigma > 0):
        raise ValueError(f"data_range and sigma must be positive; got data_range={data_range!r}, sigma={sigma!r}")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("images contain NaN or infinite values")
    c = a.shape[1]
    offsets = torch.arange(window_size, dtype=torch.float64) - (window_size - 1) / 2
    g = torch.exp(-(offsets**2) / (2 * sigma**2))
    g = g / g.sum()
    rows, cols = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)

    def blur(t):  # the 2-D Gaussian window is separable: filter rows, then columns
        return F.conv2d(F.conv2d(t, rows, groups=c), cols, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim_map.mean(dim=(1, 2, 3)).numpy()


# -- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapScores:
    """Errors of one map on held-out pairs (see the module docstring).

    ``latent_mse``: mean over pairs and coordinates of ``(T(z_src) - z_dst)²``;
    ``latent_rel``: ``Σ|T(z_src) - z_dst|² / Σ|z_dst - mean(z_dst)|²``;
    ``image_mse``: per-pixel MSE of ``dst.decode(T(z_src))`` against the images;
    ``image_ssim``: their mean SSIM (NaN when the samples are not images of at least
    11 x 11 pixels).
    """

    latent_mse: float
    latent_rel: float
    image_mse: float
    image_ssim: float

    def to_dict(self) -> dict:
        return {"L_mse": self.latent_mse, "L_rel": self.latent_rel, "M_mse": self.image_mse, "M_ssim": self.image_ssim}


@dataclass
class MapEvaluation:
    """Errors R, L, M of several maps (and baselines) on the same held-out pairs.

    Attributes
    ----------
    scores : dict of str -> MapScores
        One entry per map, the fitted maps first, then the baselines.
    baselines : tuple of str
        Which entries of ``scores`` are baselines.
    recon_mse, recon_ssim : float
        ``R``: the destination's reconstruction error on the held-out images.
    n_test : int
        Number of held-out pairs.
    maps : dict of str -> LatentMap
        The maps that were scored (the fitted ones and the baselines), by name.
    """

    scores: dict
    baselines: tuple = ()
    recon_mse: float = float("nan")
    recon_ssim: float = float("nan")
    n_test: int = 0
    maps: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """Plain numbers: ``{"n_test", "R": {"mse", "ssim"}, "maps": {name: {...}}, "baselines"}``."""
        return {
            "n_test": self.n_test,
            "R": {"mse": self.recon_mse, "ssim": self.recon_ssim},
            "maps": {name: s.to_dict() for name, s in self.scores.items()},
            "baselines": list(self.baselines),
        }

    def table(self) -> str:
        """The errors as a plain-text table (one row per map; baselines marked ``*``)."""
        lines = [
            f"R  destination reconstruction, x vs dst.decode(dst.encode(x)): mse {self.recon_mse:.4f}  "
            f"ssim {_fmt(self.recon_ssim)}",
            f"{'map':<20}{'L mse/dim':>11}{'L rel':>8}{'M mse':>9}{'M ssim':>8}",
        ]
        for name, s in self.scores.items():
            label = name + ("*" if name in self.baselines else "")
            lines.append(f"{label:<20}{s.latent_mse:>11.4f}{s.latent_rel:>8.3f}{s.image_mse:>9.4f}{_fmt(s.image_ssim):>8}")
        lines.append(f"({self.n_test} held-out images; * baseline; L rel = unexplained fraction of the "
                     "destination codes' variance; M = x vs dst.decode(map(src code)))")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


@dataclass
class SupportCurve:
    """Errors on held-out pairs as a function of the support-set size.

    Attributes
    ----------
    sizes : ndarray of shape (K,), int
        Support sizes (nested random subsets of the support set).
    errors : dict of str -> dict of str -> ndarray of shape (K,)
        ``errors[kind][metric]`` with metric in ``latent_mse``, ``latent_rel``,
        ``image_mse``, ``image_ssim``.
    baselines : dict of str -> MapScores
        The baselines, fitted on the whole support set (horizontal lines).
    recon_mse, recon_ssim : float
        ``R`` of the destination on the held-out images.
    n_test : int
    """

    sizes: np.ndarray
    errors: dict
    baselines: dict
    recon_mse: float = float("nan")
    recon_ssim: float = float("nan")
    n_test: int = 0

    def to_dict(self) -> dict:
        return {
            "sizes": self.sizes.tolist(),
            "errors": {k: {m: v.tolist() for m, v in d.items()} for k, d in self.errors.items()},
            "baselines": {k: s.to_dict() for k, s in self.baselines.items()},
            "R": {"mse": self.recon_mse, "ssim": self.recon_ssim},
            "n_test": self.n_test,
        }


@dataclass
class MappedSamples:
    """Source samples and their images through a map (see :func:`map_samples`).

    ``source``: ``src.decode(z_src)``; ``mapped``: ``dst.decode(map(z_src))``;
    ``encoded``: ``dst.decode(dst.encode(source))`` or ``None``; images ``(n, C, H, W)``
    float32 tensors in ``[-1, 1]``; codes ``z_src`` ``(n, *src_shape)`` and ``z_mapped``
    ``(n, *dst_shape)``.
    """

    source: torch.Tensor
    mapped: torch.Tensor
    z_src: np.ndarray
    z_mapped: np.ndarray
    encoded: torch.Tensor | None = None
    info: dict = field(default_factory=dict)


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.3f}"


# -- baselines ----------------------------------------------------------------------------
def baseline_maps(support: SupportSet, *, random_state: int = 0) -> dict:
    """The two reference maps, fitted on ``support``'s means only.

    ``"random-orthogonal"``: ``z -> Q (z - mean_src) + mean_dst`` with ``Q`` a random
    matrix with orthonormal columns (or rows, when the destination is smaller), drawn
    from the Haar measure with ``random_state``. ``"mean"``: ``z -> mean_dst``.

    Returns
    -------
    dict of str -> fitted LatentMap
    """
    _check_support(support, "support")
    X = np.asarray(support.Z_src, dtype=np.float64).reshape(len(support), -1)
    Y = np.asarray(support.Z_dst, dtype=np.float64).reshape(len(support), -1)
    d_src, d_dst = X.shape[1], Y.shape[1]
    rng = np.random.default_rng(random_state)
    # QR of a Gaussian matrix, with the signs of R's diagonal folded in, is Haar-distributed
    q, r = np.linalg.qr(rng.standard_normal((max(d_src, d_dst), min(d_src, d_dst))))
    q = q * np.sign(np.diag(r))
    Q = q if d_dst >= d_src else q.T
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    rotation = _fixed_map("procrustes", Q, y_mean - Q @ x_mean, support)
    rotation.rotation_, rotation.scale_ = Q, 1.0
    mean = _fixed_map("affine", np.zeros((d_dst, d_src)), y_mean, support)
    return {"random-orthogonal": rotation, "mean": mean}


def _fixed_map(kind: str, coef: np.ndarray, intercept: np.ndarray, support: SupportSet) -> LatentMap:
    m = LatentMap(kind=kind)
    m.coef_, m.intercept_ = coef, intercept
    m.src_shape_, m.dst_shape_ = support.src_shape, support.dst_shape
    m.n_features_in_ = coef.shape[1]
    return m


# -- evaluation ---------------------------------------------------------------------------
def _check_support(s, name: str) -> None:
    if not isinstance(s, SupportSet):
        raise TypeError(f"{name} must be a SupportSet (from latentlab.support_set); got {type(s).__name__}")


def _decode(dst, Z: np.ndarray, batch_size: int) -> torch.Tensor:
    z = torch.as_tensor(np.ascontiguousarray(Z), dtype=torch.float32).reshape(len(Z), *dst.latent_shape)
    with torch.no_grad():
        return _in_batches(dst.decode, z, batch_size, dst, "decode (dst)", False).float()


def _image_errors(images: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """Per-pixel MSE and mean SSIM (NaN when the samples are not big enough images)."""
    mse = float(((images.double() - target.double()) ** 2).mean())
    is_image = images.ndim == 4 and min(images.shape[-2:]) >= 11
    return mse, float(np.mean(ssim(images, target))) if is_image else float("nan")


def _scores(latent_map: LatentMap, test: SupportSet, dst, target: torch.Tensor, batch_size: int) -> MapScores:
    Y = np.asarray(test.Z_dst, dtype=np.float64).reshape(len(test), -1)
    pred = np.asarray(latent_map.transform(test.Z_src)).reshape(len(test), -1)
    sq = (pred - Y) ** 2
    spread = float(((Y - Y.mean(axis=0)) ** 2).sum())
    mse, s = _image_errors(_decode(dst, pred, batch_size), target)
    return MapScores(latent_mse=float(sq.mean()), latent_rel=float(sq.sum()) / spread if spread > 0 else float("nan"),
                     image_mse=mse, image_ssim=s)


def _check_dst(dst, test: SupportSet) -> None:
    if not hasattr(dst, "decode") or tuple(getattr(dst, "latent_shape", ())) != test.dst_shape:
        raise ValueError(f"dst must be the destination Generator of the support set, with latent shape {test.dst_shape}; "
                         f"got {type(dst).__name__} with latent shape {tuple(getattr(dst, 'latent_shape', ()))}")


def evaluate_maps(maps, test: SupportSet, dst, *, support: SupportSet | None = None, baselines: bool = True,
                  random_state: int = 0, batch_size: int = 256) -> MapEvaluation:
    """Errors R, L and M of fitted maps on held-out pairs, with the baselines.

    Parameters
    ----------
    maps : fitted LatentMap or dict of str -> fitted LatentMap
        The maps to score (a single map is named by its ``kind``).
    test : SupportSet
        Held-out pairs (not used to fit the maps).
    dst : Generator
        The destination model; its ``decode`` turns mapped codes into images.
    support : SupportSet, optional
        The pairs the maps were fitted on; the baselines use its means (the held-out
        means when not given).
    baselines : bool, default=True
        Also score the baselines of :func:`baseline_maps`.
    random_state : int, default=0
        Seed of the random orthogonal baseline.
    batch_size : int, default=256
        Codes per call to ``dst.decode``.

    Returns
    -------
    MapEvaluation
    """
    _check_support(test, "test")
    _check_dst(dst, test)
    if isinstance(maps, LatentMap):
        maps = {maps.kind: maps}
    if not isinstance(maps, Mapping):
        raise TypeError(f"maps must be a fitted LatentMap or a dict of name -> LatentMap; got {type(maps).__name__}")
    for name, m in maps.items():
        if not isinstance(m, LatentMap):
            raise TypeError(f"maps[{name!r}] is a {type(m).__name__}, not a LatentMap")
        check_is_fitted(m, "coef_")
        if baselines and name in BASELINES:
            raise ValueError(f"a map is named {name!r}, like a baseline; rename it or pass baselines=False")
        if math.prod(m.dst_shape_) != math.prod(test.dst_shape):
            raise ValueError(f"maps[{name!r}] gives destination codes of shape {tuple(m.dst_shape_)}, "
                             f"but the held-out codes have shape {test.dst_shape}")
    all_maps = dict(maps)
    if baselines:
        if support is not None:
            _check_support(support, "support")
        all_maps.update(baseline_maps(support if support is not None else test, random_state=random_state))
    target = torch.as_tensor(np.asarray(test.images), dtype=torch.float32)
    recon_mse, recon_ssim = _image_errors(_decode(dst, test.Z_dst, batch_size), target)
    scores = {name: _scores(m, test, dst, target, batch_size) for name, m in all_maps.items()}
    return MapEvaluation(scores=scores, baselines=BASELINES if baselines else (), recon_mse=recon_mse,
                         recon_ssim=recon_ssim, n_test=len(test), maps=all_maps)


def _check_kinds(kinds) -> tuple:
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if not kinds or bad:
        raise ValueError(f"kinds must name one or more of {', '.join(map(repr, KINDS))}; got {kinds!r}")
    return kinds


def compare_maps(support: SupportSet, test: SupportSet, dst, *, kinds=("affine",), alpha: float = 1.0,
                 scaling: bool = False, random_state: int = 0, batch_size: int = 256) -> MapEvaluation:
    """Fit one map of each kind on ``support`` and score them on ``test`` (with the baselines).

    Parameters
    ----------
    support, test : SupportSet
        Pairs to fit on and held-out pairs, from the same two models.
    dst : Generator
        The destination model.
    kinds : str or sequence of str, default=("affine",)
        Among ``"linear"``, ``"affine"``, ``"ridge"``, ``"procrustes"``.
    alpha, scaling
        Passed to :class:`LatentMap` (ridge penalty; Procrustes scale).
    random_state, batch_size
        See :func:`evaluate_maps`.

    Returns
    -------
    MapEvaluation
        Rows named by kind, then the baselines.
    """
    _check_support(support, "support")
    maps = {kind: support.fit(kind, alpha=alpha, scaling=scaling) for kind in _check_kinds(kinds)}
    return evaluate_maps(maps, test, dst, support=support, random_state=random_state, batch_size=batch_size)


def support_curve(support: SupportSet, test: SupportSet, dst, *, kinds=("affine",), sizes=None, alpha: float = 1.0,
                  scaling: bool = False, random_state: int = 0, batch_size: int = 256) -> SupportCurve:
    """Held-out errors of each kind of map as the support set grows.

    The maps are fitted on nested random subsets of ``support`` (the first ``k`` pairs
    of one seeded permutation, so a bigger set contains the smaller ones) and scored on
    ``test``. Linear and affine fits on fewer pairs than source coordinates are the
    minimum-norm solutions (their warning is silenced here: that regime is part of the
    curve).

    Parameters
    ----------
    support, test : SupportSet
    dst : Generator
    kinds : str or sequence of str, default=("affine",)
    sizes : sequence of int in [2, len(support)], optional
        Default: 10, 30, 100, 300, 1000, ... up to ``len(support)``, and ``len(support)``.
    alpha, scaling, random_state, batch_size
        See :func:`compare_maps`; ``random_state`` also draws the subsets.

    Returns
    -------
    SupportCurve
    """
    _check_support(support, "support")
    _check_support(test, "test")
    kinds = _check_kinds(kinds)
    n = len(support)
    if sizes is None:
        sizes = [s for s in _DEFAULT_SIZES if s < n] + [n]
    sizes = np.asarray(sorted({int(s) for s in np.asarray(sizes).reshape(-1)}), dtype=np.int64)
    if len(sizes) == 0 or sizes[0] < 2 or sizes[-1] > n:
        raise ValueError(f"sizes must be integers in [2, {n}] (the support set has {n} pairs); got {sizes.tolist()}")
    order = np.random.default_rng(random_state).permutation(n)
    base = evaluate_maps({}, test, dst, support=support, random_state=random_state, batch_size=batch_size)
    errors = {kind: {m: np.empty(len(sizes)) for m in ("latent_mse", "latent_rel", "image_mse", "image_ssim")}
              for kind in kinds}
    target = torch.as_tensor(np.asarray(test.images), dtype=torch.float32)
    for i, size in enumerate(sizes):
        subset = support.take(order[:size])
        for kind in kinds:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*underdetermined.*", category=UserWarning)
                fitted = subset.fit(kind, alpha=alpha, scaling=scaling)
            s = _scores(fitted, test, dst, target, batch_size)
            for metric in errors[kind]:
                errors[kind][metric][i] = getattr(s, metric)
    return SupportCurve(sizes=sizes, errors=errors, baselines=dict(base.scores), recon_mse=base.recon_mse,
                        recon_ssim=base.recon_ssim, n_test=len(test))


# -- applying a saved map -----------------------------------------------------------------
def check_map_models(latent_map: LatentMap, src, dst) -> None:
    """Raise ``ValueError`` unless ``latent_map`` goes from ``src``'s latent space to ``dst``'s.

    Compared are the numbers of coordinates of the codes the map was fitted on and the
    models' ``latent_shape``. Either model may be ``None`` to check only the other end.
    """
    check_is_fitted(latent_map, "coef_")
    for end, model, shape in (("source", src, latent_map.src_shape_), ("destination", dst, latent_map.dst_shape_)):
        if model is None:
            continue
        model_shape = tuple(getattr(model, "latent_shape", ()))
        if math.prod(model_shape) != math.prod(shape):
            raise ValueError(
                f"the map was fitted on {end} codes of shape {tuple(shape)} ({math.prod(shape)} numbers), but the "
                f"{end} model ({type(model).__name__}) has latent shape {model_shape} ({math.prod(model_shape)} numbers); "
                "use the models the map was fitted for"
            )


def map_samples(latent_map: LatentMap, src, dst, n: int = 16, *, seed: int = 0, encoded: bool = False,
                batch_size: int = 256) -> MappedSamples:
    """Draw ``n`` source samples and show them through the map in the destination.

    Parameters
    ----------
    latent_map : fitted LatentMap, from ``src``'s codes to ``dst``'s
    src, dst : Generator
    n : int, default=16
    seed : int, default=0
        Seed of the prior draws.
    encoded : bool, default=False
        Also locate the source samples directly with ``dst.encode`` and decode them
        (the best a map could do; costly for a GAN destination).
    batch_size : int, default=256

    Returns
    -------
    MappedSamples
    """
    check_map_models(latent_map, src, dst)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    z = src.sample_latents(int(n), generator=torch.Generator().manual_seed(int(seed)))
    with torch.no_grad():
        source = _in_batches(src.decode, z, batch_size, src, "decode (src)", False).float()
    z_mapped = np.asarray(latent_map.transform(z.numpy())).reshape(int(n), *dst.latent_shape)
    mapped = _decode(dst, z_mapped, batch_size)
    direct = None
    if encoded:
        z_direct = _in_batches(dst.encode, source, batch_size, dst, "encode (dst)", False)
        direct = _decode(dst, z_direct.float().numpy(), batch_size)
    return MappedSamples(source=source, mapped=mapped, z_src=z.numpy(), z_mapped=z_mapped, encoded=direct,
                         info={"seed": int(seed), "kind": latent_map.kind})


def direction_transfer(dst, classifier, latent_map, source_direction, *, direct_direction=None, attribute=None,
                       n: int = 256, step: float = 2.0, seed: int = 0):
    """Does an attribute direction fitted in the source space still edit the attribute in the destination?

    The source direction is carried by the map's linear part (:func:`transport_direction`)
    and applied to ``n`` destination codes drawn from its prior; the classifier scores
    the edits. For comparison the same is done with ``direct_direction`` (fitted in the
    destination itself, if given) and with a random direction (seeded) as the chance level.

    Parameters
    ----------
    dst : Generator
        The destination model: codes of ``dst.latent_shape`` are edited and decoded.
    classifier : AttributeClassifier
        Anything with ``predict_proba(images)``; it must score ``attribute``.
    latent_map : fitted LatentMap
        From the source space to ``dst``'s.
    source_direction : array-like of shape ``latent_map.src_shape_`` (or flat), or DirectionResult
        The attribute's direction in the source space (of a DirectionResult: its
        ``direction``, the one ``latentlab edit`` moves along).
    direct_direction : array-like of shape ``dst.latent_shape``, or DirectionResult, optional
        The same attribute's direction fitted in ``dst`` itself.
    attribute : str, optional
        The attribute edited; by default that of the DirectionResult given.
    n : int, default=256
        Destination codes edited, drawn from its prior with ``seed``.
    step : float, default=2.0
        Edit size, in destination latent units (every direction is a unit vector).
    seed : int, default=0
        Seed of the codes and of the random direction.

    Returns
    -------
    EditEffects
        Columns ``carried``, ``direct`` (if given) and ``random``; ``flip_rate`` holds
        the share of samples without ``attribute`` that gain it.

    Raises
    ------
    ValueError
        When the map does not lead into ``dst``'s latent space, a direction has the wrong
        size, no attribute is named (or two different ones are), or the classifier does
        not score the attribute.
    """
    from latentlab.analysis.edit_evaluation import edit_effects
    from latentlab.analysis.maps import transport_direction

    check_map_models(latent_map, None, dst)
    dst_shape = tuple(int(s) for s in dst.latent_shape)
    source_vector, source_attribute = _vector_and_attribute(source_direction)
    carried = transport_direction(latent_map, source_vector).reshape(dst_shape)
    named = {a for a in (attribute, source_attribute) if a is not None}
    directions = {"carried": carried}
    if direct_direction is not None:
        direct, direct_attribute = _vector_and_attribute(direct_direction)
        if direct.size != math.prod(dst_shape):
            raise ValueError(f"direct_direction has shape {direct.shape} but dst has codes of shape {dst_shape}; "
                             "give a direction fitted in the destination model")
        directions["direct"] = direct.reshape(dst_shape)
        named |= {direct_attribute} - {None}
    if len(named) != 1:
        raise ValueError("name the attribute the direction edits (attribute=...)" if not named else
                         f"the directions are for different attributes ({', '.join(map(repr, sorted(named)))}); "
                         "compare directions of one attribute")
    attribute = named.pop()
    levels = getattr(classifier, "attr_levels", None)
    if levels is not None:
        binary = [a for a, values in levels.items() if len(values) == 2]
        if attribute not in binary:
            raise ValueError(f"the classifier does not score {attribute!r}; its binary attributes are: "
                             f"{', '.join(binary) or 'none'}")
    rng = np.random.default_rng(seed)
    random_dir = rng.standard_normal(dst_shape)
    directions["random"] = random_dir / np.linalg.norm(random_dir)
    return edit_effects(dst, classifier, directions, n=n, step=step, seed=seed,
                        targets={name: attribute for name in directions})


def _vector_and_attribute(direction) -> tuple[np.ndarray, str | None]:
    """``(array, attribute or None)`` of an array-like direction or a DirectionResult."""
    from latentlab.analysis.results import DirectionResult

    if isinstance(direction, DirectionResult):
        return np.asarray(direction.direction, dtype=np.float64), direction.attribute
    return np.asarray(to_numpy(direction, "direction"), dtype=np.float64), None


def carry_direction(latent_map: LatentMap, result, *, model: str = "", via: str = "",
                    what: str = "the direction"):
    """Carry an attribute direction found in the source space into the destination's.

    The edit direction, the attribute's normal and the conditions' normals are each
    carried by the map's linear part (:func:`transport_direction`). The cosines with the
    conditions are measured again in the destination: a map that is not orthogonal
    does not keep the carried direction orthogonal to the carried conditions. What a
    map cannot carry is left unknown: the hyperplane's offset and the accuracies are
    NaN, and the labelled codes (of the source model) are dropped.

    Parameters
    ----------
    latent_map : fitted LatentMap
    result : DirectionResult
        Found in the map's source space (``latentlab direction``).
    model : str
        The destination model's path or name, recorded in the result.
    via : str
        The map's file (or a description), recorded in ``label_source``.
    what : str
        How to name the direction in error messages (e.g. its file).

    Returns
    -------
    DirectionResult
        Of the destination's latent shape (``latent_map.dst_shape_``), for
        ``latentlab edit`` and ``evaluate-edit``.
    """
    import dataclasses

    from latentlab.analysis.maps import transport_direction
    from latentlab.analysis.results import DirectionResult

    if not isinstance(result, DirectionResult):
        raise TypeError(f"result must be a DirectionResult (from find_direction or DirectionResult.load); "
                        f"got {type(result).__name__}")
    check_is_fitted(latent_map, "coef_")
    if math.prod(result.latent_shape) != latent_map.n_features_in_:
        origin = f" (fitted for {result.model})" if result.model else ""
        raise ValueError(f"{what} has latent shape {result.latent_shape}{origin} but the map was fitted on source codes "
                         f"of shape {tuple(latent_map.src_shape_)}: use a direction of the map's source model")

    def carry(v) -> np.ndarray:
        return transport_direction(latent_map, np.reshape(v, -1))

    direction, primal = carry(result.direction), carry(result.primal)
    dst_shape = tuple(latent_map.dst_shape_)
    conditions = np.asarray([carry(c) for c in result.condition_directions]).reshape(-1, *dst_shape)
    flat = conditions.reshape(len(conditions), math.prod(dst_shape))  # unit vectors: dots are cosines
    via = via or f"a {latent_map.kind} map"
    return dataclasses.replace(
        result, direction=direction, primal=primal, intercept=math.nan, condition_directions=conditions,
        cosines_before=flat @ primal.reshape(-1), cosines_after=flat @ direction.reshape(-1),
        val_accuracy=math.nan, train_accuracy=math.nan, model=str(model),
        label_source=f"{result.label_source} in {result.model or 'the source model'}, carried by {via}",
        distances=np.zeros(0), labels=np.zeros(0, dtype=np.int64), estimator=None,
    )
