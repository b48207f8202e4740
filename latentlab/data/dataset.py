"""The one ``Dataset`` container, whatever the source of the data.

A dataset is a sequence of samples with labels:

* samples are float32 tensors; images have shape ``(C, H, W)`` with values in ``[-1, 1]``,
  2-D point data has shape ``(2,)``;
* ``attrs`` maps each attribute name to an integer array of shape ``(N,)`` (binary
  attributes are 0/1; categorical ones index ``attr_levels[name]``);
* ``factors`` maps generative factor names to float arrays of shape ``(N,)`` where the
  true factors are known (procedural data);
* ``texts``, where the data carries its own captions (a user's captions file): one list of
  captions (str) per sample.

Samples come from a *source* object with ``__len__`` and ``get(indices) -> Tensor``,
so that large image folders are read lazily, file by file, and procedural data can be
rendered on demand. In-memory data uses :class:`ArraySource`.

``Dataset`` is a ``torch.utils.data.Dataset``: ``dataset[i]`` returns
``(sample, labels)`` where ``labels`` is a float32 vector of the attributes in
``attribute_names`` order, so it works with ``DataLoader`` unchanged. For batches use
:meth:`Dataset.get`, which reads many samples at once.
"""

from __future__ import annotations

import os
from typing import Protocol, Sequence

import numpy as np
import torch

from latentlab.data.captions import CAPTION_KINDS, USER_CAPTIONS, captions_for, choose_captions

__all__ = ["Dataset", "ArraySource", "SampleSource", "check_memory"]


def _physical_memory() -> int | None:
    """Bytes of physical memory of this machine, or ``None`` where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024


def check_memory(n, bytes_per_sample: int, what: str) -> None:
    """Raise ``ValueError`` before allocating when ``n`` samples cannot fit in this machine's memory.

    Parameters
    ----------
    n : int
        Number of samples asked for.
    bytes_per_sample : int
        Memory one sample takes while the dataset is made (its peak, measured).
    what : str
        The samples, for the message (e.g. ``"faces"``).
    """
    total = _physical_memory()
    need = int(n) * int(bytes_per_sample)
    if total is not None and need > total:
        raise ValueError(f"n = {int(n):,} {what} would need about {_format_bytes(need)} of memory; this machine has "
                         f"{_format_bytes(total)}: ask for fewer")


class SampleSource(Protocol):
    """Anything that can produce samples by index."""

    def __len__(self) -> int: ...

    def get(self, indices: np.ndarray) -> torch.Tensor:
        """Return the samples at ``indices`` (1-D int array) as one float32 tensor."""
        ...


class ArraySource:
    """Samples held in memory as one tensor of shape ``(N, ...)``."""

    def __init__(self, data: torch.Tensor):
        self.data = torch.as_tensor(data, dtype=torch.float32)

    def __len__(self) -> int:
        return self.data.shape[0]

    def get(self, indices: np.ndarray) -> torch.Tensor:
        return self.data[torch.as_tensor(indices, dtype=torch.long)]


class _SubsetSource:
    def __init__(self, source: SampleSource, indices: np.ndarray):
        self.source = source
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def get(self, indices: np.ndarray) -> torch.Tensor:
        return self.source.get(self.indices[indices])


class Dataset(torch.utils.data.Dataset):
    """Samples plus their attribute labels (and true factors where known).

    Parameters
    ----------
    source : SampleSource or torch.Tensor
        Where the samples come from; a tensor of shape ``(N, ...)`` is wrapped in
        :class:`ArraySource`.
    attrs : dict of str -> array of shape (N,), optional
        Attribute labels (integers).
    factors : dict of str -> array of shape (N,), optional
        Continuous ground-truth factors.
    attr_levels : dict of str -> list of str, optional
        Names of the values of each attribute; binary attributes default to
        ``["no", "yes"]``.
    name : str
        A short name (``"faces"``, a folder name, ...).
    info : dict, optional
        Plain-data description of how the dataset was made (options, seed, path); stored
        in checkpoints so a model records what it was trained on.
    texts : list of N lists of str, optional
        The data's own captions: at least one non-empty caption per sample (several are
        several descriptions of the same sample). Kept as ``texts``; :meth:`captions`
        chooses among them.
    """

    def __init__(
        self,
        source,
        *,
        attrs: dict | None = None,
        factors: dict | None = None,
        attr_levels: dict | None = None,
        name: str = "data",
        info: dict | None = None,
        texts: Sequence[Sequence[str]] | None = None,
    ):
        if isinstance(source, (torch.Tensor, np.ndarray)):
            source = ArraySource(torch.as_tensor(source))
        self.source = source
        n = len(source)
        self.name = name
        self.info = dict(info or {})
        self.attrs = {k: self._column(k, v, n, np.int64) for k, v in (attrs or {}).items()}
        self.factors = {k: self._column(k, v, n, np.float32) for k, v in (factors or {}).items()}
        levels = dict(attr_levels or {})
        for k, v in self.attrs.items():
            if k not in levels:
                top = int(v.max()) if len(v) else 1
                levels[k] = ["no", "yes"] if top <= 1 else [str(i) for i in range(top + 1)]
        self.attr_levels = levels
        self.texts = None if texts is None else self._texts(texts, n)
        self._cache: torch.Tensor | None = None

    @staticmethod
    def _column(name, values, n, dtype) -> np.ndarray:
        values = np.asarray(values)
        if values.shape != (n,):
            raise ValueError(f"column {name!r} has shape {values.shape}; expected ({n},), one value per sample")
        return values.astype(dtype, copy=False)

    @staticmethod
    def _texts(texts, n) -> list[list[str]]:
        texts = [list(row) if isinstance(row, (list, tuple)) else row for row in texts]
        if len(texts) != n:
            raise ValueError(f"texts has {len(texts)} entries; expected {n}, one list of captions per sample")
        for i, row in enumerate(texts):
            if not isinstance(row, list) or not row or not all(isinstance(t, str) and t.strip() for t in row):
                raise ValueError(f"texts[{i}] is {row!r}; each sample needs a list of one or more non-empty captions")
        return texts

    # -- size and shape -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.source)

    @property
    def attribute_names(self) -> list[str]:
        """Attribute names, in the order of the label vectors."""
        return list(self.attrs)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(C, H, W)`` for images, ``(2,)`` for points."""
        return tuple(self.get(np.arange(min(1, len(self)))).shape[1:])

    @property
    def is_image(self) -> bool:
        return len(self.sample_shape) == 3

    # -- reading samples ------------------------------------------------------------
    def get(self, indices: Sequence[int] | np.ndarray | slice) -> torch.Tensor:
        """Samples at ``indices`` as one float32 tensor of shape ``(len(indices), ...)``."""
        if isinstance(indices, slice):
            indices = np.arange(len(self))[indices]
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(indices) and (indices.min() < -len(self) or indices.max() >= len(self)):
            raise IndexError(f"index out of range for a dataset of {len(self)} samples")
        indices = np.where(indices < 0, indices + len(self), indices)
        if self._cache is not None:
            return self._cache[torch.as_tensor(indices)]
        return self.source.get(indices)

    @property
    def data(self) -> torch.Tensor:
        """All samples as one tensor ``(N, ...)`` (read once, then kept in memory)."""
        if self._cache is None:
            self._cache = self.source.data if isinstance(self.source, ArraySource) else self.get(np.arange(len(self)))
        return self._cache

    @property
    def images(self) -> torch.Tensor:
        """All images ``(N, C, H, W)`` in ``[-1, 1]``; an error for non-image data."""
        if not self.is_image:
            raise ValueError(f"dataset {self.name!r} holds samples of shape {self.sample_shape}, not images")
        return self.data

    def labels(self, indices=None) -> np.ndarray:
        """Attribute label matrix ``(N, n_attributes)`` in ``attribute_names`` order."""
        if not self.attrs:
            return np.zeros((len(self) if indices is None else len(indices), 0), dtype=np.int64)
        cols = [self.attrs[k] if indices is None else self.attrs[k][indices] for k in self.attrs]
        return np.stack(cols, axis=1)

    def __getitem__(self, index: int):
        if not isinstance(index, (int, np.integer)):
            raise TypeError("index a Dataset with an int; use .get(indices) or .subset(indices) for many")
        x = self.get([int(index)])[0]
        y = torch.as_tensor(self.labels([int(index)])[0], dtype=torch.float32)
        return x, y

    def captions(self, wordings: str = "train", seed: int | None = None) -> list[str]:
        """One caption per sample: made from its ground-truth attributes (``faces``, ``shapes``),
        or chosen among the data's own captions (:attr:`texts`).

        The wording (or the choice among stored captions, :func:`~latentlab.data.captions.choose_captions`)
        is drawn with ``seed`` (default: the dataset's own seed, else 0), so the same dataset and
        seed give the same captions; ``wordings="held_out"`` uses templates never used for
        ``"train"`` (:mod:`latentlab.data.captions`); stored captions have no held-out wordings.
        """
        kind = self.caption_kind
        if kind is None:
            raise ValueError(f"{self.name} has no captions: the built-in faces and shapes make them from their "
                             "attributes, and an image folder reads them from a captions file (captions=)")
        seed = int(self.info.get("seed") or 0) if seed is None else seed
        if kind == USER_CAPTIONS:
            return choose_captions(self.texts, seed, wordings=wordings)
        return captions_for(kind, self.attrs, seed=seed, wordings=wordings)

    @property
    def caption_kind(self) -> str | None:
        """Whose captions :meth:`captions` gives: ``"faces"`` or ``"shapes"`` (made from the
        attributes), ``"text"`` (the data's own, :attr:`texts`); ``None``: this data has none."""
        if self.texts is not None:
            return USER_CAPTIONS
        kind = self.info.get("name") or self.info.get("builtin")
        return kind if kind in CAPTION_KINDS else None

    # -- derived datasets -----------------------------------------------------------
    def subset(self, indices) -> "Dataset":
        """A dataset holding the samples at ``indices`` (labels and factors follow)."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if self._cache is not None:
            source = ArraySource(self._cache[torch.as_tensor(indices)])
        else:
            source = _SubsetSource(self.source, indices)
        return Dataset(
            source,
            attrs={k: v[indices] for k, v in self.attrs.items()},
            factors={k: v[indices] for k, v in self.factors.items()},
            attr_levels=self.attr_levels,
            name=self.name,
            info={**self.info, "subset_of": len(self)},
            texts=None if self.texts is None else [self.texts[i] for i in indices],
        )

    def describe(self) -> dict:
        """Plain-data description (name, size, shape, attributes, how it was made)."""
        return {
            "name": self.name,
            "n": len(self),
            "sample_shape": list(self.sample_shape),
            "attributes": self.attribute_names,
            "factors": list(self.factors),
            "info": self.info,
        }

    def __repr__(self) -> str:
        attrs = ", ".join(self.attribute_names) or "none"
        return f"Dataset({self.name!r}, n={len(self)}, sample_shape={self.sample_shape}, attributes=[{attrs}])"
