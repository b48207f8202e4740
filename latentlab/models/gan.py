"""Generative adversarial network: DCGAN-style players, five losses, inversion for ``encode``.

Generator: linear stem, transposed convolutions with batch norm and ReLU, tanh output
(an MLP for 2-D data). Discriminator: strided convolutions with LeakyReLU(0.2), no
pooling, optional batch norm or spectral norm. Losses (``loss``):

==============  =====================================  =============================
name            discriminator (critic) minimises       generator minimises
==============  =====================================  =============================
minimax         -log D(x) - log(1 - D(G(z)))            log(1 - D(G(z)))  (saturates)
nonsaturating   same                                    -log D(G(z))
wgan            f(G(z)) - f(x), weights clipped         -f(G(z))
wgan-gp         f(G(z)) - f(x) + λ (‖∇f(x̂)‖ - 1)²       -f(G(z))
hinge           relu(1 - f(x)) + relu(1 + f(G(z)))      -f(G(z))
==============  =====================================  =============================

Each training step makes ``d_steps`` discriminator updates (generator frozen; each with
fresh fake samples against the step's real batch) and one generator update
(discriminator frozen) through the last fake batch. The log shows D(x), D(G(z)) (probabilities for the first two
losses, critic values otherwise) and the generator's gradient norm, so a vanishing
gradient — the saturating loss against a confident discriminator — is visible.

``encode`` inverts the generator: z is optimised to reconstruct the image (pixel MSE)
from several starts, the best kept; a "recoder" network trained alongside the GAN on
the generator's own samples to predict z gives the first start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.nets import MLP, ConvDecoder, ConvEncoder
from latentlab.models.trainable import TrainableGenerator, resolve_arch

__all__ = ["GAN", "GANConfig", "GAN_LOSSES"]

GAN_LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "hinge")


@dataclass
class GANConfig:
    kind: Literal["gan"] = "gan"
    arch: Literal["auto", "conv", "mlp"] = "auto"
    sample_shape: list = field(default_factory=list)  # filled from the data
    latent_dim: int = field(default=64, metadata={"min": 1})
    base_channels: int = field(default=64, metadata={"min": 1})
    d_base_channels: int = field(default=0, metadata={"min": 0})  # 0 = base_channels
    hidden: int = field(default=256, metadata={"min": 1})  # MLP width (2-D data)
    loss: Literal["minimax", "nonsaturating", "wgan", "wgan-gp", "hinge"] = "nonsaturating"
    d_steps: int = field(default=1, metadata={"min": 1})
    lr_d: float = field(default=0.0, metadata={"min": 0})  # 0 = train.lr
    d_norm: Literal["none", "batch"] = "none"
    spectral_norm: bool = False
    clip_value: float = field(default=0.01, metadata={"min": 0, "lo_open": True})  # wgan
    gp_weight: float = field(default=10.0, metadata={"min": 0})  # wgan-gp
    recoder: bool = True
    invert_steps: int = field(default=300, metadata={"min": 0})
    invert_restarts: int = field(default=4, metadata={"min": 1})
    invert_lr: float = field(default=0.05, metadata={"min": 0, "lo_open": True})

    def validate(self):
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            raise ValueError("model.d_norm = 'batch' cannot be used with loss 'wgan-gp' (the penalty is per sample); use 'none'")


class GAN(TrainableGenerator):
    """A GAN whose latent code is the ``latent_dim``-vector ``z ~ N(0, I)``."""

    Config = GANConfig

    def __init__(self, config: GANConfig):
        super().__init__(config)
        config.validate()
        shape = list(config.sample_shape)
        if not shape:
            raise ValueError("model.sample_shape is empty: build the GAN with GAN.build(config, dataset)")
        self.arch = resolve_arch(config.arch, shape)
        d = config.latent_dim
        d_base = config.d_base_channels or config.base_channels
        sn = config.spectral_norm
        if self.arch == "conv":
            c, s = shape[0], shape[1]
            self.generator_net = ConvDecoder(d, c, s, base=config.base_channels, norm="batch")
            self.discriminator = ConvEncoder(c, s, 1, base=d_base, norm=config.d_norm, act="leaky", spectral_norm=sn)
            self.recoder_net = ConvEncoder(c, s, d, base=config.base_channels // 2 or 1, norm="group") if config.recoder else None
        else:
            self.generator_net = MLP(d, shape[0], hidden=config.hidden)
            self.discriminator = MLP(shape[0], 1, hidden=config.hidden, act="leaky", spectral_norm=sn)
            self.recoder_net = MLP(shape[0], d, hidden=config.hidden) if config.recoder else None
        self.latent_shape = (d,)

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.generator_net(z)
        return torch.tanh(out) if self.arch == "conv" else out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) — the samples for codes ``z``."""
        return self._decode(z)

    # -- training -----------------------------------------------------------------------
    def make_optimizers(self, tc):
        opts = {
            "generator": self.adam(self.generator_net.parameters(), tc),
            "discriminator": self.adam(self.discriminator.parameters(), tc, lr=self.config.lr_d or None),
        }
        if self.recoder_net is not None:
            opts["recoder"] = self.adam(self.recoder_net.parameters(), tc)
        return opts

    def _d_loss(self, real_out, fake_out, real, fake, eps=None) -> torch.Tensor:
        loss = self.config.loss
        if loss in ("minimax", "nonsaturating"):
            return F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
        if loss == "hinge":
            return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()
        critic = fake_out.mean() - real_out.mean()
        if loss == "wgan-gp":
            critic = critic + self.config.gp_weight * self._gradient_penalty(real, fake, eps)
        return critic

    def _gradient_penalty(self, real, fake, eps) -> torch.Tensor:
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        out = self.discriminator(x_hat)
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    def _g_loss(self, fake_out) -> torch.Tensor:
        loss = self.config.loss
        if loss == "minimax":
            return -F.softplus(fake_out).mean()  # log(1 - sigmoid(l)) = -softplus(l)
        if loss == "nonsaturating":
            return F.softplus(-fake_out).mean()
        return -fake_out.mean()

    def _d_value(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out).mean() if self.config.loss in ("minimax", "nonsaturating") else out.mean()

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        n, d = x.shape[0], self.config.latent_dim
        for i in range(self.config.d_steps):
            z = step.randn(n, d)
            last = i == self.config.d_steps - 1
            # the last fake batch keeps its graph: the generator's step reuses it
            with torch.set_grad_enabled(last), step.autocast():
                fake = self._decode(z)
            eps = step.rand(n, *([1] * (x.ndim - 1))) if self.config.loss == "wgan-gp" else None
            with step.autocast():
                real_out = self.discriminator(x)
                fake_out = self.discriminator(fake.detach())
                loss_d = self._d_loss(real_out.float(), fake_out.float(), x, fake.detach().float(), eps)
            step.update("discriminator", loss_d)
            if self.config.loss == "wgan":
                with torch.no_grad():
                    for p in self.discriminator.parameters():
                        p.clamp_(-self.config.clip_value, self.config.clip_value)
        with step.frozen(self.discriminator):
            with step.autocast():
                fake_out = self.discriminator(fake)
                loss_g = self._g_loss(fake_out.float())
            g_norm = step.update("generator", loss_g, grad_norm=True)
        logs = {
            "loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "d_real": self._d_value(real_out.detach().float()), "d_fake": self._d_value(fake_out.detach().float()),
            "g_grad_norm": g_norm,
        }
        if self.recoder_net is not None:  # learn to predict z from the generator's own samples
            with step.autocast():
                loss_r = F.mse_loss(self.recoder_net(fake.detach()).float(), z)
            step.update("recoder", loss_r)
            logs["loss_recoder"] = loss_r.detach()
        return logs

    # -- inversion ----------------------------------------------------------------------
    def invert(self, x: torch.Tensor, steps: int | None = None, restarts: int | None = None,
               lr: float | None = None, generator: torch.Generator | None = None,
               use_recoder: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes whose images best reconstruct ``x``, and their per-image pixel MSE.

        ``restarts`` starts are optimised together with Adam for ``steps`` steps (the
        recoder's prediction is the first start when there is one; the others are drawn
        from the prior with ``generator``); the best code per image is kept.

        Returns ``(z, error)`` with shapes ``(N, latent_dim)`` and ``(N,)``, on the CPU.
        """
        cfg = self.config
        steps = cfg.invert_steps if steps is None else steps
        restarts = cfg.invert_restarts if restarts is None else restarts
        lr = cfg.invert_lr if lr is None else lr
        x = self.check_samples(x).to(self.device, torch.float32)
        n, d = x.shape[0], cfg.latent_dim
        starts = torch.randn(restarts, n, d, generator=generator).to(self.device)
        if use_recoder and self.recoder_net is not None:
            with torch.no_grad():
                starts[0] = self.recoder_net(x)
        was_training = self.training
        self.eval()
        z = starts.reshape(restarts * n, d).clone().requires_grad_(True)
        target = x.repeat(restarts, *([1] * (x.ndim - 1)))
        opt = torch.optim.Adam([z], lr=lr)
        with torch.enable_grad():
            for p in self.generator_net.parameters():
                p.requires_grad_(False)
            try:
                for _ in range(steps):
                    opt.zero_grad()
                    per_image = ((self._decode(z) - target) ** 2).flatten(1).mean(dim=1)
                    per_image.sum().backward()
                    opt.step()
            finally:
                for p in self.generator_net.parameters():
                    p.requires_grad_(True)
        with torch.no_grad():
            err = ((self._decode(z) - target) ** 2).flatten(1).mean(dim=1).view(restarts, n)
            best = err.argmin(dim=0)
            z_best = z.detach().view(restarts, n, d)[best, torch.arange(n, device=z.device)]
            err_best = err[best, torch.arange(n, device=z.device)]
        self.train(was_training)
        return z_best.cpu(), err_best.cpu()

    def encode(self, x: torch.Tensor, batch_size: int = 256, generator: torch.Generator | None = None) -> torch.Tensor:
        """GAN inversion of ``x`` (see :meth:`invert`); codes ``(N, latent_dim)`` on ``x``'s device."""
        x = self.check_samples(x)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        outs = [self.invert(x[i : i + batch_size], generator=generator)[0] for i in range(0, len(x), batch_size)]
        return torch.cat(outs).to(x.device) if outs else torch.empty(0, self.config.latent_dim)
