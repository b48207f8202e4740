"""The data a model was trained on, and the data a command uses when given a model.

A checkpoint records its training data twice: the ``[data]`` section of its config
(the name and the loader options the run asked for) and ``dataset``, the description of
the Dataset actually used, whose ``info`` holds every option it was made with, defaults
included. :func:`training_data` reads them into a :class:`DataSpec`; a model loaded
with :func:`latentlab.load` (or trained with :func:`latentlab.train`) carries it as
``model.trained_on``.

:func:`choose_data` is the one rule every command that takes a model and data follows
(``evaluate``, ``intrinsic-dim --model``, ``encode``, ``direction --labels-from data``,
``directions pca``):

* no data given: the data the model was trained on, with its training options;
* the name of the model's training data: the training options, with any options given
  replacing theirs one by one (``--data faces -o nuisance=0.5`` keeps the rest);
* other data: as given, with the loader's defaults for options not given.

The options ``n`` and ``seed`` (how many samples and which ones) are left to each
command. Each choice comes with one line saying which data and options are used.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from latentlab import data as data_mod
from latentlab.checkpoint import Checkpoint, load_checkpoint

__all__ = ["DataSpec", "DataChoice", "training_data", "spec_from_description", "choose_data", "SAMPLE_OPTIONS"]

#: Loader options that pick how many samples and which ones, not what the data is like.
SAMPLE_OPTIONS = ("n", "seed")


@dataclass(frozen=True)
class DataSpec:
    """A dataset as :func:`latentlab.data.load` loads it: ``load(name, **options)``.

    Attributes
    ----------
    name : str
        A built-in dataset name or a path.
    options : dict
        Loader options (for a model's training data: all of them, so :meth:`load`
        returns the very samples it was trained on).
    """

    name: str
    options: dict = field(default_factory=dict)

    def load(self, **changes):
        """The Dataset, with ``changes`` replacing options (e.g. ``n=500, seed=1``)."""

        return data_mod.load(self.name, **{**self.options, **changes})

    @property
    def data_options(self) -> dict:
        """The options that make the data what it is: all but ``n`` and ``seed``."""
        return {k: v for k, v in self.options.items() if k not in SAMPLE_OPTIONS}

    def names(self, data) -> bool:
        """Whether ``data`` (a name or path) names this dataset."""
        if str(data) == self.name:
            return True

        if str(data) in data_mod.available() or self.name in data_mod.available():
            return False
        return Path(str(data)).expanduser().resolve() == Path(self.name).expanduser().resolve()

    def describe(self, options: Mapping | None = None) -> str:
        """``"faces (nuisance=0)"``: the name and the options (default: :attr:`data_options`) that
        differ from the loader's defaults."""
        shown = describe_options(self.name, self.data_options if options is None else options)
        return f"{self.name} ({shown})"

    def __str__(self) -> str:
        return self.describe()


def describe_options(name: str, options: Mapping) -> str:
    """``"nuisance=0, size=64"``: the options that differ from the loader's defaults, or ``"the loader's defaults"``."""
    defaults = _loader_defaults(str(name))
    changed = [f"{k}={_short(v)}" for k, v in options.items() if k not in defaults or defaults[k] != v]
    return ", ".join(changed) if changed else "the loader's defaults"


def _short(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


@functools.lru_cache(maxsize=None)
def _loader_defaults(name: str) -> dict:
    """Every option of a built-in loader as it resolves its default (``{}`` for paths).

    Read from the ``info`` of one default sample, so that defaults written as ``None`` in
    the signature (e.g. the faces' correlations) compare with the values a checkpoint records.
    """

    if name not in data_mod.available():
        return {}
    accepted = data_mod.builtin_options(name)
    info = data_mod.load(name, **({"n": 1} if "n" in accepted else {})).info
    return {k: info[k] for k in accepted if k in info}


# -- a model's training data -------------------------------------------------------------
def spec_from_description(config_data: Mapping | None, described: Mapping | None) -> DataSpec | None:
    """The training data from a run config's ``[data]`` and the trained-on Dataset's ``describe()``.

    A built-in dataset is given by every option its ``info`` records (what was used,
    even when a Dataset was passed to training instead of the config's data); a user's
    files by the config's path and options when they describe the same data, else by the
    path the loader recorded. ``None`` when the data cannot be loaded again (a Dataset
    built in memory) or nothing is recorded.
    """

    config_data = dict(config_data or {})
    described = dict(described or {})
    cfg_name = config_data.get("name")
    cfg_options = dict(config_data.get("options") or {})
    info = dict(described.get("info") or {})
    name = info.get("name") or described.get("name")
    if not described:
        return DataSpec(str(cfg_name), cfg_options) if cfg_name else None
    if name in data_mod.available() and info:
        accepted = data_mod.builtin_options(name)
        return DataSpec(name, {k: info[k] for k in accepted if k in info})
    if cfg_name and (cfg_name == name or Path(str(cfg_name)).name in (name, f"{name}.npz")
                     or Path(str(cfg_name)).stem == name or info.get("path") == str(cfg_name)):
        return DataSpec(str(cfg_name), cfg_options)
    if info.get("path"):  # a user's files, loaded as a Dataset and passed to training
        return DataSpec(str(info["path"]), {k: info[k] for k in ("size", "channels") if info.get(k) is not None})
    return None


def training_data(model) -> DataSpec | None:
    """The data ``model`` was trained on (name and loader options), or ``None`` when unknown.

    Parameters
    ----------
    model : Generator or model, Checkpoint, or path of a checkpoint
        A model loaded with :func:`latentlab.load` or returned by training carries it as
        ``trained_on``; a user's own Generator knows none unless it sets that attribute.

    Examples
    --------
    >>> spec = training_data("vae.pt")          # doctest: +SKIP
    >>> spec.name, spec.data_options            # doctest: +SKIP
    ('faces', {'size': 32, 'nuisance': 0.0, ...})
    >>> faces = spec.load(n=500, seed=1)         # fresh faces like the training ones   # doctest: +SKIP
    """

    if isinstance(model, (str, os.PathLike)):
        if os.path.isdir(model):  # a diffusers folder records no training data
            return None
        model = load_checkpoint(model)
    if isinstance(model, Checkpoint):
        return spec_from_description(model.config.get("data"), model.dataset)
    spec = getattr(model, "trained_on", None)
    return spec if isinstance(spec, DataSpec) else None


# -- the data a command uses ---------------------------------------------------------------
@dataclass(frozen=True)
class DataChoice:
    """What :func:`choose_data` decided.

    Attributes
    ----------
    data : str or Dataset
        The name or path to load (or the Dataset given).
    options : dict
        Loader options, without ``n`` and ``seed`` unless they were given.
    note : str
        One line saying which data and options are used and why (``""`` for a Dataset given).
    from_model : bool
        Whether the data or its options came from a model's training data.
    """

    data: object
    options: dict
    note: str
    from_model: bool = False


def choose_data(data, data_options: Mapping | None, models) -> DataChoice:
    """The data to use with ``models``: see the module docstring for the rule.

    Parameters
    ----------
    data : None, str, path or Dataset
        ``None``: the models' training data.
    data_options : dict or None
        Loader options given.
    models : dict of name -> model, Checkpoint or path, or a list of paths
        The models the data is for (names appear in the note and in errors).

    Raises
    ------
    ValueError
        ``data`` is ``None`` and no model records its training data, or the models were
        trained on different data (or on the named data with different options): one set
        of real data is compared with every model, and choosing one model's data would
        silently score the others against data they never learnt, so the caller must
        name it.
    """

    given = dict(data_options or {})
    if isinstance(data, data_mod.Dataset):
        return DataChoice(data, given, "")
    items = list(models.items()) if isinstance(models, Mapping) else [(str(m), m) for m in models]
    specs = {name: training_data(model) for name, model in items}
    known = {name: spec for name, spec in specs.items() if spec is not None}
    if data is None:
        if not known:
            who = ", ".join(name for name, _ in items) or "the model"
            raise ValueError(f"no data given, and {who} {'does' if len(items) == 1 else 'do'} not record the data "
                             "it was trained on; name the data (--data)")
        candidates = known
    else:
        candidates = {name: spec for name, spec in known.items() if spec.names(data)}
        if not candidates:
            shown = describe_options(str(data), given)
            others = "; ".join(f"{name} was trained on {spec}" for name, spec in known.items())
            return DataChoice(str(data), given, f"data: {data} ({shown}), as given" + (f" ({others})" if others else ""))
    merged = {name: {**spec.data_options, **given} for name, spec in candidates.items()}
    distinct = {(candidates[name].name, tuple(sorted((k, repr(v)) for k, v in opts.items())))
                for name, opts in merged.items()}
    if len(distinct) > 1:
        each = "; ".join(f"{name}: {spec.describe(merged[name])}" for name, spec in candidates.items())
        raise ValueError(f"the models were trained on different data ({each}); one dataset is compared with all of "
                         "them: name it (--data NAME, with --option KEY=VALUE for its options)")
    first = next(iter(candidates))
    spec, options = candidates[first], merged[first]
    whose = ", ".join(candidates)
    if data is None:
        why = f"the data {whose} {'was' if len(candidates) == 1 else 'were'} trained on"
    elif given:
        why = f"{whose}'s training options with those given"
    else:
        why = f"the options {whose} {'was' if len(candidates) == 1 else 'were'} trained with"
    return DataChoice(spec.name, options, f"data: {spec.describe(options)}, {why}", from_model=True)
