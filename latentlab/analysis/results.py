"""What the direction workflows produce: attribute directions and principal directions, and their files.

:class:`DirectionResult` (:func:`~latentlab.analysis.workflow.find_direction`,
``latentlab direction``) and :class:`PCAResult`
(:func:`~latentlab.analysis.workflow.pca_directions`, ``latentlab directions pca``) keep
everything needed later, and save to a plain ``.npz`` read back by their ``load`` or by
:func:`load_direction_file`, which takes either kind (files: :func:`latentlab._io.save_npz`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from latentlab._io import load_npz, save_npz

__all__ = ["DirectionResult", "PCAResult", "load_direction_file", "check_latent_shape"]


def check_latent_shape(latent_shape: Sequence[int], model, *, what: str = "the direction", fitted_for: str = "") -> None:
    """Raise ``ValueError`` unless ``model``'s codes have ``latent_shape``.

    Parameters
    ----------
    latent_shape : tuple of int
        Shape of one direction.
    model : Generator
        The model the direction is about to be used with.
    what : str
        How to name the direction in the message (e.g. a file name).
    fitted_for : str
        The model the direction was fitted for, named in the message when known.
    """
    expected = tuple(int(s) for s in model.latent_shape)
    got = tuple(int(s) for s in latent_shape)
    if expected != got:
        origin = f" (fitted for {fitted_for})" if fitted_for else ""
        raise ValueError(
            f"{what} has latent shape {got}{origin} but this {type(model).__name__} has codes of shape "
            f"{expected}: use it with the model it was fitted for"
        )


def _strings(values) -> np.ndarray:
    return np.asarray(list(values), dtype=str).reshape(-1)


@dataclass(eq=False)  # arrays inside: compare fields explicitly
class DirectionResult:
    """An attribute direction found for a model, with how it was found and how good it is.

    Attributes
    ----------
    attribute : str
        The attribute (binary), e.g. ``"glasses"``.
    direction : ndarray of shape latent_shape, float64
        Unit vector to edit along: the primal direction made orthogonal to the
        ``conditions`` when there are any, else the primal direction itself.
    primal : ndarray of shape latent_shape, float64
        Unit normal of the attribute's hyperplane, pointing towards the attribute.
    intercept : float
        Offset of that hyperplane in latent units: ``primal·z + intercept`` is the signed
        distance of code ``z`` (positive on the attribute side).
    conditions : tuple of str
        Attributes the edit direction was made orthogonal to.
    condition_directions : ndarray of shape (k, *latent_shape), float64
        Their unit hyperplane normals, fitted on the same labelled codes.
    cosines_before, cosines_after : ndarray of shape (k,), float64
        Cosine between each condition and the primal, and the edit direction (about 0).
    val_accuracy, train_accuracy : float
        Accuracy of the attribute's hyperplane on the held-out and training codes.
    labels_from : {"classifier", "data"}
        How the codes were labelled.
    label_source : str
        What labelled them: the classifier's path or class, or the dataset's name.
    data_options : dict
        For data labels, the loader options of the images encoded (plain values).
    method : str
        The linear classifier of :class:`~latentlab.analysis.directions.AttributeDirection`.
    fraction : float
        Share of codes kept at each end of the score ranking (NaN for data labels).
    n, seed : int
        Number of labelled codes and the seed that drew them.
    model : str
        The model's checkpoint path (or class name when it was given as an object).
    distances : ndarray of shape (n,), float64
        Signed distance of every labelled code from the attribute's hyperplane.
    labels : ndarray of shape (n,), int64
        The attribute's 0/1 label of every code (the classifier's prediction or the data's label).
    estimator : AttributeDirection or None
        The fitted estimator when the direction was found in this session; ``None`` after
        :meth:`load` (the arrays above hold everything an edit needs).
    """

    attribute: str
    direction: np.ndarray
    primal: np.ndarray
    intercept: float
    conditions: tuple = ()
    condition_directions: np.ndarray | None = None
    cosines_before: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cosines_after: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_accuracy: float = math.nan
    train_accuracy: float = math.nan
    labels_from: str = "data"
    label_source: str = ""
    data_options: dict = field(default_factory=dict)
    method: str = "svm"
    fraction: float = math.nan
    n: int = 0
    seed: int = 0
    model: str = ""
    distances: np.ndarray = field(default_factory=lambda: np.zeros(0))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    estimator: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.conditions = tuple(self.conditions)
        if self.condition_directions is None:
            self.condition_directions = np.zeros((0, *np.shape(self.direction)))

    def __repr__(self) -> str:
        return (f"DirectionResult({self.name!r}, latent_shape={self.latent_shape}, "
                f"val_accuracy={self.val_accuracy:.3f}, labels_from={self.labels_from!r}, n={self.n}, "
                f"model={self.model!r})")

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent code of the model the direction belongs to."""
        return tuple(int(s) for s in np.shape(self.direction))

    @property
    def name(self) -> str:
        """``"glasses"``, or ``"glasses|age|smile"`` when conditioned (the name
        :func:`~latentlab.analysis.edit_evaluation.edit_effects` reads the target from)."""
        return "|".join((self.attribute, *self.conditions))

    def signed_distance(self, z) -> np.ndarray:
        """Signed distance of codes ``(M, *latent_shape)`` from the attribute's hyperplane, ``(M,)``."""
        arr = np.asarray(z.detach().cpu().numpy() if hasattr(z, "detach") else z, dtype=np.float64)  # or a tensor
        if arr.shape[1:] != self.latent_shape:
            raise ValueError(f"codes have shape {arr.shape}; expected (M, {', '.join(map(str, self.latent_shape))})")
        return arr.reshape(len(arr), -1) @ self.primal.reshape(-1) + self.intercept

    def check_model(self, model, what: str = "the direction") -> None:
        """Raise ``ValueError`` unless ``model`` has the latent shape this direction was fitted in."""
        check_latent_shape(self.latent_shape, model, what=what, fitted_for=self.model)

    def summary(self) -> list[str]:
        """Human-readable lines: accuracy and the cosine with each condition."""
        lines = [f"{self.attribute}: validation accuracy {self.val_accuracy:.3f} "
                 f"(training {self.train_accuracy:.3f}; {self.n} codes labelled by {self.labels_from})"]
        for name, before, after in zip(self.conditions, self.cosines_before, self.cosines_after):
            lines.append(f"cosine with {name}: before {before:+.3f}, after {after:+.3f}")
        return lines

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write an ``.npz`` of plain arrays (no pickle); refuse to overwrite unless asked."""
        arrays = {
            "conditions": _strings(self.conditions),
            "direction": np.asarray(self.direction, np.float64), "primal": np.asarray(self.primal, np.float64),
            "condition_directions": np.asarray(self.condition_directions, np.float64),
            "cosines_before": np.asarray(self.cosines_before, np.float64),
            "cosines_after": np.asarray(self.cosines_after, np.float64),
            "latent_shape": np.asarray(self.latent_shape, np.int64),
            "distances": np.asarray(self.distances, np.float64), "labels": np.asarray(self.labels, np.int64),
        }
        meta = {
            "attribute": self.attribute, "intercept": float(self.intercept),
            "val_accuracy": float(self.val_accuracy), "train_accuracy": float(self.train_accuracy),
            "labels_from": self.labels_from, "label_source": self.label_source,
            "data_options": json.dumps(self.data_options, sort_keys=True, default=str),
            "method": self.method, "fraction": float(self.fraction), "n": int(self.n), "seed": int(self.seed),
            "model": self.model,
        }
        return save_npz(path, "direction", arrays, meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "DirectionResult":
        """Read a file written by :meth:`save` (``latentlab direction``)."""
        return cls._from_file(load_npz(path, "direction"))

    @classmethod
    def _from_file(cls, a) -> "DirectionResult":
        path = a.path
        shape = tuple(int(s) for s in a["latent_shape"])
        if a["direction"].shape != shape:
            raise ValueError(f"{path} is damaged: its direction has shape {a['direction'].shape}, not {shape}")
        return cls(
            attribute=str(a["attribute"]), direction=a["direction"], primal=a["primal"], intercept=float(a["intercept"]),
            conditions=tuple(str(c) for c in a["conditions"]), condition_directions=a["condition_directions"],
            cosines_before=a["cosines_before"], cosines_after=a["cosines_after"],
            val_accuracy=float(a["val_accuracy"]), train_accuracy=float(a["train_accuracy"]),
            labels_from=str(a["labels_from"]), label_source=str(a["label_source"]),
            data_options=json.loads(str(a["data_options"])), method=str(a["method"]),
            fraction=float(a["fraction"]), n=int(a["n"]), seed=int(a["seed"]), model=str(a["model"]),
            distances=a["distances"], labels=a["labels"],
        )


@dataclass(eq=False)
class PCAResult:
    """Principal directions of a model's sampled codes (GANSpace-style), as saved to a file.

    Attributes
    ----------
    components : ndarray of shape (k, *latent_shape), float64
        Unit principal directions by decreasing variance.
    explained_variance : ndarray of shape (k,)
        Variance of the codes along each (squared latent units); for ``codes="features"``
        the variance of the decoder's features along each of their principal axes.
    explained_variance_ratio : ndarray of shape (k,)
        Its share of the total variance.
    mean : ndarray of shape latent_shape
        Mean sampled code.
    codes : {"data", "features", "prior"}
        Where the directions come from (see :func:`pca_directions`): encoded images,
        the decoder's feature layer for sampled codes (GANSpace), or codes drawn from the prior.
    source : str
        That, in words: what was encoded or sampled, and which data.
    model : str
        The model's checkpoint path (or class name).
    n, seed : int
        Number of codes and their seed.
    """

    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    codes: str = "prior"
    model: str = ""
    n: int = 0
    seed: int = 0
    source: str = ""

    def __repr__(self) -> str:
        return (f"PCAResult(k={len(self.components)}, latent_shape={self.latent_shape}, codes={self.codes!r}, "
                f"n={self.n}, model={self.model!r})")

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.components.shape[1:])

    @property
    def names(self) -> list[str]:
        """``["pc0", "pc1", ...]``."""
        return [f"pc{i}" for i in range(len(self.components))]

    def check_model(self, model, what: str = "the principal directions") -> None:
        """Raise ``ValueError`` unless ``model`` has the latent shape these directions were found in."""
        check_latent_shape(self.latent_shape, model, what=what, fitted_for=self.model)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write an ``.npz`` of plain arrays; refuse to overwrite unless asked."""
        arrays = {
            "components": np.asarray(self.components, np.float64),
            "explained_variance": np.asarray(self.explained_variance, np.float64),
            "explained_variance_ratio": np.asarray(self.explained_variance_ratio, np.float64),
            "mean": np.asarray(self.mean, np.float64), "latent_shape": np.asarray(self.latent_shape, np.int64),
        }
        meta = {"codes": self.codes, "model": self.model, "n": int(self.n), "seed": int(self.seed),
                "source": self.source}
        return save_npz(path, "pca", arrays, meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PCAResult":
        """Read a file written by :meth:`save` (``latentlab directions pca --out``)."""
        return cls._from_file(load_npz(path, "pca"))

    @classmethod
    def _from_file(cls, a) -> "PCAResult":
        return cls(components=a["components"], explained_variance=a["explained_variance"],
                   explained_variance_ratio=a["explained_variance_ratio"], mean=a["mean"], codes=str(a["codes"]),
                   model=str(a["model"]), n=int(a["n"]), seed=int(a["seed"]),
                   source=str(a["source"]) if "source" in a else "")


def load_direction_file(path: str | os.PathLike) -> DirectionResult | PCAResult:
    """Read either kind of direction file, telling them apart by their format marker."""
    a = load_npz(path, ("direction", "pca"),
                 what="direction file (from `latentlab direction` or `latentlab directions pca`)")
    return (PCAResult if a.kind == "pca" else DirectionResult)._from_file(a)
