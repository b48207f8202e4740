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

from latentlab._io import load_npz, save_npz
from latentlab._progress import batch_starts
from latentlab._validation import check_int

__all__ = ["LatentCodes", "encode_dataset", "label_samples"]


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
                   encode_options: dict | None = None) -> LatentCodes:
    """Encode every sample of ``dataset`` with ``model.encode``; labels travel along.

    Parameters
    ----------
    model : Generator with ``encode``
    dataset : latentlab Dataset whose samples match the model's input shape
    batch_size : samples per call to ``encode``
    progress : show a progress bar over the samples, and after the first batch the
        expected duration (GAN and DDIM inversion take minutes for thousands of images)
    encode_options : keyword arguments of ``model.encode`` (e.g. ``{"steps": 20}``: a GAN's inversion steps)
    """

    n = len(dataset)
    chunks = []
    for start in batch_starts(n, batch_size, enabled=progress, desc="encode", unit="sample", estimate=True):
        idx = np.arange(start, min(n, start + batch_size))
        chunks.append(torch.as_tensor(model.encode(dataset.get(idx), **(encode_options or {}))).detach().float().cpu())
    z = torch.cat(chunks).numpy() if chunks else np.zeros((0, *model.latent_shape), np.float32)
    return LatentCodes(
        z=z,
        attrs={k: v.copy() for k, v in dataset.attrs.items()},
        factors={k: v.copy() for k, v in dataset.factors.items()},
        attr_levels=dict(dataset.attr_levels),
        info={"data": dataset.name, "model": type(model).__name__},
    )


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
