"""How well an edit changes what it should and leaves the rest alone.

For codes drawn from the model's prior, each direction is applied with a fixed step and
an attribute classifier scores the images before and after. Reported, as in the
latent-editing literature:

* the **entanglement matrix** — mean change of every attribute's probability per unit
  step, attributes × directions (a clean edit has one large entry per column);
* the **flip rate** — the share of samples without the target attribute that have it
  after the edit;
* the **off-target change** — the mean absolute change of the other attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.analysis.editing import move

__all__ = ["EditEffects", "edit_effects"]


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
        delta = np.stack([after[a] - before[a] for a in attributes])  # (A, n)
        matrix[:, j] = delta.mean(axis=1) / step
        target = targets.get(name, name.split("|")[0].split("~")[0])
        if target in attributes:
            was_off = before[target] < 0.5
            flips[name] = float((after[target][was_off] >= 0.5).mean()) if was_off.any() else float("nan")
            others = [i for i, a in enumerate(attributes) if a != target]
        else:
            flips[name] = float("nan")
            others = list(range(len(attributes)))
        off[name] = float(np.abs(delta[others]).mean() / abs(step)) if others else 0.0
    return EditEffects(attributes=attributes, directions=names, matrix=matrix, flip_rate=flips, off_target=off,
                       step=float(step), n=n)
