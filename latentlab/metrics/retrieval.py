"""How well a CLIP-style model (:class:`~latentlab.models.clip.CLIP`) matches images and text.

* :func:`retrieval_recall` — image→text and text→image recall@k on paired images and captions;
* :func:`zero_shot_accuracy` — each binary attribute predicted by which of two prompts an
  image is closer to ("a man with glasses" / "a man, no glasses");
* :func:`evaluate_clip` — both, on a dataset's images with its captions in the training
  wordings and in the held-out ones (a user's captioned images: recall on their own captions);
* :func:`clip_score` — how well each prompt describes each image: CLIP score
  ``100 · max(cos(image, text), 0)`` (Hessel et al. 2021).

Chance levels: recall@k is ``k / N`` for ``N`` pairs; zero-shot accuracy is at best the
share of the attribute's commoner value for a model that ignores the image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from latentlab._validation import check_int
from latentlab.data.captions import USER_CAPTIONS, WORDINGS, attribute_prompts

__all__ = ["evaluate_clip", "retrieval_recall", "zero_shot_accuracy", "clip_score"]


def retrieval_recall(model, images, captions: Sequence[str], ks: Sequence[int] = (1, 5),
                     warn: bool = False) -> dict[str, float]:
    """Recall@k of retrieving each image's caption among all ``N`` captions, and back.

    Parameters
    ----------
    model : CLIP
    images : tensor (N, C, H, W) in [-1, 1]
    captions : N str, ``captions[i]`` describing ``images[i]``
    ks : the k of recall@k, each in [1, N]
    warn : warn about words the model never saw (off: held-out wordings have some by design)

    Returns
    -------
    dict
        ``"image_to_text@k"`` and ``"text_to_image@k"`` for each k: the fraction of queries
        whose partner is among the k most similar (cosine) candidates. Ties count against
        the query (its partner must beat every candidate it ties with). Chance is ``k / N``.
        Captions made from attributes are not unique — faces that share their attributes
        can share a caption — so recall@1 of a perfect model is below 1.
    """
    captions = list(captions)
    n = len(captions)
    if len(images) != n:
        raise ValueError(f"{len(images)} images but {n} captions: give one caption per image")
    for k in ks:
        check_int(k, "k", min=1, max=n)
    sim = model.encode_image(images) @ model.encode_text(captions, warn=warn).T  # (N images, N texts)
    out = {}
    for name, s in (("image_to_text", sim), ("text_to_image", sim.T)):
        partner = s.diagonal().unsqueeze(1)
        rank = (s >= partner).sum(1) - 1  # candidates at least as close as the partner, the partner excluded
        for k in ks:
            out[f"{name}@{k}"] = float((rank < k).float().mean())
    return out


def zero_shot_accuracy(model, images, attrs: dict, prompts: dict | None = None) -> dict[str, float]:
    """Accuracy of predicting binary attributes from two prompts each, with no attribute training.

    An image is called "yes" when its embedding is closer (cosine) to the mean embedding of
    the "yes" prompts than to that of the "no" prompts.

    Parameters
    ----------
    model : CLIP
    images : tensor (N, C, H, W) in [-1, 1]
    attrs : dict of str -> int array (N,), the true values (0/1)
    prompts : dict of attribute -> (str or list of str, str or list of str), optional
        The "yes" and "no" prompts of each attribute scored. Default: for a model trained on
        faces captions, :func:`latentlab.data.captions.attribute_prompts` (every binary
        attribute, in the training captions' words). Unknown words in a prompt warn.

    Returns
    -------
    dict of attribute -> accuracy in [0, 1]
    """
    if prompts is None:
        if model.config.captions != "faces":
            raise ValueError(f"default prompts exist for faces captions only; this model was trained on "
                             f"{model.config.captions} captions: give prompts={{attribute: (yes, no)}}")
        prompts = attribute_prompts("faces")
    missing = [a for a in prompts if a not in attrs]
    if missing:
        raise ValueError(f"no true values of attribute {missing[0]!r}; attrs has: {', '.join(attrs) or 'none'}")
    image = model.encode_image(images)
    out = {}
    for name, (yes, no) in prompts.items():
        sides = []
        for side in (yes, no):
            side = [side] if isinstance(side, str) else list(side)
            sides.append(torch.nn.functional.normalize(model.encode_text(side).mean(0), dim=0))
        predicted = (image @ sides[0] > image @ sides[1]).numpy()
        truth = np.asarray(attrs[name]).astype(int)
        if not set(np.unique(truth)) <= {0, 1}:
            raise ValueError(f"attribute {name!r} is not binary (values {sorted(set(np.unique(truth)))}); prompt pairs score 0/1 attributes")
        out[name] = float((predicted == truth.astype(bool)).mean())
    return out


def evaluate_clip(model, dataset, n: int = 500, seed: int = 0, ks: Sequence[int] = (1, 5)) -> dict:
    """Retrieval recall on the first ``n`` samples of ``dataset`` with captions in each wording,
    and zero-shot accuracy (faces captions).

    Give data the model did not train on (e.g. faces made with another seed, or a held-out
    folder of the user's captioned images). Data that carries its own captions
    (``dataset.caption_kind == "text"``) has no held-out wordings and no attributes to prompt
    for: only its recall is measured, on one of each image's captions.

    Returns
    -------
    dict
        ``{"n": n, "train": recall dict, "held_out": recall dict, "zero_shot": accuracy dict}``
        (``zero_shot`` only for faces); the captions are worded (or chosen among an image's
        own) with ``seed``. For data with its own captions: ``{"n": n, "train": recall dict,
        "note": str}``, the note saying what was left out.
    """
    check_int(n, "n", min=max(ks), max=len(dataset))
    part = dataset.subset(np.arange(n))
    images = part.get(np.arange(n))
    out: dict = {"n": n}
    if part.caption_kind == USER_CAPTIONS:
        out["train"] = retrieval_recall(model, images, part.captions("train", seed=seed), ks)
        out["note"] = ("the data's own captions: no held-out wordings, and no zero-shot attributes "
                       "(zero_shot_accuracy takes prompts= for those)")
        return out
    for wordings in WORDINGS:
        out[wordings] = retrieval_recall(model, images, part.captions(wordings, seed=seed), ks)
    if model.config.captions == "faces":
        out["zero_shot"] = zero_shot_accuracy(model, images, part.attrs)
    return out


def clip_score(model, images, prompts: Sequence[str], batch_size: int = 512) -> np.ndarray:
    """CLIP score of every prompt with every image: ``100 · max(cos(image, text), 0)``.

    Parameters
    ----------
    model : CLIP
    images : tensor ``(N, C, H, W)`` in [-1, 1]
    prompts : sequence of P str (unknown words warn)

    Returns
    -------
    ndarray ``(P, N)``, float64, in [0, 100]
    """
    prompts = list(prompts)
    if not prompts:
        raise ValueError("give at least one prompt")
    image = model.encode_image(torch.as_tensor(images), batch_size=batch_size).double()
    text = model.encode_text(prompts, batch_size=batch_size).double()
    return (100 * (text @ image.T).clamp(min=0)).numpy()
