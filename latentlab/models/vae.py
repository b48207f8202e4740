"""Variational autoencoder (Kingma & Welling 2014), with β-VAE and capacity annealing.

Loss per sample (summed over pixels, averaged over the batch)::

    reconstruction + beta * KL(q(z|x) || N(0, I))                      (beta-VAE)
    reconstruction + gamma * |KL - C(step)|,  C rising to capacity     (Burgess et al. 2018)

The reconstruction term is the negative log-likelihood of a Gaussian decoder with fixed
standard deviation ``sigma`` (in units of the [-1, 1] pixel scale) or of a Bernoulli
decoder on pixels rescaled to [0, 1]. ``encode`` returns the posterior mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from latentlab.models.nets import MLP, ConvDecoder, ConvEncoder
from latentlab.models.trainable import TrainableGenerator, resolve_arch

__all__ = ["VAE", "VAEConfig"]


@dataclass
class VAEConfig:
    kind: Literal["vae"] = "vae"
    arch: Literal["auto", "conv", "mlp"] = "auto"
    sample_shape: list = field(default_factory=list)  # filled from the data
    latent_dim: int = field(default=32, metadata={"min": 1})
    base_channels: int = field(default=32, metadata={"min": 1})
    hidden: int = field(default=256, metadata={"min": 1})  # MLP width (2-D data)
    likelihood: Literal["gaussian", "bernoulli"] = "gaussian"
    sigma: float = field(default=0.2, metadata={"min": 0, "lo_open": True})
    beta: float = field(default=1.0, metadata={"min": 0})
    capacity: float = field(default=0.0, metadata={"min": 0})  # nats; > 0 turns on annealing
    capacity_steps: int = field(default=10000, metadata={"min": 1})
    gamma: float = field(default=1000.0, metadata={"min": 0})


class VAE(TrainableGenerator):
    """A VAE whose latent code is the ``latent_dim``-vector ``z``; prior N(0, I)."""

    Config = VAEConfig

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        shape = list(config.sample_shape)
        self.arch = resolve_arch(config.arch, shape)
        d = config.latent_dim
        if self.arch == "conv":
            c, s = shape[0], shape[1]
            self.encoder = ConvEncoder(c, s, 2 * d, base=config.base_channels, norm="group")
            self.decoder = ConvDecoder(d, c, s, base=config.base_channels, norm="group")
        else:
            if config.likelihood == "bernoulli":
                raise ValueError("model.likelihood = 'bernoulli' needs images; use 'gaussian' for point data")
            self.encoder = MLP(shape[0], 2 * d, hidden=config.hidden)
            self.decoder = MLP(d, shape[0], hidden=config.hidden)
        self.latent_shape = (d,)

    # -- model pieces -------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x), each ``(N, latent_dim)``."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-30, 20)

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        if self.config.likelihood == "bernoulli":
            return torch.sigmoid(out) * 2 - 1
        return out.clamp(-1, 1) if self.arch == "conv" else out

    def _feature_net(self):
        return self.decoder

    def encode(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Posterior means ``(N, latent_dim)`` of images/points ``x`` (on ``x``'s device)."""
        x = self.check_samples(x)
        with torch.no_grad():
            outs = [self.posterior(x[i : i + batch_size].to(self.device, torch.float32))[0] for i in range(0, len(x), batch_size)]
        return torch.cat(outs).to(x.device) if outs else torch.empty(0, self.config.latent_dim)

    def loss_terms(self, x: torch.Tensor, noise: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruction and KL (per sample, batch-averaged) with the given reparameterisation noise."""
        mu, logvar = self.posterior(x)
        z = mu + torch.exp(0.5 * logvar) * noise
        out = self.decoder(z)
        if self.config.likelihood == "bernoulli":
            recon = F.binary_cross_entropy_with_logits(out, (x + 1) / 2, reduction="sum") / x.shape[0]
        else:
            recon = 0.5 * ((out - x) ** 2).sum() / (self.config.sigma**2 * x.shape[0])
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / x.shape[0]
        return {"recon": recon, "kl": kl}

    def forward(self, x: torch.Tensor, step: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
        """The training loss for a batch ``x`` at training step ``step`` (noise drawn with ``generator``)."""
        noise = torch.randn(x.shape[0], self.config.latent_dim, generator=generator).to(x.device)
        terms = self.loss_terms(x, noise)
        return self._combine(terms, step)

    def _combine(self, terms, step: int) -> torch.Tensor:
        cfg = self.config
        if cfg.capacity > 0:
            c = cfg.capacity * min(1.0, step / cfg.capacity_steps)
            return terms["recon"] + cfg.gamma * (terms["kl"] - c).abs()
        return terms["recon"] + cfg.beta * terms["kl"]

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        with step.autocast():
            terms = self.loss_terms(x, step.randn(x.shape[0], self.config.latent_dim))
            loss = self._combine(terms, step.step)
        step.update("model", loss)
        return {"loss": loss.detach(), "recon": terms["recon"].detach(), "kl": terms["kl"].detach()}
