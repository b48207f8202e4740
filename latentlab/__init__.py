"""latentlab: analyse the latent spaces of deep generative models.

The public API is re-exported here and imported lazily, so that ``import latentlab``
(and ``latentlab --version``) stays fast and analysis code never pays for model code
it does not use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "load": "latentlab.loading",
    "train": "latentlab.training.loop",
    "Generator": "latentlab.models.base",
    "AttributeDirection": "latentlab.analysis.directions",
    "PCADirections": "latentlab.analysis.pca",
    "orthogonalize": "latentlab.analysis.orthogonal",
    "LatentMap": "latentlab.analysis.maps",
    "support_set": "latentlab.analysis.support",
    "estimate_id": "latentlab.id.estimate",
    "LatentCodes": "latentlab.codes",
}
_SUBMODULES = ("data", "checkpoint", "codes", "plots", "models", "training", "analysis", "metrics", "id")

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"latentlab.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")


def __dir__():
    return __all__
