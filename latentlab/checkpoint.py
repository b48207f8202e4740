"""The one checkpoint format every latentlab model uses.

A checkpoint is a single file written with ``torch.save`` that holds only tensors and
plain Python containers, so it is read back with ``torch.load(weights_only=True)``:
loading never executes code from the file. Its top-level dictionary holds

``format``            ``"latentlab-checkpoint"``
``format_version``    an integer, bumped on incompatible changes
``latentlab_version`` the version that wrote it
``kind``              the model family (``"vae"``, ``"gan"``, ``"ddpm"``, ...)
``config``            the full model/training configuration (plain dict)
``weights``           ``{"model": state_dict, "ema": state_dict or None}``
``training``          optional resume state (optimizers, step, RNG states, data order)
``dataset``           optional description of the training data
``extra``             optional free-form metadata (plain containers)
"""

from __future__ import annotations

import datetime as _dt
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch

from latentlab import __version__
from latentlab._io import atomic_path, note_input

FORMAT = "latentlab-checkpoint"
FORMAT_VERSION = 1

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "check_finite_state", "FORMAT_VERSION"]


@dataclass
class Checkpoint:
    """The content of a checkpoint file, as returned by :func:`load_checkpoint`."""

    kind: str
    config: dict
    weights: dict
    training: dict | None = None
    dataset: dict | None = None
    extra: dict = field(default_factory=dict)
    latentlab_version: str = __version__
    format_version: int = FORMAT_VERSION
    created: str = ""
    path: Path | None = None


def save_checkpoint(
    path: str | os.PathLike,
    *,
    kind: str,
    config: dict,
    weights: dict,
    training: dict | None = None,
    dataset: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file, then rename) and return its path.

    ``weights`` maps names (``"model"``, ``"ema"``, ...) to state dicts. Overwrites an
    existing file: callers that write a user's path check it first with
    :func:`latentlab._io.check_can_write`.
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError("kind must be a non-empty string naming the model family")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "latentlab_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "kind": kind,
        "config": config,
        "weights": weights,
        "training": training,
        "dataset": dataset,
        "extra": extra or {},
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint safely (no code from the file is run) and validate its header.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is
    not a latentlab checkpoint, was written by an incompatible version, or is damaged (an
    entry of the wrong type, e.g. weights that are not state dicts of tensors).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a checkpoint file")
    note_input(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"{path} is not a latentlab checkpoint: it holds objects that a safe load refuses ({first})"
        ) from None
    except Exception as exc:  # torch raises many types for a file that is not a torch archive
        raise ValueError(f"{path} is not a latentlab checkpoint (unreadable: {type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a latentlab checkpoint (no '{FORMAT}' header)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} uses checkpoint format {version!r}, written by latentlab "
            f"{payload.get('latentlab_version', '?')}; this latentlab ({__version__}) reads format "
            f"{FORMAT_VERSION} and older: upgrade latentlab to load it"
        )
    missing = [k for k in ("kind", "config", "weights") if k not in payload]
    if missing:
        raise ValueError(f"{path} is a damaged latentlab checkpoint: missing {', '.join(missing)}")
    _check_entries(payload, path)
    return Checkpoint(
        kind=payload["kind"],
        config=payload["config"],
        weights=payload["weights"],
        training=payload.get("training"),
        dataset=payload.get("dataset"),
        extra=payload.get("extra") or {},
        latentlab_version=payload.get("latentlab_version", "?"),
        format_version=version,
        created=payload.get("created", ""),
        path=path,
    )


def _check_entries(payload: dict, path: Path) -> None:
    """``ValueError`` naming the first entry of a checkpoint that has the wrong type."""

    def damaged(what):
        return ValueError(f"{path} is a damaged latentlab checkpoint: {what}")

    kind, config, weights = payload["kind"], payload["config"], payload["weights"]
    if not isinstance(kind, str) or not kind:
        raise damaged(f"its kind is {kind!r}, not the name of a model family")
    if not isinstance(config, dict):
        raise damaged(f"its config is a {type(config).__name__}, not a table of settings")
    for name in ("training", "dataset", "extra"):
        if not isinstance(payload.get(name), (dict, type(None))):
            raise damaged(f"its {name} entry is a {type(payload[name]).__name__}, not a table")
    if not isinstance(weights, dict):
        raise damaged(f"its weights are a {type(weights).__name__}, not a table of state dicts")
    for name, state in weights.items():
        if state is None:
            continue
        if not isinstance(state, dict):
            raise damaged(f"its weights[{name!r}] is a {type(state).__name__}, not a state dict")
        odd = next((k for k, v in state.items() if not isinstance(v, torch.Tensor)), None)
        if odd is not None:
            raise damaged(f"its weights[{name!r}][{odd!r}] is a {type(state[odd]).__name__}, not a tensor")
    if weights.get("model") is None:
        raise damaged("it holds no model weights (weights['model'])")


#: What a command can need from a checkpoint: ``expect`` of :func:`load`.
def check_finite_state(state, what: str, hint: str = "") -> None:
    """Raise ``ValueError`` if a floating-point tensor in ``state`` holds NaN or infinity.

    ``state`` is a state dict or any nesting of dicts and lists around tensors (a
    checkpoint's ``weights``, an optimizer's state dict); ``what`` names it in the message
    (e.g. ``"m.pt: the model's weights"``) and ``hint`` says what to do.
    """
    named = []

    def collect(node, name):
        if isinstance(node, torch.Tensor):
            if node.is_floating_point() or node.is_complex():
                named.append((name, node))
        elif isinstance(node, dict):
            for k, v in node.items():
                collect(v, f"{name}.{k}" if name else str(k))
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                collect(v, f"{name}.{i}" if name else str(i))

    collect(state, "")
    bad = [name for name, t in named if not bool(torch.isfinite(t).all())]
    if bad:
        more = f" and {len(bad) - 1} more tensors" if len(bad) > 1 else ""
        raise ValueError(f"{what} hold NaN or infinite values ({bad[0]}{more})" + (f"; {hint}" if hint else ""))
