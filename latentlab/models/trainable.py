"""What latentlab's own models share: config handling, checkpoint loading, optimizers."""

from __future__ import annotations

import contextlib
import dataclasses

import torch
from torch import nn

from latentlab._config import validate_section
from latentlab._device import resolve_device
from latentlab.data.spec import training_data
from latentlab.models.base import Generator

__all__ = ["TrainableModel", "TrainableGenerator", "ClassConditionalGenerator", "resolve_arch", "frozen", "NoiseDraws"]


@contextlib.contextmanager
def frozen(*modules: nn.Module):
    """Parameters of ``modules`` get no gradient inside this block (D during G's step; G while
    its codes are optimised); those that had ``requires_grad`` get it back afterwards."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class NoiseDraws:
    """``randn`` / ``rand`` / ``randint`` for the ``n`` samples of a batch, shape ``(n, *shape)``.

    The one interface a model's loss draws its randomness through, so the same loss code
    runs inside the training loop (:class:`latentlab.training.loop.TrainStep`, which shares
    one stream across processes) and in ``forward`` (a plain ``torch.Generator``, this class).
    """

    def __init__(self, generator: torch.Generator | None = None, device=None):
        self.generator, self.device = generator, torch.device(device or "cpu")

    def _draw(self, fn, n: int, shape) -> torch.Tensor:
        dev = self.generator.device if self.generator is not None else self.device
        return fn((n, *shape), generator=self.generator, device=dev).to(self.device)

    def randn(self, n: int, *shape) -> torch.Tensor:
        """Standard normal noise, ``(n, *shape)``."""
        return self._draw(torch.randn, n, shape)

    def rand(self, n: int, *shape) -> torch.Tensor:
        """Uniform [0, 1) noise, ``(n, *shape)``."""
        return self._draw(torch.rand, n, shape)

    def randint(self, high: int, n: int, *shape) -> torch.Tensor:
        """Integers in [0, high), ``(n, *shape)``."""
        return self._draw(lambda size, **kw: torch.randint(high, size, **kw), n, shape)


def attribute_classes(dataset, name: str, field: str) -> tuple[int, int]:
    """The label column and number of values of ``dataset``'s attribute ``name``, which the
    config field ``model.<field>`` names; ``ValueError`` listing the attributes when it has none such."""
    if name not in dataset.attrs:
        raise ValueError(f"model.{field} = {name!r} is not an attribute of {dataset.name}; "
                         f"choose one of: {', '.join(dataset.attribute_names) or 'none (the data has no attributes)'}")
    levels = dataset.attr_levels.get(name)
    k = len(levels) if levels else int(dataset.attrs[name].max()) + 1
    return list(dataset.attribute_names).index(name), k


def resolve_arch(arch: str, sample_shape) -> str:
    """``"auto"`` -> ``"conv"`` for images ``(C, H, W)``, ``"mlp"`` for vectors; checks the choice."""
    is_image = len(sample_shape) == 3
    if arch == "auto":
        return "conv" if is_image else "mlp"
    if arch == "conv" and not is_image:
        raise ValueError(f"model.arch = 'conv' needs images, but the data has samples of shape {tuple(sample_shape)}; use 'mlp'")
    if arch == "mlp" and is_image:
        raise ValueError("model.arch = 'mlp' is for 2-D point data; use 'conv' for images")
    return arch


class TrainableModel(nn.Module):
    """Base of every model latentlab trains: an ``nn.Module`` built from a config dataclass.

    Subclasses set ``Config`` (a dataclass with a ``kind`` field and a ``sample_shape``
    list filled in from the data by :meth:`build`) and implement ``train_step``.
    """

    Config: type = None  # set by subclasses
    #: The data the model was trained on (:class:`latentlab.data.spec.DataSpec`), when known:
    #: set by :meth:`from_checkpoint` and by training. See :func:`latentlab.data.training_data`.
    trained_on = None

    def __init__(self, config):
        super().__init__()
        check = getattr(config, "validate", None)
        if check is not None:
            check()
        if hasattr(config, "sample_shape") and not config.sample_shape:
            name = type(self).__name__
            raise ValueError(f"model.sample_shape is empty: build the {name} with {name}.build(config, dataset)")
        self.config = config

    # -- construction -----------------------------------------------------------------
    @classmethod
    def build(cls, config, dataset) -> "TrainableModel":
        """The model for ``dataset``: data-dependent fields of the config are filled in."""
        shape = list(dataset.sample_shape)
        if config.sample_shape and list(config.sample_shape) != shape:
            raise ValueError(f"model.sample_shape = {config.sample_shape} does not match the data's samples {shape}")
        return cls(dataclasses.replace(config, sample_shape=shape))

    @classmethod
    def from_checkpoint(cls, checkpoint, device=None, use_ema: bool = True) -> "TrainableModel":
        """Rebuild the model from a :class:`~latentlab.checkpoint.Checkpoint` (EMA weights by default)."""
        config = validate_section(cls.Config, dict(checkpoint.config["model"]), "model")
        model = cls(config)
        weights = checkpoint.weights.get("ema") if use_ema else None
        model.load_state_dict(weights if weights is not None else checkpoint.weights["model"])
        model.eval()

        model.trained_on = training_data(checkpoint)
        if device is not None:
            model.to(resolve_device(device))
        return model

    def make_optimizers(self, train_config) -> dict[str, torch.optim.Optimizer]:
        """One Adam over the trainable parameters (frozen parts, such as a text encoder, are left out);
        models with several players override this."""
        return {"model": self.adam((p for p in self.parameters() if p.requires_grad), train_config)}

    @staticmethod
    def adam(params, tc, lr: float | None = None) -> torch.optim.Optimizer:
        kwargs = {"lr": lr or tc.lr, "betas": tuple(tc.betas), "weight_decay": tc.weight_decay}
        if torch.cuda.is_available():
            kwargs["fused"] = True
        params = list(params)
        if params and params[0].device.type != "cuda":
            kwargs.pop("fused", None)
        return torch.optim.AdamW(params, **kwargs) if tc.weight_decay else torch.optim.Adam(params, **kwargs)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.config.sample_shape)

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def check_samples(self, x: torch.Tensor) -> torch.Tensor:
        """Raise a clear error when ``x`` is not a batch of this model's samples."""
        x = torch.as_tensor(x)
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(f"inputs have shape {tuple(x.shape)}; this model takes (N, {', '.join(map(str, self.sample_shape))})")
        return x


class TrainableGenerator(TrainableModel, Generator):
    """Base of the VAE, GAN and DDPM: a trainable model with the Generator interface.

    Subclasses implement ``_decode`` (codes to samples) and usually ``encode``.
    """

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, *latent_shape)`` -> samples ``(N, *sample_shape)``, images in ``[-1, 1]``.

        A plain tensor on ``z``'s device, computed without gradients;
        :meth:`decode_with_grad` is the differentiable path.
        """
        with torch.no_grad():
            return self.decode_with_grad(z)

    def decode_with_grad(self, z: torch.Tensor) -> torch.Tensor:
        """:meth:`decode`, differentiable (Jacobians, inversion by optimisation); on ``z``'s device."""
        z = self.check_latents(z)
        return self._decode(z.to(self.device, torch.float32)).to(z.device)

    def decoder_features(self, z: torch.Tensor) -> torch.Tensor:
        """Activations ``(N, F)`` of the decoder's first hidden layer for codes ``z``, without gradients."""
        net = self._feature_net()
        if net is None:
            return super().decoder_features(z)
        z = self.check_latents(z)
        with torch.no_grad():
            return net.first_features(self._feature_input(z.to(self.device, torch.float32))).flatten(1).to(z.device)

    def _feature_net(self):
        """The decoder network whose ``first_features`` :meth:`decoder_features` returns (None: none)."""
        return None

    def _feature_input(self, z: torch.Tensor) -> torch.Tensor:
        """What :meth:`_feature_net` takes for codes ``z`` (a conditional model adds its class embedding)."""
        return z

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ClassConditionalGenerator(TrainableGenerator):
    """A trainable generator whose decoder may take a class label: ``decode(z, labels=None)``.

    Subclasses provide ``_generate(z, labels)`` (labels: int64 ``(N,)`` or None) and
    ``label_classes`` (the number of classes the decoder takes; 0: none). ``decode(z)``
    alone, as the Generator interface calls it, uses ``default_label``.
    """

    default_label = 0
    label_classes = 0

    def _labels(self, n: int, labels, device) -> torch.Tensor | None:
        """Class indices ``(n,)`` on ``device`` from one index or ``n`` of them (default:
        ``default_label``); None for a decoder that takes no label."""
        k = self.label_classes
        if not k:
            if labels is not None:
                raise ValueError(f"this {type(self).__name__} is unconditional: it takes no labels")
            return None
        labels = torch.as_tensor(self.default_label if labels is None else labels)
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integer class indices, not {labels.dtype}")
        labels = labels.long().reshape(-1)
        labels = labels.expand(n) if labels.numel() == 1 else labels
        if labels.shape != (n,) or (n and (labels.min() < 0 or labels.max() >= k)):
            raise ValueError(f"labels must be one class index or {n} of them, in [0, {k})")
        return labels.to(device)

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._generate(z, self._labels(len(z), None, z.device))

    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """Codes ``(N, *latent_shape)`` -> samples; ``labels`` (a decoder that takes classes) are
        class indices ``(N,)`` or one index for all (default: ``default_label``). A plain tensor
        on ``z``'s device, computed without gradients (:meth:`decode_with_grad` is the
        differentiable path)."""
        with torch.no_grad():
            return self.decode_with_grad(z, labels)

    def decode_with_grad(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """:meth:`decode`, differentiable (Jacobians, inversion by optimisation)."""
        z = self.check_latents(z)
        y = self._labels(len(z), labels, self.device)
        return self._generate(z.to(self.device, torch.float32), y).to(z.device)
