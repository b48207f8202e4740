"""Run configurations: TOML files validated field by field.

A run config has three sections::

    [model]   kind = "vae" | "gan" | ... plus that model's fields (see its Config class)
    [data]    name = "faces" (or a path) plus [data.options] passed to latentlab.data.load
    [train]   steps, batch_size, lr, ... (:class:`TrainConfig`)

Every field is checked for its type, its allowed values and its range; a mistake is
reported with the section, the field and what is allowed. ``overrides`` such as
``["train.steps=2000", "model.latent_dim=64"]`` replace fields after the file is read.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentlab._config import field_range as _range
from latentlab._config import validate_section
from latentlab.data import split_options
from latentlab.models import available_kinds, model_class

__all__ = ["TrainConfig", "DataConfig", "RunConfig", "load_config", "validate_section", "parse_override"]


@dataclass
class TrainConfig:
    """How to train (shared by every model family)."""

    steps: int = field(default=2000, metadata=_range(1))
    batch_size: int = field(default=64, metadata=_range(1))  # global batch, split over processes
    lr: float = field(default=2e-4, metadata=_range(0, lo_open=True))
    betas: list = field(default_factory=lambda: [0.5, 0.999])
    weight_decay: float = field(default=0.0, metadata=_range(0))
    # the share of the steps after which every learning rate falls linearly towards 0 at the
    # last step (CycleGAN: 0.5, constant for the first half); 1 keeps the rates constant
    lr_decay_start: float = field(default=1.0, metadata=_range(0, 1))
    ema_decay: float = field(default=0.999, metadata=_range(0, 1))  # 0 disables EMA
    seed: int = 0
    amp: bool = True  # bf16 autocast; only takes effect on CUDA
    grad_clip: float = field(default=0.0, metadata=_range(0))  # 0 = off
    log_every: int = field(default=50, metadata=_range(1))
    sample_every: int = field(default=0, metadata=_range(0))  # 0 = only at the end
    checkpoint_every: int = field(default=500, metadata=_range(0))  # 0 = only at the end
    num_workers: int = field(default=0, metadata=_range(0))
    # torch CPU threads while training (0: torch's default, one per core). Models of many
    # small ops (the tiny ProGAN and CycleGAN) run several times faster on one thread when
    # other work shares the cores, where two threads keep handing work over.
    threads: int = field(default=0, metadata=_range(0))


@dataclass
class DataConfig:
    """Which data to train on: a built-in name or a path, and loader options."""

    name: str = "faces"
    options: dict = field(default_factory=dict)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.steps=2000"`` -> ``(["train", "steps"], 2000)``; values are TOML literals.

    A value that is not valid TOML (``model.loss=hinge``) is taken as a string.
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or "." not in key:
        raise ValueError(f"override {text!r} must look like SECTION.FIELD=VALUE, e.g. train.steps=2000")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


@dataclass
class RunConfig:
    """A validated run configuration: ``model`` (a model family's Config), ``data``, ``train``."""

    model: Any
    data: DataConfig
    train: TrainConfig
    source: str = ""

    def to_dict(self) -> dict:
        return {
            "model": dataclasses.asdict(self.model),
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
        }

    @classmethod
    def from_dict(cls, raw: dict, source: str = "") -> "RunConfig":

        unknown = [k for k in raw if k not in ("model", "data", "train")]
        if unknown:
            raise ValueError(f"unknown section [{unknown[0]}] in {source or 'config'}; sections: model, data, train")
        model_raw = dict(raw.get("model", {}))
        kind = model_raw.get("kind")
        if kind is None:
            raise ValueError(f"[model] needs a kind; one of: {', '.join(available_kinds())}")
        config_cls = model_class(kind).Config
        return cls(
            model=validate_section(config_cls, model_raw, "model"),
            data=validate_section(DataConfig, dict(raw.get("data", {})), "data"),
            train=validate_section(TrainConfig, dict(raw.get("train", {})), "train"),
            source=source,
        )


def bundled_config_dir() -> Path:
    """The folder of configs shipped with latentlab (``pretrained_configs/``)."""
    from importlib import resources

    return Path(str(resources.files("latentlab.pretrained_configs")))


def _resolve_config_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.exists():
        return p
    bundled = bundled_config_dir()
    for candidate in (bundled / p.name, bundled / f"{p.name}.toml"):
        if candidate.exists():
            return candidate
    names = sorted(q.stem for q in bundled.glob("*.toml"))
    raise FileNotFoundError(f"no config file {p}; bundled configs: {', '.join(names)}")


def load_config(config, overrides=(), log=None) -> RunConfig:
    """Read and validate a run config.

    ``config`` is a path to a TOML file, the name of a bundled config (``"faces-vae"``,
    see ``pretrained_configs/``), a dict, or a :class:`RunConfig`. ``overrides`` are
    ``SECTION.FIELD=VALUE`` strings applied before validation. An override of
    ``data.name`` (other data, e.g. a folder of the user's images) drops the config's
    ``[data.options]`` that the new data's loader does not take (``nuisance`` of ``faces``
    for a folder), keeps the others (``size``), and tells ``log`` (a callable taking one
    line) which were dropped; options given as overrides are never dropped.
    """
    if isinstance(config, RunConfig):
        raw, source = config.to_dict(), config.source
    elif isinstance(config, dict):
        raw, source = config, "dict"
    else:
        path = _resolve_config_path(config)
        try:
            raw = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from None
        source = str(path)
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    parsed = [(text, *parse_override(text)) for text in overrides]
    for text, keys, value in parsed:
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {text!r}: {k} is not a section")
        node[keys[-1]] = value
    if any(keys == ["data", "name"] for _, keys, _ in parsed):
        _drop_inapplicable_data_options(raw, {keys[-1] for _, keys, _ in parsed if keys[:2] == ["data", "options"]}, log)
    return RunConfig.from_dict(raw, source=source)


def _drop_inapplicable_data_options(raw: dict, given: set, log) -> None:

    data = raw.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("options"), dict):
        return
    kept, dropped = split_options(data.get("name", ""), {k: v for k, v in data["options"].items() if k not in given})
    if dropped:
        data["options"] = {**kept, **{k: v for k, v in data["options"].items() if k in given}}
        if log is not None:
            log(f"data {data['name']} does not take the config's {', '.join(f'{k}={v!r}' for k, v in dropped.items())}; "
                f"dropped (kept: {', '.join(f'{k}={v!r}' for k, v in data['options'].items()) or 'none'})")
