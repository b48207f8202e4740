"""Editing latent codes: moves along a direction, traversals, interpolation.

Directions are unit vectors in the latent space, given as arrays of the latent shape or
as fitted :class:`~latentlab.analysis.directions.AttributeDirection` objects (whose
hyperplane offset is then used by ``to_distance``). Codes are ``(N, *latent_shape)``.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab._validation import check_int

__all__ = ["as_direction", "move", "traverse", "traversal_images", "edit_images", "class_gap", "interpolate"]


def as_direction(direction, latent_shape=None) -> tuple[np.ndarray, float]:
    """``(unit vector flattened to (d,), intercept)`` from an array or a fitted direction object.

    Raises ``ValueError`` for a zero vector or one whose size does not match ``latent_shape``.
    """
    intercept = 0.0
    if hasattr(direction, "direction_"):
        intercept = float(getattr(direction, "intercept_", 0.0))
        direction = direction.direction_
    v = np.asarray(torch.as_tensor(direction).detach().cpu().numpy(), dtype=np.float64).reshape(-1)
    if latent_shape is not None and v.size != int(np.prod(latent_shape)):
        raise ValueError(
            f"the direction has {v.size} numbers but the model's latent codes have shape {tuple(latent_shape)} "
            f"({int(np.prod(latent_shape))} numbers): was it fitted for another model?"
        )
    norm = np.linalg.norm(v)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("the direction is zero or not finite")
    return v / norm, intercept


def move(z, direction, step=None, *, to_distance=None):
    """Move codes along a direction.

    Parameters
    ----------
    z : array or tensor ``(N, *latent_shape)``
    direction : unit direction (array of the latent shape) or a fitted AttributeDirection
    step : float or array ``(N,)`` — move by this signed distance (latent units)
    to_distance : float — instead, move each code to this signed distance from the
        direction's hyperplane (``direction·z + intercept``); needs a fitted direction
        for a hyperplane that does not pass through the origin.

    Returns codes of the same type, shape and dtype as ``z``.
    """
    if (step is None) == (to_distance is None):
        raise ValueError("give exactly one of step= (absolute move) or to_distance= (target signed distance)")
    is_tensor = isinstance(z, torch.Tensor)
    arr = z.detach().cpu().numpy() if is_tensor else np.asarray(z)
    v, b = as_direction(direction, arr.shape[1:])
    flat = arr.reshape(len(arr), -1).astype(np.float64)
    if to_distance is not None:
        amount = float(to_distance) - (flat @ v + b)
    else:
        amount = np.broadcast_to(np.asarray(step, dtype=np.float64), (len(arr),))
    out = (flat + amount[:, None] * v[None, :]).reshape(arr.shape).astype(arr.dtype if arr.dtype.kind == "f" else np.float32)
    return torch.from_numpy(out).to(z.device) if is_tensor else out


def traverse(z, direction, steps=(-3, -2, -1, 0, 1, 2, 3)) -> np.ndarray:
    """Codes ``(N, S, *latent_shape)``: each code moved by each of the ``S`` steps."""
    arr = np.asarray(z.detach().cpu().numpy() if isinstance(z, torch.Tensor) else z)
    steps = np.asarray(steps, dtype=np.float64)
    return np.stack([move(arr, direction, step=s) for s in steps], axis=1)


def traversal_images(generator, z, direction, steps=(-3, -2, -1, 0, 1, 2, 3), batch_size: int = 256) -> torch.Tensor:
    """Images ``(N, S, C, H, W)`` of each code moved by each step, decoded by ``generator``."""
    codes = traverse(z, direction, steps)
    n, s = codes.shape[:2]
    flat = torch.from_numpy(codes.reshape(n * s, *codes.shape[2:])).float()
    with torch.no_grad():
        images = torch.cat([generator.decode(flat[i : i + batch_size]).cpu() for i in range(0, len(flat), batch_size)])
    return images.view(n, s, *images.shape[1:])


def class_gap(z, labels, direction) -> float:
    """Distance between the means of the two classes' codes along ``direction`` (latent units).

    The step that moves a typical code of class 0 to a typical code of class 1: the size
    of an edit that should switch the attribute, read from the codes themselves.

    Parameters
    ----------
    z : array or tensor ``(N, *latent_shape)``
    labels : array ``(N,)`` of 0/1
    direction : unit direction or a fitted AttributeDirection
    """
    arr = np.asarray(z.detach().cpu().numpy() if isinstance(z, torch.Tensor) else z, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if labels.shape != (len(arr),) or not set(np.unique(labels)) <= {0, 1}:
        raise ValueError(f"labels must be {len(arr)} values of 0 and 1, one per code")
    if not (labels == 0).any() or not (labels == 1).any():
        raise ValueError("class_gap needs codes of both classes")
    v, _ = as_direction(direction, arr.shape[1:])
    proj = arr.reshape(len(arr), -1) @ v
    return float(proj[labels == 1].mean() - proj[labels == 0].mean())


def edit_images(generator, x, direction, steps, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Edit real images in the latent space: encode once, move by each step, decode.

    Parameters
    ----------
    generator : Generator that can ``encode``
    x : tensor ``(N, C, H, W)`` in ``[-1, 1]``
    direction : unit direction of the latent shape, or a fitted AttributeDirection
    steps : sequence of S floats
        Signed distances of the moves, in latent units.

    Returns
    -------
    (edited, reconstructed) : tensors ``(S, N, C, H, W)`` and ``(N, C, H, W)`` on the CPU
        The images edited by each step, and the codes decoded unedited (what the edits
        start from: its difference from ``x`` is the encoder's reconstruction error).
    """
    x = torch.as_tensor(x)
    steps = [float(s) for s in np.asarray(steps, dtype=np.float64).reshape(-1)]
    if not steps:
        raise ValueError("give at least one step")
    edited, rebuilt = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            z = generator.encode(x[i : i + batch_size]).cpu()
            rebuilt.append(generator.decode(z).cpu())
            edited.append(torch.stack([generator.decode(move(z, direction, step=s)).cpu() for s in steps]))
    return torch.cat(edited, dim=1), torch.cat(rebuilt)


def interpolate(z0, z1, n: int = 8, method: str = "linear"):
    """``n`` codes from ``z0`` to ``z1`` (both ``(*latent_shape)``), endpoints included.

    ``method="slerp"`` follows the great circle (Shoemake 1985), which keeps the norm of
    Gaussian codes typical along the way; ``"linear"`` is a straight line.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp', not {method!r}")
    check_int(n, "n", min=2)
    a = np.asarray(z0, dtype=np.float64)
    b = np.asarray(z1, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the two codes have different shapes {a.shape} and {b.shape}")
    t = np.linspace(0.0, 1.0, n)
    fa, fb = a.reshape(-1), b.reshape(-1)
    if method == "linear":
        out = (1 - t)[:, None] * fa + t[:, None] * fb
    else:
        cos = np.clip(fa @ fb / (np.linalg.norm(fa) * np.linalg.norm(fb) + 1e-300), -1.0, 1.0)
        omega = np.arccos(cos)
        if omega < 1e-6:  # (anti)parallel within precision: the line is the arc
            out = (1 - t)[:, None] * fa + t[:, None] * fb
        else:
            out = (np.sin((1 - t) * omega)[:, None] * fa + np.sin(t * omega)[:, None] * fb) / np.sin(omega)
    return out.reshape(n, *a.shape).astype(np.float32)
