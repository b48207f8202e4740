"""Hugging Face ``datasets`` folders as latentlab Datasets (``pip install "latentlab[datasets]"``).

A folder written by ``datasets.Dataset.save_to_disk`` (``state.json``, ``dataset_info.json``
and Arrow files) or by ``DatasetDict.save_to_disk`` (``dataset_dict.json`` and one folder per
split) loads with ``latentlab.data.load(folder)``:

* the images are the first column of type ``Image`` (or ``image_column=``), decoded when
  samples are requested, so a large dataset is not held in memory;
* attributes are the label columns: ``ClassLabel`` columns (their names become the
  attribute's levels), booleans (0/1) and non-negative integers;
* ``split=`` picks a split of a DatasetDict (required when it has several).

The Arrow files are memory-mapped by ``datasets``; nothing in the folder is unpickled or run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from latentlab.data.dataset import Dataset
from latentlab.data.files import _mode_channels, _pil_to_tensor, center_crop_resize
from latentlab.errors import MissingExtra

__all__ = ["load_hf_dataset"]

INSTALL = 'pip install "latentlab[datasets]"'


class _HFImages:
    """Images of one column of a Hugging Face dataset, decoded on request."""

    def __init__(self, table, column: str, channels: int, size: int | None, native_size, source: str):
        self.table, self.column, self.channels = table, column, channels
        self.size, self.native_size, self.source = size, native_size, source

    def __len__(self) -> int:
        return len(self.table)

    def _tensor(self, image, index: int) -> torch.Tensor:
        x = _pil_to_tensor(image, self.channels)
        if self.size is None:
            if tuple(x.shape[-2:]) != self.native_size:
                h, w = self.native_size
                raise ValueError(f"{self.source}: image {index} is {x.shape[-1]}x{x.shape[-2]} pixels but the first is "
                                 f"{w}x{h}; pass size= to resize all images")
            return x
        return center_crop_resize(x[None], self.size)[0]

    def get(self, indices: np.ndarray) -> torch.Tensor:
        """Images at ``indices`` as float32 ``(len(indices), C, H, W)`` in ``[-1, 1]``."""
        indices = [int(i) for i in np.asarray(indices).reshape(-1)]
        if not indices:
            h, w = (self.size, self.size) if self.size is not None else self.native_size
            return torch.empty(0, self.channels, h, w)
        images = self.table.select(indices)[self.column]
        return torch.stack([self._tensor(image, i) for image, i in zip(images, indices)])


def load_hf_dataset(path, *, split: str | None = None, image_column: str | None = None, size: int | None = None,
                    limit: int | None = None) -> Dataset:
    """A folder written by ``save_to_disk``, as a :class:`~latentlab.data.Dataset`.

    Parameters
    ----------
    path : folder
    split : str, optional
        The split of a DatasetDict; required when it has more than one.
    image_column : str, optional
        Default: the first column of type ``Image``.
    size : int, optional
        Centre crop and resize to ``size x size``; default keeps the native size (all
        images must then share it).
    limit : int, optional
        Keep the first ``limit`` rows.
    """
    try:
        import datasets
    except ImportError:
        raise MissingExtra(f"reading a Hugging Face datasets folder needs the datasets extra: {INSTALL}") from None
    path = Path(path)
    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if split is None and len(splits) > 1:
            raise ValueError(f"{path} holds the splits {', '.join(splits)}; choose one with split=")
        if split is not None and split not in loaded:
            raise ValueError(f"{path} has no split {split!r}; its splits: {', '.join(splits)}")
        split = split or splits[0]
        table = loaded[split]
    elif split is not None:
        raise ValueError(f"{path} holds a single dataset, not splits: leave out split=")
    else:
        table = loaded
    features = table.features
    image_columns = [name for name, f in features.items() if isinstance(f, datasets.Image)]
    if image_column is None:
        if not image_columns:
            raise ValueError(f"{path} has no image column; its columns: {', '.join(features)}")
        image_column = image_columns[0]
    elif image_column not in image_columns:
        raise ValueError(f"image_column {image_column!r} is not an image column of {path}; image columns: "
                         f"{', '.join(image_columns) or 'none'}")
    if limit is not None:
        table = table.select(range(min(int(limit), len(table))))
    if len(table) == 0:
        raise ValueError(f"{path} holds no rows")
    first = table[0][image_column]
    channels = _mode_channels(first.mode)
    native = tuple(_pil_to_tensor(first, channels).shape[-2:])
    attrs, levels = {}, {}
    for name, feature in features.items():
        if isinstance(feature, datasets.ClassLabel):
            attrs[name], levels[name] = np.asarray(table[name], dtype=np.int64), list(feature.names)
        elif isinstance(feature, datasets.Value) and feature.dtype == "bool":
            attrs[name] = np.asarray(table[name], dtype=np.int64)
        elif isinstance(feature, datasets.Value) and feature.dtype.startswith(("int", "uint")):
            values = np.asarray(table[name], dtype=np.int64)
            if len(values) and values.min() >= 0:
                attrs[name] = values
    source = _HFImages(table, image_column, channels, size, native, str(path))
    info = {"source": "hf-datasets", "path": str(path), "split": split, "image_column": image_column, "size": size,
            "limit": limit, "n": len(table)}
    return Dataset(source, attrs=attrs, attr_levels=levels, name=path.name, info=info)
