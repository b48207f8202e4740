"""Denoising diffusion probabilistic model (Ho et al. 2020) with DDIM sampling and inversion.

Training: an image ``x0`` in [-1, 1], a noise level drawn per sample (a timestep
t ~ U{0..T-1} of a discrete schedule, or u ~ U(0, 1) of a continuous one), noise
``eps ~ N(0, I)``, ``x_t = sqrt(ᾱ) x0 + sqrt(1 - ᾱ) eps``; the U-Net sees ``x_t`` and the
level and is fitted by mean squared error to ``eps`` (default), ``v`` or ``x0``
(:mod:`latentlab.models.schedules`); with ``min_snr_gamma > 0`` each level's error is
weighted by Min-SNR-γ (:func:`~latentlab.models.schedules.min_snr_weight`).

Latent space: the starting noise ``x_T`` of deterministic DDIM (η = 0) is the latent
code, of shape ``latent_shape = (C, H, W)``. ``decode(z)`` runs DDIM from ``z`` with
``decode_steps`` steps; ``encode(x)`` is DDIM inversion, which runs the same update
towards more noise. :meth:`DDPM.reconstruction_error` measures how well the two undo
each other for several step counts.

Class conditioning (optional): ``cond_attr`` names the dataset attribute used as the
class; labels are replaced by a "no label" token with probability ``label_dropout``
during training, so the same network also predicts unconditionally and sampling can
use classifier-free guidance (Ho & Salimans 2022):
``out = out_uncond + guidance_scale · (out_cond - out_uncond)``.

Text conditioning (optional, ``condition = "text"``; the decoder of DALL-E 2 and
GLIDE, on a small scale): a caption is read by the frozen text encoder of a trained
CLIP-style model (:class:`~latentlab.models.clip.CLIP`, named by ``clip_model`` and
copied into this model, so its checkpoint stands alone). Its unit text embedding is
added to the U-Net's time embedding and its per-token features are attended to by
cross-attention (:class:`~latentlab.models.unet.UNet`). During training each image gets
a caption from its attributes with a new wording each step, dropped with probability
``label_dropout``; sampling takes ``prompts`` and the same classifier-free guidance.
Without a prompt (``decode(z)``, ``encode(x)``, every analysis through the Generator
interface) the model is its own unconditional model.

Image-embedding conditioning (optional, ``condition = "image"``; the decoder of unCLIP,
DALL-E 2, Ramesh et al. 2022): the same frozen CLIP reads each training image, and its
unit image embedding takes the caption's place: it is added to the time embedding and a
learned linear map turns it into ``image_tokens`` extra tokens for the cross-attention.
It is dropped with probability ``label_dropout``, for classifier-free guidance. Sampling
takes ``image_embeddings`` (a CLIP's image embeddings, or the prior's from a caption:
:mod:`latentlab.models.prior`); :meth:`DDPM.variations` draws new images around given ones.

The network is told the noise level as its log-SNR (:mod:`latentlab.models.schedules`),
so it never depends on how the levels are indexed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from latentlab._validation import check_int
from latentlab.data.tokenizer import PAD
from latentlab.models import DEFAULT_DECODE_STEPS, DEFAULT_SAMPLER, DEFAULT_TIMESTEPS
from latentlab.models.frozen_clip import FrozenClipUser
from latentlab.models.samplers import DDIMScheduler, DDPMScheduler, ddim_invert, sample_loop
from latentlab.models.schedules import (
    add_noise, continuous_log_snr, is_continuous, log_snr_table, min_snr_weight, prediction_target,
)
from latentlab.models.trainable import NoiseDraws, TrainableGenerator, attribute_classes
from latentlab.models.unet import TextContext, UNet

__all__ = ["DDPM", "DDPMConfig", "SAMPLERS"]

SAMPLERS = ("ddim", "ddpm")

# The network's conditioning input is LEVEL_SCALE · log-SNR, clamped: a log-SNR range of
# about ±20 then spans about ±500, the same range of sinusoid phases as DDPM's integer
# timesteps 0..999.
LEVEL_SCALE = 25.0
LOG_SNR_CLAMP = 20.0


@dataclass
class DDPMConfig:
    kind: Literal["ddpm"] = "ddpm"
    sample_shape: list = field(default_factory=list)  # filled from the data
    # the U-Net
    base_channels: int = field(default=64, metadata={"min": 1})
    channel_mults: list = field(default_factory=lambda: [1, 2, 2])
    num_res_blocks: int = field(default=2, metadata={"min": 1})
    attention_resolutions: list = field(default_factory=list)  # feature-map sides, e.g. [16]
    attention_heads: int = field(default=1, metadata={"min": 1})
    dropout: float = field(default=0.0, metadata={"min": 0, "max": 0.99})
    norm_groups: int = field(default=32, metadata={"min": 1})
    # the diffusion process
    schedule: Literal["linear", "cosine", "cosine-continuous", "logsnr-linear"] = "linear"
    timesteps: int = field(default=DEFAULT_TIMESTEPS, metadata={"min": 2})
    prediction: Literal["eps", "v", "x0"] = "eps"
    # Min-SNR-γ loss weighting (Hang et al. 2023; γ = 5 in their paper): each level's error
    # counts as min(SNR, γ) |x̂0 - x0|², so nearly clean levels stop dominating the loss
    # and training converges faster; 0 = the plain mean squared error of the target
    min_snr_gamma: float = field(default=0.0, metadata={"min": 0})
    # the latent space: deterministic DDIM from x_T
    decode_steps: int = field(default=DEFAULT_DECODE_STEPS, metadata={"min": 1})
    clip_denoised: bool = False  # clip x̂0 to [-1, 1] inside DDIM decoding
    # class conditioning with classifier-free guidance
    cond_attr: str = ""  # dataset attribute holding the class; "" = unconditional
    num_classes: int = field(default=0, metadata={"min": 0})  # 0 with cond_attr = from the data
    cond_column: int = field(default=-1, metadata={"min": -1})  # filled from the data
    label_dropout: float = field(default=0.1, metadata={"min": 0, "max": 1})  # of the label or the caption
    guidance_scale: float = field(default=1.0, metadata={"min": 0})
    # text conditioning: condition = "text" reads captions with the frozen text encoder of
    # the CLIP checkpoint `clip_model` (a path, read once when the model is built);
    # condition = "image" reads the CLIP image embedding instead (the unCLIP decoder)
    condition: Literal["", "text", "image"] = ""  # "": class labels when cond_attr is set, else none
    clip_model: str = ""
    cross_attention_resolutions: list = field(default_factory=list)  # sides; the middle block always has one
    clip_config: dict = field(default_factory=dict)  # the text encoder's CLIP config (filled when built)
    image_tokens: int = field(default=4, metadata={"min": 1})  # condition = "image": context tokens made from the embedding

    def validate(self):
        for name in ("channel_mults", "attention_resolutions", "cross_attention_resolutions"):
            values = getattr(self, name)
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
                raise ValueError(f"model.{name} must be a list of positive integers, not {values}")
        if not self.channel_mults:
            raise ValueError("model.channel_mults must list at least one level, e.g. [1, 2, 2]")
        if self.decode_steps > self.timesteps:
            raise ValueError(f"model.decode_steps = {self.decode_steps} cannot exceed model.timesteps = {self.timesteps}")
        if self.num_classes > 0 and not self.cond_attr:
            raise ValueError("model.num_classes > 0 needs model.cond_attr, the dataset attribute that holds the class")
        if self.condition and self.cond_attr:
            what = "captions" if self.condition == "text" else "CLIP image embeddings"
            raise ValueError(f"model.condition = {self.condition!r} conditions on {what}; it cannot also take class "
                             f"labels (model.cond_attr = {self.cond_attr!r}): set one of the two")
        if not self.condition and (self.clip_model or self.clip_config or self.cross_attention_resolutions):
            raise ValueError("model.clip_model and model.cross_attention_resolutions need model.condition = 'text' "
                             "or 'image'")


class DDPM(FrozenClipUser, TrainableGenerator):
    """A diffusion model whose latent code is the DDIM starting noise ``x_T``, shape ``(C, H, W)``."""

    Config = DDPMConfig

    def __init__(self, config: DDPMConfig):
        super().__init__(config)
        shape = list(config.sample_shape)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise ValueError(f"the DDPM takes square images (C, H, H); the data has samples of shape {tuple(shape)}")
        self.clip = None
        if config.condition:
            if not config.clip_config:
                raise ValueError(f"model.clip_config is empty: build a {config.condition}-conditioned DDPM with "
                                 "DDPM.build(config, dataset), which reads the CLIP checkpoint named by model.clip_model")
            # frozen: the diffusion loss never changes how captions or images are read
            self.clip = self.frozen_clip(config.clip_config)
        context_dim = self.clip.config.width if self.clip else 0
        if config.condition == "image":
            # unCLIP: the embedding also becomes a few tokens for the cross-attention to read
            context_dim = self.clip.config.embed_dim
            self.embedding_tokens = nn.Linear(context_dim, config.image_tokens * context_dim)
        self.net = UNet(
            shape[0], shape[1], base_channels=config.base_channels, channel_mults=config.channel_mults,
            num_res_blocks=config.num_res_blocks, attention_resolutions=config.attention_resolutions,
            attention_heads=config.attention_heads, dropout=config.dropout, norm_groups=config.norm_groups,
            num_classes=config.num_classes,
            text_dim=self.clip.config.embed_dim if self.clip else 0, context_dim=context_dim,
            cross_attention_resolutions=config.cross_attention_resolutions,
        )
        # the schedule's levels travel with the weights (state_dict) and the device (.to)
        self.register_buffer("log_snr", log_snr_table(config.schedule, config.timesteps).float())
        self.latent_shape = tuple(shape)

    @classmethod
    def build(cls, config: DDPMConfig, dataset) -> "DDPM":
        """The model for ``dataset``: image shape, and the class column when conditioning."""
        if config.cond_attr:
            column, levels = attribute_classes(dataset, config.cond_attr, "cond_attr")
            n_classes = config.num_classes or levels
            if levels > n_classes:
                raise ValueError(
                    f"model.num_classes = {config.num_classes} but attribute {config.cond_attr!r} has {levels} values"
                )
            config = dataclasses.replace(config, num_classes=n_classes, cond_column=column)
        if not config.condition:
            return super().build(config, dataset)
        text = config.condition == "text"
        return cls.build_with_clip(config, dataset, f"model.condition = {config.condition!r}", captions=text,
                                   images=not text)

    # -- the denoiser -------------------------------------------------------------------
    @property
    def alpha_bars(self) -> torch.Tensor:
        """Signal rates ᾱ of the T levels, ``(T,)``, decreasing."""
        return torch.sigmoid(self.log_snr)

    @property
    def conditional(self) -> bool:
        """Whether the model takes class labels (``cond_attr``)."""
        return self.config.num_classes > 0

    @property
    def text_conditional(self) -> bool:
        """Whether the model takes prompts (``condition = "text"``)."""
        return self.config.condition == "text"

    @property
    def image_conditional(self) -> bool:
        """Whether the model takes CLIP image embeddings (``condition = "image"``, the unCLIP decoder)."""
        return self.config.condition == "image"

    def denoise(self, x: torch.Tensor, log_snr: torch.Tensor, labels: torch.Tensor | None = None,
                guidance_scale: float = 1.0, text: TextContext | None = None) -> torch.Tensor:
        """The network's prediction (``config.prediction``) for ``x_t`` ``(N, C, H, W)`` at levels ``(N,)``.

        ``labels`` ``(N,)`` long class indices (``num_classes`` = no label) or ``None``
        (no label); ``text`` the captions of a text-conditioned model (:meth:`text_context`)
        or ``None`` (no caption). With a condition and ``guidance_scale != 1`` the
        conditional and unconditional predictions are combined by classifier-free
        guidance. Float32.
        """
        level = LEVEL_SCALE * log_snr.clamp(-LOG_SNR_CLAMP, LOG_SNR_CLAMP)
        if (labels is None and text is None) or guidance_scale == 1.0:
            return self.net(x, level, labels, text).float()
        x2, level2 = torch.cat([x, x]), torch.cat([level, level])
        if text is not None:
            both = TextContext(text.pooled.repeat(2, 1), text.tokens.repeat(2, 1, 1), text.mask.repeat(2, 1),
                               torch.cat([text.keep, torch.zeros_like(text.keep)]))
            cond, uncond = self.net(x2, level2, None, both).float().chunk(2)
        else:
            null = torch.full_like(labels, self.config.num_classes)
            cond, uncond = self.net(x2, level2, torch.cat([labels, null])).float().chunk(2)
        return uncond + guidance_scale * (cond - uncond)

    def text_context(self, prompts: str | Sequence[str], n: int | None = None) -> TextContext:
        """The captions ``prompts`` (one, or one per sample) as the network reads them, for ``n`` samples.

        Raises ``ValueError`` for a model without text conditioning, an empty prompt, a
        prompt none of whose words the text encoder knows, or a count other than 1 or
        ``n``; some unknown words warn (:class:`~latentlab.data.tokenizer.UnknownWordsWarning`).
        """
        if not self.text_conditional:
            raise ValueError("prompts were given but this DDPM is not text-conditioned (model.condition = 'text')")
        ids, pooled, tokens = self.prompt_features(prompts, n)
        return TextContext(pooled, tokens, ids != PAD, torch.ones(len(ids), dtype=torch.bool, device=ids.device))

    def image_context(self, image_embeddings, n: int | None = None) -> TextContext:
        """CLIP image embeddings ``(n, embed_dim)`` (or one row for all ``n``) as the network reads them.

        Rows are scaled to unit length, as CLIP's are. The pooled vector is the embedding, the
        tokens its learned projection ``(n, image_tokens, embed_dim)`` (differentiable).
        Raises ``ValueError`` for a model without image conditioning, a shape other than
        ``(1 or n, embed_dim)``, or rows that are not finite or are zero.
        """
        if not self.image_conditional:
            raise ValueError("image_embeddings were given but this DDPM is not conditioned on CLIP image embeddings "
                             "(model.condition = 'image')")
        dim = self.clip.config.embed_dim
        e = torch.as_tensor(image_embeddings)
        e = e.reshape(1, -1) if e.ndim <= 1 else e
        n = len(e) if n is None else n
        if e.ndim != 2 or e.shape[1] != dim or len(e) not in (1, n) or not e.is_floating_point():
            raise ValueError(f"image_embeddings must be a float tensor of shape (1 or {n}, {dim}), "
                             f"not {tuple(e.shape)} {e.dtype}")
        norm = e.norm(dim=1, keepdim=True)
        if not torch.isfinite(e).all() or (norm == 0).any():
            raise ValueError("image_embeddings must be finite and non-zero (CLIP image embeddings are unit vectors)")
        e = (e / norm).expand(n, -1).to(self.device, torch.float32)
        tokens = self.embedding_tokens(e).reshape(n, self.config.image_tokens, dim)
        ones = torch.ones(n, self.config.image_tokens, dtype=torch.bool, device=e.device)
        return TextContext(e, tokens, ones, ones[:, 0])

    # -- training -----------------------------------------------------------------------
    def _training_loss(self, x0: torch.Tensor, labels: torch.Tensor | None, draws,
                       text: TextContext | None = None) -> torch.Tensor:
        n = x0.shape[0]
        if is_continuous(self.config.schedule):
            log_snr = continuous_log_snr(self.config.schedule, draws.rand(n))
        else:
            log_snr = self.log_snr[draws.randint(self.config.timesteps, n)]
        noise = draws.randn(n, *self.latent_shape)
        if labels is not None and self.config.label_dropout > 0:
            drop = draws.rand(n) < self.config.label_dropout
            labels = torch.where(drop, torch.full_like(labels, self.config.num_classes), labels)
        if text is not None and self.config.label_dropout > 0:
            text = text._replace(keep=text.keep & (draws.rand(n) >= self.config.label_dropout))
        out = self.denoise(add_noise(x0, noise, log_snr), log_snr, labels, text=text)
        target = prediction_target(self.config.prediction, x0.float(), noise, log_snr)
        if not self.config.min_snr_gamma:
            return F.mse_loss(out, target)
        weight = min_snr_weight(self.config.prediction, log_snr, self.config.min_snr_gamma)
        return (weight * (out - target).pow(2).flatten(1).mean(1)).mean()

    def _labels_from(self, y: torch.Tensor) -> torch.Tensor | None:
        if not self.conditional:
            return None
        return y[:, self.config.cond_column].long()

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                generator: torch.Generator | None = None, *, prompts: Sequence[str] | None = None) -> torch.Tensor:
        """The training loss (scalar) of images ``x`` ``(N, C, H, W)``; levels and noise drawn with ``generator``.

        ``labels`` ``(N,)`` for a class-conditional model, ``prompts`` (N captions) for a
        text-conditioned one; ``None``: no condition. An image-conditioned model reads the
        CLIP embeddings of ``x``, as in training.
        """
        x = self.check_samples(x).to(self.device, torch.float32)
        if labels is not None:
            labels = torch.as_tensor(labels, device=self.device).long()
        text = None if prompts is None else self.text_context(prompts, x.shape[0])
        if self.image_conditional:
            text = self._training_image(x)
        return self._training_loss(x, labels if self.conditional else None, NoiseDraws(generator, self.device), text)

    def _training_text(self, y: torch.Tensor, step) -> TextContext | None:
        if not self.text_conditional:
            return None
        ids, pooled, tokens = self.training_caption_features(y, step)
        return TextContext(pooled, tokens, ids != PAD, torch.ones(len(ids), dtype=torch.bool, device=ids.device))

    def _training_image(self, x: torch.Tensor) -> TextContext:
        return self.image_context(self.image_features(x), len(x))

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        text = self._training_image(x) if self.image_conditional else self._training_text(y, step)
        with step.autocast():
            loss = self._training_loss(x, self._labels_from(y), step, text)
        step.update("model", loss)
        return {"loss": loss.detach()}

    # -- sampling -----------------------------------------------------------------------
    def scheduler(self, sampler: str = "ddim", steps: int | None = None, eta: float = 0.0,
                  clip: bool | None = None) -> DDIMScheduler | DDPMScheduler:
        """A scheduler over this model's levels with its timesteps set.

        ``sampler`` is ``"ddim"`` (``steps`` defaults to ``config.decode_steps``; x̂0 clipping
        ``config.clip_denoised``) or ``"ddpm"`` (ancestral; ``steps`` defaults to all T;
        clipping on). ``clip`` overrides the clipping default.
        """
        if sampler == "ddim":
            sch = DDIMScheduler(self.log_snr, self.config.prediction, eta=eta,
                                clip_sample=self.config.clip_denoised if clip is None else clip)
            sch.set_timesteps(self.config.decode_steps if steps is None else steps)
        elif sampler == "ddpm":
            sch = DDPMScheduler(self.log_snr, self.config.prediction, clip_sample=True if clip is None else clip)
            sch.set_timesteps(steps)
        else:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of: {', '.join(SAMPLERS)}")
        return sch

    def _label_tensor(self, labels, n: int) -> torch.Tensor | None:
        if labels is None:
            return None
        if not self.conditional:
            raise ValueError("labels were given but this DDPM is unconditional (model.num_classes = 0)")
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n)
        if labels.shape != (n,):
            raise ValueError(f"labels must be one class index or one per sample ({n}), not shape {tuple(labels.shape)}")
        if labels.min() < 0 or labels.max() >= self.config.num_classes:
            raise ValueError(f"class labels must lie in 0..{self.config.num_classes - 1}")
        return labels

    def _conditions(self, labels, prompts, n: int, batch_size: int, image_embeddings=None):
        """Per batch of ``batch_size``: the labels and text context of samples ``i..i+batch_size``."""
        check_int(batch_size, "batch_size", min=1)
        labels = self._label_tensor(labels, n)
        if prompts is not None and image_embeddings is not None:
            raise ValueError("give prompts or image_embeddings, not both")
        text = None if prompts is None else self.text_context(prompts, n)
        if image_embeddings is not None:
            text = self.image_context(image_embeddings, n)
        for i in range(0, n, batch_size):
            part = slice(i, i + batch_size)
            yield (part, labels[part].to(self.device) if labels is not None else None,
                   TextContext(*(t[part] for t in text)) if text is not None else None)

    def _run(self, z: torch.Tensor, scheduler, labels, guidance_scale, generator, batch_size: int,
             progress: bool = False, prompts=None, image_embeddings=None) -> torch.Tensor:
        z = self.check_latents(z)
        scale = self.config.guidance_scale if guidance_scale is None else float(guidance_scale)
        outs = []
        for part, lab, text in self._conditions(labels, prompts, z.shape[0], batch_size, image_embeddings):
            denoiser = lambda x, lam: self.denoise(x, lam, lab, scale, text)  # noqa: E731
            x = sample_loop(denoiser, scheduler, z[part].to(self.device, torch.float32), generator, progress)
            outs.append(x.clamp(-1, 1).to(z.device))
        return torch.cat(outs) if outs else torch.empty(0, *self.latent_shape)

    def decode(self, z: torch.Tensor, steps: int | None = None, *, labels=None, prompts=None, image_embeddings=None,
               guidance_scale: float | None = None, batch_size: int = 256, progress: bool = False) -> torch.Tensor:
        """Deterministic DDIM (η = 0) from codes ``z`` ``(N, C, H, W)``: images ``(N, C, H, W)`` in [-1, 1].

        Parameters
        ----------
        z : Tensor
            Starting noise x_T (the latent codes).
        steps : int, optional
            DDIM steps; ``config.decode_steps`` by default.
        labels : int or Tensor ``(N,)``, optional
            Class indices for a conditional model (``None``: unconditional).
        prompts : str or sequence of N str, optional
            Captions for a text-conditioned model, one for all or one per code (``None``:
            unconditional).
        image_embeddings : Tensor ``(N, embed_dim)`` or ``(embed_dim,)``, optional
            CLIP image embeddings for an image-conditioned model (``condition = "image"``),
            one per code or one for all; rows are scaled to unit length (``None``: unconditional).
        guidance_scale : float, optional
            Classifier-free guidance weight; ``config.guidance_scale`` by default.
        batch_size : int
            Codes denoised at once.
        progress : bool
            Show a bar over the DDIM steps of each batch.

        A plain tensor on ``z``'s device, computed without gradients
        (:meth:`decode_with_grad` is the differentiable path).
        """
        with torch.no_grad():
            return self.decode_with_grad(z, steps, labels=labels, prompts=prompts, image_embeddings=image_embeddings,
                                         guidance_scale=guidance_scale, batch_size=batch_size, progress=progress)

    def decode_with_grad(self, z: torch.Tensor, steps: int | None = None, *, labels=None, prompts=None,
                         image_embeddings=None, guidance_scale: float | None = None, batch_size: int = 256,
                         progress: bool = False) -> torch.Tensor:
        """:meth:`decode`, differentiable through every DDIM step (Jacobians of the decoder)."""
        return self._run(z, self.scheduler("ddim", steps), labels, guidance_scale, None, batch_size, progress, prompts,
                         image_embeddings)

    def sample(self, n: int, generator: torch.Generator | None = None, sampler: str = DEFAULT_SAMPLER,
               steps: int | None = None, eta: float = 0.0, *, clip: bool | None = None, labels=None, prompts=None,
               image_embeddings=None, guidance_scale: float | None = None, batch_size: int = 256,
               progress: bool = False) -> torch.Tensor:
        """``n`` new images ``(n, C, H, W)`` in [-1, 1], on the CPU.

        x_T is drawn with ``generator`` (as :meth:`sample_latents`), and so is the noise of
        stochastic samplers (``"ddpm"``, or ``"ddim"`` with ``eta > 0``). ``steps``
        defaults to ``config.decode_steps`` for DDIM and to T for DDPM; ``clip`` (x̂0
        clipping) to ``config.clip_denoised`` for DDIM and to on for DDPM. ``labels``,
        ``prompts``, ``image_embeddings`` and ``guidance_scale`` as in :meth:`decode`; ``progress``
        shows a bar over the steps of each batch.
        """
        z = self.sample_latents(n, generator)
        with torch.no_grad():
            return self._run(z, self.scheduler(sampler, steps, eta, clip), labels, guidance_scale, generator, batch_size,
                             progress, prompts, image_embeddings)

    def variations(self, images: torch.Tensor, n_per_image: int = 4, generator: torch.Generator | None = None,
                   guidance_scale: float | None = None, **sample_options) -> torch.Tensor:
        """Image variations (unCLIP): new images drawn with the CLIP image embedding of each of ``images``.

        ``images`` ``(N, C, H, W)`` in [-1, 1] (the model's sample shape); ``n_per_image``
        variations of each, all starting noise drawn with ``generator``; ``guidance_scale``
        and ``sample_options`` (sampler, steps, ...) as in :meth:`sample`. Returns
        ``(N, n_per_image, C, H, W)`` in [-1, 1], on the CPU. Needs ``condition = "image"``.
        """
        if not self.image_conditional:
            raise ValueError("variations need a DDPM conditioned on CLIP image embeddings (model.condition = 'image'); "
                             "this one is not (try: latentlab train faces-ddpm-image-tiny)")
        check_int(n_per_image, "n_per_image", min=1)
        embeddings = self.clip.encode_image(self.check_samples(images)).repeat_interleave(n_per_image, dim=0)
        x = self.sample(len(embeddings), generator, image_embeddings=embeddings, guidance_scale=guidance_scale,
                        **sample_options)
        return x.reshape(-1, n_per_image, *self.latent_shape)

    # -- inversion ----------------------------------------------------------------------
    def encode(self, x: torch.Tensor, steps: int | None = None, *, labels=None, prompts=None, image_embeddings=None,
               fixed_point_iters: int = 0, batch_size: int = 256, progress: bool = False) -> torch.Tensor:
        """DDIM inversion: codes ``(N, C, H, W)`` from which :meth:`decode` regenerates ``x``.

        ``x`` are images ``(N, C, H, W)`` in [-1, 1]; ``steps`` defaults to
        ``config.decode_steps`` (use the same number for decoding); ``labels``, ``prompts``
        and ``image_embeddings`` as in :meth:`decode` (inversion is run without guidance); ``fixed_point_iters`` extra
        network calls per step make each step a closer inverse of the decoding step;
        ``progress`` shows a bar over the steps of each batch. Results are on ``x``'s device.
        """
        x = self.check_samples(x)
        sch = self.scheduler("ddim", steps, clip=False)
        outs = []
        with torch.no_grad():
            for part, lab, text in self._conditions(labels, prompts, x.shape[0], batch_size, image_embeddings):
                denoiser = lambda xt, lam: self.denoise(xt, lam, lab, text=text)  # noqa: E731
                outs.append(ddim_invert(denoiser, sch, x[part].to(self.device, torch.float32),
                                        fixed_point_iters, progress).to(x.device))
        return torch.cat(outs) if outs else torch.empty(0, *self.latent_shape)

    def reconstruction_error(self, x: torch.Tensor, steps=(10, 20, 50, 100), *, labels=None,
                             fixed_point_iters: int = 0, batch_size: int = 256) -> dict[int, torch.Tensor]:
        """Pixel MSE of ``decode(encode(x))`` against ``x`` for each DDIM step count.

        Returns ``{steps: Tensor (N,)}``, the per-image mean squared error in [-1, 1]
        units, on the CPU. Inversion and decoding use the same number of steps.
        """
        x = self.check_samples(x)
        errors = {}
        for k in steps:
            z = self.encode(x, k, labels=labels, fixed_point_iters=fixed_point_iters, batch_size=batch_size)
            rec = self.decode(z, k, labels=labels, guidance_scale=1.0, batch_size=batch_size)
            errors[int(k)] = ((rec.float() - x.float().to(rec.device)) ** 2).flatten(1).mean(1).cpu()
        return errors

