"""Loaders for users' own data: image folders, CelebA, ``.npz`` arrays, MNIST-format IDX.

Every loader returns a :class:`~latentlab.data.dataset.Dataset` of float32 images
``(C, H, W)`` in ``[-1, 1]`` with ``C`` = 1 (grayscale) or 3 (RGB).

Resizing (one rule everywhere, :func:`center_crop_resize`)
    With ``size=S`` each image is centre-cropped to the largest centred square
    (``min(H, W)`` pixels on a side; when the difference is odd the extra row/column
    is dropped at the bottom/right), then resized to ``S x S`` with antialiased bicubic
    interpolation (``torch.nn.functional.interpolate(mode="bicubic", antialias=True)``,
    clamped to ``[-1, 1]``). This equals "resize the short side to S, then centre-crop".
    With ``size=None`` images keep their native size, which must then be the same for
    all of them.

Channels
    ``channels=None`` infers the channel count from the files (grayscale modes such as
    ``L``, ``1``, ``I;16`` give 1 channel; ``RGB``, ``RGBA``, ``P``, ``CMYK`` ... give 3;
    alpha is dropped); files that disagree are an error. ``channels=1`` converts colour
    images to luma (ITU-R 601-2, PIL's ``convert("L")``); ``channels=3`` repeats a
    grayscale image over R, G and B.

Laziness
    Image folders and CelebA are read file by file when samples are requested
    (:meth:`Dataset.get`); building the dataset only lists the files. When the image
    folder loader has to infer ``size`` or ``channels`` it reads every file's *header*
    (PIL reads the size and mode without decoding pixels); pass both to skip that scan.
    ``.npz`` and IDX files are read into memory at once.

Captions
    An image folder may come with its images' own captions, for text models: a captions
    CSV (``file`` and ``caption`` columns, one row per caption) or a COCO-style captions
    JSON; see :func:`load_image_folder` (``captions=``, ``caption_column=``).

Nothing here writes files.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from latentlab._validation import check_int
from latentlab._io import read_npz
from latentlab.data.dataset import Dataset

__all__ = [
    "IMAGE_EXTENSIONS",
    "CELEBA_ATTRIBUTES_FILE",
    "center_crop_resize",
    "ImageFileSource",
    "load_image_folder",
    "load_celeba",
    "load_npz",
    "load_idx",
    "read_idx",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
CELEBA_ATTRIBUTES_FILE = "list_attr_celeba.txt"
_CELEBA_SPLITS = {"train": 0, "valid": 1, "test": 2}
_ATTRIBUTE_CSV_NAMES = ("attributes.csv", "attrs.csv")
_CAPTION_FILE_NAMES = ("captions.csv", "captions.json")
_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


# -- shared helpers -----------------------------------------------------------------
def _check_size(size) -> None:
    check_int(size, "size", min=1, allow_none=True, noun="number of pixels")


def _check_limit(limit) -> None:
    check_int(limit, "limit", min=1, allow_none=True, noun="number of images")


def _check_channels(channels) -> None:
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be None (infer), 1 (grayscale) or 3 (RGB), not {channels!r}")


def center_crop_resize(images: torch.Tensor, size: int | None, crop: int | None = None) -> torch.Tensor:
    """Centre-crop images to a square and resize them to ``size x size``.

    Parameters
    ----------
    images : tensor, float, shape (N, C, H, W), values in [-1, 1]
    size : int or None
        Output side in pixels; ``None`` returns the images unchanged.
    crop : int, optional
        Side of the centred square kept before resizing; default ``min(H, W)``.

    Returns
    -------
    tensor, float32, shape (N, C, size, size), values in [-1, 1]
        Bicubic, antialiased when shrinking; a square image of side ``size`` is returned
        unchanged (no resampling).
    """
    images = torch.as_tensor(images, dtype=torch.float32)
    if size is None:
        return images
    h, w = images.shape[-2:]
    side = min(h, w) if crop is None else crop
    if side > min(h, w):
        raise ValueError(f"crop={crop} is larger than the images ({w}x{h} pixels)")
    top, left = (h - side) // 2, (w - side) // 2
    images = images[..., top : top + side, left : left + side]
    if side == size:
        return images.contiguous()
    out = torch.nn.functional.interpolate(images, size=(size, size), mode="bicubic", align_corners=False, antialias=True)
    return out.clamp_(-1.0, 1.0)


def _mode_channels(mode: str) -> int:
    return 1 if mode in _GRAY_MODES else 3


def _pil_to_tensor(image: Image.Image, channels: int) -> torch.Tensor:
    """A PIL image as float32 ``(channels, H, W)`` in ``[-1, 1]``."""
    if image.mode.startswith("I") or image.mode == "F":
        # 16/32-bit grayscale: PIL's convert("L") would clip above 255, so rescale.
        arr = np.asarray(image, dtype=np.float64)
        top = 1.0 if image.mode == "F" else 65535.0
        arr = np.clip(arr / top, 0.0, 1.0) * 2 - 1
        arr = np.repeat(arr[None], channels, axis=0)
        return torch.as_tensor(arr, dtype=torch.float32)
    arr = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(arr / 127.5 - 1.0)


def _uint8_or_float_to_unit(array: np.ndarray, what: str) -> np.ndarray:
    """uint8 0..255, or floats in [0, 1] or [-1, 1], as float32 in [-1, 1]."""
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{what} has dtype {array.dtype}; expected uint8 (0..255), integers in 0..255, "
                         "or floats in [0, 1] or [-1, 1]")
    if array.size == 0:
        return array.astype(np.float32)
    lo, hi = float(array.min()), float(array.max())
    if array.dtype == np.uint8 or (np.issubdtype(array.dtype, np.integer) and lo >= 0 and hi <= 255):
        return array.astype(np.float32) / 127.5 - 1.0
    if np.issubdtype(array.dtype, np.floating):
        tol = 1e-4  # float rounding of data saved elsewhere
        if lo >= -tol and hi <= 1 + tol:
            return np.clip(array.astype(np.float32), 0, 1) * 2 - 1
        if lo >= -1 - tol and hi <= 1 + tol:
            return np.clip(array.astype(np.float32), -1, 1)
    raise ValueError(
        f"{what} has dtype {array.dtype} with values in [{lo:g}, {hi:g}]; expected uint8 (0..255), "
        "integers in 0..255, or floats in [0, 1] or [-1, 1]"
    )


class ImageFileSource:
    """Reads image files on demand with PIL.

    Parameters
    ----------
    files : list of Path
        One file per sample.
    channels : int
        1 or 3; files are converted to it.
    size : int or None
        Output side (centre crop + resize, :func:`center_crop_resize`), or ``None`` to
        keep the native size, which must then equal ``native_size``.
    crop : int, optional
        Side of the centred square kept before resizing (default: the largest).
    native_size : (width, height), optional
        The size every file must have when ``size`` is None.
    """

    def __init__(self, files, *, channels: int, size: int | None, crop: int | None = None, native_size=None):
        self.files = list(files)
        self.channels = channels
        self.size = size
        self.crop = crop
        self.native_size = native_size

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, path: Path) -> torch.Tensor:
        try:
            with Image.open(path) as image:
                image.load()
                x = _pil_to_tensor(image, self.channels)
        except (OSError, SyntaxError, ValueError) as err:  # PIL reports bad files with all three
            raise ValueError(f"cannot read image {path}: {err}") from err
        if self.size is None:
            h, w = x.shape[-2:]
            if self.native_size is not None and (w, h) != tuple(self.native_size):
                ref = "x".join(map(str, self.native_size))
                raise ValueError(f"image {path} is {w}x{h} pixels but the others are {ref}; pass size= to resize all images")
            return x
        return center_crop_resize(x[None], self.size, self.crop)[0]

    def get(self, indices: np.ndarray) -> torch.Tensor:
        """Images at ``indices`` as float32 ``(len(indices), C, H, W)`` in ``[-1, 1]``."""
        images = [self._read(self.files[int(i)]) for i in np.asarray(indices).reshape(-1)]
        if images:
            return torch.stack(images)
        w, h = (self.size, self.size) if self.size is not None else (self.native_size or (0, 0))
        return torch.empty(0, self.channels, h, w)


def _scan_headers(files: list[Path], need_size: bool, need_channels: bool):
    """Native (width, height) and channel count shared by ``files`` (headers only)."""
    sizes: dict[tuple[int, int], Path] = {}
    modes: dict[int, tuple[Path, str]] = {}
    for path in files:
        try:
            with Image.open(path) as image:  # reads the header, not the pixels
                size, mode = image.size, image.mode
        except (OSError, SyntaxError, ValueError) as err:
            raise ValueError(f"cannot read image {path}: {err}") from err
        sizes.setdefault(size, path)
        modes.setdefault(_mode_channels(mode), (path, mode))
        if need_size and len(sizes) > 1:
            (s1, p1), (s2, p2) = list(sizes.items())[:2]
            raise ValueError(
                f"images have different sizes: {p1} is {s1[0]}x{s1[1]}, {p2} is {s2[0]}x{s2[1]} pixels; "
                "pass size= (e.g. size=64) to centre-crop and resize them all"
            )
        if need_channels and len(modes) > 1:
            (c1, (p1, m1)), (c2, (p2, m2)) = list(modes.items())[:2]
            raise ValueError(
                f"images have different channel counts: {p1} is {m1} ({c1} channel{'s' if c1 > 1 else ''}), "
                f"{p2} is {m2} ({c2} channel{'s' if c2 > 1 else ''}); pass channels=1 or channels=3 to convert them all"
            )
    return next(iter(sizes)), next(iter(modes))


# -- image folders --------------------------------------------------------------------
def _list_images(root: Path, extensions) -> list[Path]:
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    found = []
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        found.extend(Path(folder) / name for name in names if not name.startswith(".") and name.lower().endswith(exts))
    # Sorting by the relative POSIX path makes the order independent of the OS and of os.walk.
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _file_matcher(root: Path, files: list[Path]):
    """``match(key, where)``: the index in ``files`` of the image that a labels or captions file
    names ``key`` (its path relative to ``root``, or its file name when that is unique), or
    ``None``; ``where`` (file and line) begins the error for an ambiguous file name."""
    rel = {f.relative_to(root).as_posix(): i for i, f in enumerate(files)}
    by_name: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        by_name.setdefault(f.name, []).append(i)

    def match(key: str, where: str) -> int | None:
        key = key.strip().replace("\\", "/")
        key = key[2:] if key.startswith("./") else key
        if key in rel:
            return rel[key]
        found = by_name.get(key, [])
        if len(found) > 1:
            raise ValueError(f"{where}: file name {key!r} matches {len(found)} images in different sub-folders; "
                             "give the path relative to the folder instead")
        return found[0] if found else None

    return match


def _check_every_image_named(named: np.ndarray, files: list[Path], root: Path, path: Path, what: str) -> None:
    """``ValueError`` naming an image of ``files`` that ``path`` gives no ``what`` (``named[i]`` False)."""
    if not named.all():
        missing = [files[i] for i in np.flatnonzero(~named)]
        raise ValueError(
            f"{len(missing)} image(s) have no {what} in {path}, e.g. {missing[0].relative_to(root).as_posix()}; "
            f"every image needs one (named by its path relative to the folder, or its file name)"
        )


def _read_attribute_csv(csv_path: Path, root: Path, files: list[Path]) -> dict[str, np.ndarray]:
    """Integer attribute columns of ``csv_path``, aligned with ``files``."""
    match = _file_matcher(root, files)
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        if "file" not in columns:
            raise ValueError(
                f"{csv_path} needs a column named 'file' (relative path or file name); "
                f"its columns are: {', '.join(columns) or 'none'}"
            )
        names = [c for c in columns if c != "file"]
        if not names:
            raise ValueError(f"{csv_path} has a 'file' column but no attribute columns")
        values = {name: np.full(len(files), -1, dtype=np.int64) for name in names}
        seen = np.zeros(len(files), dtype=bool)
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            key = row["file"]
            i = match(key, f"{csv_path} line {line}")
            if i is None:
                continue  # rows for images not loaded (e.g. beyond limit=) are ignored
            if seen[i]:
                raise ValueError(f"{csv_path} line {line}: {key!r} is listed twice")
            seen[i] = True
            for name in names:
                text = row.get(name, "")
                try:
                    value = int(text)
                except ValueError:
                    raise ValueError(f"{csv_path} line {line}: column {name!r} holds {text!r}; attribute values must be integers") from None
                if value < 0:
                    raise ValueError(
                        f"{csv_path} line {line}: column {name!r} holds {value}; attribute values must be non-negative "
                        "integers (0/1 for binary attributes, 0..K-1 for categories)"
                    )
                values[name][i] = value
    _check_every_image_named(seen, files, root, csv_path, "row")
    return values


# -- captions ---------------------------------------------------------------------------------
_COCO_SHAPE = '{"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}'


def _caption_rows_csv(path: Path, column: str) -> list[tuple[str, str, str]]:
    """``(where, file, caption)`` of each row of a captions CSV."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        for needed, hint in (("file", "(path relative to the folder, or file name)"),
                             (column, "(choose another column with caption_column=)")):
            if needed not in columns:
                raise ValueError(f"{path} needs a column named {needed!r} {hint}; its columns are: "
                                 f"{', '.join(columns) or 'none'}")
        rows = []
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "") for k, v in row.items()}
            rows.append((f"{path} line {line}", row["file"], row.get(column) or ""))
    return rows


def _caption_rows_coco(path: Path) -> list[tuple[str, str, str]]:
    """``(where, file_name, caption)`` of each annotation of a COCO-style captions JSON."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            doc = json.load(handle)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); expected COCO-style captions {_COCO_SHAPE}") from None

    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: {problem}; expected COCO-style captions {_COCO_SHAPE}")

    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("images", "annotations")):
        what = (f"keys {', '.join(map(repr, doc))}" if doc else "an empty object") if isinstance(doc, dict) \
            else f"a JSON {type(doc).__name__}"
        raise bad(f"needs lists 'images' and 'annotations' at the top; it holds {what}")
    names: dict = {}
    for k, image in enumerate(doc["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("file_name"), str) \
                or not isinstance(image.get("id"), (int, str)):
            raise bad(f"images[{k}] is {image!r}, not an object with 'id' (a number or string) and 'file_name' (a string)")
        if image["id"] in names:
            raise bad(f"images[{k}] repeats the id {image['id']!r}")
        names[image["id"]] = image["file_name"]
    rows = []
    for k, note in enumerate(doc["annotations"]):
        if not isinstance(note, dict) or not isinstance(note.get("image_id"), (int, str)) \
                or not isinstance(note.get("caption"), str):
            raise bad(f"annotations[{k}] is {note!r}, not an object with 'image_id' (a number or string) and "
                      "'caption' (a string)")
        if note["image_id"] not in names:
            raise bad(f"annotations[{k}] has image_id {note['image_id']!r}, which no entry of 'images' has")
        rows.append((f"{path} annotations[{k}]", names[note["image_id"]], note["caption"]))
    return rows


def _read_captions(path: Path, column: str, root: Path, files: list[Path], listed: list[Path]) -> list[list[str]]:
    """The captions of each of ``files`` from a captions CSV or a COCO-style JSON (``.json``).

    ``listed`` is every image of the folder: captions of images not loaded (beyond
    ``limit=``, outside ``subfolders=``) are skipped, those of files not there are an error.
    """
    if path.suffix.lower() == ".json":
        if column != "caption":
            raise ValueError(f"caption_column={column!r} is for a captions CSV; {path} is COCO-style JSON, whose "
                             "captions are the 'caption' of each annotation")
        rows = _caption_rows_coco(path)
    else:
        rows = _caption_rows_csv(path, column)
    match = _file_matcher(root, files)
    match_listed = match if listed is files else _file_matcher(root, listed)
    texts: list[list[str]] = [[] for _ in files]
    for where, key, caption in rows:
        i = match(key, where)
        if i is None:
            if match_listed(key, where) is None:
                raise ValueError(f"{where}: {key!r} is not an image in {root}; captions name images of the folder "
                                 "(path relative to it, or file name)")
            continue
        if not caption.strip():
            raise ValueError(f"{where}: the caption of {key!r} is empty; every caption needs some words")
        texts[i].append(caption.strip())
    _check_every_image_named(np.array([bool(t) for t in texts], dtype=bool), files, root, path, "caption")
    return texts


def load_image_folder(
    path,
    *,
    size: int | None = None,
    channels: int | None = None,
    attributes=None,
    extensions=IMAGE_EXTENSIONS,
    limit: int | None = None,
    subfolders=None,
    captions=None,
    caption_column: str = "caption",
) -> Dataset:
    """Images found (recursively) in a folder, optionally with attribute labels and captions.

    Parameters
    ----------
    path : str or Path
        The folder; images are searched in it and all sub-folders (hidden ones
        skipped) and sorted by relative path, so the order is deterministic.
    size : int, optional
        Centre-crop to a square and resize to ``size x size`` pixels. By default the
        native size is kept, which all images must then share.
    channels : {None, 1, 3}
        1 grayscale, 3 RGB, None: infer from the files (all must agree).
    attributes : str or Path, optional
        A CSV file with a column ``file`` (path relative to the folder, or just the file
        name when unique) and one column of non-negative integers per attribute. By
        default ``attributes.csv`` or ``attrs.csv`` in the folder is used if present.
    extensions : tuple of str
        File name endings searched (case-insensitive).
    limit : int, optional
        Keep only the first ``limit`` images (in sorted order); of each sub-folder, with
        ``subfolders``.
    subfolders : list of str, optional
        Read only these sub-folders of the folder (each searched recursively), in this
        order, and label each image with the attribute ``subfolder``: the index of its
        sub-folder in the list, whose names become the attribute's levels. Two sub-folders
        are the two domains of a CycleGAN (``["trainA", "trainB"]`` of horse2zebra, with
        ``domain_attr = "subfolder"``).
    captions : str or Path, optional
        The images' own captions, for text models (a CLIP trains on them). Either a CSV
        with a column ``file`` (as in the attributes CSV) and a caption column, one row per
        caption (several rows for one file are several captions of that image), or, for a
        path ending in ``.json``, a COCO-style captions file
        ``{"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}``
        (``file_name`` matched like ``file``). A relative path is taken from the working
        directory, as ``attributes`` is. By default ``captions.csv`` or else
        ``captions.json`` in the folder is used if present. Every loaded image needs at
        least one non-empty caption; captions of images outside ``limit``/``subfolders``
        are skipped, and captions of files that are not in the folder are an error.
    caption_column : str
        The CSV column holding the captions (default ``"caption"``).

    Returns
    -------
    Dataset
        Images ``(C, size, size)`` float32 in ``[-1, 1]``, read lazily; ``attrs`` from
        the CSV (and ``subfolder``); with captions, ``texts`` (one list of captions per
        image, in file order) and ``caption_kind == "text"``; ``info["files"]`` is not
        stored (it can be huge), but ``dataset.source.files`` lists them.
    """
    root = Path(path).expanduser()
    _check_size(size)
    _check_channels(channels)
    _check_limit(limit)
    if not root.exists():
        raise FileNotFoundError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder; give a folder of images")
    if not isinstance(caption_column, str) or not caption_column.strip():
        raise ValueError(f"caption_column must name a column of the captions CSV, not {caption_column!r}")
    if isinstance(extensions, str):
        extensions = (extensions,)
    if subfolders is None:
        files = _list_images(root, extensions)
        if not files:
            raise ValueError(f"no images found in {root} (searched recursively for {', '.join(extensions)})")
        files, which = files[:limit], None
    else:
        files, which = _subfolder_images(root, subfolders, extensions, limit)
    native_size = None
    if size is None or channels is None:
        native_size, inferred = _scan_headers(files, need_size=size is None, need_channels=channels is None)
        channels = channels or inferred
    if attributes is None:
        attributes = next((root / n for n in _ATTRIBUTE_CSV_NAMES if (root / n).is_file()), None)
    attrs = {}
    if attributes is not None:
        csv_path = Path(attributes).expanduser()
        if not csv_path.is_file():
            raise FileNotFoundError(f"attributes file {csv_path} does not exist")
        attrs = _read_attribute_csv(csv_path, root, files)
    if captions is None:
        captions = next((root / n for n in _CAPTION_FILE_NAMES if (root / n).is_file()), None)
    texts = None
    if captions is not None:
        captions_path = Path(captions).expanduser()
        if not captions_path.is_file():
            raise FileNotFoundError(f"captions file {captions_path} does not exist")
        # with limit= or subfolders= some images of the folder are not loaded: their captions are skipped
        everything = files if subfolders is None and limit is None else _list_images(root, extensions)
        texts = _read_captions(captions_path, caption_column.strip(), root, files, everything)
    levels = {}
    if which is not None:
        attrs["subfolder"], levels["subfolder"] = which, [str(name) for name in subfolders]
    info = {
        "source": "image_folder",
        "path": str(root),
        "n": len(files),
        "size": size,
        "channels": channels,
        "attributes_file": None if attributes is None else str(attributes),
        "limit": limit,
        "subfolders": None if subfolders is None else [str(name) for name in subfolders],
        "captions_file": None if captions is None else str(captions),
        "caption_column": caption_column,
    }
    source = ImageFileSource(files, channels=channels, size=size, native_size=native_size)
    return Dataset(source, attrs=attrs, attr_levels=levels, name=root.name or "images", info=info, texts=texts)


def _subfolder_images(root: Path, subfolders, extensions, limit) -> tuple[list[Path], np.ndarray]:
    """The images of each of ``subfolders`` of ``root`` (at most ``limit`` each), and the
    index of each image's sub-folder."""
    if isinstance(subfolders, (str, bytes)) or not isinstance(subfolders, (list, tuple)) or not subfolders:
        raise ValueError(f"subfolders must be a list of folder names inside {root}, e.g. ['trainA', 'trainB']; "
                         f"got {subfolders!r}")
    files, which = [], []
    for i, name in enumerate(subfolders):
        folder = root / str(name)
        if not folder.is_dir():
            there = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
            raise FileNotFoundError(f"{folder} is not a folder; the sub-folders of {root} are: {', '.join(there) or 'none'}")
        found = _list_images(folder, extensions)[:limit]
        if not found:
            raise ValueError(f"no images found in {folder} (searched recursively for {', '.join(extensions)})")
        files += found
        which += [i] * len(found)
    return files, np.asarray(which, dtype=np.int64)


# -- CelebA --------------------------------------------------------------------------------
def _find(root: Path, name: str, subfolders: tuple[str, ...]) -> Path | None:
    return next((p for p in (root / s / name for s in ("", *subfolders)) if p.is_file()), None)


def _read_celeba_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """File names, attribute names and the (N, 40) 0/1 matrix of ``list_attr_celeba.txt``."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    if len(lines) < 2:
        raise ValueError(f"{path} is too short: expected a count line, an attribute-name line, then one line per image")
    try:
        count = int(lines[0].split()[0])
    except (ValueError, IndexError):
        raise ValueError(f"{path} line 1 should hold the number of images, not {lines[0]!r}") from None
    names = lines[1].split()
    files, rows = [], []
    for number, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise ValueError(
                f"{path} line {number} has {len(parts)} columns but the header names {len(names)} attributes "
                f"(expected {len(names) + 1}: the file name and one value per attribute)"
            )
        try:
            values = [int(v) for v in parts[1:]]
        except ValueError:
            raise ValueError(f"{path} line {number}: attribute values must be -1 or 1") from None
        if any(v not in (-1, 1) for v in values):
            bad = next(v for v in values if v not in (-1, 1))
            raise ValueError(f"{path} line {number}: attribute value {bad}; CelebA values must be -1 or 1")
        files.append(parts[0])
        rows.append(values)
    if len(files) != count:
        raise ValueError(f"{path} line 1 announces {count} images but {len(files)} are listed")
    labels = (np.asarray(rows, dtype=np.int64).reshape(len(files), len(names)) + 1) // 2
    return files, names, labels


def _read_celeba_partition(path: Path) -> dict[str, int]:
    out = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise ValueError(f"{path} line {number} should be 'file 0|1|2' (train/valid/test), not {line.strip()!r}")
            out[parts[0]] = int(parts[1])
    return out


def load_celeba(path, *, size: int | None = 64, split: str | None = None, crop: int | None = None, limit: int | None = None) -> Dataset:
    """The CelebA aligned faces with their 40 binary attributes.

    Parameters
    ----------
    path : str or Path
        Folder holding ``img_align_celeba/`` (the images; a nested
        ``img_align_celeba/img_align_celeba/`` is accepted too) and
        ``list_attr_celeba.txt`` (or ``Anno/list_attr_celeba.txt``), and for ``split``
        also ``list_eval_partition.txt`` (or ``Eval/list_eval_partition.txt``).
    size : int or None
        Output side in pixels (default 64). The aligned images are 178x218: they are
        centre-cropped to a square (default the largest, 178x178, i.e. rows 20..197),
        then resized with antialiased bicubic interpolation. ``None`` keeps 178x218.
    split : {None, "train", "valid", "test"}
        The official partition (162,770 / 19,867 / 19,962 images); None: all images.
    crop : int, optional
        Side of the centred square kept before resizing. Papers differ: 178 (the full
        width, the default here), 148 or 140 (mostly face), 108 (face only).
    limit : int, optional
        Keep only the first ``limit`` images of the split, in file order.

    Returns
    -------
    Dataset
        RGB images ``(3, size, size)`` in ``[-1, 1]``, read lazily; ``attrs`` the 40
        attributes converted from CelebA's -1/+1 to 0/1 (1 = the attribute is present).
    """
    root = Path(path).expanduser()
    _check_size(size)
    _check_limit(limit)
    if split not in (None, *_CELEBA_SPLITS):
        raise ValueError(f"split must be None, 'train', 'valid' or 'test', not {split!r}")
    check_int(crop, "crop", min=1, allow_none=True, noun="number of pixels")
    if not root.is_dir():
        raise FileNotFoundError(f"CelebA folder {root} does not exist")
    attr_file = _find(root, CELEBA_ATTRIBUTES_FILE, ("Anno",))
    if attr_file is None:
        raise FileNotFoundError(f"{root} has no {CELEBA_ATTRIBUTES_FILE} (looked in {root} and {root / 'Anno'})")
    image_dir = root / "img_align_celeba"
    if (image_dir / "img_align_celeba").is_dir():
        image_dir = image_dir / "img_align_celeba"
    if not image_dir.is_dir():
        raise FileNotFoundError(f"{root} has no img_align_celeba/ folder of images")
    files, names, labels = _read_celeba_attributes(attr_file)
    if split is not None:
        part_file = _find(root, "list_eval_partition.txt", ("Eval",))
        if part_file is None:
            raise FileNotFoundError(f"split={split!r} needs list_eval_partition.txt in {root} or {root / 'Eval'}")
        partition = _read_celeba_partition(part_file)
        unknown = [f for f in files if f not in partition]
        if unknown:
            raise ValueError(f"{len(unknown)} image(s) of {attr_file.name} are missing from {part_file}, e.g. {unknown[0]}")
        keep = np.array([partition[f] == _CELEBA_SPLITS[split] for f in files], dtype=bool)
        files, labels = [f for f, k in zip(files, keep) if k], labels[keep]
    if limit is not None:
        files, labels = files[:limit], labels[:limit]
    # One directory listing is far cheaper than one stat per image (202,599 of them).
    present = set(os.listdir(image_dir))
    missing = [f for f in files if f not in present]
    if missing:
        raise FileNotFoundError(f"{len(missing)} image(s) listed in {attr_file.name} are not in {image_dir}, e.g. {missing[0]}")
    paths = [image_dir / f for f in files]
    native_size = None
    if size is None and paths:
        with Image.open(paths[0]) as image:  # header only
            native_size = image.size
    info = {
        "source": "celeba",
        "path": str(root),
        "n": len(files),
        "size": size,
        "crop": crop,
        "split": split,
        "limit": limit,
        "labels": "CelebA -1/+1 converted to 0/1",
    }
    source = ImageFileSource(paths, channels=3, size=size, crop=crop, native_size=native_size)
    return Dataset(source, attrs={n: labels[:, j] for j, n in enumerate(names)}, name="celeba", info=info)


# -- arrays: npz and IDX ---------------------------------------------------------------------
def _to_nchw(images: np.ndarray, key: str) -> np.ndarray:
    """(N,H,W), (N,H,W,C) or (N,C,H,W) -> (N,C,H,W) with C in {1, 3} (alpha dropped)."""
    if images.ndim == 3:
        return images[:, None]
    if images.ndim != 4:
        raise ValueError(f"array {key!r} has shape {images.shape}; images must be (N,H,W), (N,H,W,C) or (N,C,H,W)")
    ok = (1, 3, 4)
    last, first = images.shape[3] in ok, images.shape[1] in ok
    if last and first:
        # Tiny images such as (N, 3, 4, 3): decide by which layout has square pixels grids.
        last, first = images.shape[1] == images.shape[2], images.shape[2] == images.shape[3]
        if last == first:
            raise ValueError(
                f"cannot tell whether array {key!r} of shape {images.shape} is (N,H,W,C) or (N,C,H,W); "
                "transpose it to (N,C,H,W)"
            )
    if last:
        images = images.transpose(0, 3, 1, 2)
    elif not first:
        raise ValueError(f"array {key!r} has shape {images.shape}; expected 1, 3 or 4 channels first or last")
    return images[:, :3]


def load_npz(path, *, images_key: str | None = None, size: int | None = None) -> Dataset:
    """Images and labels from a NumPy ``.npz`` file.

    Parameters
    ----------
    path : str or Path
        An ``.npz`` file (read without pickle).
    images_key : str, optional
        The array holding the images. By default the only array with 3 or 4 dimensions;
        several such arrays are an error listing them.
    size : int, optional
        Centre-crop and resize to ``size x size``; default: keep the native size.

    Returns
    -------
    Dataset
        Images ``(C, H, W)`` float32 in ``[-1, 1]`` (in memory). Accepted layouts:
        ``(N,H,W)``, ``(N,H,W,C)``, ``(N,C,H,W)`` with C = 1, 3 or 4 (alpha dropped).
        Accepted values: uint8 0..255 (or any integer type within 0..255), floats in
        ``[0, 1]`` (mapped by ``2x - 1``) or floats in ``[-1, 1]`` with some value below 0
        (kept). Every other 1-D array of length N becomes an attribute when it holds
        integers (also integers stored as floats), otherwise a continuous factor.
    """
    path = Path(path).expanduser()
    _check_size(size)
    arrays = read_npz(path, what="NumPy .npz file of images")
    listing = ", ".join(f"{k} {v.shape}" for k, v in arrays.items()) or "none"
    if images_key is None:
        candidates = [k for k, v in arrays.items() if v.ndim in (3, 4)]
        if len(candidates) != 1:
            problem = "no array" if not candidates else f"{len(candidates)} arrays"
            raise ValueError(f"{path}: {problem} with 3 or 4 dimensions could be the images; pass images_key= (arrays: {listing})")
        images_key = candidates[0]
    elif images_key not in arrays:
        raise ValueError(f"{path} has no array {images_key!r}; arrays: {listing}")
    images = _to_nchw(arrays[images_key], images_key)
    images = _uint8_or_float_to_unit(images, f"array {images_key!r} in {path}")
    n = len(images)
    attrs, factors = {}, {}
    for key, value in arrays.items():
        if key == images_key or value.ndim != 1 or len(value) != n:
            continue
        if np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.bool_):
            attrs[key] = value.astype(np.int64)
        elif np.issubdtype(value.dtype, np.floating):
            if np.all(value == np.round(value)) and (not n or value.min() >= 0):
                attrs[key] = value.astype(np.int64)  # integer labels saved as floats
            else:
                factors[key] = value.astype(np.float32)
    data = center_crop_resize(torch.from_numpy(np.ascontiguousarray(images)), size)
    info = {"source": "npz", "path": str(path), "images_key": images_key, "n": n, "size": size}
    return Dataset(data, attrs=attrs, factors=factors, name=path.stem, info=info)


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an MNIST-format IDX file (raw or gzip-compressed) into an array.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each
    dimension as a big-endian uint32; the data follow in big-endian C order.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"{path} looks gzip-compressed but cannot be decompressed: {err}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(
            f"{path} is not an IDX file: it should start with 0x00 0x00, a type code "
            f"({', '.join(hex(t) for t in _IDX_TYPES)}) and the number of dimensions; got {raw[:4].hex(' ') or 'nothing'}"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: its header announces {ndim} dimensions")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path} holds {len(raw) - header} data bytes but its header {shape} of {dtype} needs {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _sibling_labels(images_path: Path) -> Path | None:
    name = images_path.name
    if "images" not in name.lower():
        return None
    at = name.lower().index("images")
    label_name = (name[:at] + "labels" + name[at + 6 :]).replace("idx3", "idx1")
    stem = label_name[:-3] if label_name.lower().endswith(".gz") else label_name
    for candidate in (label_name, stem, stem + ".gz"):
        if (images_path.parent / candidate).is_file():
            return images_path.parent / candidate
    return None


def load_idx(path, *, labels=None, size: int | None = None) -> Dataset:
    """MNIST-format IDX images, with labels.

    Parameters
    ----------
    path : str or Path
        An IDX image file ``(N, H, W)`` (raw or ``.gz``), e.g. ``train-images-idx3-ubyte.gz``.
    labels : str or Path, optional
        An IDX label file ``(N,)``. By default a sibling file named like ``path`` with
        ``images`` replaced by ``labels`` (and ``idx3`` by ``idx1``) is used if present.
    size : int, optional
        Resize to ``size x size``; default keeps the native size (28 for MNIST).

    Returns
    -------
    Dataset
        Grayscale images ``(1, H, W)`` float32 in ``[-1, 1]`` (uint8 0..255 mapped
        linearly; float files must hold values in [0, 1] or [-1, 1]); ``attrs["label"]``.
    """
    path = Path(path).expanduser()
    _check_size(size)
    images = read_idx(path)
    if images.ndim != 3:
        hint = " (this looks like a label file; give the images file)" if images.ndim == 1 else ""
        raise ValueError(f"{path} holds an array of shape {images.shape}; IDX images must be (N, H, W){hint}")
    images = _uint8_or_float_to_unit(images[:, None], f"IDX file {path}")
    label_path = Path(labels).expanduser() if labels is not None else _sibling_labels(path)
    attrs = {}
    if label_path is not None:
        values = read_idx(label_path)
        if values.shape != (len(images),):
            raise ValueError(
                f"labels {label_path} have shape {values.shape} but {path} holds {len(images)} images; "
                f"expected ({len(images)},)"
            )
        if not np.issubdtype(values.dtype, np.integer) or (len(values) and values.min() < 0):
            raise ValueError(f"labels {label_path} must be non-negative integers; got {values.dtype}")
        attrs["label"] = values.astype(np.int64)
    data = center_crop_resize(torch.from_numpy(images), size)
    info = {"source": "idx", "path": str(path), "labels": None if label_path is None else str(label_path), "n": len(images), "size": size}
    name = path.name.split(".")[0].split("-idx")[0]
    return Dataset(data, attrs=attrs, name=name, info=info)
