"""Attribute classifier: a small CNN that predicts every attribute of a dataset.

It labels a generator's own samples (the usual route to attribute directions for GANs),
scores edits, and its penultimate features give a domain-specific feature space for
metrics. It trains through the shared loop, like the generators, and is stored in the
same checkpoint format (kind ``"classifier"``).

Binary attributes get one logit each; categorical attributes with K levels get K.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.nets import ConvEncoder
from latentlab.models.trainable import TrainableModel

__all__ = ["AttributeClassifier", "ClassifierConfig"]


@dataclass
class ClassifierConfig:
    kind: Literal["classifier"] = "classifier"
    sample_shape: list = field(default_factory=list)  # filled from the data
    attributes: list = field(default_factory=list)  # filled from the data: names in label order
    levels: list = field(default_factory=list)  # number of values of each attribute (2 = binary)
    level_names: list = field(default_factory=list)  # the names of those values, per attribute
    base_channels: int = field(default=16, metadata={"min": 1})
    features: int = field(default=64, metadata={"min": 1})


class AttributeClassifier(TrainableModel):
    """Predicts all attributes of an image ``(N, C, H, W)`` in ``[-1, 1]``.

    Not a generator (it has no latent space), but trained, saved and loaded like one.
    """

    Config = ClassifierConfig

    def __init__(self, config: ClassifierConfig):
        super().__init__(config)
        shape = list(config.sample_shape)
        if len(shape) != 3:
            raise ValueError(f"the attribute classifier needs images; got samples of shape {tuple(shape)}")
        if not config.attributes:
            raise ValueError("the attribute classifier needs a dataset with attributes")
        self.body = ConvEncoder(shape[0], shape[1], config.features, base=config.base_channels, norm="batch", act="leaky")
        self.heads = nn.Linear(config.features, sum(1 if k == 2 else k for k in config.levels))

    @classmethod
    def build(cls, config, dataset):
        if not dataset.attrs:
            raise ValueError(f"dataset {dataset.name!r} has no attributes to learn")
        levels = [len(dataset.attr_levels[a]) for a in dataset.attribute_names]
        names = [list(map(str, dataset.attr_levels[a])) for a in dataset.attribute_names]
        return cls(dataclasses.replace(config, sample_shape=list(dataset.sample_shape),
                                       attributes=dataset.attribute_names, levels=levels, level_names=names))

    @property
    def attribute_names(self) -> list[str]:
        return list(self.config.attributes)

    @property
    def attr_levels(self) -> dict[str, list[str]]:
        """Names of each attribute's values (as in the training data)."""
        names = self.config.level_names or [["no", "yes"] if k == 2 else [str(i) for i in range(k)] for k in self.config.levels]
        return dict(zip(self.config.attributes, names))

    def _slices(self):
        start = 0
        for name, k in zip(self.config.attributes, self.config.levels):
            width = 1 if k == 2 else k
            yield name, k, slice(start, start + width)
            start += width

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(N, features)``."""
        return F.leaky_relu(self.body(x), 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """All logits ``(N, total)``, attributes in order (1 column binary, K categorical)."""
        return self.heads(self.features(x))

    # -- prediction ---------------------------------------------------------------------
    def _batched_logits(self, x, batch_size: int = 512) -> torch.Tensor:
        x = self.check_samples(x)
        was = self.training
        self.eval()
        with torch.no_grad():
            out = [self(x[i : i + batch_size].to(self.device, torch.float32)).float().cpu() for i in range(0, len(x), batch_size)]
        self.train(was)
        return torch.cat(out) if out else torch.empty(0, self.heads.out_features)

    def scores(self, x, batch_size: int = 512) -> dict[str, np.ndarray]:
        """Per attribute: the logit ``(N,)`` for binary attributes (log-odds of "yes"),
        the logits ``(N, K)`` for categorical ones."""
        logits = self._batched_logits(x, batch_size)
        return {name: logits[:, sl].squeeze(1).numpy() if k == 2 else logits[:, sl].numpy() for name, k, sl in self._slices()}

    def predict_proba(self, x, batch_size: int = 512) -> dict[str, np.ndarray]:
        """Per attribute: P(yes) ``(N,)`` for binary, class probabilities ``(N, K)`` otherwise."""
        logits = self._batched_logits(x, batch_size)
        out = {}
        for name, k, sl in self._slices():
            part = logits[:, sl]
            out[name] = torch.sigmoid(part.squeeze(1)).numpy() if k == 2 else torch.softmax(part, 1).numpy()
        return out

    def predict(self, x, batch_size: int = 512) -> dict[str, np.ndarray]:
        """Per attribute: the predicted value ``(N,)`` (0/1, or the level index)."""
        probs = self.predict_proba(x, batch_size)
        return {k: (v > 0.5).astype(np.int64) if v.ndim == 1 else v.argmax(1) for k, v in probs.items()}

    def evaluate(self, dataset, batch_size: int = 512) -> dict[str, float]:
        """Accuracy of every attribute on ``dataset`` (which must carry the same attributes)."""
        missing = [a for a in self.attribute_names if a not in dataset.attrs]
        if missing:
            raise ValueError(f"dataset lacks attribute {missing[0]!r}; the classifier predicts: {', '.join(self.attribute_names)}")
        pred = self.predict(dataset.images, batch_size)
        return {a: float((pred[a] == dataset.attrs[a]).mean()) for a in self.attribute_names}

    # -- training -----------------------------------------------------------------------
    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed cross-entropy over attributes and the mean accuracy, for labels ``y (N, n_attributes)``."""
        logits = self(x).float()
        total, correct = 0.0, 0.0
        for j, (_, k, sl) in enumerate(self._slices()):
            target = y[:, j]
            if k == 2:
                part = logits[:, sl].squeeze(1)
                total = total + F.binary_cross_entropy_with_logits(part, target)
                correct = correct + ((part > 0).float() == target).float().mean()
            else:
                part = logits[:, sl]
                total = total + F.cross_entropy(part, target.long())
                correct = correct + (part.argmax(1) == target.long()).float().mean()
        return total, correct / len(self.config.levels)

    def train_step(self, x, y, step) -> dict[str, torch.Tensor]:
        with step.autocast():
            loss, acc = self.loss(x, y)
        step.update("model", loss)
        return {"loss": loss.detach(), "accuracy": acc.detach()}
