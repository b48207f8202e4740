"""Directions from text: zero-shot labels by a CLIP model, and text directions pulled back into a latent space.

A CLIP-style model (:class:`~latentlab.models.clip.CLIP`) embeds images and texts as unit
vectors in one space. Two prompt ensembles — what the attribute looks like ("a man
with glasses") and what its absence looks like ("a man, no glasses") — give the
*text target* ``t = ȳ − n̄``, where ``ȳ`` and ``n̄`` are each side's mean text embedding
renormalised to unit length (the prompt ensembles of Radford et al. 2021, section 3.1.4).
An image's zero-shot score is then ``cos(image, ȳ) − cos(image, n̄) = ⟨image, t⟩``.

Two ways to a latent direction follow:

* **zero-shot labels** (:func:`zero_shot_scores`, :func:`clip_label_samples`): a
  generator's samples are scored by CLIP instead of a trained attribute classifier, and
  the usual hyperplane is fitted to the scores
  (:func:`~latentlab.analysis.workflow.find_direction` with ``labels_from="clip"``);
* **text directions** (:class:`TextDirection`, :func:`pull_back`): a linear map
  ``e ≈ A z + b`` (:class:`~latentlab.analysis.maps.LatentMap`) from the generator's
  codes to the CLIP embeddings of its samples is fitted, and ``t`` is pulled back
  through it as ``Aᵀ t`` — the gradient of the predicted score ``⟨A z + b, t⟩``, i.e.
  the unit latent step that raises the score most
  (:func:`~latentlab.analysis.workflow.find_text_direction`).

Prompts may only use words of the CLIP model's training captions: a prompt with no
known word is refused, one with some unknown words warns
(:class:`~latentlab.data.tokenizer.UnknownWordsWarning`).

Sections: the CLIP model and its prompts, zero-shot labels, text directions.
"""

from __future__ import annotations

import os
import re

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from latentlab._progress import batch_starts
from latentlab._validation import as_direction, check_choice, check_codes, check_int, check_paired, restore
from latentlab.analysis.maps import KINDS, LatentMap
from latentlab.codes import LatentCodes
from latentlab.data.captions import attribute_prompts
from latentlab.data.tokenizer import split_words

__all__ = [
    "as_clip",
    "default_prompts",
    "text_target",
    "zero_shot_scores",
    "sample_embeddings",
    "clip_label_samples",
    "pull_back",
    "TextDirection",
    "prompt_name",
]

# the shortest text target accepted: below it the two ensembles embed alike and the
# difference is numerical noise, not a direction
_MIN_TARGET_NORM = 1e-6


# -- the CLIP model and its prompts ----------------------------------------------------------
def as_clip(clip, device=None, what: str = "the CLIP model"):
    """A CLIP model from an object or a checkpoint path (loaded on ``device``).

    Raises
    ------
    ValueError
        For a checkpoint (or object) that is not an image-text model: a generator, a
        classifier, ... — the message says what it holds.
    """
    if isinstance(clip, (str, os.PathLike)):
        from latentlab.loading import load

        model, name = load(clip, device=device), str(clip)
    elif clip is None:
        raise ValueError(f"give {what} (a CLIP checkpoint, e.g. from `latentlab train faces-clip-tiny`), not None")
    else:
        model, name = clip, type(clip).__name__
    if not (callable(getattr(model, "encode_text", None)) and callable(getattr(model, "encode_image", None))):
        kind = getattr(getattr(model, "config", None), "kind", None) or type(model).__name__
        raise ValueError(f"{what} {name} holds a model of kind {kind!r}; it must be a CLIP image-text model "
                         "(kind 'clip': train one with `latentlab train faces-clip-tiny`)")
    return model


def default_prompts(clip, attribute: str) -> tuple[list[str], list[str]]:
    """The prompt ensembles ``(yes, no)`` of a faces ``attribute`` in the words of ``clip``'s captions.

    From :func:`latentlab.data.captions.attribute_prompts`; only a CLIP trained on the
    ``faces`` captions has them.
    """
    kind = getattr(clip.config, "captions", None)
    if kind != "faces":
        raise ValueError(f"default prompts exist for a CLIP trained on faces captions; this one learnt {kind} "
                         "captions: give the prompts (--prompt and --negative)")
    prompts = attribute_prompts("faces")
    if attribute not in prompts:
        raise ValueError(f"no default prompts for {attribute!r}; there are default prompts for: {', '.join(prompts)} "
                         "(or give your own: --prompt and --negative)")
    return prompts[attribute]


def _ensemble(clip, texts: list[str]) -> torch.Tensor:
    """The unit mean of the unit text embeddings of ``texts`` (float64)."""
    mean = clip.encode_text(texts).double().mean(0)
    return mean / mean.norm()


def text_target(clip, prompts, negatives) -> np.ndarray:
    """The text target ``t = ȳ − n̄`` of two prompt ensembles, ``(embed_dim,)`` float64.

    ``ȳ`` (``n̄``) is the mean of the unit embeddings of ``prompts`` (``negatives``),
    renormalised, so ``⟨image, t⟩ = cos(image, ȳ) − cos(image, n̄)`` for a unit image
    embedding. ``t`` is not normalised: its length is the largest score difference any
    image could have.

    Parameters
    ----------
    clip : CLIP
    prompts, negatives : str or sequence of str
        Texts saying the attribute is present, and absent.

    Raises
    ------
    ValueError
        For no prompt, an empty prompt, a prompt none of whose words the model's
        training captions used, or two ensembles that embed alike. Prompts with some
        unknown words warn (:class:`~latentlab.data.tokenizer.UnknownWordsWarning`).
    """
    prompts = clip.tokenizer.check_prompts(prompts, "positive", "CLIP model")
    negatives = clip.tokenizer.check_prompts(negatives, "negative", "CLIP model")
    target = (_ensemble(clip, prompts) - _ensemble(clip, negatives)).numpy()
    if not np.linalg.norm(target) > _MIN_TARGET_NORM:
        raise ValueError(f"the prompts {prompts} and the negatives {negatives} embed alike; "
                         "give negatives that say the opposite")
    return target


def prompt_name(prompt: str) -> str:
    """A short name made of a prompt's words, for a direction found from text (``"with-glasses"``)."""
    words = [w for w in split_words(prompt) if re.match(r"[a-z0-9]", w) and w not in ("a", "an", "the")]
    return "-".join(words)[:40].strip("-") or "text"


# -- zero-shot labels -------------------------------------------------------------------------
def zero_shot_scores(clip, images, prompts, negatives, batch_size: int = 512) -> np.ndarray:
    """Zero-shot attribute scores of images: ``cos(image, ȳ) − cos(image, n̄)``, ``(N,)`` float64.

    Positive where the image is closer to the prompts than to the negatives (its
    zero-shot label is 1), in ``[−2, 2]``.

    Parameters
    ----------
    clip : CLIP
    images : tensor ``(N, C, H, W)`` in [-1, 1]
    prompts, negatives : str or sequence of str (see :func:`text_target`)
    """
    target = text_target(clip, prompts, negatives)
    return clip.encode_image(torch.as_tensor(images), batch_size=batch_size).double().numpy() @ target


def sample_embeddings(generator, clip, n: int, seed: int = 0, batch_size: int = 256,
                      progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes drawn from ``generator``'s prior and the CLIP embeddings of their images.

    Returns
    -------
    z : ndarray ``(n, *latent_shape)``, float32
        Drawn with ``torch.Generator().manual_seed(seed)`` (as
        :func:`~latentlab.codes.label_samples` draws them, so the same seed gives the same codes).
    embeddings : ndarray ``(n, embed_dim)``, float64
        Unit image embeddings of the decoded codes.
    """
    check_int(n, "n", min=1)
    z = generator.sample_latents(n, generator=torch.Generator().manual_seed(seed))
    parts = []
    for start in batch_starts(n, batch_size, enabled=progress, desc="embed samples", unit="sample"):
        with torch.no_grad():
            images = generator.decode(z[start : start + batch_size])
        parts.append(clip.encode_image(images.float().cpu(), batch_size=batch_size).double().numpy())
    return z.cpu().numpy(), np.concatenate(parts)


def clip_label_samples(generator, clip, prompts: dict, n: int = 10000, seed: int = 0, batch_size: int = 256,
                       progress: bool = False) -> LatentCodes:
    """Draw ``n`` codes, decode them and label the images zero-shot by ``clip``.

    The CLIP counterpart of :func:`~latentlab.codes.label_samples`: the same codes for
    the same seed, ``scores`` the zero-shot scores (:func:`zero_shot_scores`) and ``attrs``
    their sign (1: closer to the prompts than to the negatives).

    Parameters
    ----------
    generator : Generator
    clip : CLIP
    prompts : dict of attribute -> (prompts, negatives)
        Each side a str or a sequence of str (see :func:`text_target`).
    n, seed, batch_size, progress
        Codes drawn (seeded), images per call, a progress bar.

    Returns
    -------
    LatentCodes
    """
    if not prompts:
        raise ValueError("give the prompts of at least one attribute: {attribute: (prompts, negatives)}")
    targets = {name: text_target(clip, yes, no) for name, (yes, no) in prompts.items()}
    z, embeddings = sample_embeddings(generator, clip, n, seed=seed, batch_size=batch_size, progress=progress)
    scores = {name: embeddings @ t for name, t in targets.items()}
    return LatentCodes(
        z=z,
        attrs={name: (s > 0).astype(np.int64) for name, s in scores.items()},
        scores=scores,
        attr_levels={name: ["0", "1"] for name in scores},
        info={"labels": "clip", "model": type(generator).__name__, "seed": seed},
    )


# -- text directions --------------------------------------------------------------------------
def pull_back(latent_map: LatentMap, target) -> np.ndarray:
    """The unit latent direction that moves a fitted map's output most along ``target``.

    For a map ``e ≈ A z + b`` the change of ``⟨e, t⟩`` per latent step ``v`` is
    ``⟨A v, t⟩ = ⟨v, Aᵀ t⟩``; over unit steps it is largest for ``v = Aᵀ t / |Aᵀ t|``
    (Cauchy–Schwarz), the gradient of ``⟨A z + b, t⟩``. Unlike the pseudo-inverse step
    ``A⁺ t`` (the smallest step whose image is closest to ``t``), it does not amplify
    the latent directions the map barely uses, which in a fitted map are mostly noise;
    the two agree when ``A`` has orthonormal columns times a scale.

    Parameters
    ----------
    latent_map : fitted LatentMap
        From codes (the source) to embeddings (the destination).
    target : array-like of shape dst_shape_ or (d_dst,)

    Returns
    -------
    ndarray of shape src_shape_, float64
        Unit vector in the source (latent) space.
    """
    check_is_fitted(latent_map, "coef_")
    t, shape = as_direction(target, "target")
    if shape not in (tuple(latent_map.dst_shape_), (latent_map.coef_.shape[0],)):
        raise ValueError(f"target has shape {shape}; expected the map's destination shape {latent_map.dst_shape_}")
    v = latent_map.coef_.T @ t
    norm = float(np.linalg.norm(v))
    if norm <= 1e-12 * float(np.linalg.norm(latent_map.coef_)) * float(np.linalg.norm(t)):
        raise ValueError("no latent step moves the map's output along the target (Aᵀ t = 0): "
                         "the codes do not control what the text describes")
    return restore(v / norm, latent_map.src_shape_)


class TextDirection(BaseEstimator):
    """A latent direction from a text target, through a linear map from codes to image embeddings.

    ``fit(Z, E)`` fits ``E ≈ A Z + b`` (a :class:`~latentlab.analysis.maps.LatentMap`)
    on codes and the CLIP embeddings of their images, and pulls ``target`` back as
    ``Aᵀ t`` (:func:`pull_back`). The predicted zero-shot score of a code is
    ``⟨A z + b, t⟩ = gain_ · (direction_·z + intercept_)``: ``direction_`` is the unit
    normal of the hyperplane where it is 0, and ``gain_`` the score's change per unit
    latent step along it.

    Parameters
    ----------
    target : array-like of shape (embed_dim,)
        The text target (:func:`text_target`).
    kind : {"linear", "affine", "ridge", "procrustes"}, default="affine"
        The map's family (see :class:`~latentlab.analysis.maps.LatentMap`).
    alpha : float > 0, default=1.0
        Ridge penalty, for ``kind="ridge"``.

    Attributes
    ----------
    map_ : LatentMap
        The fitted map from flattened codes to embeddings.
    direction_ : ndarray of shape latent_shape, float64
        Unit latent direction.
    intercept_ : float
        ``(b·t) / gain_``, in latent units.
    gain_ : float
        ``|Aᵀ t|``: predicted score change per unit step along ``direction_``.
    r2_ : float
        R² of the map on the codes it was fitted on.
    latent_shape_ : tuple of int
    """

    def __init__(self, target=None, *, kind: str = "affine", alpha: float = 1.0):
        self.target = target
        self.kind = kind
        self.alpha = alpha

    def fit(self, Z, E) -> "TextDirection":
        """Fit the map on codes ``Z (N, *latent_shape)`` and their images' embeddings ``E (N, embed_dim)``.

        Returns
        -------
        self
        """
        check_choice(self.kind, "kind", KINDS)
        if self.target is None:
            raise ValueError("TextDirection needs target=t, the text target (text_target(clip, prompts, negatives))")
        X, self.latent_shape_ = check_codes(Z, "Z", min_samples=2)
        Y, _ = check_codes(E, "E", min_samples=2)
        check_paired(X, Y, ("Z", "E"))
        t, shape = as_direction(self.target, "target")
        if t.shape[0] != Y.shape[1]:
            raise ValueError(f"target has {t.shape[0]} numbers but the embeddings {Y.shape[1]}: give the text "
                             "target of the CLIP model that embedded the images")
        self.map_ = LatentMap(kind=self.kind, alpha=self.alpha).fit(X, Y)
        direction = pull_back(self.map_, t)
        self.gain_ = float(np.linalg.norm(self.map_.coef_.T @ t))
        self.direction_ = direction.reshape(self.latent_shape_)
        self.intercept_ = float(self.map_.intercept_ @ t) / self.gain_
        self.r2_ = self.map_.score(X, Y)
        return self

    def decision_function(self, Z) -> np.ndarray:
        """Signed distance of codes ``(M, *latent_shape)`` from the predicted score-0 hyperplane, ``(M,)``."""
        check_is_fitted(self, "direction_")
        X, shape = check_codes(Z, "Z")
        if shape != tuple(self.latent_shape_):
            raise ValueError(f"codes have shape {shape}; this direction is for codes of shape {self.latent_shape_}")
        return X.astype(np.float64) @ self.direction_.reshape(-1) + self.intercept_
