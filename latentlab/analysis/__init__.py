"""Analysis of latent spaces on plain arrays.

Every estimator takes latent codes as NumPy arrays or torch tensors of shape
``(N, *latent_shape)`` and returns NumPy results in the latent shape; all follow the
scikit-learn estimator contract (``fit`` returns ``self``, results end in ``_``).

* :class:`AttributeDirection` — hyperplane normal separating an attribute (directions.py)
* :func:`orthogonalize`, :func:`gram_schmidt`, :func:`cosine_matrix` — conditioning (orthogonal.py)
* :class:`PCADirections` — unsupervised principal directions (pca.py)
* :class:`LatentMap`, :func:`transport_direction` — maps between latent spaces (maps.py)
* :func:`move`, :func:`traverse`, :func:`traversal_images`, :func:`interpolate` — edits (editing.py)
* :func:`support_set`, :func:`evaluate_maps`, :func:`support_curve`, :func:`direction_transfer`, :func:`ssim` — maps
  between models (support.py, map_evaluation.py, transfer.py; ssim from latentlab.metrics.image)
* :func:`edit_effects` — entanglement matrix, flip rate, off-target change (edit_evaluation.py)
* :func:`score_image_edits`, :func:`edit_images` — edits of real images, latent or by a translator, scored alike
* :func:`domain_images`, :func:`translation_rows` — a Translator's inputs, translations and round trips (translation.py)
* :func:`edit_by_prompt`, :func:`attribute_prompt_pairs` — edits of real images by prompt with a text-conditioned
  diffusion model, scored as the others (prompt_editing.py)
* :func:`find_direction`, :func:`pca_directions`, :func:`evaluate_directions` — the same with a model (workflow.py)
* :class:`TextDirection`, :func:`pull_back`, :func:`zero_shot_scores`, :func:`clip_label_samples`,
  :func:`text_target` — directions from text with a CLIP model (text_directions.py); with a model:
  :func:`find_text_direction`, and :func:`find_direction` with ``labels_from="clip"``

Names are imported lazily, so importing one tool does not load the others.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it
_EXPORTS = {
    "AttributeDirection": "latentlab.analysis.directions",
    "orthogonalize": "latentlab.analysis.orthogonal",
    "orthogonalization_report": "latentlab.analysis.orthogonal",
    "OrthogonalizationReport": "latentlab.analysis.orthogonal",
    "gram_schmidt": "latentlab.analysis.orthogonal",
    "cosine_matrix": "latentlab.analysis.orthogonal",
    "PCADirections": "latentlab.analysis.pca",
    "LatentMap": "latentlab.analysis.maps",
    "transport_direction": "latentlab.analysis.maps",
    "move": "latentlab.analysis.editing",
    "traverse": "latentlab.analysis.editing",
    "traversal_images": "latentlab.analysis.editing",
    "edit_images": "latentlab.analysis.editing",
    "class_gap": "latentlab.analysis.editing",
    "interpolate": "latentlab.analysis.editing",
    "edit_effects": "latentlab.analysis.edit_evaluation",
    "support_set": "latentlab.analysis.support",
    "SupportSet": "latentlab.analysis.support",
    "evaluate_maps": "latentlab.analysis.map_evaluation",
    "compare_maps": "latentlab.analysis.map_evaluation",
    "support_curve": "latentlab.analysis.map_evaluation",
    "ssim": "latentlab.metrics.image",
    "direction_transfer": "latentlab.analysis.transfer",
    "find_direction": "latentlab.analysis.workflow",
    "find_text_direction": "latentlab.analysis.workflow",
    "TextDirection": "latentlab.analysis.text_directions",
    "pull_back": "latentlab.analysis.text_directions",
    "zero_shot_scores": "latentlab.analysis.text_directions",
    "clip_label_samples": "latentlab.analysis.text_directions",
    "text_target": "latentlab.analysis.text_directions",
    "DirectionResult": "latentlab.analysis.results",
    "pca_directions": "latentlab.analysis.workflow",
    "PCAResult": "latentlab.analysis.results",
    "evaluate_directions": "latentlab.analysis.workflow",
    "EditEffects": "latentlab.analysis.edit_evaluation",
    "score_image_edits": "latentlab.analysis.edit_evaluation",
    "ImageEditScores": "latentlab.analysis.edit_evaluation",
    "translation_rows": "latentlab.analysis.translation",
    "domain_images": "latentlab.analysis.translation",
    **dict.fromkeys(("edit_by_prompt", "attribute_prompt_pairs", "PromptEdit"), "latentlab.analysis.prompt_editing"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'latentlab.analysis' has no attribute {name!r}")


def __dir__():
    return __all__
