"""The diffusion prior of unCLIP (DALL-E 2, Ramesh et al. 2022, section 2.1), on a small scale:
a caption's CLIP text embedding -> a CLIP image embedding of an image it could caption.

CLIP puts a caption and its images near each other but not on top of each other: text
and image embeddings occupy different regions of the sphere (the "modality gap"), so a
text embedding is a poor stand-in for the image embedding a decoder was trained on. The
prior learns the conditional distribution of image embeddings given the caption.

Model: Gaussian diffusion over the image embedding ``z_i`` (scaled by ``sqrt(embed_dim)``
so that each coordinate has about unit variance, like the noise). A residual MLP
(:class:`PriorNet`; the paper uses a decoder-only Transformer that also reads the
caption's tokens) sees the noisy embedding, the noise level and the caption's unit text
embedding, and predicts the clean ``z_i`` directly, fitted by mean squared error, as the
paper does. The caption is dropped with probability ``label_dropout`` (a learned "no
caption" vector takes its place), so sampling can use classifier-free guidance. Sampling
runs deterministic DDIM (:mod:`latentlab.models.samplers`) over ``sample_steps`` levels and
returns unit vectors. (The paper also draws two embeddings and keeps the one closer to the
text embedding; not done here.)

Training reads the data's images and captions with a frozen copy of a trained CLIP
(``clip_model``; :mod:`latentlab.models.frozen_clip`), which the checkpoint keeps.
:func:`unclip_sample` chains the prior and an image-conditioned DDPM (``condition =
"image"``): text -> image embedding -> image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from latentlab._validation import check_int
from latentlab.models.ddpm import LEVEL_SCALE, LOG_SNR_CLAMP
from latentlab.models.frozen_clip import FrozenClipUser
from latentlab.models.samplers import DDIMScheduler, sample_loop
from latentlab.models.schedules import add_noise, log_snr_table
from latentlab.models.trainable import NoiseDraws, TrainableModel
from latentlab.models.unet import sinusoidal_embedding

__all__ = ["DiffusionPrior", "PriorConfig", "PriorNet", "unclip_sample"]


@dataclass
class PriorConfig:
    kind: Literal["prior"] = "prior"
    sample_shape: list = field(default_factory=list)  # the training images' shape (filled from the data)
    # the denoiser
    width: int = field(default=256, metadata={"min": 1})
    depth: int = field(default=4, metadata={"min": 1})  # residual MLP blocks
    # the diffusion process
    schedule: Literal["linear", "cosine"] = "cosine"
    timesteps: int = field(default=1000, metadata={"min": 2})
    sample_steps: int = field(default=64, metadata={"min": 1})  # DDIM steps of sample()
    # classifier-free guidance: the caption is dropped with this probability in training
    label_dropout: float = field(default=0.1, metadata={"min": 0, "max": 1})
    guidance_scale: float = field(default=1.0, metadata={"min": 0})
    # the frozen CLIP whose embeddings the prior maps (a path, read once when the model is built)
    clip_model: str = ""
    clip_config: dict = field(default_factory=dict)  # filled when built

    def validate(self):
        if self.sample_steps > self.timesteps:
            raise ValueError(f"model.sample_steps = {self.sample_steps} cannot exceed model.timesteps = {self.timesteps}")


class _Block(nn.Module):
    """LayerNorm, the conditioning vector added, a two-layer MLP, a residual connection."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(), nn.Linear(2 * width, width))
        # each block starts as the identity, which keeps the stack stable early in training
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return h + self.mlp(self.norm(h) + cond)


class PriorNet(nn.Module):
    """Denoiser ``(z_t, level, text) -> ẑ0`` over embeddings of ``dim`` features.

    ``z_t`` ``(N, dim)``, ``level`` ``(N,)`` (the network's noise-level input), ``text``
    ``(N, dim)`` unit text embeddings and ``keep`` ``(N,)`` bool (False: the row reads the
    learned "no caption" vector instead). The text enters with ``z_t`` at the input and,
    with the level, in every block.
    """

    def __init__(self, dim: int, width: int, depth: int):
        super().__init__()
        self.width = width
        self.null_text = nn.Parameter(torch.zeros(dim))
        self.level_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.text_proj = nn.Linear(dim, width)
        self.inp = nn.Linear(2 * dim, width)
        self.blocks = nn.ModuleList(_Block(width) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, dim))

    def forward(self, z: torch.Tensor, level: torch.Tensor, text: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        text = torch.where(keep[:, None], text, self.null_text)
        cond = self.level_mlp(sinusoidal_embedding(level, self.width)) + self.text_proj(text)
        h = self.inp(torch.cat([z, text], dim=1))
        for block in self.blocks:
            h = block(h, cond)
        return self.out(h)


class DiffusionPrior(FrozenClipUser, TrainableModel):
    """Caption -> CLIP image embedding by diffusion: :meth:`sample` gives unit vectors ``(N, embed_dim)``.

    ``forward(x, prompts)`` is the training loss of images ``x (N, C, H, W)`` and their
    captions. Not a Generator: it makes embeddings, not images (:func:`unclip_sample`
    turns them into images with an image-conditioned DDPM).
    """

    Config = PriorConfig

    def __init__(self, config: PriorConfig):
        super().__init__(config)
        if not config.clip_config:
            raise ValueError("model.clip_config is empty: build the prior with DiffusionPrior.build(config, dataset), "
                             "which reads the CLIP checkpoint named by model.clip_model")
        self.clip = self.frozen_clip(config.clip_config)
        self.net = PriorNet(self.embed_dim, config.width, config.depth)
        # the schedule's levels travel with the weights (state_dict) and the device (.to)
        self.register_buffer("log_snr", log_snr_table(config.schedule, config.timesteps).float())

    @classmethod
    def build(cls, config: PriorConfig, dataset) -> "DiffusionPrior":
        """The prior for ``dataset``'s images and captions, with the CLIP ``config.clip_model`` copied in."""
        return cls.build_with_clip(config, dataset, "a diffusion prior (kind 'prior')", captions=True, images=True)

    @property
    def embed_dim(self) -> int:
        """Features of the CLIP embeddings."""
        return self.clip.config.embed_dim

    @property
    def _scale(self) -> float:
        # unit vectors times sqrt(D) have coordinates of about unit variance, like the noise
        return math.sqrt(self.embed_dim)

    # -- the denoiser -------------------------------------------------------------------
    def denoise(self, z: torch.Tensor, log_snr: torch.Tensor, text: torch.Tensor, keep: torch.Tensor | None = None,
                guidance_scale: float = 1.0) -> torch.Tensor:
        """The predicted clean (scaled) embedding ``(N, embed_dim)`` for ``z_t`` ``(N, embed_dim)`` at levels
        ``(N,)`` given text embeddings ``(N, embed_dim)``; ``keep`` ``(N,)`` bool (default all kept).
        With ``guidance_scale != 1`` the prediction is guided (classifier-free). Float32."""
        level = LEVEL_SCALE * log_snr.clamp(-LOG_SNR_CLAMP, LOG_SNR_CLAMP)
        if keep is None:
            keep = torch.ones(len(z), dtype=torch.bool, device=z.device)
        if guidance_scale == 1.0:
            return self.net(z, level, text, keep).float()
        both = torch.cat([keep, torch.zeros_like(keep)])
        cond, uncond = self.net(z.repeat(2, 1), level.repeat(2), text.repeat(2, 1), both).float().chunk(2)
        return uncond + guidance_scale * (cond - uncond)

    # -- training -----------------------------------------------------------------------
    def _training_loss(self, image: torch.Tensor, text: torch.Tensor, draws) -> torch.Tensor:
        n = len(image)
        x0 = self._scale * image
        log_snr = self.log_snr[draws.randint(self.config.timesteps, n)]
        noise = draws.randn(n, self.embed_dim)
        keep = draws.rand(n) >= self.config.label_dropout
        return F.mse_loss(self.denoise(add_noise(x0, noise, log_snr), log_snr, text, keep), x0)

    def forward(self, x: torch.Tensor, prompts: Sequence[str], generator: torch.Generator | None = None) -> torch.Tensor:
        """The training loss (scalar) of images ``x`` ``(N, C, H, W)`` in [-1, 1] and their ``N`` captions;
        levels, noise and caption dropout drawn with ``generator``."""
        x = self.check_samples(x).to(torch.float32)
        _, text, _ = self.prompt_features(prompts, len(x))
        image = self.image_features(x)
        return self._training_loss(image, text, NoiseDraws(generator, self.device))

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        _, text, _ = self.training_caption_features(y, step)
        image = self.image_features(x)
        with step.autocast():
            loss = self._training_loss(image, text, step)
        step.update("model", loss)
        return {"loss": loss.detach()}

    # -- sampling -----------------------------------------------------------------------
    def sample(self, prompts: str | Sequence[str], generator: torch.Generator | None = None, *, n: int | None = None,
               guidance_scale: float | None = None, steps: int | None = None) -> torch.Tensor:
        """CLIP image embeddings for captions: unit vectors ``(n, embed_dim)``, float32, on the CPU.

        Parameters
        ----------
        prompts : str or sequence of str
            One caption for all ``n`` embeddings, or one per embedding.
        generator : torch.Generator, optional
            Draws the starting noise (the same seed gives the same embeddings).
        n : int, optional
            Embeddings to draw; the number of prompts by default.
        guidance_scale : float, optional
            Classifier-free guidance weight; ``config.guidance_scale`` by default.
        steps : int, optional
            DDIM steps; ``config.sample_steps`` by default.
        """
        if n is not None:
            check_int(n, "n", min=1)
        _, text, _ = self.prompt_features(prompts, n)
        scale = self.config.guidance_scale if guidance_scale is None else float(guidance_scale)
        scheduler = DDIMScheduler(self.log_snr, "x0")
        scheduler.set_timesteps(self.config.sample_steps if steps is None else steps)
        z = NoiseDraws(generator, self.device).randn(len(text), self.embed_dim)
        with torch.no_grad():
            z = sample_loop(lambda x, lam: self.denoise(x, lam, text, guidance_scale=scale), scheduler, z, generator)
        return F.normalize(z.float(), dim=1).cpu()


def unclip_sample(prior: DiffusionPrior, decoder, prompts: str | Sequence[str], generator: torch.Generator | None = None,
                  *, n: int | None = None, prior_guidance: float | None = None, decoder_guidance: float | None = None,
                  **sample_options) -> torch.Tensor:
    """Text -> images (unCLIP): the prior's image embeddings for ``prompts``, decoded by ``decoder``.

    ``decoder`` is a DDPM with ``condition = "image"`` that holds the same CLIP as the prior;
    ``prompts`` one caption for all ``n`` images or one per image; both stages draw with
    ``generator``; ``prior_guidance`` / ``decoder_guidance`` default to each model's config;
    ``sample_options`` (steps, sampler, ...) go to the decoder's ``sample``. Returns images
    ``(n, C, H, W)`` in [-1, 1], on the CPU.
    """
    if not getattr(decoder, "image_conditional", False):
        raise ValueError("the decoder must be a DDPM conditioned on CLIP image embeddings (model.condition = 'image')")
    same = prior.config.clip_config == decoder.config.clip_config and all(
        torch.equal(a.cpu(), b.cpu()) for a, b in zip(prior.clip.state_dict().values(), decoder.clip.state_dict().values()))
    if not same:
        raise ValueError("the prior and the decoder were trained with different CLIP models: their image embeddings "
                         "do not match (train both with the same model.clip_model)")
    embeddings = prior.sample(prompts, generator, n=n, guidance_scale=prior_guidance)
    return decoder.sample(len(embeddings), generator, image_embeddings=embeddings, guidance_scale=decoder_guidance,
                          **sample_options)
