"""Latent codes of a dataset with its labels attached: the input of every analysis.

``encode_dataset(model, dataset)`` locates each sample in the model's latent space
(VAE posterior mean, GAN inversion, DDIM inversion — whatever the model's ``encode``
does) and keeps the dataset's attributes and factors beside the codes, so directions
can be fitted straight from the result. ``LatentCodes.save`` writes a plain ``.npz``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from latentlab._distributed import rank_and_world
from latentlab._io import atomic_path, load_npz, save_npz
from latentlab._progress import batch_starts, progress_bar
from latentlab._validation import check_int

__all__ = ["LatentCodes", "encode_dataset", "prepare_parts", "label_samples"]


@dataclass
class LatentCodes:
    """Codes ``z`` of shape ``(N, *latent_shape)`` with per-sample labels.

    ``attrs`` are integer labels (the data's, or a classifier's predictions), ``scores``
    continuous attribute scores (a classifier's log-odds) and ``factors`` known
    generative factors, each an array of shape ``(N,)``.
    """

    z: np.ndarray
    attrs: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    factors: dict = field(default_factory=dict)
    attr_levels: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.z)

    @property
    def attribute_names(self) -> list[str]:
        return list(self.attrs)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write an ``.npz`` with ``z``, ``attr/<name>``, ``score/<name>``, ``factor/<name>`` and ``levels/<name>``."""
        arrays = {"z": self.z}
        arrays.update({f"attr/{k}": v for k, v in self.attrs.items()})
        arrays.update({f"score/{k}": v for k, v in self.scores.items()})
        arrays.update({f"factor/{k}": v for k, v in self.factors.items()})
        arrays.update({f"levels/{k}": np.asarray(v, dtype=str) for k, v in self.attr_levels.items()})
        arrays.update({f"info/{k}": np.asarray(str(v)) for k, v in self.info.items()})
        return save_npz(path, "codes", arrays, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LatentCodes":
        """Read codes saved by :meth:`save` (or any ``.npz`` with a ``z`` array).

        Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that
        is not a valid ``.npz``, has no ``z``, or whose ``z`` is not a non-empty array of
        numbers of shape ``(N, ...)``.
        """
        data = load_npz(path, "codes")
        z = data["z"]
        if not (np.issubdtype(z.dtype, np.number) or z.dtype == np.bool_) or np.iscomplexobj(z):
            raise ValueError(f"{path}: the codes 'z' are of type {z.dtype}, not real numbers")
        if z.ndim < 2 or z.shape[0] == 0 or z.size == 0:
            raise ValueError(f"{path}: the codes 'z' have shape {z.shape}; expected N >= 1 codes of shape (N, d) "
                             "or (N, *latent_shape)")
        if not np.isfinite(z).all():
            raise ValueError(f"{path}: the codes 'z' contain NaN or infinite values")
        out = cls(z=z)
        for key, value in data.items():
            group, _, name = key.partition("/")
            if group == "attr":
                out.attrs[name] = value
            elif group == "score":
                out.scores[name] = value
            elif group == "factor":
                out.factors[name] = value
            elif group == "levels":
                out.attr_levels[name] = value.tolist()
            elif group == "info":
                out.info[name] = str(value)
        return out


def encode_dataset(model, dataset, batch_size: int = 256, progress: bool = False,
                   encode_options: dict | None = None, parts: str | os.PathLike | None = None) -> LatentCodes:
    """Encode every sample of ``dataset`` with ``model.encode``; labels travel along.

    Parameters
    ----------
    model : Generator with ``encode``
    dataset : latentlab Dataset whose samples match the model's input shape
    batch_size : samples per call to ``encode``
    progress : show a progress bar over the samples, and after the first batch the
        expected duration (GAN and DDIM inversion take minutes for thousands of images)
    encode_options : keyword arguments of ``model.encode`` (e.g. ``{"steps": 20}``: a GAN's inversion steps)
    parts : folder, optional
        Keep each finished batch's codes there (``NNNNNN.npy``, written atomically) and
        reuse those already there, so an encoding stopped by a crash or Ctrl-C continues
        where it stopped. Needed when processes launched by ``torchrun`` share the work:
        batch ``b`` goes to process ``b mod world_size``, and every process returns all the
        codes, in the dataset's order, equal to one process's (each batch is encoded alone,
        with the same ``encode`` randomness whoever encodes it).

    Returns
    -------
    LatentCodes
        ``z`` of shape ``(len(dataset), *latent_shape)``, float32.
    """
    n = len(dataset)
    check_int(batch_size, "batch_size", min=1)
    rank, world = rank_and_world()
    if world > 1 and parts is None:
        raise ValueError("encoding across processes needs a parts folder, where each process leaves its batches")
    folder = Path(parts) if parts is not None else None
    if folder is not None and rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
    if world > 1:
        dist.barrier()
    starts = list(range(0, n, batch_size))
    mine = [b for b in range(len(starts)) if b % world == rank]
    codes: dict[int, np.ndarray] = {}
    todo = []
    for b in mine:
        part = folder / f"{b:06d}.npy" if folder is not None else None
        if part is not None and part.is_file():
            codes[b] = _read_part(part, min(batch_size, n - starts[b]))
        else:
            todo.append(b)
    sizes = [min(batch_size, n - starts[b]) for b in todo]
    for b in progress_bar(todo, enabled=progress and rank == 0, desc="encode", unit="sample", weights=sizes,
                          estimate=True):
        idx = np.arange(starts[b], min(n, starts[b] + batch_size))
        codes[b] = torch.as_tensor(model.encode(dataset.get(idx), **(encode_options or {}))).detach().float().cpu().numpy()
        if folder is not None:
            with atomic_path(folder / f"{b:06d}.npy") as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, codes[b])
    if world > 1:
        dist.barrier()  # every batch is on disk
        codes = {b: _read_part(folder / f"{b:06d}.npy", min(batch_size, n - starts[b])) for b in range(len(starts))}
    z = np.concatenate([codes[b] for b in range(len(starts))]) if starts else np.zeros((0, *model.latent_shape), np.float32)
    return LatentCodes(
        z=z,
        attrs={k: v.copy() for k, v in dataset.attrs.items()},
        factors={k: v.copy() for k, v in dataset.factors.items()},
        attr_levels=dict(dataset.attr_levels),
        info={"data": dataset.name, "model": type(model).__name__},
    )


def prepare_parts(folder: str | os.PathLike, manifest: dict, resume: bool = False) -> Path:
    """The parts folder of an encoding (see :func:`encode_dataset`), checked before any work.

    Without ``resume`` the folder must not exist: one that does was left by an encoding
    that did not finish. With ``resume`` an existing folder is continued if its
    ``manifest.json`` equals ``manifest`` (model, data, number of samples, batch size, seed:
    whatever decides the codes). Every process of a ``torchrun`` group checks, then the
    first writes the manifest.
    """
    folder = Path(folder)
    recorded = folder / "manifest.json"
    manifest = json.loads(json.dumps(manifest, default=str))
    if folder.exists() and not resume:
        raise FileExistsError(f"{folder} holds the finished batches of an encoding that did not complete; continue it "
                              "with --resume (resume=True), or delete the folder to start over")
    if folder.exists() and recorded.is_file() and json.loads(recorded.read_text()) != manifest:
        raise ValueError(f"{folder} belongs to another encoding ({recorded.read_text().strip()}); delete it to start over")
    rank, world = rank_and_world()
    if world > 1:
        dist.barrier()  # everyone has looked before the folder appears
    if rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(recorded) as tmp:
            tmp.write_text(json.dumps(manifest, sort_keys=True))
    return folder


def _read_part(path: Path, rows: int) -> np.ndarray:
    """The codes of one finished batch, checked to hold ``rows`` codes."""
    try:
        part = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable batch of codes ({exc}); delete it to encode that batch again") from None
    if part.ndim < 1 or len(part) != rows:
        raise ValueError(f"{path} holds {len(part) if part.ndim else 0} codes where its batch has {rows}: it belongs "
                         "to another encoding (another batch size or dataset); delete the parts folder to start over")
    return part


def label_samples(generator, classifier, n: int = 10000, seed: int = 0, batch_size: int = 256,
                  progress: bool = False) -> LatentCodes:
    """Draw ``n`` codes from the prior, decode them and label the images with ``classifier``.

    The usual route to attribute directions for GANs: ``attrs`` holds the predicted labels
    and ``scores`` the classifier's log-odds of each binary attribute (for ranking by score).
    """

    check_int(n, "n", min=1)
    z = generator.sample_latents(n, generator=torch.Generator().manual_seed(seed))
    preds: dict = {}
    scores: dict = {}
    for start in batch_starts(n, batch_size, enabled=progress, desc="label samples", unit="sample"):
        with torch.no_grad():
            images = generator.decode(z[start : start + batch_size])
        for k, v in classifier.predict(images).items():
            preds.setdefault(k, []).append(v)
        for k, v in classifier.scores(images).items():
            if v.ndim == 1:
                scores.setdefault(k, []).append(v)
    return LatentCodes(
        z=z.numpy(),
        attrs={k: np.concatenate(v) for k, v in preds.items()},
        scores={k: np.concatenate(v) for k, v in scores.items()},
        attr_levels=dict(classifier.attr_levels),
        info={"labels": "classifier", "model": type(generator).__name__, "seed": seed},
    )
