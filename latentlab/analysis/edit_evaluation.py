"""How well an edit changes what it should and leaves the rest alone.

For codes drawn from the model's prior, each direction is applied with a fixed step and
an attribute classifier scores the images before and after. Reported, as in the
latent-editing literature:

* the **entanglement matrix** — mean change of every attribute's probability per unit
  step, attributes × directions (a clean edit has one large entry per column);
* the **flip rate** — the share of samples without the target attribute that have it
  after the edit;
* the **off-target change** — the mean absolute change of the other attributes.

:func:`score_image_edits` scores edits of given images the same way — a latent edit
(encode, move, decode) and a translation network's output alike — and adds what only an
edit of a real image has: its SSIM to the input, and how far the input comes back
(cycle or reconstruction error).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from latentlab.analysis.editing import move
from latentlab.metrics.image import ssim

__all__ = ["EditEffects", "edit_effects", "ImageEditScores", "score_image_edits"]


@dataclass
class EditEffects:
    """Result of :func:`edit_effects`.

    ``matrix[i, j]`` is the mean change in P(attribute i) per unit step along direction j.
    """

    attributes: list
    directions: list
    matrix: np.ndarray  # (n_attributes, n_directions)
    flip_rate: dict  # direction -> share of samples flipped to its target attribute (NaN if no target)
    off_target: dict  # direction -> mean |change| of the other attributes, per unit step
    step: float
    n: int

    def table(self) -> str:
        """The matrix as aligned text, one row per attribute."""
        width = max(len(a) for a in [*self.attributes, "off-target"]) + 2
        lines = [" " * width + "".join(f"{d[:13]:>14}" for d in self.directions)]
        for a, row in zip(self.attributes, self.matrix):
            lines.append(f"{a:<{width}}" + "".join(f"{v:14.3f}" for v in row))
        lines.append(f"{'flip rate':<{width}}" + "".join(f"{self.flip_rate[d]:14.3f}" for d in self.directions))
        lines.append(f"{'off-target':<{width}}" + "".join(f"{self.off_target[d]:14.3f}" for d in self.directions))
        return "\n".join(lines)


def _binary_probs(classifier, images, batch_size: int) -> dict[str, np.ndarray]:
    probs = classifier.predict_proba(images, batch_size=batch_size)
    return {k: v for k, v in probs.items() if v.ndim == 1}


def _flips_and_changes(before: dict, after: dict, target: str | None) -> tuple[float, np.ndarray, list[int]]:
    """``(flip rate, delta (A, n), indices of the off-target attributes)`` of one edit.

    The flip rate is the share of images the classifier saw without ``target`` that have
    it after the edit (NaN when no image lacked it, or ``target`` is not an attribute).
    """
    attributes = list(before)
    delta = np.stack([after[a] - before[a] for a in attributes])
    if target in attributes:
        was_off = before[target] < 0.5
        flip = float((after[target][was_off] >= 0.5).mean()) if was_off.any() else float("nan")
        return flip, delta, [i for i, a in enumerate(attributes) if a != target]
    return float("nan"), delta, list(range(len(attributes)))


def edit_effects(generator, classifier, directions: dict, *, n: int = 256, step: float = 2.0, seed: int = 0,
                 targets: dict | None = None, batch_size: int = 256) -> EditEffects:
    """Measure the effect of each direction's edit with an attribute classifier.

    Parameters
    ----------
    generator : Generator whose codes are edited
    classifier : AttributeClassifier (or anything with ``predict_proba(images)``)
    directions : ``{name: direction}`` (arrays or fitted AttributeDirection objects)
    n : number of codes drawn from the prior (``seed``)
    step : signed distance of the edit, in latent units
    targets : ``{direction name: attribute}``; by default a direction named like an
        attribute targets it (``"glasses"``, ``"glasses|age"`` -> glasses)
    """
    if not directions:
        raise ValueError("give at least one direction")
    if step == 0:
        raise ValueError("step must be non-zero")
    z = generator.sample_latents(n, generator=torch.Generator().manual_seed(seed))

    def decode(codes):
        with torch.no_grad():
            return torch.cat([generator.decode(codes[i : i + batch_size]).cpu() for i in range(0, len(codes), batch_size)])

    before = _binary_probs(classifier, decode(z), batch_size)
    attributes = list(before)
    targets = dict(targets or {})
    names = list(directions)
    matrix = np.zeros((len(attributes), len(names)))
    flips, off = {}, {}
    for j, name in enumerate(names):
        after = _binary_probs(classifier, decode(move(z, directions[name], step=step)), batch_size)
        flips[name], delta, others = _flips_and_changes(before, after, targets.get(name, name.split("|")[0].split("~")[0]))
        matrix[:, j] = delta.mean(axis=1) / step
        off[name] = float(np.abs(delta[others]).mean() / abs(step)) if others else 0.0
    return EditEffects(attributes=attributes, directions=names, matrix=matrix, flip_rate=flips, off_target=off,
                       step=float(step), n=n)


@dataclass
class ImageEditScores:
    """Result of :func:`score_image_edits`: how one way of editing real images did.

    Attributes
    ----------
    name : str
        The edit (e.g. ``"CycleGAN a2b"``, ``"VAE latent edit"``).
    target : str
        The attribute the edit should switch on.
    flip_rate : float
        Share of the inputs the classifier sees without ``target`` that have it after the
        edit (NaN when every input already had it).
    off_target : float
        Mean absolute change of the probability of every other binary attribute.
    ssim : float
        Mean SSIM of each edited image to its input (1: unchanged).
    cycle_error : float
        Mean absolute pixel difference (images in [-1, 1]) between the inputs and what
        comes back: a translation translated back, or a latent code decoded unedited
        (the reconstruction the edit starts from). NaN when not given.
    n : int
        Number of images.
    changes : dict of str -> float
        Mean signed change of the probability of each binary attribute (the target's
        included), e.g. how much older the edited faces look.
    """

    name: str
    target: str
    flip_rate: float
    off_target: float
    ssim: float
    cycle_error: float
    n: int
    changes: dict = field(default_factory=dict)

    def row(self) -> dict:
        """The scores as one table row (plain floats)."""
        return {"edit": self.name, "target": self.target, "flip_rate": self.flip_rate, "off_target": self.off_target,
                "ssim": self.ssim, "cycle_error": self.cycle_error, "n": self.n}


def score_image_edits(classifier, inputs, edited, *, target: str, returned=None, name: str = "edit",
                      batch_size: int = 256) -> ImageEditScores:
    """Score edits of real images with an attribute classifier and SSIM.

    The same function for every way of editing an image, so that they compare in one
    table: a translation network's output (``returned``: translated back) and a latent
    edit (``returned``: the input encoded and decoded unedited).

    Parameters
    ----------
    classifier : AttributeClassifier (or anything with ``predict_proba(images)``)
    inputs, edited : tensors or arrays of shape (N, C, H, W), values in [-1, 1]
        The images and their edits, paired by index.
    target : str
        The binary attribute the edit should switch on.
    returned : tensor or array of shape (N, C, H, W), optional
        What comes back from the edit's representation (cycle or reconstruction).
    name : str
        The edit's name in the table.

    Returns
    -------
    ImageEditScores
    """
    x = torch.as_tensor(inputs).detach().float().cpu()
    y = torch.as_tensor(edited).detach().float().cpu()
    if x.ndim != 4 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"inputs and edited must be non-empty image batches (N, C, H, W) of one shape; "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    before, after = _binary_probs(classifier, x, batch_size), _binary_probs(classifier, y, batch_size)
    if target not in before:
        raise ValueError(f"target {target!r} is not a binary attribute of the classifier; "
                         f"choose one of: {', '.join(before)}")
    flip, delta, others = _flips_and_changes(before, after, target)
    cycle = float("nan")
    if returned is not None:
        back = torch.as_tensor(returned).detach().float().cpu()
        if back.shape != x.shape:
            raise ValueError(f"returned has shape {tuple(back.shape)}; the inputs {tuple(x.shape)}")
        cycle = float((back - x).abs().mean())
    return ImageEditScores(name=name, target=target, flip_rate=flip,
                           off_target=float(np.abs(delta[others]).mean()) if others else 0.0,
                           ssim=float(ssim(x, y).mean()), cycle_error=cycle, n=len(x),
                           changes={a: float(d.mean()) for a, d in zip(before, delta)})
