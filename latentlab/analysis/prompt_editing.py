"""Editing real images by prompt with a text-conditioned diffusion model.

An image is inverted by DDIM under a prompt that describes it (source), which gives the
starting noise from which DDIM under that prompt draws the image again; the same noise is
then decoded under another prompt (target, e.g. the same description "with glasses"), with
classifier-free guidance. The edit keeps what the noise fixes (layout, colours) and changes
what the prompts differ in. :func:`edit_by_prompt` returns the edits with the unedited
reconstruction, the edit's starting point; :meth:`PromptEdit.score` scores them as any other
edit of real images (:func:`~latentlab.analysis.edit_evaluation.score_image_edits`: flip
rate, off-target change, SSIM to the input, reconstruction error).

:func:`attribute_prompt_pairs` makes a minimal pair of prompts for each face from its own
attributes: its caption without the attribute, and the same caption with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from latentlab._validation import check_float, check_int
from latentlab.analysis.edit_evaluation import ImageEditScores, score_image_edits
from latentlab.data.captions import FACE_WORDS, face_captions
from latentlab.metrics.text_to_image import check_prompts, check_text_model, prompt_samples

__all__ = ["PromptEdit", "edit_by_prompt", "attribute_prompt_pairs", "check_editable", "EDITABLE_ATTRIBUTES"]

#: Attributes a caption adds with "with ..." ("with glasses"), so a prompt pair differs in them alone.
EDITABLE_ATTRIBUTES = tuple(FACE_WORDS)


@dataclass
class PromptEdit:
    """Result of :func:`edit_by_prompt`; images ``(N, C, H, W)`` in [-1, 1] on the CPU.

    Attributes
    ----------
    inputs : tensor
        The images edited.
    edited : tensor
        The codes decoded under the target prompts with guidance ``guidance_scale``.
    reconstruction : tensor
        The codes decoded under the source prompts without guidance: where the edit starts.
    codes : tensor
        The DDIM inversions of the inputs under the source prompts.
    source, target : list of N str
    guidance_scale : float
    steps : int
        DDIM steps of the inversion and of both decodings.
    """

    inputs: torch.Tensor = field(repr=False)
    edited: torch.Tensor = field(repr=False)
    reconstruction: torch.Tensor = field(repr=False)
    codes: torch.Tensor = field(repr=False)
    source: list
    target: list
    guidance_scale: float
    steps: int

    def score(self, classifier, attribute: str, name: str = "prompt edit", batch_size: int = 256) -> ImageEditScores:
        """The edit scored for switching on ``attribute`` (flip rate, off-target change, SSIM
        to the input); its ``cycle_error`` is the mean absolute error of the reconstruction."""
        return score_image_edits(classifier, self.inputs, self.edited, target=attribute, returned=self.reconstruction,
                                 name=name, batch_size=batch_size)


def _per_image(prompts, n: int, name: str, model) -> list[str]:
    if isinstance(prompts, str):
        prompts = [prompts] * n
    return check_prompts(prompts, n, name, model)


def edit_by_prompt(model, images, source, target, *, guidance_scale: float | None = None, steps: int | None = None,
                   batch_size: int = 256, progress: bool = False) -> PromptEdit:
    """Invert ``images`` under the ``source`` prompts and decode them under the ``target`` prompts.

    Parameters
    ----------
    model : a text-conditioned DDPM
    images : tensor ``(N, C, H, W)`` in [-1, 1]
    source, target : str or list of N str
        What each image shows, and what it should show; one prompt for all or one per image.
    guidance_scale : float, optional
        Guidance weight of the decoding under ``target`` (the inversion is unguided); the
        model's ``config.guidance_scale`` by default. With ``target == source`` and weight 1
        the edit is the plain inversion round trip.
    steps : int, optional
        DDIM steps of the inversion and the decodings; the model's ``decode_steps`` by default.
    batch_size, progress
        Images per batch; bars over the samples.

    Returns
    -------
    PromptEdit
    """
    check_text_model(model)
    x = torch.as_tensor(images).detach().float().cpu()
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"images must be a non-empty batch (N, C, H, W) in [-1, 1]; got shape {tuple(x.shape)}")
    source, target = _per_image(source, len(x), "source", model), _per_image(target, len(x), "target", model)
    steps = model.config.decode_steps if steps is None else check_int(steps, "steps", min=1)
    scale = model.config.guidance_scale if guidance_scale is None else check_float(guidance_scale, "guidance_scale",
                                                                                   min=0)
    check_int(batch_size, "batch_size", min=1)
    codes = model.encode(x, steps, prompts=source, batch_size=batch_size, progress=progress).cpu()
    run = {"steps": steps, "codes": codes, "batch_size": batch_size, "progress": progress}
    rebuilt = prompt_samples(model, source, guidance_scale=1.0, **run)
    edited = rebuilt if (target == source and scale == 1.0) else prompt_samples(model, target, guidance_scale=scale,
                                                                                 **run)
    return PromptEdit(inputs=x, edited=edited, reconstruction=rebuilt, codes=codes, source=source, target=target,
                      guidance_scale=scale, steps=steps)


def check_editable(attribute) -> str:
    """``attribute`` if :func:`attribute_prompt_pairs` can add it to a caption, else ``ValueError`` naming those it can."""
    if attribute not in EDITABLE_ATTRIBUTES:
        raise ValueError(f"attribute {attribute!r} cannot be added to a caption with 'with ...'; "
                         f"choose one of: {', '.join(EDITABLE_ATTRIBUTES)}")
    return attribute


def attribute_prompt_pairs(attrs: dict, attribute: str, seed: int = 0, wordings: str = "train") -> tuple[list, list]:
    """For each face, its caption without ``attribute`` and the same caption with it.

    The source caption states only facts of the face with ``attribute`` switched off and
    never mentions it ("photo of an old man with a hat"); the target adds it and nothing
    else ("photo of an old man with glasses and a hat").

    Parameters
    ----------
    attrs : dict of str -> int array (N,)
        The faces' attributes (a faces dataset's ``attrs``).
    attribute : {"glasses", "hat", "beard"}
        What the edit switches on (:data:`EDITABLE_ATTRIBUTES`).
    seed, wordings : the captions' wording (:func:`~latentlab.data.captions.face_captions`)

    Returns
    -------
    (source, target) : two lists of N str
    """
    check_editable(attribute)
    off = {k: np.asarray(v) for k, v in attrs.items()}
    if attribute not in off:
        raise ValueError(f"attrs has no attribute {attribute!r}; it has: {', '.join(off) or 'none'}")
    off[attribute] = np.zeros_like(off[attribute])
    # negate=0: an absent attribute is never mentioned, so "with ..." lists present things only
    source = face_captions(off, seed=seed, wordings=wordings, negate=0.0)
    phrase = FACE_WORDS[attribute][0][0]
    target = []
    for caption in source:
        head, sep, listed = caption.partition(" with ")
        if not sep:
            target.append(f"{caption} with {phrase}")
        else:
            target.append(f"{head} with {phrase}{', ' if ' and ' in listed else ' and '}{listed}")
    return source, target
