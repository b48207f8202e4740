"""A CLIP-style joint embedding of images and captions (Radford et al. 2021), small enough for a CPU.

An image encoder (strided convolutions, :class:`~latentlab.models.nets.ConvEncoder`) and a
text encoder (token and position embeddings, a few Transformer encoder layers, the
features at the ``<eos>`` token) are each projected linearly to one embedding space and
L2-normalised. The loss is the symmetric InfoNCE of the paper: within a batch of N
image–caption pairs, the cosine similarities times a learnable scale ``exp(t)`` are the
logits of an N-way classification of each image's caption and of each caption's image;
the two cross-entropies are averaged. ``t`` starts at ``log(1 / 0.07)`` and the scale is
clipped at 100, as in the paper.

Captions come from the data (:class:`~latentlab.data.captions.CaptionSource`): for the
built-in faces and shapes they are made during training from each image's ground-truth
attributes, with a new wording at every step; for a user's captioned image folder one
of each image's stored captions is chosen at every step. Either draw takes a seed from
the run's random stream, so a run is reproducible and resumes exactly. The word-level
tokenizer (:class:`~latentlab.data.tokenizer.Tokenizer`) is built from the training
captions by :meth:`CLIP.build` and stored in the config, hence in the checkpoint.

Not a generator: it has no latent space to sample. It is trained, saved and loaded
(``latentlab.load``) like the other models; :meth:`CLIP.encode_image` and
:meth:`CLIP.encode_text` give the embeddings.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.data.captions import USER_CAPTIONS, CaptionSource
from latentlab.data.tokenizer import EOS, PAD, Tokenizer
from latentlab.models.nets import ConvEncoder
from latentlab.models.trainable import TrainableModel

__all__ = ["CLIP", "ClipConfig"]

_MAX_LOGIT_SCALE = 100.0  # the paper clips the temperature's inverse here, against unstable training


@dataclass
class ClipConfig:
    kind: Literal["clip"] = "clip"
    sample_shape: list = field(default_factory=list)  # filled from the data
    embed_dim: int = field(default=64, metadata={"min": 1})  # the joint embedding's size
    base_channels: int = field(default=16, metadata={"min": 1})  # image encoder width
    width: int = field(default=64, metadata={"min": 1})  # text encoder width (divisible by heads)
    layers: int = field(default=2, metadata={"min": 1})  # Transformer encoder layers
    heads: int = field(default=4, metadata={"min": 1})
    max_length: int = field(default=32, metadata={"min": 3})  # tokens per caption, <bos> and <eos> included
    init_temperature: float = field(default=0.07, metadata={"min": 0.01, "max": 1.0})
    vocabulary_seeds: int = field(default=16, metadata={"min": 1})  # attribute-caption draws the vocabulary is built from
    captions: str = ""  # "faces"/"shapes": captions made from attributes; "text": the data's own (filled from the data)
    attributes: list = field(default_factory=list)  # label columns, in order (filled from the data)
    vocabulary: list = field(default_factory=list)  # the tokenizer's tokens (filled from the data)

    def validate(self):
        if self.width % self.heads:
            raise ValueError(f"model.width = {self.width} must be divisible by model.heads = {self.heads}")


class TextEncoder(nn.Module):
    """Token ids ``(N, L)`` -> features ``(N, width)``: the final layer's output at ``<eos>``.

    Every token attends to every other non-pad token (no causal mask: nothing is generated
    here), so the ``<eos>`` position sees the whole caption.
    """

    def __init__(self, vocab_size: int, max_length: int, width: int, layers: int, heads: int):
        super().__init__()
        self.token = nn.Embedding(vocab_size, width, padding_idx=PAD)
        self.position = nn.Parameter(torch.randn(max_length, width) * 0.01)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.features(ids)[1]

    def features(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The final layer's features at every position ``(N, L, width)`` (pads included) and at
        ``<eos>`` ``(N, width)``."""
        h = self.token(ids) + self.position[: ids.shape[1]]
        h = self.norm(self.blocks(h, src_key_padding_mask=ids == PAD))
        eos = (ids == EOS).float().argmax(1)  # the first <eos> of each row
        return h, h[torch.arange(len(ids), device=ids.device), eos]


class CLIP(TrainableModel):
    """Image and text encoders trained contrastively on image–caption pairs.

    ``forward(x, ids)`` is the symmetric InfoNCE loss of images ``x (N, C, H, W)`` in
    ``[-1, 1]`` and their captions' token ids ``ids (N, L)``.
    """

    Config = ClipConfig
    #: Where training captions come from; set by :meth:`build` (not saved: a resumed run builds
    #: the model again from its data). ``None``: made from ``config`` when they are attribute captions.
    caption_source: CaptionSource | None = None

    def __init__(self, config: ClipConfig):
        super().__init__(config)
        shape = list(config.sample_shape)
        if len(shape) != 3:
            raise ValueError(f"a CLIP model needs images; got samples of shape {tuple(shape)}")
        if not config.vocabulary or not config.captions:
            raise ValueError("model.vocabulary is empty: build the CLIP with CLIP.build(config, dataset)")
        self.tokenizer = Tokenizer(config.vocabulary)
        self.image_encoder = ConvEncoder(shape[0], shape[1], None, base=config.base_channels, norm="group")
        self.image_projection = nn.Linear(self.image_encoder.out_dim, config.embed_dim, bias=False)
        self.text_encoder = TextEncoder(len(self.tokenizer), config.max_length, config.width, config.layers, config.heads)
        self.text_projection = nn.Linear(config.width, config.embed_dim, bias=False)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.init_temperature)))

    @classmethod
    def build(cls, config, dataset):
        """The CLIP for ``dataset``'s images and captions (attribute captions, or the data's own
        texts); the vocabulary is every word of its captions."""
        if getattr(dataset, "caption_kind", None) is None:
            raise ValueError(f"a CLIP model trains on images with captions, and {dataset.name} has none: "
                             "the built-in faces and shapes make captions from their attributes, and an image "
                             "folder reads them from a captions file (captions.csv in the folder, or captions=)")
        source = CaptionSource.from_dataset(dataset)
        texts = source.vocabulary_texts(dataset, config.vocabulary_seeds)
        config = dataclasses.replace(config, captions=source.kind, attributes=dataset.attribute_names,
                                     vocabulary=Tokenizer.from_texts(texts).vocabulary)
        model = super().build(config, dataset)
        model.caption_source = source
        return model

    # -- embeddings ---------------------------------------------------------------------
    @property
    def logit_scale(self) -> torch.Tensor:
        """``exp(t)``, the inverse temperature, clipped at 100."""
        return self.log_scale.exp().clamp(max=_MAX_LOGIT_SCALE)

    def image_embedding(self, x: torch.Tensor) -> torch.Tensor:
        """Unit image embeddings ``(N, embed_dim)`` of images ``x`` on the model's device, kept there;
        gradients flow if enabled (:meth:`encode_image` is the batched, CPU-returning path)."""
        return F.normalize(self.image_projection(self.image_encoder(x)).float(), dim=1)

    def _text_embedding(self, ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_projection(self.text_encoder(ids)).float(), dim=1)

    def text_features(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For token ids ``(N, L)`` on the model's device: the unit text embeddings ``(N, embed_dim)``
        and the text encoder's per-token features ``(N, L, width)`` (what a text-conditioned
        diffusion model reads). Float32; gradients flow if enabled."""
        hidden, eos = self.text_encoder.features(ids)
        return F.normalize(self.text_projection(eos).float(), dim=1), hidden.float()

    def tokenize(self, texts: Sequence[str], warn: bool = True) -> torch.Tensor:
        """Token ids ``(N, max_length)`` of ``texts``; with ``warn``, unknown words are named in an
        :class:`~latentlab.data.tokenizer.UnknownWordsWarning`."""
        return self.tokenizer.encode(texts, self.config.max_length, warn=warn)

    def _batched(self, fn, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                out = [fn(inputs[i : i + batch_size].to(self.device)).cpu() for i in range(0, len(inputs), batch_size)]
        finally:
            self.train(was)
        return torch.cat(out) if out else torch.empty(0, self.config.embed_dim)

    def encode_image(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Unit-length image embeddings ``(N, embed_dim)`` (float32, on the CPU), without gradients."""
        x = self.check_samples(x).to(torch.float32)
        return self._batched(self.image_embedding, x, batch_size)

    def encode_text(self, texts: str | Sequence[str], batch_size: int = 512, warn: bool = True) -> torch.Tensor:
        """Unit-length text embeddings ``(N, embed_dim)`` (float32, on the CPU), without gradients.

        Words the training captions never used are read as unknown; with ``warn`` an
        :class:`~latentlab.data.tokenizer.UnknownWordsWarning` names them.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        empty = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
        if empty:
            raise ValueError(f"text {empty[0]} is empty or not a string: give each text some words")
        return self._batched(self._text_embedding, self.tokenize(texts, warn=warn), batch_size)

    # -- training -----------------------------------------------------------------------
    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The symmetric InfoNCE loss (scalar) of images ``x (N, C, H, W)`` and token ids ``ids (N, L)``."""
        return self._loss(x, ids)[0]

    def _loss(self, x, ids):
        image, text = self.image_embedding(x), self._text_embedding(ids)
        logits = self.logit_scale * image @ text.T  # (N images, N texts); pair i is the diagonal
        target = torch.arange(len(x), device=logits.device)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        return loss, (logits.argmax(1) == target).float().mean()

    def captions_of(self, y: torch.Tensor, seed: int, wordings: str = "train") -> list[str]:
        """Captions of samples with label rows ``y (N, n_attributes)`` (the dataset's label
        matrix, columns in ``config.attributes`` order), worded with ``seed``.

        For a model trained on attribute captions (``config.captions`` "faces" or "shapes");
        the texts of a model trained on its data's own captions are in that data
        (``dataset.captions()``), not in label rows.
        """
        if self.config.captions == USER_CAPTIONS:
            raise ValueError("this CLIP was trained on its data's own captions, which label rows do not give: "
                             "take them from the data (dataset.captions())")
        return CaptionSource(self.config.captions, self.config.attributes).draw(None, y, seed, wordings)

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        if self.caption_source is None:
            if self.config.captions == USER_CAPTIONS:
                raise ValueError("this CLIP trains on its data's own captions: make it with CLIP.build(config, dataset)")
            self.caption_source = CaptionSource(self.config.captions, self.config.attributes)
        ids = self.tokenize(self.caption_source.draw_for_step(step.indices, y, step.generator), warn=False).to(x.device)
        with step.autocast():
            loss, accuracy = self._loss(x, ids)
        step.update("model", loss)
        return {"loss": loss.detach(), "accuracy": accuracy.detach(), "logit_scale": self.logit_scale.detach()}
