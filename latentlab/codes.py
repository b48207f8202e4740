"""Latent codes of a dataset with its labels attached: the input of every analysis.

``encode_dataset(model, dataset)`` locates each sample in the model's latent space
(VAE posterior mean, GAN inversion, DDIM inversion — whatever the model's ``encode``
does) and keeps the dataset's attributes and factors beside the codes, so directions
can be fitted straight from the result. ``LatentCodes.save`` writes a plain ``.npz``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab._io import atomic_path, check_can_write

__all__ = ["LatentCodes", "encode_dataset"]


@dataclass
class LatentCodes:
    """Codes ``z`` of shape ``(N, *latent_shape)`` with per-sample attributes and factors."""

    z: np.ndarray
    attrs: dict = field(default_factory=dict)
    factors: dict = field(default_factory=dict)
    attr_levels: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.z)

    @property
    def attribute_names(self) -> list[str]:
        return list(self.attrs)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write an ``.npz`` with ``z``, ``attr/<name>``, ``factor/<name>`` and ``levels/<name>``."""
        path = check_can_write(path, overwrite)
        arrays = {"z": self.z}
        arrays.update({f"attr/{k}": v for k, v in self.attrs.items()})
        arrays.update({f"factor/{k}": v for k, v in self.factors.items()})
        arrays.update({f"levels/{k}": np.asarray(v, dtype=str) for k, v in self.attr_levels.items()})
        arrays.update({f"info/{k}": np.asarray(str(v)) for k, v in self.info.items()})
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LatentCodes":
        """Read codes saved by :meth:`save` (or any ``.npz`` with a ``z`` array)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no latent codes at {path}")
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise ValueError(f"{path} is not an .npz file of latent codes ({exc})") from None
        with data:
            if "z" not in data.files:
                raise ValueError(f"{path} has no array 'z' of latent codes; it holds: {', '.join(data.files)}")
            out = cls(z=data["z"])
            for key in data.files:
                group, _, name = key.partition("/")
                if group == "attr":
                    out.attrs[name] = data[key]
                elif group == "factor":
                    out.factors[name] = data[key]
                elif group == "levels":
                    out.attr_levels[name] = data[key].tolist()
                elif group == "info":
                    out.info[name] = str(data[key])
        return out


def encode_dataset(model, dataset, batch_size: int = 256, progress: bool = False) -> LatentCodes:
    """Encode every sample of ``dataset`` with ``model.encode``; labels travel along.

    Parameters
    ----------
    model : Generator with ``encode``
    dataset : latentlab Dataset whose samples match the model's input shape
    batch_size : samples per call to ``encode``
    """
    from tqdm.auto import tqdm

    n = len(dataset)
    chunks = []
    starts = range(0, n, batch_size)
    for start in tqdm(starts, desc="encode", unit="batch", disable=not progress):
        idx = np.arange(start, min(n, start + batch_size))
        chunks.append(torch.as_tensor(model.encode(dataset.get(idx))).detach().float().cpu())
    z = torch.cat(chunks).numpy() if chunks else np.zeros((0, *model.latent_shape), np.float32)
    return LatentCodes(
        z=z,
        attrs={k: v.copy() for k, v in dataset.attrs.items()},
        factors={k: v.copy() for k, v in dataset.factors.items()},
        attr_levels=dict(dataset.attr_levels),
        info={"data": dataset.name, "model": type(model).__name__},
    )
