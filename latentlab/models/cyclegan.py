"""CycleGAN (Zhu et al. 2017): unpaired translation between two image domains.

Two generators, G: A -> B and F: B -> A (ResNet generators with instance norm, Johnson et
al. 2016), and two PatchGAN discriminators, D_B on domain B and D_A on domain A. Each
step the generators minimise

    L = L_lsgan(G, D_B) + L_lsgan(F, D_A)                      (least squares, Mao et al. 2017)
        + lambda ( |F(G(a)) - a|_1 + |G(F(b)) - b|_1 )          (cycle consistency, lambda = 10)
        + lambda_id lambda ( |G(b) - b|_1 + |F(a) - a|_1 )      (identity, lambda_id = 0.5)

then each discriminator learns real from fake on a fake drawn from a pool of 50 earlier
fakes (Shrivastava et al. 2017), which damps the oscillation of the adversarial game.
The learning rate decays linearly over the second half of training
(``train.lr_decay_start = 0.5``).

The two domains are the two values of a binary attribute of one dataset (``domain_attr =
"glasses"``: A the faces without, B those with), or two sub-folders of a folder of the
user's images (``[data.options] subfolders = ["trainA", "trainB"]`` with ``domain_attr =
"subfolder"``). The training loop draws each batch as half A, half B, each domain in its
own order (:meth:`CycleGAN.batch_groups`), so the pairs are unpaired.

``forward(x, y)`` gives both players' losses on a batch ``x`` whose label vectors ``y`` say
which domain each image is in (the loop's ``(x, y)`` batches).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentlab._config import field_range as _range
from latentlab.models.base import Translator
from latentlab.models.trainable import TrainableModel, attribute_classes

__all__ = ["CycleGAN", "CycleGANConfig", "CycleGANLosses", "FakePool", "domain_split"]


@dataclass
class CycleGANConfig:
    kind: Literal["cyclegan"] = "cyclegan"
    sample_shape: list = field(default_factory=list)  # filled from the data
    domain_attr: str = "glasses"  # binary attribute: A = its value 0, B = its value 1
    domain_index: int = field(default=-1, metadata=_range(-1))  # filled from the data: its column in the labels
    domain_names: list = field(default_factory=list)  # filled from the data: names of A and B
    base_channels: int = field(default=32, metadata=_range(1))  # generator width at full resolution
    downsamplings: int = field(default=2, metadata=_range(0))  # stride-2 convolutions before the ResNet blocks
    res_blocks: int = field(default=6, metadata=_range(0))
    d_base_channels: int = field(default=64, metadata=_range(1))
    d_layers: int = field(default=3, metadata=_range(1))  # stride-2 layers of the PatchGAN (3: 70x70 patches)
    cycle_weight: float = field(default=10.0, metadata=_range(0))  # lambda
    identity_weight: float = field(default=0.5, metadata=_range(0))  # lambda_id, a multiple of lambda
    pool_size: int = field(default=50, metadata=_range(0))  # earlier fakes shown to D; 0 = the current ones
    lr_d: float = field(default=0.0, metadata=_range(0))  # discriminators' rate; 0 = train.lr


class CycleGANLosses(NamedTuple):
    """What :meth:`CycleGAN.forward` returns: each player's loss, a scalar tensor."""

    discriminators: torch.Tensor  # D_A and D_B, least squares, summed
    generators: torch.Tensor  # G and F: adversarial + cycle + identity


# -- networks ----------------------------------------------------------------------------
def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with reflection padding and instance norm, plus the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Images ``(N, C, H, W)`` -> images of the same shape in ``[-1, 1]`` (Johnson et al. 2016).

    c7s1-k, ``downsamplings`` stride-2 convolutions doubling the channels, ``res_blocks``
    residual blocks, as many stride-2 transposed convolutions, c7s1-C and tanh.
    """

    def __init__(self, channels: int, base: int, downsamplings: int, res_blocks: int):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, base, 7), _norm(base), nn.ReLU(True)]
        ch = base
        for _ in range(downsamplings):
            layers += [nn.Conv2d(ch, 2 * ch, 3, 2, 1), _norm(2 * ch), nn.ReLU(True)]
            ch *= 2
        layers += [ResidualBlock(ch) for _ in range(res_blocks)]
        for _ in range(downsamplings):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1), _norm(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): a map of real/fake scores, one per overlapping patch.

    ``layers`` 4x4 stride-2 convolutions (no norm on the first, instance norm after), one
    stride-1 convolution, and a 1-channel stride-1 convolution; LeakyReLU 0.2. Three
    layers see 70x70-pixel patches.
    """

    def __init__(self, channels: int, base: int, layers: int):
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(channels, base, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = base
        for i in range(1, layers + 1):
            nxt = base * min(2**i, 8)
            stride = 2 if i < layers else 1
            mods += [nn.Conv2d(ch, nxt, 4, stride, 1), _norm(nxt), nn.LeakyReLU(0.2, True)]
            ch = nxt
        mods.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x):
        return self.net(x)


class FakePool(nn.Module):
    """The last ``size`` generated images, from which a discriminator is shown its fakes.

    Until it is full every fake goes in and is shown; after that each fake is, with
    probability 1/2, swapped for a random stored one (which is shown instead) or shown
    itself (Shrivastava et al. 2017; Zhu et al. 2017 keep 50). The images are buffers, so
    they are saved in checkpoints and a resumed run draws the same ones.
    """

    def __init__(self, size: int, sample_shape):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *sample_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def query(self, fakes: torch.Tensor, draws) -> torch.Tensor:
        """Images to show for ``fakes`` ``(N, C, H, W)``; ``draws`` gives the randomness
        (:class:`~latentlab.models.trainable.NoiseDraws` or the loop's step)."""
        if self.size == 0:
            return fakes
        fakes = fakes.detach()
        n = len(fakes)
        coins, slots = draws.rand(n).tolist(), draws.randint(self.size, n).tolist()
        filled = int(self.count)  # read once: on a GPU every read waits for the device
        shown = []
        for fake, coin, slot in zip(fakes, coins, slots):
            if filled < self.size:
                self.images[filled] = fake
                filled += 1
                shown.append(fake)
            elif coin < 0.5:
                shown.append(self.images[slot].clone())
                self.images[slot] = fake
            else:
                shown.append(fake)
        self.count.fill_(filled)
        return torch.stack(shown)


# -- the domains -------------------------------------------------------------------------
def domain_split(dataset, attr: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the samples of domain A (``attr`` = 0) and domain B (``attr`` = 1).

    Raises
    ------
    ValueError
        When ``attr`` is not an attribute of ``dataset``, has other values than 0 and 1,
        or leaves one domain empty; the message says what the attribute holds.
    """
    attribute_classes(dataset, attr, "domain_attr")
    values = np.asarray(dataset.attrs[attr])
    levels = dataset.attr_levels[attr]
    a, b = np.flatnonzero(values == 0), np.flatnonzero(values == 1)
    if len(a) == 0 or len(b) == 0 or len(a) + len(b) != len(values):
        counts = ", ".join(f"{levels[v] if v < len(levels) else v}: {c}" for v, c in enumerate(np.bincount(values)))
        raise ValueError(f"model.domain_attr = {attr!r} does not split {dataset.name} into two non-empty domains "
                         f"(A = value 0, B = value 1); its values hold {counts} samples")
    return a, b


# -- the model ---------------------------------------------------------------------------
class CycleGAN(TrainableModel, Translator):
    """Two generators (A -> B, B -> A) trained with two discriminators, unpaired.

    ``translate(x, "a2b")`` is G, ``translate(x, "b2a")`` is F; ``forward(x, y)`` gives the
    discriminators' and the generators' training losses on a batch of both domains.
    """

    Config = CycleGANConfig

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        shape = list(config.sample_shape)
        if len(shape) != 3:
            raise ValueError(f"CycleGAN translates images; the data has samples of shape {tuple(shape)}")
        c, h, w = shape
        if h % 2**config.downsamplings or w % 2**config.downsamplings:
            raise ValueError(f"model.downsamplings = {config.downsamplings} needs images whose sides are multiples "
                             f"of {2 ** config.downsamplings}; these are {h}x{w}")
        if min(h, w) < 2 ** (config.d_layers + 2):
            raise ValueError(f"model.d_layers = {config.d_layers} needs images of at least {2 ** (config.d_layers + 2)} "
                             f"pixels a side; these are {h}x{w}: lower model.d_layers")
        if config.domain_index < 0:
            raise ValueError("model.domain_index is not set: build the CycleGAN with CycleGAN.build(config, dataset)")
        self.g_ab = ResnetGenerator(c, config.base_channels, config.downsamplings, config.res_blocks)
        self.g_ba = ResnetGenerator(c, config.base_channels, config.downsamplings, config.res_blocks)
        self.d_a = PatchDiscriminator(c, config.d_base_channels, config.d_layers)
        self.d_b = PatchDiscriminator(c, config.d_base_channels, config.d_layers)
        self.pool_a = FakePool(config.pool_size, shape)
        self.pool_b = FakePool(config.pool_size, shape)
        names = list(config.domain_names) or [f"no {config.domain_attr}", config.domain_attr]
        self.domains = (str(names[0]), str(names[1]))

    @classmethod
    def build(cls, config, dataset):
        domain_split(dataset, config.domain_attr)
        levels = dataset.attr_levels[config.domain_attr]
        names = [f"no {config.domain_attr}", config.domain_attr] if list(levels) == ["no", "yes"] else list(levels)
        config = dataclasses.replace(config, domain_index=dataset.attribute_names.index(config.domain_attr),
                                     domain_names=[str(n) for n in names])
        return super().build(config, dataset)

    def batch_groups(self, dataset) -> dict[str, np.ndarray]:
        """The two domains' indices, by name: the loop draws half of every batch from each."""
        a, b = domain_split(dataset, self.config.domain_attr)
        return {f"domain A ({self.domains[0]})": a, f"domain B ({self.domains[1]})": b}

    # -- translation ------------------------------------------------------------------------
    def _net(self, direction: str) -> nn.Module:
        return self.g_ab if self.check_direction(direction) == "a2b" else self.g_ba

    def translate(self, x: torch.Tensor, direction: str = "a2b", batch_size: int = 256) -> torch.Tensor:
        """Images ``(N, C, H, W)`` in ``[-1, 1]`` -> their translations (``"a2b"``: G, ``"b2a"``: F).

        A plain tensor on ``x``'s device, computed in batches of ``batch_size`` without gradients.
        """
        net = self._net(direction)
        x = self.check_samples(x)
        with torch.no_grad():
            outs = [net(x[i : i + batch_size].to(self.device, torch.float32)).to(x.device)
                    for i in range(0, len(x), batch_size)]
        return torch.cat(outs) if outs else torch.empty_like(x)

    # -- training ---------------------------------------------------------------------------
    def _split(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        in_b = y[:, self.config.domain_index] > 0.5
        a, b = x[~in_b], x[in_b]
        if len(a) == 0 or len(b) == 0:
            raise ValueError("a CycleGAN batch needs images of both domains; with the training loop each batch is "
                             "half A, half B (raise train.batch_size when training on several processes)")
        return a, b

    def _generator_losses(self, a, b) -> tuple[torch.Tensor, dict, tuple]:
        cfg = self.config
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        rec_a, rec_b = self.g_ba(fake_b), self.g_ab(fake_a)
        pred_b, pred_a = self.d_b(fake_b).float(), self.d_a(fake_a).float()
        adv = F.mse_loss(pred_b, torch.ones_like(pred_b)) + F.mse_loss(pred_a, torch.ones_like(pred_a))
        cycle = F.l1_loss(rec_a.float(), a) + F.l1_loss(rec_b.float(), b)
        total = adv + cfg.cycle_weight * cycle
        logs = {"loss_g_adv": adv.detach(), "loss_cycle": cycle.detach()}
        if cfg.identity_weight > 0:  # G applied to B (and F to A) should change nothing
            identity = F.l1_loss(self.g_ab(b).float(), b) + F.l1_loss(self.g_ba(a).float(), a)
            total = total + cfg.identity_weight * cfg.cycle_weight * identity
            logs["loss_identity"] = identity.detach()
        return total, logs, (fake_a, fake_b)

    @staticmethod
    def _d_loss(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        pr, pf = d(real).float(), d(fake).float()
        return 0.5 * (F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf)))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> CycleGANLosses:
        """The two training losses on a batch ``x`` ``(N, C, H, W)`` holding images of both
        domains, ``y`` ``(N, n_attributes)`` their label vectors (which say the domain).

        As for every latentlab model, ``forward`` is the training objective; a CycleGAN has
        one per player. Nothing is updated and the pool of earlier fakes is left alone: the
        discriminators' loss sees this batch's fakes, detached (``train_step`` shows them
        fakes from the pool).

        Returns
        -------
        CycleGANLosses
            ``(discriminators, generators)``, scalar tensors.
        """
        x = self.check_samples(x).to(self.device, torch.float32)
        a, b = self._split(x, torch.as_tensor(y).to(self.device))
        loss_g, _, (fake_a, fake_b) = self._generator_losses(a, b)
        loss_d = self._d_loss(self.d_a, a, fake_a.detach()) + self._d_loss(self.d_b, b, fake_b.detach())
        return CycleGANLosses(loss_d, loss_g)

    def make_optimizers(self, tc):
        return {
            "generators": self.adam([*self.g_ab.parameters(), *self.g_ba.parameters()], tc),
            "discriminators": self.adam([*self.d_a.parameters(), *self.d_b.parameters()], tc,
                                        lr=self.config.lr_d or None),
        }

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        a, b = self._split(x, y)
        with step.frozen(self.d_a, self.d_b):
            with step.autocast():
                loss_g, logs, (fake_a, fake_b) = self._generator_losses(a, b)
            step.update("generators", loss_g)
        shown_a, shown_b = self.pool_a.query(fake_a, step), self.pool_b.query(fake_b, step)
        with step.autocast():
            loss_d = self._d_loss(self.d_a, a, shown_a) + self._d_loss(self.d_b, b, shown_b)
        step.update("discriminators", loss_d)
        return {"loss_g": loss_g.detach(), **logs, "loss_d": loss_d.detach()}
