"""Datasets: built-in procedural data and loaders for users' own files.

``load(name_or_path, **options)`` is the one entry point; ``available()`` lists the
built-in names. Every loader returns a :class:`~latentlab.data.dataset.Dataset`.
"""

from __future__ import annotations

from importlib import import_module as _import_module
import inspect
from pathlib import Path

from latentlab.data.dataset import ArraySource, Dataset
from latentlab.errors import OptionError

__all__ = ["Dataset", "ArraySource", "load", "load_for_model", "available", "builtin_options", "describe_builtin",
           "is_procedural", "split_options", "DataSpec", "training_data", "choose_data"]

# name -> ("module:function", one-line description)
_BUILTIN = {
    "faces": ("latentlab.data.faces:make_faces", "RGB cartoon faces (32/64 px) with CelebA-like attributes"),
    "shapes": ("latentlab.data.shapes:make_shapes", "dSprites-like binary shapes (32/64 px) with 5 known factors"),
    "rings": ("latentlab.data.toy2d:make_rings", "2-D mixture of 8 Gaussians on a circle (mode-collapse test)"),
    "grid": ("latentlab.data.toy2d:make_grid", "2-D mixture of 25 Gaussians on a 5x5 grid (mode-collapse test)"),
    "digits": ("latentlab.data.digits:make_digits", "scikit-learn's 8x8 handwritten digits, resized, labelled"),
}

# built-in datasets that are a fixed, finite set of samples (not drawn afresh from a seed)
_FIXED = {"digits"}

# file loaders, tried in order for a path: (module:function, test)
_FILE_LOADERS = {
    "celeba": "latentlab.data.files:load_celeba",
    "folder": "latentlab.data.files:load_image_folder",
    "npz": "latentlab.data.files:load_npz",
    "idx": "latentlab.data.files:load_idx",
    "hf-datasets": "latentlab.data.hf_datasets:load_hf_dataset",
}


def __getattr__(name):  # the training-data helpers, imported when first used
    if name in ("DataSpec", "DataChoice", "training_data", "choose_data"):
        from latentlab.data import spec

        return getattr(spec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def available() -> list[str]:
    """Names of the built-in datasets."""
    return sorted(_BUILTIN)


def describe_builtin() -> dict[str, str]:
    """Built-in dataset names with a one-line description each."""
    return {name: desc for name, (_, desc) in sorted(_BUILTIN.items())}


def _resolve(target: str):
    module, _, name = target.partition(":")
    return getattr(_import_module(module), name)


def _call(fn, what: str, options: dict):
    params = inspect.signature(fn).parameters
    valid = [p for p, v in params.items() if v.kind == inspect.Parameter.KEYWORD_ONLY or (v.default is not inspect.Parameter.empty)]
    unknown = [k for k in options if k not in params]
    if unknown:
        raise OptionError(f"unknown option {unknown[0]!r} for {what}; valid options: {', '.join(valid)}")
    return fn(**options)


def _file_kind(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or ((path / "state.json").is_file()
                                                      and (path / "dataset_info.json").is_file()):
            return "hf-datasets"  # written by the datasets library's save_to_disk
        if (path / "list_attr_celeba.txt").exists() or (path / "Anno" / "list_attr_celeba.txt").exists():
            return "celeba"
        return "folder"
    name = path.name.lower()
    if name.endswith(".npz"):
        return "npz"
    if "idx" in name or "ubyte" in name:
        return "idx"
    raise ValueError(
        f"don't know how to read {path}: give an image folder, a CelebA folder, an .npz file or "
        "MNIST-format IDX files (names containing 'idx' or 'ubyte', optionally .gz)"
    )


def _loader(name_or_path):
    """The loader function for a built-in name or an existing path (None for a path that does not exist)."""
    key = str(name_or_path)
    if key in _BUILTIN:
        return _resolve(_BUILTIN[key][0])
    path = Path(key).expanduser()
    return _resolve(_FILE_LOADERS[_file_kind(path)]) if path.exists() else None


def split_options(name_or_path, options: dict) -> tuple[dict, dict]:
    """``(kept, dropped)``: the ``options`` that the loader of ``name_or_path`` takes, and the rest.

    For moving a config to other data (``--set data.name=/my/folder``): a built-in
    dataset's ``nuisance`` means nothing to an image folder, while ``size`` does. Options
    of data that cannot be found yet are all kept (loading will say what is wrong).
    """
    fn = _loader(name_or_path)
    if fn is None:
        return dict(options), {}
    params = inspect.signature(fn).parameters
    kept = {k: v for k, v in options.items() if k in params and k != "path"}
    return kept, {k: v for k, v in options.items() if k not in kept}


def load(name_or_path, **options) -> Dataset:
    """Load a built-in dataset by name or a user's data from a path.

    Parameters
    ----------
    name_or_path : str or path
        One of :func:`available` (``"faces"``, ``"shapes"``, ``"rings"``, ``"grid"``,
        ``"digits"``), or a path to an image folder (optionally with an attribute CSV),
        a CelebA folder (``img_align_celeba/`` + ``list_attr_celeba.txt``), an ``.npz``
        file, MNIST-format IDX files, or a Hugging Face ``datasets`` folder written by
        ``save_to_disk`` (:mod:`latentlab.data.hf_datasets`).
    **options
        Passed to the loader, e.g. ``n=10000, size=32, seed=0`` for built-in data or
        ``size=64`` for a folder. Unknown options raise ``TypeError`` listing the valid ones.
    """
    key = str(name_or_path)
    if key in _BUILTIN:
        return _call(_resolve(_BUILTIN[key][0]), f"dataset {key!r}", options)
    path = Path(key).expanduser()
    if not path.exists():
        if "/" not in key and "\\" not in key and "." not in key:
            raise ValueError(f"unknown dataset {key!r}; built-in datasets: {', '.join(available())} (or give a path)")
        raise FileNotFoundError(f"{path} does not exist (built-in datasets: {', '.join(available())})")
    kind = _file_kind(path)
    return _call(_resolve(_FILE_LOADERS[kind]), f"{kind} data at {path}", {"path": path, **options})


def load_for_model(name_or_path, model, **options) -> Dataset:
    """Load data shaped for ``model``: the image size defaults to the model's.

    Built-in image datasets are rendered at the model's resolution and file loaders
    resize to it, unless ``size=`` is given. Raises ``ValueError`` when the samples
    still do not match what the model takes.
    """
    shape = tuple(getattr(model, "sample_shape", ()) or ())
    key = str(name_or_path)
    target = _loader(key)
    if len(shape) == 3 and "size" not in options and target is not None and "size" in inspect.signature(target).parameters:
        options["size"] = shape[-1]
    dataset = load(name_or_path, **options)
    if shape and tuple(dataset.sample_shape) != shape:
        raise ValueError(f"{dataset.name} has samples of shape {tuple(dataset.sample_shape)} but the model takes {shape}")
    return dataset


def is_procedural(name: str) -> bool:
    """True for a built-in dataset drawn afresh for every seed (any number of new samples)."""
    return name in _BUILTIN and name not in _FIXED


def builtin_options(name: str) -> list[str]:
    """The options a built-in dataset's loader accepts (e.g. ``["n", "size", "seed", ...]``)."""
    if name not in _BUILTIN:
        raise ValueError(f"unknown dataset {name!r}; built-in datasets: {', '.join(available())}")
    return list(inspect.signature(_resolve(_BUILTIN[name][0])).parameters)
