"""Feature spaces for sample-quality metrics, without downloading any network.

FID, KID, precision/recall and density/coverage compare real and generated samples in
the feature space of some network. The usual choice, Inception-v3 trained on ImageNet,
has to be downloaded and knows nothing of 32 px cartoon faces or 8x8 digits. latentlab
instead uses the penultimate features of an :class:`~latentlab.models.classifier.AttributeClassifier`
trained on the same dataset (:func:`domain_feature_network`): an FID computed there is
called **FID-domain**. It ranks models evaluated on one dataset with one classifier; its
values are not comparable with Inception FIDs, nor across datasets or classifiers.

Any ``nn.Module`` mapping images to vectors can be used instead (:func:`extract_features`).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from latentlab import data as data_mod
from latentlab._validation import check_int
from latentlab.data.stats import random_subset
from latentlab.models.classifier import AttributeClassifier
from latentlab.training import train

__all__ = ["extract_features", "domain_feature_network", "describe_network"]

# classifier training for the domain feature space; small enough for a CPU in a minute or two
_DOMAIN_TRAIN = {"batch_size": 64, "lr": 1e-3, "betas": [0.9, 0.999], "ema_decay": 0.0, "log_every": 50,
                 "checkpoint_every": 0}
# (data key, options, n, steps, seed) -> trained classifier: one training per process and setting
_DOMAIN_CACHE: dict = {}


def _as_images(images, name: str = "images") -> torch.Tensor:
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or array of shape (N, C, H, W), not {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W) (images in [-1, 1]); got shape {tuple(images.shape)}")
    return images


def _network_device(network: nn.Module) -> torch.device:
    for p in network.parameters():
        return p.device
    for b in network.buffers():
        return b.device
    return torch.device("cpu")


def describe_network(network) -> str:
    """A short description of a feature network, for tables and figure captions."""

    if isinstance(network, AttributeClassifier):
        return f"domain classifier ({', '.join(network.attribute_names)}; {network.config.features} features)"
    return f"{type(network).__name__} (user network)"


def extract_features(images, network, *, batch_size: int = 256, device=None) -> np.ndarray:
    """Features of ``images`` under ``network``, in batches, without gradients.

    Parameters
    ----------
    images : torch.Tensor or ndarray, shape (N, C, H, W)
        Images with values in ``[-1, 1]`` (float; any device).
    network : AttributeClassifier or nn.Module
        An :class:`~latentlab.models.classifier.AttributeClassifier` (its penultimate
        ``features``, ``(N, config.features)``), or any module mapping a batch
        ``(B, C, H, W)`` to ``(B, F)`` or ``(B, ...)`` (flattened to ``(B, F)``). It is
        run in eval mode (restored afterwards).
    batch_size : int
        Images per forward pass.
    device : str or torch.device, optional
        Where to compute (``"auto"``, ``"cpu"``, ``"cuda"``, ...); the network is moved
        there. Default: where its parameters are.

    Returns
    -------
    ndarray, float64, shape (N, F)

    Raises
    ------
    ValueError
        Images of a shape the network does not take (named with the shape it expects
        where it is known), or features with another number of rows than images, or
        non-finite images or features.
    """

    x = _as_images(images)
    if not isinstance(network, nn.Module):
        raise TypeError(f"network must be a torch nn.Module (e.g. an AttributeClassifier), not {type(network).__name__}")
    check_int(batch_size, "batch_size", min=1)
    if len(x) == 0:
        raise ValueError("images is empty: need at least one image")
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values (a diverged generator?)")
    is_classifier = isinstance(network, AttributeClassifier)
    if is_classifier and tuple(x.shape[1:]) != tuple(network.sample_shape):
        expected = ", ".join(map(str, network.sample_shape))
        raise ValueError(f"images have shape {tuple(x.shape)}; the feature classifier takes (N, {expected}) "
                         "(train or pick one for this image size)")
    if device is not None:
        from latentlab._device import resolve_device

        network = network.to(resolve_device(device))
    dev = _network_device(network)
    forward = network.features if is_classifier else network
    was_training = network.training
    network.eval()
    out = []
    try:
        with torch.no_grad():
            for i in range(0, len(x), int(batch_size)):
                batch = x[i : i + int(batch_size)].to(dev, torch.float32)
                try:
                    f = forward(batch)
                except RuntimeError as exc:  # shape mismatches inside the network surface as RuntimeError
                    msg = " ".join(str(exc).split())
                    raise ValueError(f"the feature network {type(network).__name__} failed on images of shape "
                                     f"{tuple(batch.shape)}: {msg}") from None
                if not isinstance(f, torch.Tensor) or f.ndim < 1 or f.shape[0] != len(batch):
                    got = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
                    raise ValueError(f"the feature network must map images {tuple(batch.shape)} to features (N, F) "
                                     f"with N = {len(batch)}; it returned {got}")
                out.append(f.reshape(len(batch), -1).double().cpu())
    finally:
        network.train(was_training)
    feats = torch.cat(out).numpy()
    if not np.isfinite(feats).all():
        raise ValueError("the feature network returned NaN or infinite features")
    return feats


def _trained_on(data, data_options, n: int, steps: int, seed: int, device, progress: bool):

    dataset = data_mod.load(data, **dict(data_options or {})) if isinstance(data, (str, os.PathLike)) else data
    if not getattr(dataset, "attrs", None):
        raise ValueError(f"dataset {getattr(dataset, 'name', data)!r} has no attribute labels to train a feature "
                         "classifier on; pass a classifier checkpoint or a feature network")
    if not dataset.is_image:
        raise ValueError(f"dataset {dataset.name!r} holds samples of shape {dataset.sample_shape}, not images: "
                         "a feature classifier needs images")
    if len(dataset) > n:
        dataset = random_subset(dataset, n, seed=seed)
    config = {
        "model": {"kind": "classifier"},
        "data": {"name": str(dataset.name), "options": {}},
        "train": {**_DOMAIN_TRAIN, "steps": int(steps), "batch_size": min(_DOMAIN_TRAIN["batch_size"], len(dataset)),
                  "seed": int(seed)},
    }
    return train(config, dataset=dataset, device=device or "cpu", progress=progress).model


def domain_feature_network(data="faces", classifier=None, *, data_options: dict | None = None, n: int = 5000,
                           steps: int = 500, seed: int = 0, device=None, progress: bool = False):
    """The network whose features define FID-domain for a dataset: an attribute classifier.

    Parameters
    ----------
    data : str, path or Dataset
        The dataset (built-in name, a path to labelled images, or a loaded
        :class:`~latentlab.data.Dataset`). Only used to train a classifier.
    classifier : None, path or AttributeClassifier
        A classifier to use as it is (an ``AttributeClassifier`` or the path of its
        checkpoint, e.g. from ``latentlab classifier train``). ``None`` trains one on
        ``data``: ``steps`` steps of 64 images from at most ``n`` samples (a random
        subset chosen with ``seed``), on ``device``. The result is cached for the
        process, so evaluating several models trains it once.
    data_options : dict, optional
        Loader options when ``data`` is a name or path (e.g. ``{"size": 64}``: the
        classifier must be trained at the image size of the models).
    n, steps, seed, device, progress
        Training settings (see above); the same seed gives the same classifier on CPU.

    Returns
    -------
    AttributeClassifier
        In eval mode. Its ``features`` (``config.features`` numbers per image) is the
        feature space.
    """

    if isinstance(classifier, AttributeClassifier):
        return classifier.eval()
    if classifier is not None:
        if not isinstance(classifier, (str, os.PathLike)):
            raise TypeError(f"classifier must be None, a checkpoint path or an AttributeClassifier, "
                            f"not {type(classifier).__name__}")
        import latentlab

        return latentlab.load(classifier, device=device, expect="classifier").eval()
    check_int(n, "n", min=2)
    check_int(steps, "steps", min=1)
    if isinstance(data, (str, os.PathLike)):
        key = (str(data), tuple(sorted((str(k), repr(v)) for k, v in (data_options or {}).items())), n, steps, seed,
               str(device))
        if key not in _DOMAIN_CACHE:
            _DOMAIN_CACHE[key] = _trained_on(data, data_options, n, steps, seed, device, progress)
        return _DOMAIN_CACHE[key].eval()
    return _trained_on(data, None, n, steps, seed, device, progress).eval()
