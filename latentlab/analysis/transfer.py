"""Using a fitted map between two models: mapped samples and directions carried across.

:func:`map_samples` applies a saved map to fresh source samples;
:func:`check_map_models` refuses a map fitted for models of other latent sizes.
:func:`direction_transfer` scores an attribute direction carried through a map in the
destination; :func:`carry_direction` carries a saved direction (for ``latentlab edit``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from latentlab._validation import check_int, to_numpy
from latentlab.analysis.edit_evaluation import edit_effects
from latentlab.analysis.maps import LatentMap, transport_direction
from latentlab.analysis.results import DirectionResult
from latentlab.analysis.support import _decode, _in_batches

__all__ = ["MappedSamples", "check_map_models", "map_samples", "direction_transfer", "carry_direction"]


@dataclass
class MappedSamples:
    """Source samples and their images through a map (see :func:`map_samples`).

    ``source``: ``src.decode(z_src)``; ``mapped``: ``dst.decode(map(z_src))``;
    ``encoded``: ``dst.decode(dst.encode(source))`` or ``None``; images ``(n, C, H, W)``
    float32 tensors in ``[-1, 1]``; codes ``z_src`` ``(n, *src_shape)`` and ``z_mapped``
    ``(n, *dst_shape)``.
    """

    source: torch.Tensor
    mapped: torch.Tensor
    z_src: np.ndarray
    z_mapped: np.ndarray
    encoded: torch.Tensor | None = None
    info: dict = field(default_factory=dict)


def check_map_models(latent_map: LatentMap, src, dst) -> None:
    """Raise ``ValueError`` unless ``latent_map`` goes from ``src``'s latent space to ``dst``'s.

    Compared are the numbers of coordinates of the codes the map was fitted on and the
    models' ``latent_shape``. Either model may be ``None`` to check only the other end.
    """
    check_is_fitted(latent_map, "coef_")
    for end, model, shape in (("source", src, latent_map.src_shape_), ("destination", dst, latent_map.dst_shape_)):
        if model is None:
            continue
        model_shape = tuple(getattr(model, "latent_shape", ()))
        if math.prod(model_shape) != math.prod(shape):
            raise ValueError(
                f"the map was fitted on {end} codes of shape {tuple(shape)} ({math.prod(shape)} numbers), but the "
                f"{end} model ({type(model).__name__}) has latent shape {model_shape} ({math.prod(model_shape)} numbers); "
                "use the models the map was fitted for"
            )


def map_samples(latent_map: LatentMap, src, dst, n: int = 16, *, seed: int = 0, encoded: bool = False,
                batch_size: int = 256) -> MappedSamples:
    """Draw ``n`` source samples and show them through the map in the destination.

    Parameters
    ----------
    latent_map : fitted LatentMap, from ``src``'s codes to ``dst``'s
    src, dst : Generator
    n : int, default=16
    seed : int, default=0
        Seed of the prior draws.
    encoded : bool, default=False
        Also locate the source samples directly with ``dst.encode`` and decode them
        (the best a map could do; costly for a GAN destination).
    batch_size : int, default=256

    Returns
    -------
    MappedSamples
    """
    check_map_models(latent_map, src, dst)
    check_int(n, "n", min=1)
    z = src.sample_latents(int(n), generator=torch.Generator().manual_seed(int(seed)))
    with torch.no_grad():
        source = _in_batches(src.decode, z, batch_size, src, "decode (src)", False).float()
    z_mapped = np.asarray(latent_map.transform(z.numpy())).reshape(int(n), *dst.latent_shape)
    mapped = _decode(dst, z_mapped, batch_size)
    direct = None
    if encoded:
        z_direct = _in_batches(dst.encode, source, batch_size, dst, "encode (dst)", False)
        direct = _decode(dst, z_direct.float().numpy(), batch_size)
    return MappedSamples(source=source, mapped=mapped, z_src=z.numpy(), z_mapped=z_mapped, encoded=direct,
                         info={"seed": int(seed), "kind": latent_map.kind})


def direction_transfer(dst, classifier, latent_map, source_direction, *, direct_direction=None, attribute=None,
                       n: int = 256, step: float = 2.0, seed: int = 0):
    """Does an attribute direction fitted in the source space still edit the attribute in the destination?

    The source direction is carried by the map's linear part (:func:`transport_direction`)
    and applied to ``n`` destination codes drawn from its prior; the classifier scores
    the edits. For comparison the same is done with ``direct_direction`` (fitted in the
    destination itself, if given) and with a random direction (seeded) as the chance level.

    Parameters
    ----------
    dst : Generator
        The destination model: codes of ``dst.latent_shape`` are edited and decoded.
    classifier : AttributeClassifier
        Anything with ``predict_proba(images)``; it must score ``attribute``.
    latent_map : fitted LatentMap
        From the source space to ``dst``'s.
    source_direction : array-like of shape ``latent_map.src_shape_`` (or flat), or DirectionResult
        The attribute's direction in the source space (of a DirectionResult: its
        ``direction``, the one ``latentlab edit`` moves along).
    direct_direction : array-like of shape ``dst.latent_shape``, or DirectionResult, optional
        The same attribute's direction fitted in ``dst`` itself.
    attribute : str, optional
        The attribute edited; by default that of the DirectionResult given.
    n : int, default=256
        Destination codes edited, drawn from its prior with ``seed``.
    step : float, default=2.0
        Edit size, in destination latent units (every direction is a unit vector).
    seed : int, default=0
        Seed of the codes and of the random direction.

    Returns
    -------
    EditEffects
        Columns ``carried``, ``direct`` (if given) and ``random``; ``flip_rate`` holds
        the share of samples without ``attribute`` that gain it.

    Raises
    ------
    ValueError
        When the map does not lead into ``dst``'s latent space, a direction has the wrong
        size, no attribute is named (or two different ones are), or the classifier does
        not score the attribute.
    """

    check_map_models(latent_map, None, dst)
    dst_shape = tuple(int(s) for s in dst.latent_shape)
    source_vector, source_attribute = _vector_and_attribute(source_direction)
    carried = transport_direction(latent_map, source_vector).reshape(dst_shape)
    named = {a for a in (attribute, source_attribute) if a is not None}
    directions = {"carried": carried}
    if direct_direction is not None:
        direct, direct_attribute = _vector_and_attribute(direct_direction)
        if direct.size != math.prod(dst_shape):
            raise ValueError(f"direct_direction has shape {direct.shape} but dst has codes of shape {dst_shape}; "
                             "give a direction fitted in the destination model")
        directions["direct"] = direct.reshape(dst_shape)
        named |= {direct_attribute} - {None}
    if len(named) != 1:
        raise ValueError("name the attribute the direction edits (attribute=...)" if not named else
                         f"the directions are for different attributes ({', '.join(map(repr, sorted(named)))}); "
                         "compare directions of one attribute")
    attribute = named.pop()
    levels = getattr(classifier, "attr_levels", None)
    if levels is not None:
        binary = [a for a, values in levels.items() if len(values) == 2]
        if attribute not in binary:
            raise ValueError(f"the classifier does not score {attribute!r}; its binary attributes are: "
                             f"{', '.join(binary) or 'none'}")
    rng = np.random.default_rng(seed)
    random_dir = rng.standard_normal(dst_shape)
    directions["random"] = random_dir / np.linalg.norm(random_dir)
    return edit_effects(dst, classifier, directions, n=n, step=step, seed=seed,
                        targets={name: attribute for name in directions})


def _vector_and_attribute(direction) -> tuple[np.ndarray, str | None]:
    """``(array, attribute or None)`` of an array-like direction or a DirectionResult."""
    if isinstance(direction, DirectionResult):
        return np.asarray(direction.direction, dtype=np.float64), direction.attribute
    return np.asarray(to_numpy(direction, "direction"), dtype=np.float64), None


def carry_direction(latent_map: LatentMap, result, *, model: str = "", via: str = "",
                    what: str = "the direction"):
    """Carry an attribute direction found in the source space into the destination's.

    The edit direction, the attribute's normal and the conditions' normals are each
    carried by the map's linear part (:func:`transport_direction`). The cosines with the
    conditions are measured again in the destination: a map that is not orthogonal
    does not keep the carried direction orthogonal to the carried conditions. What a
    map cannot carry is left unknown: the hyperplane's offset and the accuracies are
    NaN, and the labelled codes (of the source model) are dropped.

    Parameters
    ----------
    latent_map : fitted LatentMap
    result : DirectionResult
        Found in the map's source space (``latentlab direction``).
    model : str
        The destination model's path or name, recorded in the result.
    via : str
        The map's file (or a description), recorded in ``label_source``.
    what : str
        How to name the direction in error messages (e.g. its file).

    Returns
    -------
    DirectionResult
        Of the destination's latent shape (``latent_map.dst_shape_``), for
        ``latentlab edit`` and ``evaluate-edit``.
    """
    if not isinstance(result, DirectionResult):
        raise TypeError(f"result must be a DirectionResult (from find_direction or DirectionResult.load); "
                        f"got {type(result).__name__}")
    check_is_fitted(latent_map, "coef_")
    if math.prod(result.latent_shape) != latent_map.n_features_in_:
        origin = f" (fitted for {result.model})" if result.model else ""
        raise ValueError(f"{what} has latent shape {result.latent_shape}{origin} but the map was fitted on source codes "
                         f"of shape {tuple(latent_map.src_shape_)}: use a direction of the map's source model")

    def carry(v) -> np.ndarray:
        return transport_direction(latent_map, np.reshape(v, -1))

    direction, primal = carry(result.direction), carry(result.primal)
    dst_shape = tuple(latent_map.dst_shape_)
    conditions = np.asarray([carry(c) for c in result.condition_directions]).reshape(-1, *dst_shape)
    flat = conditions.reshape(len(conditions), math.prod(dst_shape))  # unit vectors: dots are cosines
    via = via or f"a {latent_map.kind} map"
    return dataclasses.replace(
        result, direction=direction, primal=primal, intercept=math.nan, condition_directions=conditions,
        cosines_before=flat @ primal.reshape(-1), cosines_after=flat @ direction.reshape(-1),
        val_accuracy=math.nan, train_accuracy=math.nan, model=str(model),
        label_source=f"{result.label_source} in {result.model or 'the source model'}, carried by {via}",
        distances=np.zeros(0), labels=np.zeros(0, dtype=np.int64), estimator=None,
    )
