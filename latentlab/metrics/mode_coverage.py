"""Mode coverage of samples from a known Gaussian mixture: the mode-collapse diagnostic.

On the 2-D ``rings`` and ``grid`` mixtures (see :mod:`latentlab.data.toy2d`) every
generated sample can be checked against the known modes. Three numbers summarise how
well a generator covers them, following the mode-collapse literature:

* **high-quality fraction** — the share of samples that lie within ``n_sigma * sigma``
  (3σ by default) of their nearest mode (Srivastava et al. 2017, *VEEGAN*). For samples
  drawn from the mixture itself this is ``1 - exp(-n_sigma**2 / 2)`` (≈ 0.989 at 3σ),
  because the distance of a 2-D isotropic Gaussian sample to its mean is Rayleigh
  distributed.
* **modes covered** — the number of modes that receive at least ``min_count``
  high-quality samples. The default ``min_count = 1`` is VEEGAN's definition ("the
  number of mixture components whose mean is nearest to at least one high quality
  sample") and what PacGAN's evaluation code counts; pass a larger ``min_count`` for a
  stricter count that ignores a few stray samples.
* **reverse KL** — ``KL(p || u) = sum_k p_k log(K p_k)`` in nats, where ``p_k`` is the
  share of the *high-quality* samples whose nearest mode is ``k`` and ``u`` is the
  uniform distribution over the ``K`` modes (the true mode weights); terms with
  ``p_k = 0`` are zero (Lin et al. 2018, *PacGAN*). It is 0 for perfectly balanced
  modes and ``log(K / m)`` for samples spread evenly over ``m`` modes (``log K`` for a
  generator collapsed onto one mode); it is undefined (NaN) when no sample is of high
  quality. With ``n`` high-quality samples from the uniform histogram its expected
  value is about ``(K - 1) / (2 n)`` (0.0014 for 8 modes and 2500 samples), not 0.

The literature's protocol: 2500 samples per trained model, averaged over several runs
(VEEGAN uses five); :func:`evaluate_mode_coverage` does this for any
:class:`~latentlab.models.base.Generator`, and :func:`coverage_table` prints results.

Image data has no known mixture; there the modes are the classes of a categorical
attribute (the ten digits of ``digits``) and a classifier trained on the data assigns
each sample to one, as a pretrained classifier labels samples in the stacked-MNIST
experiments of VEEGAN and PacGAN. :func:`classifier_mode_coverage` scores class
probabilities — a sample is high quality when its largest class probability is at
least ``threshold`` (latentlab's analogue of the 3σ rule) and belongs to the mode of
that class — and :func:`evaluate_classifier_mode_coverage` draws and classifies a
generator's samples over several seeds. The reverse KL is then taken from the uniform
distribution over classes, which is the data's own only for balanced classes (the
digits are: 174 to 183 images per class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from latentlab._validation import check_float, check_int
from latentlab.data.toy2d import assign_modes
from latentlab.metrics.sample_quality import draw_samples

__all__ = [
    "ModeCoverage",
    "mode_coverage",
    "classifier_mode_coverage",
    "summarize_coverage",
    "evaluate_mode_coverage",
    "evaluate_classifier_mode_coverage",
    "coverage_table",
    "mixture_of",
]

# the numbers that summarize_coverage averages over runs, in table order
SCORES = ("modes_covered", "high_quality_fraction", "reverse_kl")


@dataclass(frozen=True)
class ModeCoverage:
    """Mode-coverage scores of one set of samples (see the module docstring).

    Attributes
    ----------
    modes_covered : int
        Modes with at least ``min_count`` high-quality samples.
    n_modes : int
        Number of modes ``K``.
    high_quality_fraction : float
        Share of samples within ``n_sigma * sigma`` of their nearest mode, in ``[0, 1]``.
    mode_counts : ndarray, int64, shape (K,)
        High-quality samples per mode.
    reverse_kl : float
        ``KL(histogram of high-quality samples over modes || uniform)`` in nats, in
        ``[0, log K]``; NaN when there is no high-quality sample.
    n_samples : int
        Number of samples scored.
    min_count : int
        The threshold used for ``modes_covered``.
    """

    modes_covered: int
    n_modes: int
    high_quality_fraction: float
    mode_counts: np.ndarray
    reverse_kl: float
    n_samples: int
    min_count: int


def _as_points(samples, name: str = "samples") -> np.ndarray:
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().float().cpu().numpy()
    try:
        points = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array or tensor of shape (N, 2), not {type(samples).__name__}") from None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"{name} must have shape (N, 2) with N >= 1 (2-D points); got shape {points.shape}")
    return points


def _check_min_count(min_count) -> int:
    return check_int(min_count, "min_count", min=1, allow_none=True) or 1


def mode_coverage(samples, centres, sigma: float, n_sigma: float = 3.0, min_count: int | None = None) -> ModeCoverage:
    """Score how well 2-D samples cover the modes of an isotropic Gaussian mixture.

    Parameters
    ----------
    samples : array or tensor, shape (N, 2)
        Generated points, in the data's units. Non-finite points (a diverged generator)
        are scored as low quality.
    centres : array, shape (K, 2)
        Mode means, e.g. ``dataset.info["centres"]``.
    sigma : float
        Standard deviation of each mode (per coordinate), e.g. ``dataset.info["sigma"]``.
    n_sigma : float
        A sample is high quality when its Euclidean distance to the nearest mean is at
        most ``n_sigma * sigma`` (3 in VEEGAN and PacGAN).
    min_count : int, optional
        High-quality samples a mode needs to count as covered; ``None`` means 1, the
        VEEGAN/PacGAN convention.

    Returns
    -------
    ModeCoverage
    """
    points = _as_points(samples)
    min_count = _check_min_count(min_count)
    nearest, good = assign_modes(points, centres, sigma, n_sigma)
    return _score(nearest, good, int(np.asarray(centres).shape[0]), min_count)


def _score(nearest: np.ndarray, good: np.ndarray, n_modes: int, min_count: int) -> ModeCoverage:
    """Scores from each sample's mode ``(N,)`` and whether it is of high quality ``(N,)``."""
    counts = np.bincount(nearest[good], minlength=n_modes).astype(np.int64)
    total = int(counts.sum())
    if total:
        p = counts[counts > 0] / total
        reverse_kl = float(np.sum(p * np.log(n_modes * p)))
    else:
        reverse_kl = float("nan")
    return ModeCoverage(
        modes_covered=int((counts >= min_count).sum()),
        n_modes=n_modes,
        high_quality_fraction=float(good.mean()),
        mode_counts=counts,
        reverse_kl=reverse_kl,
        n_samples=len(good),
        min_count=min_count,
    )


def classifier_mode_coverage(probabilities, threshold: float = 0.9, min_count: int | None = None) -> ModeCoverage:
    """Score how well samples cover the classes of a classifier (modes = classes).

    Parameters
    ----------
    probabilities : array or tensor, shape (N, K)
        Class probabilities of each sample (rows sum to 1), e.g.
        ``classifier.predict_proba(images)["digit"]``. A binary attribute's ``P(yes)``
        of shape ``(N,)`` is read as two classes.
    threshold : float
        A sample is high quality when its largest class probability is at least this,
        in ``(0, 1]``; its mode is that class.
    min_count : int, optional
        High-quality samples a class needs to count as covered; ``None`` means 1.

    Returns
    -------
    ModeCoverage
        As for the mixtures, with ``n_modes = K``; the reverse KL is taken from the
        uniform distribution over the ``K`` classes.
    """
    if isinstance(probabilities, torch.Tensor):
        probabilities = probabilities.detach().float().cpu().numpy()
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 1:
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2 or p.shape[1] < 2 or len(p) == 0:
        raise ValueError(f"probabilities must have shape (N, K) with N >= 1 and K >= 2 classes; got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must be finite numbers in [0, 1]")
    check_float(threshold, "threshold", min=0, max=1, min_open=True, noun="probability")
    min_count = _check_min_count(min_count)
    return _score(p.argmax(axis=1), p.max(axis=1) >= threshold, p.shape[1], min_count)


def summarize_coverage(runs: Sequence[ModeCoverage]) -> dict:
    """Mean and spread of each score over several scored sample sets.

    Parameters
    ----------
    runs : sequence of ModeCoverage
        At least one; all for the same mixture (same number of modes).

    Returns
    -------
    dict
        ``n_modes``, ``n_runs``, ``n_samples`` (per run) and, for each of
        ``modes_covered``, ``high_quality_fraction`` and ``reverse_kl``, a dict with
        ``mean``, ``std`` (sample standard deviation, ddof=1; 0 for a single run),
        ``min``, ``max`` and ``values`` (one per run). A NaN reverse KL (a run without
        high-quality samples) makes that score's mean NaN.
    """
    runs = list(runs)
    if not runs or not all(isinstance(r, ModeCoverage) for r in runs):
        raise ValueError("runs must be a non-empty sequence of ModeCoverage results")
    n_modes = {r.n_modes for r in runs}
    if len(n_modes) != 1:
        raise ValueError(f"runs score mixtures with different numbers of modes: {sorted(n_modes)}")
    out: dict = {"n_modes": runs[0].n_modes, "n_runs": len(runs), "n_samples": runs[0].n_samples}
    for key in SCORES:
        values = np.array([getattr(r, key) for r in runs], dtype=np.float64)
        out[key] = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()),
            "max": float(values.max()),
            "values": values.tolist(),
        }
    return out


def mixture_of(dataset) -> tuple[np.ndarray, float]:
    """``(centres (K, 2), sigma)`` of a Gaussian-mixture dataset (``rings``, ``grid``); a
    ``ValueError`` for any other data."""
    info = getattr(dataset, "info", None)
    name = getattr(dataset, "name", type(dataset).__name__)
    if not isinstance(info, Mapping) or "centres" not in info or "sigma" not in info:
        raise ValueError(
            f"dataset {name!r} does not describe a Gaussian mixture: mode coverage needs dataset.info['centres'] "
            "(K, 2) and dataset.info['sigma'], as the built-in 'rings' and 'grid' datasets provide"
        )
    centres = np.asarray(info["centres"], dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) == 0:
        raise ValueError(f"dataset.info['centres'] must have shape (K, 2) with K >= 1; got {centres.shape}")
    return centres, float(info["sigma"])


def evaluate_mode_coverage(
    generator,
    dataset,
    n: int = 2500,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    n_sigma: float = 3.0,
    min_count: int | None = None,
) -> dict:
    """Mode coverage of a generator's samples, averaged over several sampling seeds.

    Parameters
    ----------
    generator : Generator
        Any :class:`~latentlab.models.base.Generator` producing 2-D points: ``n``
        samples per seed are drawn with
        ``generator.sample(n, generator=torch.Generator().manual_seed(seed))``.
    dataset : Dataset
        The mixture the model was trained on; ``dataset.info`` must hold ``centres``
        and ``sigma`` (the built-in ``rings`` and ``grid`` datasets do).
    n : int
        Samples per seed (2500 in VEEGAN and PacGAN).
    seeds : sequence of int
        Sampling seeds; one scored sample set each.
    n_sigma, min_count
        See :func:`mode_coverage`.

    Returns
    -------
    dict
        :func:`summarize_coverage` of the runs, plus ``seeds`` and ``runs`` (the
        :class:`ModeCoverage` of each seed).
    """
    centres, sigma = mixture_of(dataset)
    check_int(n, "n", min=1, noun="integer number of samples")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one sampling seed")
    if not callable(getattr(generator, "sample", None)):
        raise TypeError(f"generator must be a latentlab Generator with a sample(n, generator=...) method, not {type(generator).__name__}")
    runs = []
    for seed in seeds:
        with torch.no_grad():
            x = generator.sample(int(n), generator=torch.Generator().manual_seed(seed))
        runs.append(mode_coverage(_as_points(x, "generated samples"), centres, sigma, n_sigma, min_count))
    return {**summarize_coverage(runs), "seeds": seeds, "runs": runs}


def _class_attribute(classifier, attribute: str | None) -> str:
    names = list(getattr(classifier, "attribute_names", []))
    if not names or not callable(getattr(classifier, "predict_proba", None)):
        raise TypeError(f"classifier must be an AttributeClassifier (with predict_proba), not {type(classifier).__name__}")
    if attribute is None:
        if len(names) != 1:
            raise ValueError(f"the classifier predicts several attributes ({', '.join(names)}); name the one whose "
                             "classes are the modes with attribute=")
        return names[0]
    if attribute not in names:
        raise ValueError(f"the classifier does not predict {attribute!r}; it predicts: {', '.join(names)}")
    return attribute


def evaluate_classifier_mode_coverage(
    generator,
    classifier,
    attribute: str | None = None,
    n: int = 2500,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    threshold: float = 0.9,
    min_count: int | None = None,
    batch_size: int = 256,
) -> dict:
    """Mode coverage of a generator of images, modes being a classifier's classes.

    Parameters
    ----------
    generator : Generator
        ``n`` samples per seed are drawn with
        :func:`~latentlab.metrics.sample_quality.draw_samples` (in batches of
        ``batch_size``, one ``torch.Generator`` seeded with the seed).
    classifier : AttributeClassifier
        Trained on the data, at the generator's image size (e.g. ``latentlab classifier
        train --data digits``).
    attribute : str, optional
        The categorical attribute whose classes are the modes; by default the
        classifier's only attribute (``"digit"`` for a digits classifier).
    n, seeds
        Samples per seed and the sampling seeds.
    threshold, min_count
        See :func:`classifier_mode_coverage`.

    Returns
    -------
    dict
        :func:`summarize_coverage` of the runs, plus ``seeds``, ``runs`` and
        ``attribute``.
    """

    attribute = _class_attribute(classifier, attribute)
    check_int(n, "n", min=1, noun="integer number of samples")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one sampling seed")
    runs = []
    for seed in seeds:
        x = draw_samples(generator, int(n), seed=seed, batch_size=batch_size)
        probs = classifier.predict_proba(x, batch_size=batch_size)[attribute]
        runs.append(classifier_mode_coverage(probs, threshold, min_count))
    return {**summarize_coverage(runs), "seeds": seeds, "runs": runs, "attribute": attribute}


def _cell(score: Mapping, scale: float = 1.0, digits: int = 2) -> str:
    mean, std = score["mean"] * scale, score["std"] * scale
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def coverage_table(results: Mapping[str, Mapping]) -> str:
    """A plain-text table of mode-coverage results.

    Parameters
    ----------
    results : dict of str -> dict
        Row name -> a result of :func:`evaluate_mode_coverage` or
        :func:`summarize_coverage`.

    Returns
    -------
    str
        One row per result: modes covered (of K), high-quality samples (%) and reverse
        KL (nats), each as mean ± standard deviation over runs, and the number of runs.
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty dict of row name -> evaluate_mode_coverage result")
    header = ["model", "modes covered", "high quality %", "reverse KL (nats)", "runs"]
    rows = []
    for name, res in results.items():
        missing = [k for k in (*SCORES, "n_modes", "n_runs") if k not in res]
        if missing:
            raise ValueError(f"result {name!r} lacks {', '.join(missing)}; pass evaluate_mode_coverage results")
        rows.append([
            str(name),
            f"{_cell(res['modes_covered'], digits=1)} / {res['n_modes']}",
            _cell(res["high_quality_fraction"], scale=100.0, digits=1),
            _cell(res["reverse_kl"], digits=3),
            str(res["n_runs"]),
        ])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])
