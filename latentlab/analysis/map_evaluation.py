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

The results are in :mod:`latentlab.analysis.map_results`, :func:`ssim` in
:mod:`latentlab.metrics.image`; applying a map to samples and carrying directions
through it are in :mod:`latentlab.analysis.transfer`. Their names are importable from
here too.
"""

from __future__ import annotations

import math
import warnings
from typing import Mapping

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from latentlab.analysis.map_results import MapEvaluation, MapScores, SupportCurve, _fmt  # noqa: F401  (_fmt: old path)
from latentlab.analysis.maps import KINDS, LatentMap
from latentlab.analysis.support import SupportSet, _decode
from latentlab.analysis.transfer import (
    MappedSamples,
    carry_direction,
    check_map_models,
    direction_transfer,
    map_samples,
)
from latentlab.metrics.image import ssim

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
    shapes = (support.src_shape, support.dst_shape)
    rotation = LatentMap.from_coefficients("procrustes", Q, y_mean - Q @ x_mean, *shapes)
    mean = LatentMap.from_coefficients("affine", np.zeros((d_dst, d_src)), y_mean, *shapes)
    return {"random-orthogonal": rotation, "mean": mean}


# -- evaluation ---------------------------------------------------------------------------
def _check_support(s, name: str) -> None:
    if not isinstance(s, SupportSet):
        raise TypeError(f"{name} must be a SupportSet (from latentlab.support_set); got {type(s).__name__}")


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
