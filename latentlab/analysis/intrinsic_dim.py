"""Intrinsic dimension applied to generative models and their data.

* :func:`id_table` — several estimators (with bootstrap intervals) on one point cloud:
  flattened images, latent codes or generated samples;
* :func:`decoder_local_dimension` — the local dimension of a decoder's output manifold:
  the numerical rank of the Jacobian ``d decode(z) / d z`` at sampled codes
  (:func:`decoder_jacobian`, forward mode: one decoder pass per latent dimension);
* :func:`model_point_sets` — the point clouds of a model: its samples, real data (by
  default the data it was trained on) and that data's codes;
* :func:`suggest_latent_size` — latent-size advice from an ID interval.

The estimators themselves live in :mod:`latentlab.id`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from latentlab import data as data_mod
from latentlab._progress import progress_bar
from latentlab._validation import check_float, check_int
from latentlab.codes import encode_dataset
from latentlab.data.spec import choose_data, training_data
from latentlab.data.stats import random_subset
from latentlab.id import estimate_id
from latentlab.metrics.sample_quality import draw_samples

__all__ = ["IDRow", "id_table", "format_id_table", "decoder_jacobian", "decoder_local_dimension", "suggest_latent_size",
           "flatten_points", "model_point_sets"]


def flatten_points(x) -> np.ndarray:
    """Samples ``(N, ...)`` (images, codes) -> float32 points ``(N, D)``."""
    arr = torch.as_tensor(x).detach().float().cpu().numpy() if not isinstance(x, np.ndarray) else x
    if arr.ndim < 2:
        raise ValueError(f"need at least 2-D input (N points x features); got shape {arr.shape}")
    return np.ascontiguousarray(arr.reshape(len(arr), -1), dtype=np.float32)


@dataclass
class IDRow:
    """One line of an ID table."""

    what: str
    method: str
    dimension: float
    ci: tuple[float, float] | None
    n: int
    ambient: int


def id_table(points: dict, methods=("twonn", "mle"), *, calibrate: bool = False, n_boot: int = 0, seed: int = 0,
             progress: bool = False) -> list[IDRow]:
    """Estimate the ID of each named point cloud with each method.

    Parameters
    ----------
    points : ``{name: array (N, ...)}`` — samples are flattened to ``(N, D)``
    methods : names accepted by :func:`latentlab.id.estimate_id`
    calibrate : correct each estimate for the underestimate at high dimension
    n_boot : bootstrap resamples for a 95% interval (0 = none)
    progress : show a progress bar over the estimates
    """

    flat = {name: flatten_points(x) for name, x in points.items()}
    rows = []
    pairs = [(name, method) for name in flat for method in methods]
    for name, method in progress_bar(pairs, enabled=progress, desc="intrinsic dimension", unit="estimate"):
        x = flat[name]
        est = estimate_id(x, method=method, calibrate=calibrate, n_boot=n_boot, random_state=seed)
        rows.append(IDRow(name, method + (" (calibrated)" if calibrate else ""), float(est.dimension),
                          tuple(map(float, est.ci)) if est.ci is not None else None, x.shape[0], x.shape[1]))
    return rows


def format_id_table(rows: list[IDRow]) -> str:
    """Rows as aligned text."""
    lines = [f"{'what':<22}{'method':<20}{'ID':>8}{'95% interval':>18}{'N':>8}{'ambient':>9}"]
    for r in rows:
        ci = f"[{r.ci[0]:.1f}, {r.ci[1]:.1f}]" if r.ci else "-"
        lines.append(f"{r.what[:21]:<22}{r.method[:19]:<20}{r.dimension:8.2f}{ci:>18}{r.n:8d}{r.ambient:9d}")
    return "\n".join(lines)


def decoder_jacobian(generator, z, directions=None, *, batch_size: int = 256, progress: bool = False) -> torch.Tensor:
    """Jacobians of the decoder (``generator.decode_with_grad``) at the codes ``z``, by forward-mode differentiation.

    Each column is one Jacobian-vector product ``d decode(z + t v) / dt`` at ``t = 0``
    (:func:`torch.func.jvp`), and the products of all codes and directions are batched
    into decoder calls on ``batch_size`` codes. A decoder with ``d``-dimensional
    codes costs ``d`` products per code, instead of one backward pass per output pixel
    in reverse mode.

    Parameters
    ----------
    generator : Generator whose ``decode_with_grad`` torch can differentiate
    z : tensor ``(N, *latent_shape)`` — the codes
    directions : tensor ``(K, *latent_shape)`` or ``(K, latent_dim)``, optional
        The directions ``v`` (default: the ``latent_dim`` coordinate axes, giving the full Jacobian).
    batch_size : code-direction pairs per decoder call
    progress : show a progress bar (with the expected duration after the first batch)

    Returns
    -------
    Tensor ``(N, output_size, K)``, float32 on the CPU, where ``output_size`` is the number
    of numbers in one decoded sample.
    """
    from torch.func import jvp


    z = generator.check_latents(z).float()
    shape = tuple(generator.latent_shape)
    d = generator.latent_dim
    basis = torch.eye(d) if directions is None else torch.as_tensor(directions, dtype=torch.float32).reshape(-1, d)
    if basis.shape[0] < 1:
        raise ValueError("directions must hold at least one direction")
    check_int(batch_size, "batch_size", min=1)
    k = basis.shape[0]
    basis = basis.reshape(k, *shape)
    per_call = max(1, batch_size // k)  # codes whose k products go into one decode call
    starts = range(0, len(z), per_call)
    columns = []
    for start in progress_bar(starts, enabled=progress, desc="decoder Jacobian", unit="product",
                              weights=[min(per_call, len(z) - s) * k for s in starts], estimate=True):
        codes = z[start : start + per_call]
        m = len(codes)
        primal = codes.repeat_interleave(k, dim=0)
        tangent = basis.repeat(m, *([1] * len(shape)))
        _, out = jvp(generator.decode_with_grad, (primal,), (tangent,))
        columns.append(out.detach().float().cpu().reshape(m, k, -1).transpose(1, 2))
    return torch.cat(columns)


def decoder_local_dimension(generator, n: int = 32, seed: int = 0, rtol: float = 1e-3, *,
                            max_directions: int | None = None, batch_size: int = 256,
                            progress: bool = False) -> np.ndarray:
    """Numerical rank of the decoder's Jacobian at ``n`` codes drawn from the prior.

    The rank counts singular values above ``rtol`` times the largest; it is the dimension
    of the output manifold near each code (at most the latent size). The Jacobian is
    computed in forward mode (:func:`decoder_jacobian`): ``latent_dim`` decoder passes
    per code, batched.

    With ``max_directions`` below the latent size (a diffusion model's latent is a whole
    image), only that many random orthonormal directions (drawn with ``seed``) are
    probed: the rank of the Jacobian restricted to them, ``min(max_directions, rank)``
    for almost every draw, so a result equal to ``max_directions`` means "at least".

    Returns ``(n,)`` ints.
    """
    check_float(rtol, "rtol", min=0, max=1, min_open=True, max_open=True)
    check_int(max_directions, "max_directions", min=1, allow_none=True)
    g = torch.Generator().manual_seed(seed)
    z = generator.sample_latents(n, generator=g).float()
    directions = None
    if max_directions is not None and max_directions < generator.latent_dim:
        directions = torch.linalg.qr(torch.randn(generator.latent_dim, max_directions, generator=g,
                                                 dtype=torch.float64))[0].T.float()
    jac = decoder_jacobian(generator, z, directions, batch_size=batch_size, progress=progress)
    s = torch.linalg.svdvals(jac.double())  # (n, min(output_size, K))
    top = s.max(dim=1, keepdim=True).values
    return ((s > rtol * top) & (top > 0)).sum(dim=1).numpy().astype(np.int64)


def model_point_sets(model, *, name: str | None = None, data=None, data_options: dict | None = None,
                     n: int = 5000, n_real: int = 2000, seed: int = 0, encode: bool = True,
                     progress: bool = False, log=None):
    """The point clouds whose ID describes a model: ``({label: samples}, data choice)``.

    Labels and contents, in order: ``"samples NAME"`` (``n`` generated samples),
    ``"data DATA"`` (``min(n, n_real)`` real samples) and ``"codes of DATA"`` (their
    codes, when ``encode`` and the model can encode). The real data follow
    :func:`latentlab.data.spec.choose_data`: ``data=None`` is the data the model was
    trained on, with its options (fresh draws seeded by ``seed``); without data given or
    recorded, only the samples are returned and the choice is ``None``.

    Parameters
    ----------
    model : Generator (e.g. from :func:`latentlab.load`)
    name : str, optional
        How the model is named in the labels and the note (default: its class name).
    log : callable, optional
        Told, before any work, the line saying which data and options are used.
    """

    name = name or type(model).__name__
    choice = None
    if data is not None or training_data(model) is not None:
        choice = choose_data(data, data_options, {name: model})
    if log is not None:
        log(choice.note if choice is not None else
            f"no real data: {name} does not record the data it was trained on (give data to add some)")
    points = {f"samples {name}": draw_samples(model, n, seed=seed, batch_size=512, progress=progress)}
    if choice is None:
        return points, None
    m = min(n, n_real)
    if isinstance(choice.data, data_mod.Dataset):
        real, label = random_subset(choice.data, m, seed=seed), choice.data.name
    else:
        options = dict(choice.options)
        if choice.data in data_mod.available():
            options.setdefault("seed", seed)
            if "n" in data_mod.builtin_options(choice.data):
                options.setdefault("n", m)
        real = random_subset(data_mod.load_for_model(choice.data, model, **options), m, seed=seed)
        label = str(choice.data)
    points[f"data {label}"] = real.data
    if encode:
        try:
            points[f"codes of {label}"] = encode_dataset(model, real, progress=progress).z
        except NotImplementedError:  # a Generator that cannot encode
            pass
    elif log is not None:
        log(f"codes of {label}: skipped ({name} encodes each image by optimisation, slow for {m} images)")
    return points, choice


def suggest_latent_size(dimension: float, ci: tuple[float, float] | None = None, factor: float = 1.5) -> int:
    """A latent size for a model of data with this intrinsic dimension.

    Heuristic: ``factor`` times the upper end of the interval (or the estimate), rounded
    up to a multiple of 4 — comfortably above the ID, so the model can capture the
    variation, without being so large that most latent directions are unused.
    """
    top = ci[1] if ci else dimension
    if not math.isfinite(top) or top <= 0:
        raise ValueError(f"cannot suggest a latent size from an intrinsic dimension of {top}")
    return int(4 * math.ceil(factor * top / 4))
