"""The Generator interface: the one view of a model that analysis code uses (and, beside
it, the Translator interface of image-to-image models such as CycleGAN).

Every latentlab model (VAE, GAN, DDPM) implements it, and so can a user's own model:
subclass :class:`Generator`, set ``latent_shape``, implement ``decode`` (and ``encode``
if the model can locate images in its latent space), and every analysis — directions,
maps, intrinsic dimension, editing — works with it.

Conventions: images are float tensors ``(N, C, H, W)`` with values in ``[-1, 1]``;
latent codes are float tensors ``(N, *latent_shape)``. ``decode``, ``encode`` and
``sample`` return plain tensors (no autograd graph: ``.numpy()`` works on them); the one
differentiable path is :meth:`Generator.decode_with_grad`, for analyses that need
gradients through the decoder (Jacobians, inversion by optimisation).
"""

from __future__ import annotations

import abc

import torch

from latentlab._validation import check_int

__all__ = ["Generator", "Translator", "ImagePool", "TRANSLATE_DIRECTIONS"]


class Generator(abc.ABC):
    """A generative model seen through its latent space.

    Attributes a subclass provides
    ------------------------------
    latent_shape : tuple of int
        Shape of one latent code (``(d,)`` for vector codes; ``(C, H, W)`` for a
        diffusion model whose latent is its starting noise).
    trained_on : DataSpec or None, optional
        The data it was trained on, when known (set for models loaded from checkpoints).
    """

    latent_shape: tuple[int, ...] = ()
    #: The data the model was trained on (a :class:`latentlab.data.spec.DataSpec`), or None
    #: when unknown; commands given the model default to it (:func:`latentlab.data.training_data`).
    trained_on = None
    #: True when ``encode`` is an optimisation per image (GAN inversion: seconds per batch),
    #: not one pass of an encoder; analyses that would encode thousands of images by
    #: default then locate generated samples instead, or skip the codes, and say so.
    encodes_by_optimisation: bool = False

    @property
    def device(self) -> torch.device:
        """Where the model computes. ``nn.Module`` subclasses get it from their parameters."""
        params = getattr(self, "parameters", None)
        if params is not None:
            for p in params():
                return p.device
        return torch.device("cpu")

    @property
    def latent_dim(self) -> int:
        """Number of numbers in one latent code."""
        n = 1
        for s in self.latent_shape:
            n *= int(s)
        return n

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` codes from the prior (standard normal by default), on the CPU.

        Codes are drawn on the CPU so that the same ``generator`` seed gives the same codes
        on every device.
        """
        n = check_int(n, "n", min=0)
        return torch.randn((n, *self.latent_shape), generator=generator)

    @abc.abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, *latent_shape)`` -> images ``(N, C, H, W)`` in ``[-1, 1]``.

        Returns a plain tensor that carries no autograd graph (computed without
        gradients); :meth:`decode_with_grad` is the differentiable path.
        """

    def decode_with_grad(self, z: torch.Tensor) -> torch.Tensor:
        """``decode``, differentiable with respect to ``z`` (and the weights).

        The path for analyses that differentiate through the decoder: reverse-mode
        gradients (inversion by optimisation) and forward-mode Jacobian-vector products
        (:func:`latentlab.analysis.intrinsic_dim.decoder_jacobian`). The default calls
        :meth:`decode`, which suits a user's own Generator whose ``decode`` torch can
        differentiate; latentlab's models override it.
        """
        return self.decode(z)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, C, H, W)`` in ``[-1, 1]`` -> codes ``(N, *latent_shape)`` (a plain tensor)."""
        raise NotImplementedError(f"{type(self).__name__} cannot encode images into its latent space")

    def decoder_features(self, z: torch.Tensor) -> torch.Tensor:
        """Activations ``(N, F)`` of an early hidden layer of the decoder for codes ``z`` (a plain tensor).

        Used by GANSpace-style principal directions (PCA of these activations regressed
        back to the codes, :func:`latentlab.analysis.workflow.pca_directions`). Optional:
        a model without a layered decoder leaves it unimplemented.
        """
        raise NotImplementedError(f"{type(self).__name__} does not expose decoder features")

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images: ``decode(sample_latents(n, generator))``, a plain tensor."""
        with torch.no_grad():
            return self.decode(self.sample_latents(n, generator))

    def check_latents(self, z: torch.Tensor) -> torch.Tensor:
        """Raise a clear error when codes do not have this model's latent shape."""
        z = torch.as_tensor(z)
        if tuple(z.shape[1:]) != tuple(self.latent_shape):
            raise ValueError(
                f"latent codes have shape {tuple(z.shape)}; this model expects (N, {', '.join(map(str, self.latent_shape))})"
            )
        if not torch.isfinite(z).all():
            raise ValueError("latent codes contain NaN or infinite values")
        return z


#: The two directions of a :class:`Translator`: domain A to domain B, and back.
TRANSLATE_DIRECTIONS = ("a2b", "b2a")


class Translator(abc.ABC):
    """An image-to-image model between two domains A and B (CycleGAN, or a user's own).

    It has no latent space to analyse; what it offers is :meth:`translate`. Edit
    evaluation (:func:`latentlab.analysis.edit_evaluation.score_image_edits`) scores its
    translations and a Generator's latent edits with the same function.

    Attributes a subclass provides
    ------------------------------
    domains : tuple of two str
        Names of domain A and domain B (e.g. ``("no glasses", "glasses")``).
    """

    domains: tuple[str, str] = ("A", "B")
    #: The data the model was trained on (a :class:`latentlab.data.spec.DataSpec`), or None.
    trained_on = None

    @staticmethod
    def check_direction(direction: str) -> str:
        """``direction`` itself, or ``ValueError`` naming the allowed directions."""
        if direction not in TRANSLATE_DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(map(repr, TRANSLATE_DIRECTIONS))}, not {direction!r}")
        return direction

    @abc.abstractmethod
    def translate(self, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Images ``(N, C, H, W)`` in ``[-1, 1]`` of one domain -> the same images in the other.

        ``direction`` is ``"a2b"`` or ``"b2a"`` (:data:`TRANSLATE_DIRECTIONS`); anything
        else raises ``ValueError``. Returns a plain tensor (no autograd graph) of the same
        shape, on ``x``'s device.
        """

    def round_trip(self, x: torch.Tensor, direction: str = "a2b") -> tuple[torch.Tensor, torch.Tensor]:
        """``(translated, back)``: ``x`` translated in ``direction``, and that translated back.

        ``back`` is close to ``x`` for a cycle-consistent translator.
        """
        there = self.translate(x, self.check_direction(direction))
        return there, self.translate(there, "b2a" if direction == "a2b" else "a2b")


class ImagePool(Generator):
    """A fixed set of images seen as a generator: a one-number code picks an image.

    The code's standard-normal value is mapped through its CDF to an index, so samples are
    drawn uniformly (with replacement) from ``images``. Useful as a reference row when
    scoring models (real data scores what a perfect generator would) and in tests.

    Parameters
    ----------
    images : tensor of shape (M, C, H, W), values in [-1, 1]
    """

    latent_shape = (1,)

    def __init__(self, images: torch.Tensor):
        self.images = torch.as_tensor(images)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        z = torch.as_tensor(z).detach()
        u = torch.special.ndtr(torch.as_tensor(z)[:, 0])
        return self.images[(u * len(self.images)).long().clamp_(0, len(self.images) - 1)].detach()
