"""diffusers models as latentlab Generators (``pip install "latentlab[diffusers]"``).

A diffusers model folder loads as a :class:`DiffusersDDPM`. Two layouts are read:

* a ``UNet2DModel`` saved with ``save_pretrained`` (``config.json`` and
  ``diffusion_pytorch_model.safetensors``) with its scheduler's ``scheduler_config.json``
  beside it, or in a ``scheduler/`` subfolder;
* a pipeline folder (``model_index.json``, ``unet/``, ``scheduler/``), e.g. a
  ``DDPMPipeline`` or ``DDIMPipeline`` saved with ``save_pretrained``.

``decode`` is deterministic DDIM run by latentlab's own
:class:`~latentlab.models.samplers.DDIMScheduler` over the folder's noise schedule, read
the way diffusers' ``DDIMPipeline`` reads it: the betas (``beta_schedule`` or
``trained_betas``, ``rescale_betas_zero_snr``), ``prediction_type``, ``timestep_spacing``
and ``steps_offset``, ``set_alpha_to_one`` (the level of the last step) and ``clip_sample``
(x̂0 clipped, the network's ε̂ kept). So on the same noise and number of steps it gives
``DDIMPipeline``'s images to float32 rounding. ``encode`` is DDIM inversion (no clipping),
and the latent is the starting noise ``(C, H, W)``, drawn from N(0, I).

Weights are read from safetensors only: a folder whose weights need unpickling
(``.bin``) is refused, and no code from the folder runs.

:func:`export_diffusers` goes the other way: a latentlab DDPM becomes a ``DDPMPipeline``
folder whose UNet is :class:`LatentlabUNet` (latentlab's network as a diffusers model, so
loading the folder needs latentlab installed) and whose scheduler holds the model's own
noise levels (``trained_betas``), so ``DDPMPipeline.from_pretrained`` and
``DDIMPipeline.from_pretrained`` sample from it, and ``latentlab.load`` reads it back.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from torch import nn

from latentlab._config import validate_section
from latentlab._device import resolve_device
from latentlab._io import check_can_write
from latentlab._validation import check_int
from latentlab.checkpoint import load_checkpoint
from latentlab.errors import MissingExtra
from latentlab.models import model_from_checkpoint
from latentlab.models.base import Generator
from latentlab.models.ddpm import DDPM, DDPMConfig
from latentlab.models.samplers import DDIMScheduler, ddim_invert, sample_loop

# LatentlabUNet is made on first access (it needs diffusers), so it is not among the star-imports
__all__ = ["DiffusersDDPM", "load_diffusers", "is_diffusers_folder", "diffusers_timesteps", "export_diffusers"]

WEIGHTS = "diffusion_pytorch_model.safetensors"
PICKLED_WEIGHTS = ("diffusion_pytorch_model.bin", "diffusion_pytorch_model.ckpt", "pytorch_model.bin")
SCHEDULER_CONFIG = "scheduler_config.json"
SPACINGS = ("leading", "trailing", "linspace")
_PREDICTIONS = {"epsilon": "eps", "v_prediction": "v", "sample": "x0"}
INSTALL = 'pip install "latentlab[diffusers]"'


def _diffusers():
    try:
        import diffusers
    except ImportError:
        raise MissingExtra(f"reading a diffusers model needs the diffusers extra: {INSTALL}") from None
    return diffusers


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable JSON file ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return value


def is_diffusers_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder in one of the layouts this module reads."""
    path = Path(path)
    if not path.is_dir():
        return False
    return (path / "model_index.json").is_file() or (path / "config.json").is_file()


def _parts(path: Path) -> tuple[Path, Path]:
    """The UNet's folder and the scheduler config's path, or a ValueError naming what is missing."""
    if (path / "model_index.json").is_file():
        index = _read_json(path / "model_index.json")
        for part in ("unet", "scheduler"):
            if part not in index or not (path / part).is_dir():
                raise ValueError(f"{path} is a diffusers pipeline folder without a {part}/ part; latentlab reads "
                                 "pipelines with a UNet2DModel in unet/ and a noise scheduler in scheduler/")
        unet_dir, scheduler = path / "unet", path / "scheduler" / SCHEDULER_CONFIG
    elif (path / "config.json").is_file():
        unet_dir = path
        scheduler = next((p for p in (path / SCHEDULER_CONFIG, path / "scheduler" / SCHEDULER_CONFIG) if p.is_file()),
                         path / SCHEDULER_CONFIG)
    else:
        raise ValueError(f"{path} is a folder but not a diffusers model: it has neither model_index.json (a pipeline) "
                         "nor config.json (a UNet2DModel saved with save_pretrained)")
    config = _read_json(unet_dir / "config.json")
    if config.get("_class_name") not in ("UNet2DModel", "LatentlabUNet"):
        raise ValueError(f"{unet_dir / 'config.json'} describes a {config.get('_class_name', 'model of unknown class')}; "
                         "latentlab reads unconditional image diffusion models (UNet2DModel)")
    if not (unet_dir / WEIGHTS).is_file():
        pickled = [name for name in PICKLED_WEIGHTS if (unet_dir / name).is_file()]
        if pickled:
            raise ValueError(f"{unet_dir} holds its weights as {pickled[0]}, which loading would unpickle; latentlab "
                             f"reads safetensors only: save the model again with save_pretrained(..., "
                             "safe_serialization=True)")
        raise ValueError(f"{unet_dir} has no weights file ({WEIGHTS})")
    if not scheduler.is_file():
        raise ValueError(f"{path} has no noise scheduler config ({SCHEDULER_CONFIG} beside config.json or in "
                         "scheduler/): the model's noise levels are unknown without it")
    return unet_dir, scheduler


def diffusers_timesteps(spacing: str, num_train_timesteps: int, steps: int, steps_offset: int = 0):
    """The timesteps diffusers' DDIM visits and the level each step goes to.

    Returns ``(timesteps, previous)``, int64 arrays of length ``steps``: descending indices
    into the ``num_train_timesteps`` levels, and for each the index it steps to,
    ``t - num_train_timesteps // steps`` (negative: the final level). ``spacing`` is
    ``"leading"`` (multiples of T // steps, plus ``steps_offset``), ``"trailing"`` (from
    T - 1 down, spaced T / steps) or ``"linspace"`` (0 to T - 1, rounded) — Lin et al.
    2024, table 2.
    """
    T = check_int(num_train_timesteps, "num_train_timesteps", min=2)
    steps = check_int(steps, "steps", min=1, max=T)
    if spacing == "leading":
        timesteps = np.arange(steps, dtype=np.int64)[::-1] * (T // steps) + int(steps_offset)
    elif spacing == "trailing":
        timesteps = np.round(np.arange(T, 0, -T / steps)).astype(np.int64) - 1
    elif spacing == "linspace":
        timesteps = np.linspace(0, T - 1, steps).round()[::-1].astype(np.int64)
    else:
        raise ValueError(f"unknown timestep_spacing {spacing!r}; latentlab reads {', '.join(map(repr, SPACINGS))}")
    return timesteps.copy(), timesteps - T // steps


class DiffusersDDPM(nn.Module, Generator):
    """A diffusers ``UNet2DModel`` and its noise schedule, seen as a Generator.

    Build it with :func:`load_diffusers` (or ``latentlab.load(folder)``).

    Parameters
    ----------
    unet : diffusers.UNet2DModel
    alphas_cumprod : Tensor ``(T,)``
        ᾱ_t of the folder's schedule, index 0 the least noisy.
    prediction : {"eps", "v", "x0"}
    final_alpha_cumprod : float
        ᾱ of the level the last step lands on (1: a clean image).
    clip_sample : bool
        Clip x̂0 to [-1, 1] at each sampling step (keeping the network's ε̂).
    spacing, steps_offset :
        The folder's ``timestep_spacing`` and ``steps_offset``.
    decode_steps : int
        DDIM steps of :meth:`decode` and :meth:`encode` by default (50, as ``DDIMPipeline``).
    source : str
        Where it was read from, for messages.
    """

    def __init__(self, unet, alphas_cumprod, prediction: str, final_alpha_cumprod: float = 1.0,
                 clip_sample: bool = False, spacing: str = "leading", steps_offset: int = 0, decode_steps: int = 50,
                 source: str = ""):
        super().__init__()
        self.unet = unet
        ab = torch.as_tensor(alphas_cumprod, dtype=torch.float64)
        self.register_buffer("log_snr", torch.log(ab) - torch.log1p(-ab), persistent=False)
        self.final_log_snr = float(np.log(final_alpha_cumprod) - np.log1p(-final_alpha_cumprod)) \
            if final_alpha_cumprod < 1 else float("inf")
        self.prediction, self.clip_sample = prediction, clip_sample
        self.spacing, self.steps_offset, self.decode_steps = spacing, int(steps_offset), int(decode_steps)
        self.source = source
        cfg = unet.config
        size = cfg.sample_size if isinstance(cfg.sample_size, (list, tuple)) else (cfg.sample_size, cfg.sample_size)
        self.latent_shape = (int(cfg.in_channels), *map(int, size))
        self.eval()

    @property
    def num_train_timesteps(self) -> int:
        return len(self.log_snr)

    def scheduler(self, steps: int | None = None, clip: bool | None = None) -> DDIMScheduler:
        """latentlab's DDIM over this schedule, its timesteps set as diffusers sets them."""
        sch = DDIMScheduler(self.log_snr, self.prediction, clip_sample=self.clip_sample if clip is None else clip,
                            final_log_snr=self.final_log_snr, clip_rederives_eps=False)
        timesteps, previous = diffusers_timesteps(self.spacing, self.num_train_timesteps,
                                                  self.decode_steps if steps is None else steps, self.steps_offset)
        sch.set_timesteps(timesteps=timesteps, previous=previous)
        return sch

    def denoise(self, x: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """The UNet's output at the timestep whose level is ``log_snr`` (one level for the batch)."""
        t = int(torch.argmin((self.log_snr - float(log_snr.reshape(-1)[0])).abs()))
        out = self.unet(x.to(self.unet.dtype), torch.tensor(t, device=x.device)).sample
        return out.to(x.dtype)

    def _batches(self, x: torch.Tensor, batch_size: int, run) -> torch.Tensor:
        check_int(batch_size, "batch_size", min=1)
        outs = [run(x[i : i + batch_size].to(self.device, torch.float32)).to(x.device)
                for i in range(0, len(x), batch_size)]
        return torch.cat(outs) if outs else torch.empty(0, *self.latent_shape)

    def decode_with_grad(self, z: torch.Tensor, steps: int | None = None, *, batch_size: int = 64,
                         progress: bool = False) -> torch.Tensor:
        """:meth:`decode`, differentiable through every step."""
        sch = self.scheduler(steps)
        return self._batches(self.check_latents(z), batch_size,
                             lambda b: sample_loop(self.denoise, sch, b, None, progress).clamp(-1, 1))

    def decode(self, z: torch.Tensor, steps: int | None = None, *, batch_size: int = 64,
               progress: bool = False) -> torch.Tensor:
        """Deterministic DDIM from the noise ``z`` ``(N, C, H, W)``: images ``(N, C, H, W)`` in [-1, 1].

        ``steps`` defaults to ``decode_steps``; ``progress`` shows a bar over the steps of each batch.
        """
        with torch.no_grad():
            return self.decode_with_grad(z, steps, batch_size=batch_size, progress=progress)

    def sample(self, n: int, generator: torch.Generator | None = None, steps: int | None = None, *,
               batch_size: int = 64, progress: bool = False) -> torch.Tensor:
        """``n`` images ``(n, C, H, W)`` in [-1, 1]: :meth:`decode` of noise drawn with ``generator``."""
        return self.decode(self.sample_latents(n, generator), steps, batch_size=batch_size, progress=progress)

    def encode(self, x: torch.Tensor, steps: int | None = None, *, fixed_point_iters: int = 0, batch_size: int = 64,
               progress: bool = False) -> torch.Tensor:
        """DDIM inversion: the noise ``(N, C, H, W)`` from which :meth:`decode` regenerates images ``x`` in [-1, 1].

        Run without x̂0 clipping, which would make the map from noise to image non-invertible.
        """
        x = torch.as_tensor(x)
        if tuple(x.shape[1:]) != self.latent_shape:
            raise ValueError(f"images have shape {tuple(x.shape)}; {self.source or 'this model'} takes "
                             f"(N, {', '.join(map(str, self.latent_shape))})")
        sch = self.scheduler(steps, clip=False)
        with torch.no_grad():
            return self._batches(x, batch_size, lambda b: ddim_invert(self.denoise, sch, b, fixed_point_iters, progress))


def load_diffusers(path: str | os.PathLike, device=None, decode_steps: int = 50) -> DiffusersDDPM:
    """Read a diffusers model folder (see the module docstring) as a :class:`DiffusersDDPM`.

    Raises ``ValueError`` naming what is wrong (not a diffusers folder, no scheduler config,
    pickled weights, a schedule option latentlab does not follow) and
    :class:`~latentlab.errors.MissingExtra` when diffusers is not installed.
    """
    path = Path(path)
    unet_dir, scheduler_path = _parts(path)
    diffusers = _diffusers()
    config = _read_json(scheduler_path)
    for option, plain in (("thresholding", False), ("clip_sample_range", 1.0), ("sample_max_value", 1.0)):
        if option in config and config[option] != plain and (option != "sample_max_value" or config.get("thresholding")):
            raise ValueError(f"{scheduler_path}: {option} = {config[option]!r} is not supported; latentlab's DDIM "
                             f"follows schedules with {option} = {plain!r}")
    if config.get("prediction_type", "epsilon") not in _PREDICTIONS:
        raise ValueError(f"{scheduler_path}: prediction_type {config['prediction_type']!r} is not one of "
                         f"{', '.join(map(repr, _PREDICTIONS))}")
    if config.get("timestep_spacing", "leading") not in SPACINGS:
        raise ValueError(f"{scheduler_path}: timestep_spacing {config['timestep_spacing']!r} is not one of "
                         f"{', '.join(map(repr, SPACINGS))}")
    try:  # the levels exactly as DDIMPipeline computes them from this config
        ddim = diffusers.DDIMScheduler.from_config(config)
    except (NotImplementedError, ValueError, TypeError) as exc:
        raise ValueError(f"{scheduler_path}: diffusers cannot build a DDIM schedule from it ({exc})") from None
    network = _latentlab_unet_class() if _read_json(unet_dir / "config.json")["_class_name"] == "LatentlabUNet" \
        else diffusers.UNet2DModel
    unet = network.from_pretrained(unet_dir, use_safetensors=True, low_cpu_mem_usage=False)
    model = DiffusersDDPM(unet, ddim.alphas_cumprod, _PREDICTIONS[ddim.config.prediction_type],
                          final_alpha_cumprod=float(ddim.final_alpha_cumprod), clip_sample=bool(ddim.config.clip_sample),
                          spacing=ddim.config.timestep_spacing, steps_offset=ddim.config.steps_offset,
                          decode_steps=min(decode_steps, ddim.config.num_train_timesteps), source=str(path))
    if device is not None:
        model.to(resolve_device(device))
    return model


# -- export ------------------------------------------------------------------------------
_UNET_CLASS = None
_PREDICTION_TYPES = {ours: theirs for theirs, ours in _PREDICTIONS.items()}


def _latentlab_unet_class():
    """:class:`LatentlabUNet`, made on first use so that importing this module needs no diffusers."""
    global _UNET_CLASS
    if _UNET_CLASS is not None:
        return _UNET_CLASS
    _diffusers()
    from diffusers.configuration_utils import ConfigMixin, register_to_config
    from diffusers.models.modeling_utils import ModelMixin
    from diffusers.models.unets.unet_2d import UNet2DOutput

    class LatentlabUNet(ModelMixin, ConfigMixin):
        """A latentlab DDPM's network as a diffusers model: ``forward(sample, timestep)``
        evaluates it at the timestep's noise level, as a ``UNet2DModel`` would."""

        @register_to_config
        def __init__(self, ddpm_config: dict, sample_size: int = 32, in_channels: int = 3):
            super().__init__()
            self.ddpm = DDPM(validate_section(DDPMConfig, dict(ddpm_config), "model"))

        def forward(self, sample: torch.Tensor, timestep, class_labels=None, return_dict: bool = True):
            t = torch.as_tensor(timestep, device=sample.device).long().reshape(-1).expand(sample.shape[0])
            out = self.ddpm.denoise(sample.float(), self.ddpm.log_snr[t], class_labels).to(sample.dtype)
            return UNet2DOutput(sample=out) if return_dict else (out,)

    LatentlabUNet.__module__ = __name__  # diffusers records where to import it from
    _UNET_CLASS = LatentlabUNet
    return LatentlabUNet


def __getattr__(name: str):
    if name == "LatentlabUNet":
        return _latentlab_unet_class()
    if name == "ModelMixin":  # diffusers finds how to load a component by the base classes its module offers
        _diffusers()
        from diffusers.models.modeling_utils import ModelMixin

        return ModelMixin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def export_diffusers(model, out: str | os.PathLike, force: bool = False) -> Path:
    """Write a latentlab DDPM as a diffusers ``DDPMPipeline`` folder ``out`` (safetensors).

    Parameters
    ----------
    model : DDPM or path of a DDPM checkpoint
    out : folder to write; an existing one only with ``force`` (it is replaced whole)

    The scheduler is a ``DDPMScheduler`` over the model's own levels (``trained_betas``
    from its ᾱ: βₜ = 1 − ᾱₜ/ᾱₜ₋₁), with its prediction type, x̂0 clipping for ancestral
    sampling, and "trailing" timestep spacing (latentlab's). Class-conditional DDPMs are
    not exported (diffusers' unconditional pipelines would ignore the classes).
    """
    diffusers = _diffusers()
    out = Path(out)
    if isinstance(model, (str, os.PathLike)):
        if out.exists() and out.resolve() in Path(model).resolve().parents:
            raise ValueError(f"{out} holds {model}, the model to export: choose another folder")
        checkpoint = load_checkpoint(model)
        if checkpoint.kind != "ddpm":
            raise ValueError(f"{model} holds a model of kind {checkpoint.kind!r}; only DDPMs export to diffusers")
        model = model_from_checkpoint(checkpoint)
    if not isinstance(model, DDPM):
        raise ValueError(f"only latentlab DDPMs export to diffusers, not a {type(model).__name__}")
    if model.conditional:
        raise ValueError("class-conditional DDPMs do not export to diffusers' unconditional pipelines")
    check_can_write(out, overwrite=force, keyword="force", folder=True)
    channels, size = model.latent_shape[0], model.latent_shape[1]
    unet = _latentlab_unet_class()(ddpm_config=json.loads(json.dumps(dataclasses.asdict(model.config))),
                                   sample_size=size, in_channels=channels)
    unet.ddpm.load_state_dict(model.state_dict())
    ab = torch.sigmoid(model.log_snr.double().cpu())
    betas = 1 - ab / torch.cat([torch.ones(1, dtype=ab.dtype), ab[:-1]])
    scheduler = diffusers.DDPMScheduler(num_train_timesteps=len(ab), trained_betas=betas.tolist(),
                                        prediction_type=_PREDICTION_TYPES[model.config.prediction], clip_sample=True,
                                        timestep_spacing="trailing")
    staging = out.with_name(f".{out.name}.tmp")
    if staging.exists():
        shutil.rmtree(staging)
    diffusers.DDPMPipeline(unet=unet, scheduler=scheduler).save_pretrained(staging, safe_serialization=True)
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return out
