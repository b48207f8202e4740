"""Loading a trained model: :func:`load` (``latentlab.load``) reads a latentlab checkpoint
or a diffusers model folder (:mod:`latentlab.adapters.diffusers`)."""

from __future__ import annotations

import os
import re
from typing import Literal

import torch

from latentlab.adapters.diffusers import is_diffusers_folder, load_diffusers
from latentlab.checkpoint import check_finite_state, load_checkpoint
from latentlab.models import model_class, model_from_checkpoint
from latentlab.models.base import Generator, Translator

__all__ = ["load", "role_of", "ROLES"]

ROLES = {"generator": "a generative model (a VAE, GAN or DDPM checkpoint, or a diffusers model folder)",
         "classifier": "an attribute classifier (train one with `latentlab classifier train`)",
         "translator": "an image-to-image translator (a CycleGAN checkpoint)"}
_KIND_NAMES = {"vae": "a VAE", "gan": "a GAN", "ddpm": "a DDPM", "classifier": "an attribute classifier",
               "cyclegan": "a CycleGAN", "aae": "an adversarial autoencoder", "progan": "a progressive GAN",
               "clip": "a CLIP image-text model", "prior": "an unCLIP prior (captions to CLIP image embeddings)"}


def role_of(model_or_class) -> str | None:
    """``"generator"``, ``"translator"``, ``"classifier"`` or ``None``: what a model (or model class) can be used as."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    if issubclass(cls, Generator):
        return "generator"
    if issubclass(cls, Translator):
        return "translator"
    if callable(getattr(cls, "predict_proba", None)):
        return "classifier"
    return None


def load(path: str | os.PathLike, device: str | torch.device | None = None,
         expect: Literal["generator", "classifier", "translator"] | None = None):
    """Load a trained model from a checkpoint.

    The model family is read from the file; the EMA weights are used when present.

    Parameters
    ----------
    path : str or Path
        A latentlab checkpoint (``.pt``), or a diffusers model folder (read as a
        :class:`~latentlab.adapters.diffusers.DiffusersDDPM`; needs the diffusers extra).
    device : str or torch.device, optional
    expect : {"generator", "classifier", "translator"}, optional
        What the caller needs: a Generator (VAE, GAN, DDPM), an attribute classifier or a
        Translator (CycleGAN).
        A file holding the other kind raises ``ValueError`` saying what it holds.

    Returns
    -------
    Generator, AttributeClassifier, Translator or CLIP
        A CLIP model (an image-text embedding) is none of the three roles: it loads with
        ``expect=None`` only.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not a latentlab checkpoint, is damaged (entries of the wrong type, no
        model section in its config, weights that do not fit the model its config
        describes), or holds a model of another kind than ``expect``.
    """
    if expect is not None and expect not in ROLES:
        raise ValueError(f"expect must be one of {', '.join(map(repr, ROLES))} or None, not {expect!r}")
    if os.path.isdir(path):
        if not is_diffusers_folder(path):
            raise ValueError(f"{path} is a folder, not a model: give a latentlab checkpoint (.pt) or a diffusers "
                             "model folder (model_index.json, or config.json and scheduler_config.json)")
        if expect == "classifier":
            raise ValueError(f"{path} holds a diffusers diffusion model; this needs {ROLES[expect]}")
        return load_diffusers(path, device=device)
    checkpoint = load_checkpoint(path)
    cls = model_class(checkpoint.kind)
    if expect is not None and role_of(cls) != expect:
        held = _KIND_NAMES.get(checkpoint.kind, f"a model of kind {checkpoint.kind!r}")
        raise ValueError(f"{path} holds {held}; this needs {ROLES[expect]}")
    if not isinstance(checkpoint.config.get("model"), dict):
        raise ValueError(f"{path} is a damaged latentlab checkpoint: its config has no [model] section")
    try:
        model = model_from_checkpoint(checkpoint, device=device)
    except RuntimeError as exc:  # load_state_dict: missing, unexpected or mis-shaped weights
        if "state_dict" not in str(exc):
            raise
        details = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        first = re.sub(r"torch\.Size\(\[([^\]]*)\]\)", r"(\1)", details[0] if details else str(exc)).rstrip(".")
        raise ValueError(f"{path}: its weights do not fit the model its config describes ({first}); "
                         "the file was changed after it was saved, or is damaged") from None
    check_finite_state(model.state_dict(), f"{path}: the model's weights",
                       "the training run diverged before it was saved; use an earlier checkpoint or train again")
    return model
