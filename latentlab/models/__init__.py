"""Generative models. Every model offers the :class:`~latentlab.models.base.Generator` interface.

Model families register here under the ``kind`` stored in their checkpoints.
"""

from __future__ import annotations

from importlib import import_module as _import_module

# Diffusion sampling defaults. They live here, free of torch, so that `latentlab sample --help`
# shows them without importing the model code; DDPMConfig and DDPM.sample take them from here.
DEFAULT_SAMPLER = "ddim"  # deterministic DDIM (eta 0), the sampler of decode()
DEFAULT_DECODE_STEPS = 50  # DDPMConfig.decode_steps: DDIM steps of sample() and decode()
DEFAULT_TIMESTEPS = 1000  # DDPMConfig.timesteps: the noise levels, all run by the "ddpm" sampler

# kind -> "module:Class"; each class provides ``from_checkpoint(checkpoint, device=None)``
MODEL_KINDS: dict[str, str] = {
    "vae": "latentlab.models.vae:VAE",
    "gan": "latentlab.models.gan:GAN",
    "classifier": "latentlab.models.classifier:AttributeClassifier",
    "ddpm": "latentlab.models.ddpm:DDPM",
    "cyclegan": "latentlab.models.cyclegan:CycleGAN",
    "progan": "latentlab.models.progan:ProGAN",
    "aae": "latentlab.models.aae:AAE",
    "clip": "latentlab.models.clip:CLIP",
    "prior": "latentlab.models.prior:DiffusionPrior",
}


def available_kinds() -> list[str]:
    return sorted(MODEL_KINDS)


def model_class(kind: str):
    if kind not in MODEL_KINDS:
        known = ", ".join(available_kinds()) or "none yet"
        raise ValueError(f"unknown model kind {kind!r}; this latentlab knows: {known}")
    module, _, name = MODEL_KINDS[kind].partition(":")
    return getattr(_import_module(module), name)


def model_from_checkpoint(checkpoint, device=None):
    """Rebuild the model stored in a :class:`~latentlab.checkpoint.Checkpoint`."""
    return model_class(checkpoint.kind).from_checkpoint(checkpoint, device=device)
