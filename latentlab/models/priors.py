"""Priors on latent codes, chosen by name: the distributions an adversarial autoencoder
(:mod:`latentlab.models.aae`) shapes its codes into.

==============  ==========================================================  ===========
name            distribution                                                 log-density
==============  ==========================================================  ===========
``gaussian``    N(0, std² I)                                                 closed form
``mixture``     k Gaussians whose means lie on a circle of ``radius`` in     closed form
                the first two coordinates (the "flower", one petal each);
                each is elongated along its radius (std ``std``) and narrow
                across it (std ``width``, also in any further coordinates)
``swiss_roll``  points along a spiral of outer radius ``radius`` (2-D only),  none
                with Gaussian noise of std ``width``
``uniform``     uniform on the cube [-a, a]^d with a = √3 std (variance      closed form
                std² per coordinate)
==============  ==========================================================  ===========

The two priors with parts, ``mixture`` and ``swiss_roll``, have ``num_classes``: a
mixture's components, a swiss roll's ``components`` equal segments along the spiral.
Their samples can be drawn from one part per sample (``labels``), which is how a
label-conditioned adversarial autoencoder gives each class its own petal.

Every prior draws its randomness through a :class:`~latentlab.models.trainable.NoiseDraws`
(``randn`` / ``rand`` / ``randint``), so the same code samples inside the training loop
(its checkpointed stream) and from a plain ``torch.Generator`` (:meth:`Prior.sample`).
"""

from __future__ import annotations

import math

import torch

from latentlab._validation import check_choice, check_float, check_int
from latentlab.models.trainable import NoiseDraws

__all__ = ["PRIORS", "Prior", "GaussianPrior", "MixturePrior", "SwissRollPrior", "UniformPrior", "make_prior"]

PRIORS = ("gaussian", "mixture", "swiss_roll", "uniform")


class Prior:
    """A distribution over codes of shape ``(dim,)``.

    Subclasses implement :meth:`draw` (and :meth:`log_prob` where a closed form exists);
    those with parts set ``num_classes``.
    """

    name = ""
    #: Number of parts samples can be drawn from one at a time (``labels``); None: no parts.
    num_classes: int | None = None

    def __init__(self, dim: int):
        self.dim = int(dim)

    def draw(self, noise, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` codes ``(n, dim)`` float32 drawn with ``noise`` (a NoiseDraws); ``labels`` (n,) pick the parts."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None, labels=None) -> torch.Tensor:
        """``n`` codes ``(n, dim)`` on the CPU, drawn with ``generator``.

        ``labels`` (priors with parts only): one part index for all samples, or ``(n,)``
        indices in ``[0, num_classes)``; without them each sample's part is drawn uniformly.
        """
        n = check_int(n, "n", min=0, noun="number of samples")
        labels = self.check_labels(labels, n)
        return self.draw(NoiseDraws(generator), n, labels)

    def check_labels(self, labels, n: int) -> torch.Tensor | None:
        """``labels`` as ``(n,)`` long indices of parts, or None; a clear error when they do not fit."""
        if labels is None:
            return None
        if self.num_classes is None:
            raise ValueError(f"the {self.name} prior has no parts to draw from; labels need the 'mixture' or "
                             "'swiss_roll' prior")
        labels = torch.as_tensor(labels)
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integer part indices, not {labels.dtype}")
        labels = labels.long().reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n)
        if labels.shape != (n,):
            raise ValueError(f"got {labels.numel()} labels for {n} samples")
        if n and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must be in [0, {self.num_classes}) for the {self.num_classes}-part {self.name} prior")
        return labels

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density ``(N,)`` of codes ``z`` ``(N, dim)`` (nats)."""
        raise NotImplementedError(f"the {self.name} prior has no closed-form log-density")

    def _check_codes(self, z) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise ValueError(f"codes have shape {tuple(z.shape)}; the {self.name} prior is over (N, {self.dim})")
        return z

    def _parts(self, noise, n: int, labels) -> torch.Tensor:
        if labels is not None:
            return labels.to(noise.device)
        return noise.randint(self.num_classes, n).to(noise.device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class GaussianPrior(Prior):
    """N(0, std² I) in ``dim`` dimensions."""

    name = "gaussian"

    def __init__(self, dim: int, std: float = 1.0):
        super().__init__(dim)
        self.std = float(std)

    def draw(self, noise, n, labels=None):
        return noise.randn(n, self.dim) * self.std

    def log_prob(self, z):
        z = self._check_codes(z)
        return -0.5 * (z / self.std).pow(2).sum(1) - self.dim * (math.log(self.std) + 0.5 * math.log(2 * math.pi))


class MixturePrior(Prior):
    """``components`` equally weighted Gaussians with means on a circle: the flower.

    Mean ``i`` is ``radius (cos 2πi/k, sin 2πi/k, 0, ..., 0)``. Each component has std
    ``std`` along its radius and ``width`` across it and in the coordinates beyond the
    first two, so in 2-D it is a petal pointing away from the origin.
    """

    name = "mixture"

    def __init__(self, dim: int, components: int = 10, radius: float = 4.0, std: float = 1.0, width: float = 0.3):
        super().__init__(dim)
        self.num_classes, self.radius, self.std, self.width = int(components), float(radius), float(std), float(width)
        angle = 2 * math.pi * torch.arange(self.num_classes, dtype=torch.float64) / self.num_classes
        self._radial = torch.stack([angle.cos(), angle.sin()], dim=1).float()  # (k, 2) unit vectors

    @property
    def means(self) -> torch.Tensor:
        """Component means ``(k, dim)``."""
        means = torch.zeros(self.num_classes, self.dim)
        means[:, :2] = self.radius * self._radial
        return means

    def draw(self, noise, n, labels=None):
        parts = self._parts(noise, n, labels)
        eps = noise.randn(n, self.dim)
        radial = self._radial.to(eps.device)[parts]  # (n, 2)
        tangential = torch.stack([-radial[:, 1], radial[:, 0]], dim=1)
        z = eps * self.width
        z[:, :2] = radial * (self.radius + self.std * eps[:, :1]) + tangential * (self.width * eps[:, 1:2])
        return z

    def log_prob(self, z):
        z = self._check_codes(z)
        offset = z[:, None, :2] - self.radius * self._radial[None]  # (N, k, 2)
        along = (offset * self._radial[None]).sum(-1)
        across = offset[..., 1] * self._radial[None, :, 0] - offset[..., 0] * self._radial[None, :, 1]
        rest = z[:, 2:].pow(2).sum(1, keepdim=True)  # (N, 1): the same for every component
        quad = (along / self.std).pow(2) + (across / self.width).pow(2) + rest / self.width**2
        log_norm = math.log(self.std) + (self.dim - 1) * math.log(self.width) + 0.5 * self.dim * math.log(2 * math.pi)
        return torch.logsumexp(-0.5 * quad, dim=1) - log_norm - math.log(self.num_classes)

    def component_of(self, z) -> torch.Tensor:
        """Index ``(N,)`` of the nearest component mean of each code: the petal it lies in."""
        z = self._check_codes(z)
        return torch.cdist(z, self.means).argmin(dim=1)


class SwissRollPrior(Prior):
    """A 2-D spiral ``r ∝ θ`` for θ from 1.5π to 4.5π, scaled to outer radius ``radius``, plus
    Gaussian noise of std ``width``; ``components`` equal segments of the parameter are its parts."""

    name = "swiss_roll"
    _START, _END = 1.5 * math.pi, 4.5 * math.pi

    def __init__(self, dim: int, components: int = 10, radius: float = 4.0, width: float = 0.3):
        super().__init__(dim)
        self.num_classes, self.radius, self.width = int(components), float(radius), float(width)

    def draw(self, noise, n, labels=None):
        parts = self._parts(noise, n, labels)
        u = (parts + noise.rand(n)) / self.num_classes  # position along the roll in [0, 1)
        theta = self._START + (self._END - self._START) * u
        r = self.radius * theta / self._END
        z = torch.stack([r * theta.cos(), r * theta.sin()], dim=1)
        return z + self.width * noise.randn(n, 2)


class UniformPrior(Prior):
    """Uniform on the cube ``[-a, a]^dim``, ``a = √3 std`` (each coordinate has variance std²)."""

    name = "uniform"

    def __init__(self, dim: int, std: float = 1.0):
        super().__init__(dim)
        self.half_width = math.sqrt(3.0) * float(std)

    def draw(self, noise, n, labels=None):
        return (2 * noise.rand(n, self.dim) - 1) * self.half_width

    def log_prob(self, z):
        z = self._check_codes(z)
        inside = (z.abs() <= self.half_width).all(dim=1)
        value = -self.dim * math.log(2 * self.half_width)
        return torch.where(inside, torch.full_like(z[:, 0], value), torch.full_like(z[:, 0], -math.inf))


def make_prior(name: str, dim: int, *, components: int = 10, radius: float = 4.0, std: float = 1.0,
               width: float = 0.3) -> Prior:
    """The prior called ``name`` over codes of ``dim`` numbers (see the module's table).

    Raises ``ValueError`` for an unknown name (listing the known ones) and for a prior
    that does not fit the code size: ``mixture`` needs ``dim >= 2``, ``swiss_roll`` ``dim == 2``.
    """
    check_choice(name, "prior", PRIORS)
    dim = check_int(dim, "the code size", min=1)
    for value, what in ((std, "std"), (width, "width"), (radius, "radius")):
        check_float(value, f"the prior's {what}", min=0, min_open=True)
    if name in ("mixture", "swiss_roll"):
        check_int(components, f"the {name} prior's components", min=2)
    if name == "mixture" and dim < 2:
        raise ValueError(f"the mixture prior lays its means on a circle and needs codes of at least 2 numbers; "
                         f"the code size is {dim}")
    if name == "swiss_roll" and dim != 2:
        raise ValueError(f"the swiss_roll prior is 2-D; the code size is {dim} (use latent_dim = 2, or another prior)")
    if name == "gaussian":
        return GaussianPrior(dim, std)
    if name == "uniform":
        return UniformPrior(dim, std)
    if name == "mixture":
        return MixturePrior(dim, components, radius, std, width)
    return SwissRollPrior(dim, components, radius, width)
