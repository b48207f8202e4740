"""Training an attribute classifier on a dataset, with held-out accuracy."""

from __future__ import annotations

import numpy as np

from latentlab import data as data_mod
from latentlab.data.stats import random_subset
from latentlab.training.loop import train

__all__ = ["train_classifier"]


def train_classifier(data: str = "faces", *, out=None, n: int = 20000, steps: int = 1500, batch_size: int = 64,
                     seed: int = 0, data_options: dict | None = None, held_out: float = 0.1, device=None,
                     force: bool = False, progress: bool = True):
    """Train an :class:`AttributeClassifier` on ``data`` and measure it on held-out samples.

    Procedural built-in data is generated with ``n`` samples (held-out samples come from
    another seed); a fixed set (``digits``, a user's files) is split ``1 - held_out`` /
    ``held_out`` at random and at most ``n`` of the first part are trained on.

    Returns ``(classifier, accuracy)`` where ``accuracy`` maps attribute -> held-out accuracy.
    """

    options = dict(data_options or {})
    if isinstance(data, str) and data_mod.is_procedural(data):  # fresh held-out samples from another seed
        if "n" in data_mod.builtin_options(data):
            options.setdefault("n", n)
        train_set = data_mod.load(data, **{**options, "seed": options.get("seed", seed)})
        test_opts = {**options, "seed": options.get("seed", seed) + 1_000_003}
        if "n" in test_opts:
            test_opts["n"] = max(500, int(test_opts["n"] * held_out))
        test_set = data_mod.load(data, **test_opts)
    else:
        full = data_mod.load(data, **options)
        order = np.random.default_rng(seed).permutation(len(full))
        cut = int(len(full) * (1 - held_out))
        train_set, test_set = full.subset(np.sort(order[:cut])), full.subset(np.sort(order[cut:]))
        if n and len(train_set) > n:
            train_set = random_subset(train_set, n, seed=seed)
    config = {
        "model": {"kind": "classifier"},
        "data": {"name": str(data), "options": options},
        "train": {"steps": steps, "batch_size": batch_size, "lr": 1e-3, "betas": [0.9, 0.999], "seed": seed,
                  "ema_decay": 0.0, "log_every": 50, "checkpoint_every": 0},
    }
    result = train(config, out=out, dataset=train_set, device=device, force=force, progress=progress)
    clf = result.model
    return clf, clf.evaluate(test_set)
