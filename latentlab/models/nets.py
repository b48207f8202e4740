"""Network building blocks shared by the VAE, the GAN and the recoder.

Convolutional stacks are sized for 28, 32 and 64 px images: strided 4x4 convolutions
halve the resolution down to 7x7 (28 px) or 4x4 (32 and 64 px), and transposed
convolutions double it back up. MLPs serve 2-D point data.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["IMAGE_SIZES", "conv_plan", "ConvEncoder", "ConvDecoder", "MLP"]

IMAGE_SIZES = (28, 32, 64)


def conv_plan(image_size: int) -> tuple[int, int]:
    """``(smallest resolution, number of 2x resamplings)`` for an image size."""
    plans = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
    if image_size not in plans:
        raise ValueError(f"convolutional models support image sizes {', '.join(map(str, IMAGE_SIZES))}; got {image_size}")
    return plans[image_size]


def _channels(base: int, level: int) -> int:
    return base * min(2**level, 8)


def _maybe_sn(layer: nn.Module, spectral_norm: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if spectral_norm else layer


class ConvEncoder(nn.Module):
    """Images ``(N, C, S, S)`` -> features ``(N, out_features)`` (``out_dim``).

    ``norm`` is ``"none"``, ``"batch"`` or ``"group"``; ``act`` is ``"relu"`` or ``"leaky"``
    (LeakyReLU 0.2, as in a DCGAN discriminator); ``spectral_norm`` wraps every layer.
    """

    def __init__(self, in_channels: int, image_size: int, out_features: int | None, base: int = 32,
                 norm: str = "none", act: str = "relu", spectral_norm: bool = False):
        super().__init__()
        res, n_down = conv_plan(image_size)
        layers: list[nn.Module] = []
        ch = in_channels
        for level in range(n_down):
            nxt = _channels(base, level)
            layers.append(_maybe_sn(nn.Conv2d(ch, nxt, 4, 2, 1, bias=norm == "none"), spectral_norm))
            if norm == "batch" and level > 0:  # DCGAN: no normalisation on the first layer
                layers.append(nn.BatchNorm2d(nxt))
            elif norm == "group":
                layers.append(nn.GroupNorm(min(8, nxt), nxt))
            layers.append(nn.LeakyReLU(0.2) if act == "leaky" else nn.ReLU())
            ch = nxt
        self.features = nn.Sequential(*layers)
        self.out_dim = ch * res * res if out_features is None else out_features
        # out_features=None: return the flattened features themselves (no linear head)
        self.head = nn.Identity() if out_features is None else _maybe_sn(nn.Linear(ch * res * res, out_features), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """Codes ``(N, in_features)`` -> images ``(N, out_channels, S, S)`` (no output activation).

    Batch norm and ReLU between the transposed convolutions, as in a DCGAN generator
    (``norm="batch"``), or GroupNorm (``"group"``) or none.
    """

    def __init__(self, in_features: int, out_channels: int, image_size: int, base: int = 32, norm: str = "batch"):
        super().__init__()
        res, n_up = conv_plan(image_size)
        ch = _channels(base, n_up - 1)
        self.res, self.ch = res, ch
        self.stem = nn.Linear(in_features, ch * res * res)
        layers: list[nn.Module] = [self._norm(norm, ch), nn.ReLU()]
        for level in reversed(range(n_up)):
            nxt = _channels(base, level - 1) if level > 0 else base
            layers += [nn.ConvTranspose2d(ch, nxt, 4, 2, 1, bias=norm == "none"), self._norm(norm, nxt), nn.ReLU()]
            ch = nxt
        layers.append(nn.Conv2d(ch, out_channels, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    @staticmethod
    def _norm(norm: str, ch: int) -> nn.Module:
        if norm == "batch":
            return nn.BatchNorm2d(ch)
        if norm == "group":
            return nn.GroupNorm(min(8, ch), ch)
        return nn.Identity()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.stem(z).view(-1, self.ch, self.res, self.res))

    def first_features(self, z: torch.Tensor) -> torch.Tensor:
        """The first hidden layer's activations ``(N, ch, res, res)``: stem, normalisation, ReLU."""
        return self.body[:2](self.stem(z).view(-1, self.ch, self.res, self.res))


class MLP(nn.Module):
    """A plain MLP ``(N, in) -> (N, out)`` with ``depth`` hidden layers of ``hidden`` units."""

    def __init__(self, in_features: int, out_features: int, hidden: int = 256, depth: int = 3,
                 act: str = "relu", spectral_norm: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        dim = in_features
        for _ in range(depth):
            layers += [_maybe_sn(nn.Linear(dim, hidden), spectral_norm), nn.LeakyReLU(0.2) if act == "leaky" else nn.ReLU()]
            dim = hidden
        layers.append(_maybe_sn(nn.Linear(dim, out_features), spectral_norm))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def first_features(self, x: torch.Tensor) -> torch.Tensor:
        """The first hidden layer's activations ``(N, hidden)``."""
        return self.net[:2](x)
