"""A frozen copy of a trained CLIP inside another model: what the text- and image-conditioned
DDPM and the unCLIP prior (:mod:`latentlab.models.prior`) share.

Such a model names a CLIP checkpoint in its config (``clip_model``, a path read once,
when the model is built) and stores that CLIP's config in ``clip_config`` and its weights
in its own state dict (``clip.*``), so its checkpoint stands alone. The copy is frozen
and stays in eval mode: training the model never changes how captions or images are read.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from latentlab._config import validate_section
from latentlab.checkpoint import load_checkpoint
from latentlab.data.captions import CAPTION_KINDS, CaptionSource
from latentlab.errors import InputWarning
from latentlab.models.clip import CLIP, ClipConfig

__all__ = ["FrozenClipUser", "read_clip_model"]


def read_clip_model(path: str, needed_by: str) -> tuple[dict, dict]:
    """The config and weights (EMA when saved) of the CLIP checkpoint at ``path``.

    ``needed_by`` names what asks for it in the error for an empty path (e.g.
    ``"model.condition = 'text'"``).
    """
    hint = "train one with: latentlab train faces-clip-tiny --out clip.pt"
    if not path:
        raise ValueError(f"{needed_by} needs model.clip_model, the path of a CLIP checkpoint; {hint}")
    if not Path(path).is_file():
        raise ValueError(f"model.clip_model = {path!r}: no such file; {hint}, or --set model.clip_model=PATH")
    checkpoint = load_checkpoint(path)
    if checkpoint.kind != "clip":
        raise ValueError(f"model.clip_model = {path!r} holds a model of kind {checkpoint.kind!r}; "
                         "it must be a CLIP image-text model (kind 'clip')")
    weights = checkpoint.weights.get("ema")
    return dict(checkpoint.config["model"]), weights if weights is not None else checkpoint.weights["model"]


class FrozenClipUser:
    """Mixin for a :class:`~latentlab.models.trainable.TrainableModel` whose config has
    ``clip_model`` and ``clip_config`` and which holds a frozen CLIP at ``self.clip``."""

    # ``self.clip`` (a CLIP, or None) is set by the model's __init__: a class attribute here would
    # hide the submodule, which nn.Module keeps outside the instance __dict__
    #: Where training captions come from; set by :meth:`build_with_clip` (not saved: a resumed
    #: run builds the model again from its data).
    caption_source: CaptionSource | None = None

    @staticmethod
    def frozen_clip(clip_config: dict) -> CLIP:
        """A CLIP from its stored config, frozen and in eval mode (its weights come with the model's)."""
        clip = CLIP(validate_section(ClipConfig, dict(clip_config), "model.clip_config"))
        return clip.requires_grad_(False).eval()

    @classmethod
    def build_with_clip(cls, config, dataset, needed_by: str, *, captions: bool, images: bool):
        """The model for ``dataset`` with the CLIP named by ``config.clip_model`` copied in.

        ``captions``: the model trains on the data's captions (checked against those the CLIP
        read; unknown words warn). ``images``: it reads the data's images with the CLIP, whose
        image shape must then be the data's.
        """
        weights = None
        if not config.clip_config:
            clip_config, weights = read_clip_model(config.clip_model, needed_by)
            config = dataclasses.replace(config, clip_config=clip_config)
        clip_shape = list(config.clip_config.get("sample_shape", []))
        if images and clip_shape != list(dataset.sample_shape):
            raise ValueError(f"the CLIP {config.clip_model} reads images of shape {tuple(clip_shape)} and {dataset.name} "
                             f"has images of shape {tuple(dataset.sample_shape)}: train a CLIP on this data first")
        source = CaptionSource.from_dataset(dataset) if captions else None
        read = config.clip_config.get("captions")
        if source is not None and read in CAPTION_KINDS and source.kind in CAPTION_KINDS and read != source.kind:
            raise ValueError(f"the text encoder {config.clip_model} was trained on {read} captions and {dataset.name} "
                             f"has {source.kind} captions: train a CLIP on this data first")
        model = super().build(config, dataset)
        if weights is not None:
            model.clip.load_state_dict(weights)
        model.caption_source = source
        if source is not None:
            unknown = model.clip.tokenizer.unknown_words(" ".join(source.vocabulary_texts(dataset, 4)))
            if unknown:
                warnings.warn(f"the text encoder reads {len(unknown)} word(s) of {dataset.name}'s captions as unknown "
                              f"(e.g. {', '.join(unknown[:8])}): it was trained on other captions", InputWarning,
                              stacklevel=3)
        return model

    def train(self, mode: bool = True):
        super().train(mode)
        if self.clip is not None:
            self.clip.eval()
        return self

    def prompt_features(self, prompts: str | Sequence[str], n: int | None = None):
        """Token ids ``(n, L)``, unit text embeddings ``(n, embed_dim)`` and per-token features
        ``(n, L, width)`` of ``prompts`` (one for all ``n``, or ``n``), on the model's device,
        without gradients.

        Raises ``ValueError`` for an empty prompt, one none of whose words the CLIP knows, or a
        count other than 1 or ``n``; some unknown words warn
        (:class:`~latentlab.data.tokenizer.UnknownWordsWarning`).
        """
        prompts = self.clip.tokenizer.check_prompts(prompts)
        n = len(prompts) if n is None else n
        if len(prompts) == 1:
            prompts = prompts * n
        if len(prompts) != n:
            raise ValueError(f"give one prompt or one per sample ({n}), not {len(prompts)}")
        ids = self.clip.tokenize(prompts).to(self.device)
        with torch.no_grad():
            pooled, tokens = self.clip.text_features(ids)
        return ids, pooled, tokens

    def image_features(self, x: torch.Tensor) -> torch.Tensor:
        """Unit CLIP image embeddings ``(N, embed_dim)`` of images ``x`` on the model's device, kept
        there (a training step's: no round trip through the CPU), without gradients."""
        with torch.no_grad():
            return self.clip.image_embedding(x.to(self.device, torch.float32))

    def training_caption_features(self, y: torch.Tensor, step):
        """:meth:`prompt_features` of the captions drawn for a training batch (label rows ``y``,
        ``step.indices``, drawn with ``step.generator``)."""
        if self.caption_source is None:
            name = type(self).__name__
            raise ValueError(f"this {name} trains on its data's captions: make it with {name}.build(config, dataset)")
        ids = self.clip.tokenize(self.caption_source.draw_for_step(step.indices, y, step.generator),
                                 warn=False).to(y.device)
        with torch.no_grad():
            pooled, tokens = self.clip.text_features(ids)
        return ids, pooled, tokens
