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
by Adam, the best of several starts kept. A "recoder" network trained alongside the GAN
on the generator's own samples to predict z gives the first start, and by default the
only one: its guess refined by ``invert_steps = 20`` steps costs 20 generator forward
and backward passes per image (about 15 ms per image on one free CPU core for the 32 px
faces GAN of the quickstart), where 300 steps from 4 starts cost 60 times as much.
Without a recoder the default is 4 starts drawn from the prior.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from latentlab._progress import batch_starts, progress_bar
from latentlab.models.nets import MLP, ConvDecoder, ConvEncoder
from latentlab.models.trainable import ClassConditionalGenerator, NoiseDraws, attribute_classes, frozen, resolve_arch

__all__ = ["GAN", "GANConfig", "GANLosses", "GAN_LOSSES"]

GAN_LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "hinge")


class GANLosses(NamedTuple):
    """What :meth:`GAN.forward` returns: each player's loss, a scalar tensor."""

    discriminator: torch.Tensor
    generator: torch.Tensor


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
    cond_attr: str = ""  # dataset attribute used as class label; "" = unconditional
    conditioning: Literal["projection", "acgan"] = "projection"
    acgan_weight: float = field(default=1.0, metadata={"min": 0})
    num_classes: int = field(default=0, metadata={"min": 0})  # filled from the data
    cond_index: int = -1  # column of cond_attr in the dataset's label matrix (filled from the data)
    recoder: bool = True
    invert_steps: int = field(default=20, metadata={"min": 0})
    invert_restarts: int = field(default=0, metadata={"min": 0})  # 0 = 1 (the recoder's guess) with a recoder, else 4
    invert_lr: float = field(default=0.05, metadata={"min": 0, "lo_open": True})

    def validate(self):
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            raise ValueError("model.d_norm = 'batch' cannot be used with loss 'wgan-gp' (the penalty is per sample); use 'none'")


class Discriminator(nn.Module):
    """D(x) (a logit or critic value) from a feature body, optionally class-conditional.

    ``projection`` (Miyato & Koyama 2018) adds ⟨embed(y), features⟩ to the output;
    ``acgan`` (Odena et al. 2017) adds an auxiliary head that classifies the image.
    """

    def __init__(self, body: nn.Module, features: int, num_classes: int = 0, conditioning: str = "projection",
                 spectral_norm: bool = False):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        self.body = body
        self.out = sn(nn.Linear(features, 1))
        self.embed = sn(nn.Embedding(num_classes, features)) if num_classes and conditioning == "projection" else None
        self.aux = sn(nn.Linear(features, num_classes)) if num_classes and conditioning == "acgan" else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        """``(out (N,), class logits (N, K) or None)``."""
        h = self.body(x)
        out = self.out(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(labels) * h).sum(dim=1)
        return out, (self.aux(h) if self.aux is not None else None)


class GAN(ClassConditionalGenerator):
    """A GAN whose latent code is the ``latent_dim``-vector ``z ~ N(0, I)``.

    A class-conditional GAN (``cond_attr`` set) generates the class in ``labels`` (or
    ``default_label`` when the Generator interface calls ``decode(z)`` alone).
    """

    Config = GANConfig
    encodes_by_optimisation = True  # encode() inverts the generator by Adam steps

    def __init__(self, config: GANConfig):
        super().__init__(config)
        shape = list(config.sample_shape)
        if config.cond_attr and config.num_classes < 2:
            raise ValueError("a conditional GAN needs model.num_classes >= 2: build it with GAN.build(config, dataset)")
        self.arch = resolve_arch(config.arch, shape)
        d = config.latent_dim
        k = config.num_classes if config.cond_attr else 0
        d_base = config.d_base_channels or config.base_channels
        sn = config.spectral_norm
        if self.arch == "conv":
            c, s = shape[0], shape[1]
            self.generator_net = ConvDecoder(d, c, s, base=config.base_channels, norm="batch")
            body = ConvEncoder(c, s, None, base=d_base, norm=config.d_norm, act="leaky", spectral_norm=sn)
            self.recoder_net = ConvEncoder(c, s, d, base=config.base_channels // 2 or 1, norm="group") if config.recoder else None
            features = body.out_dim
        else:
            self.generator_net = MLP(d, shape[0], hidden=config.hidden)
            body = nn.Sequential(MLP(shape[0], config.hidden, hidden=config.hidden, depth=2, act="leaky", spectral_norm=sn),
                                 nn.LeakyReLU(0.2))
            self.recoder_net = MLP(shape[0], d, hidden=config.hidden) if config.recoder else None
            features = config.hidden
        self.discriminator = Discriminator(body, features, k, config.conditioning, sn)
        self.class_embed = nn.Embedding(k, d) if k else None
        self.latent_shape = (d,)

    @classmethod
    def build(cls, config, dataset):
        if config.cond_attr:
            column, k = attribute_classes(dataset, config.cond_attr, "cond_attr")
            config = dataclasses.replace(config, num_classes=k, cond_index=column)
        return super().build(config, dataset)

    @property
    def conditional(self) -> bool:
        return self.class_embed is not None

    @property
    def label_classes(self) -> int:
        return self.config.num_classes if self.conditional else 0

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if labels is not None:
            z = z + self.class_embed(labels)
        out = self.generator_net(z)
        return torch.tanh(out) if self.arch == "conv" else out

    def _feature_net(self):
        return self.generator_net

    def _feature_input(self, z: torch.Tensor) -> torch.Tensor:
        y = self._labels(len(z), None, z.device)
        return z + self.class_embed(y) if y is not None else z

    def sample(self, n: int, generator: torch.Generator | None = None, labels=None) -> torch.Tensor:
        """``n`` samples; a conditional GAN draws uniform random classes (with ``generator``) unless ``labels`` are given."""
        z = self.sample_latents(n, generator)
        if self.conditional and labels is None:
            labels = torch.randint(self.config.num_classes, (n,), generator=generator)
        return self.decode(z, labels)

    def forward(self, x: torch.Tensor, labels=None, generator: torch.Generator | None = None) -> GANLosses:
        """The two training losses on a batch of real samples ``x`` ``(N, *sample_shape)``.

        As for every latentlab model, ``forward`` is the training objective; a GAN has two,
        one per player. Codes (and the class labels of a conditional GAN's fakes, and the
        WGAN-GP interpolation weights) are drawn with ``generator``; a conditional GAN needs
        the real samples' class ``labels`` ``(N,)``. Nothing is updated and the weight
        clipping of ``"wgan"`` is not applied: ``train_step`` makes the updates. The samples
        are ``G(z)``: :meth:`decode_with_grad`.

        Returns
        -------
        GANLosses
            ``(discriminator, generator)``, scalar tensors; the discriminator's loss sees the
            fakes detached, as in training.
        """
        x = self.check_samples(x).to(self.device, torch.float32)
        n, draws = len(x), NoiseDraws(generator, self.device)
        k = self.config.num_classes if self.conditional else 0
        if k and labels is None:
            raise ValueError("this GAN is conditional: give the real samples' class labels")
        labels_real = self._labels(n, labels, self.device)
        fake_labels = draws.randint(k, n) if k else None
        fake = self._generate(draws.randn(n, self.config.latent_dim), fake_labels)
        eps = draws.rand(n, *([1] * (x.ndim - 1))) if self.config.loss == "wgan-gp" else None
        loss_d = self._d_loss(self._critic(x, labels_real), self._critic(fake.detach(), fake_labels), x, fake.detach(),
                              labels_real, fake_labels, eps)
        return GANLosses(loss_d, self._g_loss(self._critic(fake, fake_labels), fake_labels))

    def _critic(self, x: torch.Tensor, labels) -> list:
        """The discriminator's ``[out (N,), class logits or None]`` for ``x``, in float32."""
        return [t.float() if t is not None else None for t in self.discriminator(x, labels)]

    # -- training -----------------------------------------------------------------------
    def make_optimizers(self, tc):
        g_params = list(self.generator_net.parameters())
        if self.class_embed is not None:
            g_params += list(self.class_embed.parameters())
        opts = {
            "generator": self.adam(g_params, tc),
            "discriminator": self.adam(self.discriminator.parameters(), tc, lr=self.config.lr_d or None),
        }
        if self.recoder_net is not None:
            opts["recoder"] = self.adam(self.recoder_net.parameters(), tc)
        return opts

    def _d_loss(self, real_out, fake_out, real, fake, labels_real, labels_fake, eps=None) -> torch.Tensor:
        loss = self.config.loss
        (r, r_aux), (f, f_aux) = real_out, fake_out
        if loss in ("minimax", "nonsaturating"):
            total = F.softplus(-r).mean() + F.softplus(f).mean()
        elif loss == "hinge":
            total = F.relu(1 - r).mean() + F.relu(1 + f).mean()
        else:
            total = f.mean() - r.mean()
            if loss == "wgan-gp":
                total = total + self.config.gp_weight * self._gradient_penalty(real, fake, eps, labels_real)
        if r_aux is not None:  # AC-GAN: D also learns to classify real and generated images
            total = total + self.config.acgan_weight * (F.cross_entropy(r_aux, labels_real) + F.cross_entropy(f_aux, labels_fake))
        return total

    def _gradient_penalty(self, real, fake, eps, labels) -> torch.Tensor:
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        out, _ = self.discriminator(x_hat, labels)  # conditional critics are probed with the real labels
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    def _g_loss(self, fake_out, labels_fake) -> torch.Tensor:
        loss = self.config.loss
        f, f_aux = fake_out
        if loss == "minimax":
            total = -F.softplus(f).mean()  # log(1 - sigmoid(l)) = -softplus(l)
        elif loss == "nonsaturating":
            total = F.softplus(-f).mean()
        else:
            total = -f.mean()
        if f_aux is not None:
            total = total + self.config.acgan_weight * F.cross_entropy(f_aux, labels_fake)
        return total

    def _d_value(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out).mean() if self.config.loss in ("minimax", "nonsaturating") else out.mean()

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        n, d = x.shape[0], self.config.latent_dim
        k = self.config.num_classes if self.conditional else 0
        labels_real = y[:, self.config.cond_index].long() if k else None
        for i in range(self.config.d_steps):
            z = step.randn(n, d)
            labels_fake = step.randint(k, n) if k else None
            last = i == self.config.d_steps - 1
            # the last fake batch keeps its graph: the generator's step reuses it
            with torch.set_grad_enabled(last), step.autocast():
                fake = self._generate(z, labels_fake)
            eps = step.rand(n, *([1] * (x.ndim - 1))) if self.config.loss == "wgan-gp" else None
            with step.autocast():
                real_out = self._critic(x, labels_real)
                fake_out = self._critic(fake.detach(), labels_fake)
                loss_d = self._d_loss(real_out, fake_out, x, fake.detach().float(), labels_real, labels_fake, eps)
            step.update("discriminator", loss_d)
            if self.config.loss == "wgan":
                with torch.no_grad():
                    for p in self.discriminator.parameters():
                        p.clamp_(-self.config.clip_value, self.config.clip_value)
        with step.frozen(self.discriminator):
            with step.autocast():
                fake_out = self._critic(fake, labels_fake)
                loss_g = self._g_loss(fake_out, labels_fake)
            g_norm = step.update("generator", loss_g, grad_norm=True)
        logs = {
            "loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "d_real": self._d_value(real_out[0].detach()), "d_fake": self._d_value(fake_out[0].detach()),
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
               use_recoder: bool = True, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes whose images best reconstruct ``x``, and their per-image pixel MSE.

        ``restarts`` starts are optimised together with Adam for ``steps`` steps (the
        recoder's prediction is the first start when there is one; the others are drawn
        from the prior with ``generator``); the best code per image is kept. Defaults come
        from the config (``invert_restarts = 0``: one start with a recoder, four without).
        ``progress`` shows a bar over the steps.

        Returns ``(z, error)`` with shapes ``(N, latent_dim)`` and ``(N,)``, on the CPU.
        """

        cfg = self.config
        steps = cfg.invert_steps if steps is None else steps
        restarts = self.default_restarts(use_recoder) if restarts is None else restarts
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
        with torch.enable_grad(), frozen(self.generator_net):
            for _ in progress_bar(range(steps), enabled=progress, desc="GAN inversion", unit="step", leave=False):
                opt.zero_grad()
                per_image = ((self._decode(z) - target) ** 2).flatten(1).mean(dim=1)
                per_image.sum().backward()
                opt.step()
        with torch.no_grad():
            err = ((self._decode(z) - target) ** 2).flatten(1).mean(dim=1).view(restarts, n)
            best = err.argmin(dim=0)
            z_best = z.detach().view(restarts, n, d)[best, torch.arange(n, device=z.device)]
            err_best = err[best, torch.arange(n, device=z.device)]
        self.train(was_training)
        return z_best.cpu(), err_best.cpu()

    def default_restarts(self, use_recoder: bool = True) -> int:
        """Starts of :meth:`invert` by default: ``invert_restarts``, or when it is 0, 1 with a recoder and 4 without."""
        if self.config.invert_restarts:
            return self.config.invert_restarts
        return 1 if use_recoder and self.recoder_net is not None else 4

    def describe_inversion(self, steps: int | None = None, restarts: int | None = None) -> str:
        """What :meth:`encode` does with these settings (default: the config's), in words."""
        steps = self.config.invert_steps if steps is None else steps
        starts = self.default_restarts() if restarts is None else restarts
        guess = "the recoder's guess" if self.recoder_net is not None else "a draw from the prior"
        extra = f" and {starts - 1} draws from the prior" if starts > 1 else ""
        return f"GAN inversion: {steps} Adam steps per image from {guess}{extra}"

    def encode(self, x: torch.Tensor, batch_size: int = 256, generator: torch.Generator | None = None,
               progress: bool = False, steps: int | None = None, restarts: int | None = None) -> torch.Tensor:
        """GAN inversion of ``x`` (see :meth:`invert`); codes ``(N, latent_dim)`` on ``x``'s device.

        ``steps`` and ``restarts`` as in :meth:`invert` (defaults from the config);
        ``progress`` shows a bar over the images, with the expected duration after the first batch.
        """

        x = self.check_samples(x)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        outs = [self.invert(x[i : i + batch_size], steps, restarts, generator=generator)[0]
                for i in batch_starts(len(x), batch_size, enabled=progress, desc="GAN inversion", unit="image",
                                      estimate=True)]
        return torch.cat(outs).to(x.device) if outs else torch.empty(0, self.config.latent_dim)
