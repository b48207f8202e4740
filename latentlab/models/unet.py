"""The denoising U-Net of DDPM (Ho et al. 2020), sized from CPU-tiny to the CIFAR-10 network.

Layout (top to bottom of this file): the noise-level embedding, the three building
blocks (residual block, self-attention, resampling), then :class:`UNet` itself.

The network maps a noisy image ``x_t`` and a per-sample noise level to an image-shaped
output. The level is any real number per sample — latentlab's DDPM passes a scaled
log signal-to-noise ratio, so the same network serves discrete and continuous noise
schedules — and enters through sinusoidal features and a two-layer MLP, added to
every residual block. An optional class label is embedded and added to the same vector.
An optional text condition (:class:`TextContext`: a caption's pooled embedding and its
per-token features) is added to the same vector too, and read at chosen resolutions
and in the middle block by cross-attention from the pixels to the tokens (as in GLIDE
and Imagen); a learned "no caption" embedding and token stand in for a dropped caption.

With ``base_channels=128, channel_mults=(1, 2, 2, 2), num_res_blocks=2,
attention_resolutions=(16,), dropout=0.1`` on 32 px images this is the 35.7M-parameter
CIFAR-10 model of the DDPM paper.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TextContext", "UNet", "sinusoidal_embedding", "unet_resolutions"]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def sinusoidal_embedding(values: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Transformer-style features of real numbers: ``(N,)`` -> ``(N, dim)`` float32.

    Half the features are ``cos(v * f_k)``, half ``sin(v * f_k)``, with frequencies ``f_k``
    spaced geometrically from 1 down to ``1 / max_period`` (an odd ``dim`` gets a zero pad).
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=values.device, dtype=torch.float32) / max(half, 1))
    angles = values.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    # the largest group count <= ``groups`` that divides the channels, so narrow CPU-sized
    # networks still normalise in groups rather than failing
    g = math.gcd(channels, groups)
    return nn.GroupNorm(g, channels)


def unet_resolutions(image_size: int, n_levels: int) -> list[int]:
    """Feature-map sides at each level of a U-Net with ``n_levels`` levels (halving between levels).

    Raises ``ValueError`` when ``image_size`` cannot be halved ``n_levels - 1`` times.
    """
    if image_size % (2 ** (n_levels - 1)):
        raise ValueError(
            f"model.channel_mults has {n_levels} levels, so the image side must be divisible by "
            f"{2 ** (n_levels - 1)}; {image_size} px is not (use fewer levels)"
        )
    return [image_size // 2**i for i in range(n_levels)]


# --------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------
class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the embedding added in between, a residual connection."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float, groups: int):
        super().__init__()
        self.norm1 = _norm(in_ch, groups)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch)
        self.norm2 = _norm(out_ch, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        # the block starts as the identity, which keeps a deep stack stable early in training
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, with a residual connection."""

    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        if channels % heads:
            raise ValueError(f"model.attention_heads = {heads} must divide the {channels} channels of an attention level")
        self.heads = heads
        self.norm = _norm(channels, groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        out = F.scaled_dot_product_attention(q, k, v)  # (n, heads, hw, c/heads)
        return x + self.proj(out.transpose(-1, -2).reshape(n, c, h, w))


class TextContext(NamedTuple):
    """A batch of captions as the U-Net reads them.

    ``pooled`` ``(N, text_dim)``: one vector per caption (e.g. CLIP's text embedding);
    ``tokens`` ``(N, L, context_dim)``: per-token features; ``mask`` ``(N, L)`` bool, True
    for real tokens; ``keep`` ``(N,)`` bool, False where the caption is dropped (the row
    then reads the learned "no caption" embedding instead: classifier-free guidance).
    """

    pooled: torch.Tensor
    tokens: torch.Tensor
    mask: torch.Tensor
    keep: torch.Tensor


class CrossAttention(nn.Module):
    """Multi-head attention from the pixels of a feature map (queries) to text tokens (keys,
    values), with a residual connection; padding tokens are masked out."""

    def __init__(self, channels: int, context_dim: int, heads: int, groups: int):
        super().__init__()
        if channels % heads:
            raise ValueError(f"model.attention_heads = {heads} must divide the {channels} channels of a cross-attention level")
        self.heads = heads
        self.norm = _norm(channels, groups)
        self.q = nn.Conv2d(channels, channels, 1)
        self.kv = nn.Linear(context_dim, 2 * channels)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        d = c // self.heads
        q = self.q(self.norm(x)).reshape(n, self.heads, d, h * w).transpose(-1, -2)  # (n, heads, hw, d)
        k, v = self.kv(tokens).reshape(n, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)  # (n, heads, L, d) each
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        return x + self.proj(out.transpose(-1, -2).reshape(n, c, h, w))


class Downsample(nn.Module):
    """Halve the side with a 3x3 convolution of stride 2 (the DDPM paper's).

    On an even side its windows reach into the padding on the top and left border only.
    That is not what drew the dotted seam along the top border of the quickstart DDPM's
    samples (the loss weighting and noise schedule were; see faces-ddpm-tiny.toml): a
    2x2 average followed by a 3x3 convolution, which treats all borders alike, kept the
    seam under the old loss and scored a worse FID-domain under the new one (issue 14).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class _Level(nn.Module):
    """The residual blocks (each optionally followed by attention) of one resolution."""

    def __init__(self, blocks: list[ResBlock], attention: list[nn.Module]):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.attention = nn.ModuleList(attention)


# --------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------
class UNet(nn.Module):
    """ε-network ``(x_t, level[, label]) -> output`` with the shape of ``x_t``.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grey, 3 for RGB); the output has as many.
    image_size : int
        Side of the square images; must be divisible by ``2 ** (len(channel_mults) - 1)``
        (28 px works with up to 3 levels, 32 and 64 px with up to 4 and 5).
    base_channels : int
        Channels of the first level; level ``i`` has ``base_channels * channel_mults[i]``.
    channel_mults : sequence of int
        One multiplier per resolution level; the resolution halves between levels.
    num_res_blocks : int
        Residual blocks per level on the way down (the way up has one more, taking the
        extra skip connection of the downsampling step).
    attention_resolutions : sequence of int
        Feature-map sides (e.g. ``(16,)``) after whose residual blocks self-attention is
        applied; each must be a side the network visits.
    attention_heads : int
        Heads of every self-attention layer.
    dropout : float
        Dropout probability inside residual blocks.
    norm_groups : int
        GroupNorm groups (reduced to a divisor of each layer's channel count).
    num_classes : int
        ``> 0`` adds a class embedding with ``num_classes + 1`` entries; label
        ``num_classes`` is the "no label" token used for classifier-free guidance.
    text_dim, context_dim : int
        ``> 0`` (both) makes the network read a :class:`TextContext`: its pooled vector
        (``text_dim`` features) is projected and added to the conditioning vector, its
        tokens (``context_dim`` features) are attended to by cross-attention.
    cross_attention_resolutions : sequence of int
        Feature-map sides after whose residual blocks cross-attention to the text is
        applied (the middle block always has one when text is read).
    """

    def __init__(self, in_channels: int, image_size: int, base_channels: int = 64, channel_mults=(1, 2, 2),
                 num_res_blocks: int = 2, attention_resolutions=(), attention_heads: int = 1,
                 dropout: float = 0.0, norm_groups: int = 32, num_classes: int = 0, text_dim: int = 0,
                 context_dim: int = 0, cross_attention_resolutions=()):
        super().__init__()
        mults = [int(m) for m in channel_mults]
        if not mults or min(mults) < 1:
            raise ValueError(f"model.channel_mults must be a non-empty list of positive integers, not {list(channel_mults)}")
        sides = unet_resolutions(image_size, len(mults))
        attn = {int(r) for r in attention_resolutions}
        cross = {int(r) for r in cross_attention_resolutions} if text_dim else set()
        for name, chosen in (("attention_resolutions", attn), ("cross_attention_resolutions", cross)):
            unknown = sorted(chosen - set(sides))
            if unknown:
                raise ValueError(
                    f"model.{name} contains {unknown}, which this network never visits at {image_size} px; "
                    f"choose from {sides}"
                )
        self.in_channels, self.image_size, self.num_classes = in_channels, image_size, num_classes
        self.base_channels = base_channels
        emb_dim = 4 * base_channels
        self.emb_mlp = nn.Sequential(nn.Linear(base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes > 0 else None
        self.text_proj = None
        if text_dim:
            self.text_proj = nn.Linear(text_dim, emb_dim)
            self.null_pooled = nn.Parameter(torch.zeros(text_dim))
            self.null_token = nn.Parameter(torch.randn(context_dim) * 0.02)

        def attention(ch, side):
            layers = [SelfAttention(ch, attention_heads, norm_groups)] if side in attn else []
            if side in cross:
                layers.append(CrossAttention(ch, context_dim, attention_heads, norm_groups))
            return layers

        self.conv_in = nn.Conv2d(in_channels, base_channels, 3, padding=1)
        skip_channels = [base_channels]
        ch = base_channels
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for i, (mult, side) in enumerate(zip(mults, sides)):
            blocks, attns = [], []
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(ch, base_channels * mult, emb_dim, dropout, norm_groups))
                ch = base_channels * mult
                attns.append(nn.ModuleList(attention(ch, side)))
                skip_channels.append(ch)
            self.down.append(_Level(blocks, attns))
            last = i == len(mults) - 1
            self.downsample.append(nn.Identity() if last else Downsample(ch))
            if not last:
                skip_channels.append(ch)

        self.mid1 = ResBlock(ch, ch, emb_dim, dropout, norm_groups)
        self.mid_attn = SelfAttention(ch, attention_heads, norm_groups)
        self.mid_cross = CrossAttention(ch, context_dim, attention_heads, norm_groups) if text_dim else None
        self.mid2 = ResBlock(ch, ch, emb_dim, dropout, norm_groups)

        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, (mult, side) in reversed(list(enumerate(zip(mults, sides)))):
            blocks, attns = [], []
            for _ in range(num_res_blocks + 1):
                blocks.append(ResBlock(ch + skip_channels.pop(), base_channels * mult, emb_dim, dropout, norm_groups))
                ch = base_channels * mult
                attns.append(nn.ModuleList(attention(ch, side)))
            self.up.append(_Level(blocks, attns))
            self.upsample.append(Upsample(ch) if i > 0 else nn.Identity())

        self.norm_out = _norm(ch, norm_groups)
        self.conv_out = nn.Conv2d(ch, in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def embed(self, level: torch.Tensor, labels: torch.Tensor | None = None,
              text: TextContext | None = None) -> torch.Tensor:
        """The conditioning vector ``(N, 4 * base_channels)`` of noise levels ``(N,)``, labels
        ``(N,)`` and the captions' pooled vectors ``text.pooled``."""
        emb = self.emb_mlp(sinusoidal_embedding(level, self.base_channels))
        if self.class_emb is not None:
            if labels is None:
                labels = torch.full((level.shape[0],), self.num_classes, dtype=torch.long, device=level.device)
            emb = emb + self.class_emb(labels)
        if self.text_proj is not None:
            if text is None:
                pooled = self.null_pooled.expand(level.shape[0], -1)
            else:
                pooled = torch.where(text.keep[:, None], text.pooled.to(self.null_pooled.dtype), self.null_pooled)
            emb = emb + self.text_proj(pooled)
        return emb

    def text_tokens(self, n: int, text: TextContext | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens ``(N, L, context_dim)`` and mask ``(N, L)`` the cross-attention reads: the
        caption's, or the single learned "no caption" token where a caption is dropped."""
        null = self.null_token
        if text is None:
            return null.expand(n, 1, -1), torch.ones(n, 1, dtype=torch.bool, device=null.device)
        tokens, mask, keep = text.tokens.to(null.dtype), text.mask, text.keep
        first = torch.zeros_like(mask)
        first[:, 0] = True
        tokens = torch.where(keep[:, None, None], tokens, torch.where(first[..., None], null, torch.zeros_like(tokens)))
        return tokens, torch.where(keep[:, None], mask, first)

    def forward(self, x: torch.Tensor, level: torch.Tensor, labels: torch.Tensor | None = None,
                text: TextContext | None = None) -> torch.Tensor:
        """Predict from ``x`` ``(N, C, H, W)`` at noise levels ``level`` ``(N,)``.

        ``labels`` ``(N,)`` long: class indices, or ``num_classes`` for "no label"; ``None``
        means no label for every sample. ``text``: the captions of a text-conditioned
        network (``None``: no caption for every sample). Returns ``(N, C, H, W)``.
        """
        emb = self.embed(level, labels, text)
        tokens = self.text_tokens(x.shape[0], text) if self.text_proj is not None else None

        def attend(h, layers):
            for a in layers:
                h = a(h, *tokens) if isinstance(a, CrossAttention) else a(h)
            return h

        h = self.conv_in(x)
        skips = [h]
        for level_mod, down in zip(self.down, self.downsample):
            for block, attn in zip(level_mod.blocks, level_mod.attention):
                h = attend(block(h, emb), attn)
                skips.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                skips.append(h)
        h = self.mid_attn(self.mid1(h, emb))
        if self.mid_cross is not None:
            h = self.mid_cross(h, *tokens)
        h = self.mid2(h, emb)
        for level_mod, up in zip(self.up, self.upsample):
            for block, attn in zip(level_mod.blocks, level_mod.attention):
                h = attend(block(torch.cat([h, skips.pop()], dim=1), emb), attn)
            h = up(h)
        return self.conv_out(F.silu(self.norm_out(h)))
