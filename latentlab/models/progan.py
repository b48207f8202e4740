"""Progressive GAN (Karras et al. 2018): generator and critic grow 4 -> 8 -> ... px with smooth fades.

Why a separate ``kind = "progan"`` and not the GAN with ``progressive = true``: the
networks share nothing with the DCGAN players of :mod:`latentlab.models.gan` (equalised
learning rate, pixelwise feature normalisation, a minibatch standard deviation layer,
one toRGB/fromRGB layer per resolution), its config has fields a DCGAN has no use for
(``fade_steps``, ``stable_steps``, ``transition``, ``drift``, channel plan), its default
loss differs, and it only takes square power-of-two images. A flag would have made half
of ``GANConfig`` meaningless for each value of the other half. What *is* the same — the
five losses, the gradient penalty, the recoder and the inversion behind ``encode``, the
optimizers — is reused by subclassing :class:`~latentlab.models.gan.GAN`, not copied.

The growth
----------
Resolution level ``l`` draws ``4 * 2**l`` px images; the data's size ``S`` gives
``log2(S) - 1`` levels. Level 0 trains for ``stable_steps``; each later level first
**fades in** for ``fade_steps`` (α rises linearly from 0 to 1) and then trains for
``stable_steps`` at α = 1; the last level keeps training at α = 1 until the run ends.
During a fade

- the generator's output is ``α · toRGB_l(block_l(h)) + (1 - α) · upsample(toRGB_{l-1}(h))``,
- the critic's features are ``α · block_l(fromRGB_l(x)) + (1 - α) · fromRGB_{l-1}(avgpool(x))``,
- real images are shown as ``α · x_l + (1 - α) · upsample(avgpool(x_l))`` with ``x_l``
  the data average-pooled to the level's size,

so at α = 0 the new layers contribute nothing and the model is exactly the previous one
seen at the new size. ``transition = "abrupt"`` keeps the same phases with α = 1 from the
first step of each level (the ablation of the fade).

The phase and α are a pure function of the training step (:func:`growth_phase`), so a
checkpoint, which stores the step and the config, holds them, and a run resumed in the
middle of a fade continues exactly. ``decode`` always draws at the final resolution;
:meth:`ProGAN.decode_at` draws at any level of the growth.

Batch size per resolution (the paper's smaller batches at high resolution) is not
offered: the training loop fetches ``train.batch_size`` images every step and its data
order is a function of that size and the step, so a per-level batch would have to be a
slice of the loop's batch, which changes which images a run sees with the number of
processes. Every level trains with ``train.batch_size``.

Networks (Karras et al. 2018, Table 2, with the channel counts scaled down):
generator — z pixel-normalised, an equalised dense layer to 4x4, a 3x3 convolution, then
per level nearest-neighbour upsampling and two 3x3 convolutions, every convolution
followed by LeakyReLU(0.2) and pixel normalisation; 1x1 toRGB per level with a linear
output in training, as in the paper, clamped to [-1, 1] (the Generator interface's
range) by ``decode``, ``sample`` and ``decode_at`` — a clamp commutes with
nearest-neighbour upsampling, so the fade stays exact. Critic — the mirror image, with
average pooling, and at 4x4 the minibatch standard deviation feature map, a 3x3
convolution and two dense layers. Every weight is drawn from N(0, 1) and scaled at run
time by He's constant (equalised learning rate). The default loss is WGAN-GP with the
ε-drift term ``drift · E[D(x)²]`` (ε = 0.001) added to the critic's loss.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.gan import GAN
from latentlab.models.nets import IMAGE_SIZES, ConvEncoder
from latentlab.models.trainable import TrainableGenerator

__all__ = ["ProGAN", "ProGANConfig", "GrowthPhase", "growth_phase", "growth_levels", "growth_starts", "real_at",
           "loss_spikes"]


# -- the schedule --------------------------------------------------------------------------
@dataclass(frozen=True)
class GrowthPhase:
    """Where the growth stands: resolution ``level`` (0 = 4 px) and the fade's ``alpha`` in [0, 1]."""

    level: int
    alpha: float = 1.0

    @property
    def resolution(self) -> int:
        """The side of the images drawn at this level, in pixels."""
        return 4 * 2**self.level


def growth_levels(image_size: int) -> int:
    """Number of resolutions a ProGAN grows through to reach ``image_size`` (4 px: 1, 32 px: 4, 64 px: 5).

    Raises ``ValueError`` unless ``image_size`` is a power of two of at least 4.
    """
    size = int(image_size)
    if size < 4 or size & (size - 1):
        raise ValueError(f"a progressive GAN grows 4 -> 8 -> 16 -> ... px, so its images must have a power-of-two size "
                         f"of at least 4 (4, 8, 16, 32, 64, ...); got {image_size} px (set data.options.size)")
    return int(math.log2(size)) - 1


def growth_phase(step: int, n_levels: int, fade_steps: int, stable_steps: int,
                 transition: str = "fade") -> GrowthPhase:
    """The :class:`GrowthPhase` of training step ``step`` (0-based).

    Level 0 lasts ``stable_steps``; each level ``l >= 1`` lasts ``fade_steps`` (α = s /
    ``fade_steps`` at its s-th step; 1 throughout with ``transition = "abrupt"``) plus
    ``stable_steps``; the last level lasts for ever.
    """
    if step < 0 or n_levels < 1 or fade_steps < 0 or stable_steps < 1:
        raise ValueError(f"growth_phase needs step >= 0, n_levels >= 1, fade_steps >= 0 and stable_steps >= 1; got "
                         f"step={step}, n_levels={n_levels}, fade_steps={fade_steps}, stable_steps={stable_steps}")
    if transition not in ("fade", "abrupt"):
        raise ValueError(f"transition = {transition!r} is not allowed; choose one of: 'fade', 'abrupt'")
    if step < stable_steps or n_levels == 1:
        return GrowthPhase(0, 1.0)
    level, within = divmod(step - stable_steps, fade_steps + stable_steps)
    level += 1
    if level >= n_levels:
        return GrowthPhase(n_levels - 1, 1.0)
    fading = transition == "fade" and within < fade_steps
    return GrowthPhase(level, within / fade_steps if fading else 1.0)


def growth_starts(n_levels: int, fade_steps: int, stable_steps: int) -> list[int]:
    """The step at which each level ``1 .. n_levels - 1`` first appears (its fade, or its abrupt start)."""
    return [stable_steps + (level - 1) * (fade_steps + stable_steps) for level in range(1, n_levels)]


def loss_spikes(history, starts, key: str = "loss_d", window: int = 10) -> list[float]:
    """How far a logged loss swings when each new resolution appears.

    For each growth step ``s`` of ``starts`` (0-based, as :func:`growth_starts` gives),
    the largest distance of ``key`` over the ``window`` steps from ``s`` on from its mean
    over the ``window`` steps before ``s`` (a swing either way counts: an abrupt growth
    often throws a WGAN critic's loss up and then down); NaN where the history does not
    cover both windows.

    Parameters
    ----------
    history : list of dict
        One row per training step with ``"step"`` (1-based, as
        :attr:`latentlab.training.TrainResult.history` holds) and ``key``.
    starts : sequence of int
    key : str
        The logged value, e.g. ``"loss_d"`` (the critic's loss) or ``"g_grad_norm"``.
    window : int
        Steps on each side.

    Returns
    -------
    list of float, one per growth step, in the units of ``key`` (>= 0).
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 step, not {window}")
    by_step = {int(row["step"]) - 1: float(row[key]) for row in history}
    spikes = []
    for s in starts:
        before = [by_step.get(t) for t in range(s - window, s)]
        after = [by_step.get(t) for t in range(s, s + window)]
        if None in before or None in after:
            spikes.append(math.nan)
            continue
        level = sum(before) / window
        spikes.append(max(abs(v - level) for v in after))
    return spikes


def real_at(x: torch.Tensor, phase: GrowthPhase) -> torch.Tensor:
    """Real images ``(N, C, S, S)`` as the critic sees them in ``phase``: average-pooled to the
    level's size and, during a fade, blended with their upsampled half-size version."""
    factor = x.shape[-1] // phase.resolution
    x = F.avg_pool2d(x, factor) if factor > 1 else x
    if phase.level > 0 and phase.alpha < 1:
        x = phase.alpha * x + (1 - phase.alpha) * _upsample(F.avg_pool2d(x, 2))
    return x


# -- layers ----------------------------------------------------------------------------------
def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit root-mean-square (Karras et al. 2018, 4.2)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """``x (N, C, H, W)`` with one more feature map: the standard deviation of each feature over a
    group of ``group`` samples (the largest divisor of N not above it), averaged over features and pixels."""
    n, c, h, w = x.shape
    g = max(1, min(group, n))
    while n % g:
        g -= 1
    # sample i falls in group i % (n // g), as in the paper's reshape
    std = (x.view(g, n // g, c, h, w).var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
    return torch.cat([x, std.view(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)], dim=1)


class EqualizedConv2d(nn.Module):
    """A convolution whose N(0, 1) weights are scaled at run time by ``gain / sqrt(fan_in)``
    (equalised learning rate: Adam's step is then the same size for every layer)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = math.sqrt(2), padding=None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """A dense layer with equalised learning rate (see :class:`EqualizedConv2d`)."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def _conv_act(cin: int, cout: int, norm: bool) -> list[nn.Module]:
    layers = [EqualizedConv2d(cin, cout, 3), nn.LeakyReLU(0.2)]
    return layers + [_PixelNorm()] if norm else layers


class _PixelNorm(nn.Module):
    def forward(self, x):
        return pixel_norm(x)


# -- the players -----------------------------------------------------------------------------
class ProGenerator(nn.Module):
    """Codes ``(N, latent_dim)`` -> images ``(N, C, r, r)`` (before tanh) at the resolution of ``phase``.

    ``phase`` (a :class:`GrowthPhase`) is the final resolution at α = 1 except inside
    :meth:`ProGAN.growing`.
    """

    def __init__(self, latent_dim: int, out_channels: int, channels: list[int]):
        super().__init__()
        c0 = channels[0]
        self.c0 = c0
        # Karras et al.: the 4x4 dense layer's gain is sqrt(2)/4 (it maps to 16 pixels)
        self.stem = EqualizedLinear(latent_dim, c0 * 16, gain=math.sqrt(2) / 4)
        self.stem_conv = nn.Sequential(*_conv_act(c0, c0, norm=True))
        self.blocks = nn.ModuleList(
            nn.Sequential(*_conv_act(channels[i - 1], channels[i], True), *_conv_act(channels[i], channels[i], True))
            for i in range(1, len(channels))
        )
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, out_channels, 1, gain=1.0) for c in channels)
        self.phase = GrowthPhase(len(channels) - 1, 1.0)

    def first_features(self, z: torch.Tensor) -> torch.Tensor:
        """The 4x4 stem's activations ``(N, c0, 4, 4)`` (GANSpace's feature layer)."""
        h = F.leaky_relu(self.stem(pixel_norm(z)), 0.2).view(-1, self.c0, 4, 4)
        return pixel_norm(h)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        level, alpha = self.phase.level, self.phase.alpha
        h = self.stem_conv(self.first_features(z))
        prev = h
        for block in self.blocks[:level]:
            prev = h
            h = block(_upsample(h))
        out = self.to_rgb[level](h)
        if level > 0 and alpha < 1:
            out = alpha * out + (1 - alpha) * _upsample(self.to_rgb[level - 1](prev))
        return out


class ProCritic(nn.Module):
    """Images ``(N, C, r, r)`` at the resolution of ``phase`` -> ``(N, out_features)`` (the mirror of
    :class:`ProGenerator`); ``mbstd_group = 0`` leaves out the minibatch standard deviation layer."""

    def __init__(self, in_channels: int, channels: list[int], out_features: int = 1, mbstd_group: int = 4):
        super().__init__()
        c0 = channels[0]
        self.mbstd_group = mbstd_group
        self.from_rgb = nn.ModuleList(EqualizedConv2d(in_channels, c, 1) for c in channels)
        self.blocks = nn.ModuleList(
            nn.Sequential(*_conv_act(channels[i], channels[i], False), *_conv_act(channels[i], channels[i - 1], False),
                          nn.AvgPool2d(2))
            for i in range(1, len(channels))
        )
        self.final_conv = nn.Sequential(*_conv_act(c0 + (1 if mbstd_group else 0), c0, False))
        self.dense = EqualizedLinear(c0 * 16, c0)
        self.out = EqualizedLinear(c0, out_features, gain=1.0)
        self.phase = GrowthPhase(len(channels) - 1, 1.0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        level, alpha = self.phase.level, self.phase.alpha
        if x.shape[-1] != self.phase.resolution:
            raise ValueError(f"the critic is at {self.phase.resolution} px but got images of shape {tuple(x.shape)}")
        h = F.leaky_relu(self.from_rgb[level](x), 0.2)
        if level > 0:
            h = self.blocks[level - 1](h)
            if alpha < 1:
                h = alpha * h + (1 - alpha) * F.leaky_relu(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), 0.2)
            for block in reversed(self.blocks[: level - 1]):
                h = block(h)
        if self.mbstd_group:
            h = minibatch_stddev(h, self.mbstd_group)
        return F.leaky_relu(self.dense(self.final_conv(h).flatten(1)), 0.2)

    def forward(self, x: torch.Tensor, labels=None):
        """``(out (N,), None)`` as :class:`~latentlab.models.gan.Discriminator` returns for an unconditional GAN."""
        return self.out(self.features(x)).squeeze(1), None


class _Recoder(nn.Module):
    """Predicts z from generated images of any level (upsampled to the final size first).

    The GAN's recoder network (:class:`~latentlab.models.nets.ConvEncoder`) at the sizes it
    supports (32 and 64 px); at other sizes a critic-shaped network without the minibatch layer.
    """

    def __init__(self, channels: int, size: int, latent_dim: int, widths: list[int]):
        super().__init__()
        self.size = size
        if size in IMAGE_SIZES:
            self.net = ConvEncoder(channels, size, latent_dim, base=widths[-1], norm="group")
        else:
            self.net = ProCritic(channels, widths, latent_dim, mbstd_group=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="nearest")
        if isinstance(self.net, ProCritic):
            return self.net.out(self.net.features(x))
        return self.net(x)


# -- the model -------------------------------------------------------------------------------
@dataclass
class ProGANConfig:
    kind: Literal["progan"] = "progan"
    sample_shape: list = field(default_factory=list)  # filled from the data
    latent_dim: int = field(default=128, metadata={"min": 1})
    base_channels: int = field(default=16, metadata={"min": 1})  # channels at the final resolution
    max_channels: int = field(default=128, metadata={"min": 1})  # channels double per halving up to this
    fade_steps: int = field(default=1000, metadata={"min": 0})  # steps over which each new level fades in
    stable_steps: int = field(default=1000, metadata={"min": 1})  # steps at alpha = 1 per level
    transition: Literal["fade", "abrupt"] = "fade"  # abrupt: alpha = 1 from a level's first step
    loss: Literal["minimax", "nonsaturating", "wgan", "wgan-gp", "hinge"] = "wgan-gp"
    d_steps: int = field(default=1, metadata={"min": 1})
    lr_d: float = field(default=0.0, metadata={"min": 0})  # 0 = train.lr
    gp_weight: float = field(default=10.0, metadata={"min": 0})  # wgan-gp
    drift: float = field(default=0.001, metadata={"min": 0})  # epsilon-drift: drift * E[D(x)^2] in the critic's loss
    clip_value: float = field(default=0.01, metadata={"min": 0, "lo_open": True})  # wgan
    mbstd_group: int = field(default=4, metadata={"min": 0})  # 0 = no minibatch standard deviation layer
    recoder: bool = True
    invert_steps: int = field(default=20, metadata={"min": 0})
    invert_restarts: int = field(default=0, metadata={"min": 0})  # 0 = 1 (the recoder's guess) with a recoder, else 4
    invert_lr: float = field(default=0.05, metadata={"min": 0, "lo_open": True})


class ProGAN(GAN):
    """A progressive GAN whose latent code is the ``latent_dim``-vector ``z ~ N(0, I)``.

    Losses, gradient penalty, optimizers, recoder training and inversion (``encode``) are
    the :class:`~latentlab.models.gan.GAN`'s; the networks and the growth are its own.
    Unconditional only.
    """

    Config = ProGANConfig

    def __init__(self, config: ProGANConfig):
        # GAN.__init__ builds DCGAN players; the shared base is set up and ours built instead
        TrainableGenerator.__init__(self, config)
        shape = list(config.sample_shape)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise ValueError(f"a progressive GAN needs square images (C, S, S); the data has samples of shape {tuple(shape)}")
        c, size = shape[0], shape[1]
        self.n_levels = growth_levels(size)
        channels = [min(config.max_channels, config.base_channels * 2 ** (self.n_levels - 1 - i)) for i in range(self.n_levels)]
        self.arch = "conv"
        self.generator_net = ProGenerator(config.latent_dim, c, channels)
        self.discriminator = ProCritic(c, channels, 1, config.mbstd_group)
        self.recoder_net = _Recoder(c, size, config.latent_dim, channels) if config.recoder else None
        self.class_embed = None
        self._linear_output = False
        self.latent_shape = (config.latent_dim,)

    @classmethod
    def build(cls, config, dataset):
        return TrainableGenerator.build.__func__(cls, config, dataset)

    # -- the growth --------------------------------------------------------------------------
    def phase_at(self, step: int) -> GrowthPhase:
        """The :class:`GrowthPhase` the model trains in at training step ``step`` (0-based)."""
        cfg = self.config
        return growth_phase(step, self.n_levels, cfg.fade_steps, cfg.stable_steps, cfg.transition)

    def growth_starts(self) -> list[int]:
        """The training step at which each resolution after 4 px appears."""
        return growth_starts(self.n_levels, self.config.fade_steps, self.config.stable_steps)

    def schedule_steps(self) -> int:
        """Training steps until the final resolution has faded in and trained ``stable_steps`` at α = 1."""
        cfg = self.config
        return cfg.stable_steps + (self.n_levels - 1) * (cfg.fade_steps + cfg.stable_steps)

    @property
    def resolutions(self) -> list[int]:
        """The image sizes of the growth, 4 px to the final size."""
        return [GrowthPhase(level).resolution for level in range(self.n_levels)]

    @contextlib.contextmanager
    def growing(self, phase: GrowthPhase):
        """Generator and critic work at ``phase`` inside this block, at the final resolution after it."""
        if not 0 <= phase.level < self.n_levels or not 0 <= phase.alpha <= 1:
            raise ValueError(f"phase level must be in 0..{self.n_levels - 1} and alpha in [0, 1]; got {phase}")
        nets = (self.generator_net, self.discriminator)
        for net in nets:
            net.phase = phase
        try:
            yield
        finally:
            for net in nets:
                net.phase = GrowthPhase(self.n_levels - 1, 1.0)

    def decode_at(self, z: torch.Tensor, resolution: int, alpha: float = 1.0) -> torch.Tensor:
        """Codes ``(N, latent_dim)`` -> images ``(N, C, resolution, resolution)`` in [-1, 1] drawn by the
        generator's layers up to ``resolution`` (one of :attr:`resolutions`), blended with the level
        below by ``alpha``; a plain tensor on ``z``'s device."""
        if resolution not in self.resolutions:
            raise ValueError(f"resolution must be one of {self.resolutions}; got {resolution}")
        with self.growing(GrowthPhase(self.resolutions.index(resolution), float(alpha))):
            return self.decode(z)

    # -- training: GAN's step at the phase of the step, on real images seen at that phase --------
    def _generate(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        out = self.generator_net(z)
        # linear output in training, as in the paper; clamped to the Generator interface's [-1, 1] elsewhere
        return out if self._linear_output else out.clamp(-1, 1)

    def _d_loss(self, real_out, fake_out, *args) -> torch.Tensor:
        total = super()._d_loss(real_out, fake_out, *args)
        # epsilon-drift (Karras et al. 2018, A.1): keeps the critic's values near zero
        return total + self.config.drift * real_out[0].square().mean() if self.config.drift else total

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        phase = self.phase_at(step.step)
        self._linear_output = True
        try:
            with self.growing(phase):
                logs = super().train_step(real_at(x, phase), y, step)
        finally:
            self._linear_output = False
        logs["resolution"] = torch.tensor(float(phase.resolution), device=x.device)
        logs["alpha"] = torch.tensor(float(phase.alpha), device=x.device)
        return logs
