"""Metrics of generated samples: sample quality in a feature space, mode coverage, one table across models.

* :mod:`~latentlab.metrics.features` — feature spaces without downloads: the dataset's
  attribute classifier (FID-domain) or any ``nn.Module``;
* :mod:`~latentlab.metrics.sample_quality` — FID, KID, precision/recall, density/coverage;
* :mod:`~latentlab.metrics.mode_coverage` — modes covered on the 2-D mixtures and, through
  a classifier, on digits;
* :mod:`~latentlab.metrics.evaluate` — :func:`evaluate_models`, the table across models;
* :mod:`~latentlab.metrics.image` — :func:`ssim`, structural similarity of paired images;
* :mod:`~latentlab.metrics.retrieval` — retrieval recall and zero-shot accuracy of a CLIP model;
* :mod:`~latentlab.metrics.text_to_image` — prompt accuracy of a text-conditioned model and its guidance sweep;
* ``evaluate_disentanglement`` (from :mod:`latentlab.metrics.disentanglement`) and ``ssim``
  are imported on first use.
"""

from importlib import import_module as _import_module

from latentlab.metrics.evaluate import EvaluationTable, evaluate_models
from latentlab.metrics.features import domain_feature_network, extract_features
from latentlab.metrics.mode_coverage import (
    ModeCoverage,
    classifier_mode_coverage,
    coverage_table,
    evaluate_classifier_mode_coverage,
    evaluate_mode_coverage,
    mode_coverage,
    summarize_coverage,
)
from latentlab.metrics.sample_quality import (
    SampleQuality,
    SampleSizeWarning,
    density_coverage,
    evaluate_samples,
    frechet_distance,
    kernel_distance,
    precision_recall,
    sample_quality,
)

# public name -> module, imported on first access
_LAZY = {"evaluate_disentanglement": "latentlab.metrics.disentanglement", "ssim": "latentlab.metrics.image",
         **dict.fromkeys(("retrieval_recall", "zero_shot_accuracy", "evaluate_clip", "clip_score"),
                        "latentlab.metrics.retrieval"),
         **dict.fromkeys(("prompt_accuracy", "guidance_sweep"), "latentlab.metrics.text_to_image")}

__all__ = [
    "ModeCoverage",
    "mode_coverage",
    "classifier_mode_coverage",
    "summarize_coverage",
    "evaluate_mode_coverage",
    "evaluate_classifier_mode_coverage",
    "coverage_table",
    "extract_features",
    "domain_feature_network",
    "SampleQuality",
    "SampleSizeWarning",
    "precision_recall",
    "density_coverage",
    "frechet_distance",
    "kernel_distance",
    "sample_quality",
    "evaluate_samples",
    "EvaluationTable",
    "evaluate_models",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'latentlab.metrics' has no attribute {name!r}")
