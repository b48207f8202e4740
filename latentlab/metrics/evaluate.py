"""One table of metrics across models: sample quality, mode coverage, disentanglement.

:func:`evaluate_models` scores several generators on one dataset in one feature space
(so their FIDs can be compared) over several sampling seeds and returns an
:class:`EvaluationTable` (mean and spread per model and metric) that prints as text,
saves as CSV and draws with :func:`latentlab.plots.metrics.evaluation_figure`.
"""

from __future__ import annotations

import csv
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np
import torch

import latentlab
from latentlab._io import atomic_path, check_can_write
from latentlab._progress import progress_bar
from latentlab._validation import check_int
from latentlab.data.spec import choose_data, describe_options
from latentlab.metrics.features import describe_network, domain_feature_network, extract_features
from latentlab.metrics.mode_coverage import classifier_mode_coverage, mixture_of
from latentlab.metrics.mode_coverage import mode_coverage as mixture_mode_coverage
from latentlab.metrics.sample_quality import (
    check_same_shape,
    classifier_data,
    draw_samples,
    real_samples,
    resolve_dataset,
    sample_quality,
)
from latentlab.models.base import Generator

__all__ = ["EvaluationTable", "evaluate_models", "METRIC_LABELS"]

#: Column headings of the known metrics (others are shown by their key).
METRIC_LABELS = {
    "fid": "FID",
    "kid": "KID",
    "precision": "precision",
    "recall": "recall",
    "density": "density",
    "coverage": "coverage",
    "modes_covered": "modes",
    "high_quality_fraction": "high quality",
    "reverse_kl": "reverse KL",
}
# text tables: (scale, heading) of metrics shown scaled, and number formats
_TEXT_SCALE = {"high_quality_fraction": (100.0, "high-quality %")}
_FORMAT = {"fid": ".2f", "modes_covered": ".1f", "high_quality_fraction": ".1f"}
_SIGNIFICANT = {"kid": 3}  # shown to significant digits of the mean: KID's scale follows the features'

QUALITY = ("fid", "kid", "precision", "recall", "density", "coverage")
COVERAGE = ("modes_covered", "high_quality_fraction", "reverse_kl")


@dataclass(frozen=True)
class EvaluationTable:
    """Metrics of several models, with one value per sampling seed.

    Attributes
    ----------
    models : tuple of str
        Row names, in order.
    metrics : tuple of str
        Column keys, in order (``fid``, ``kid``, ``precision``, ... see
        :data:`METRIC_LABELS`).
    values : dict
        ``values[model][metric]`` -> float64 array ``(n_seeds,)``, one value per seed
        (NaN where a metric could not be computed for a model).
    seeds : tuple of int
        The sampling seeds.
    info : dict
        How the numbers were made: ``data`` (with the options that differ from the
        loader's defaults), ``data_options``, ``data_note`` (which data and why), ``feature_space``, ``fid_label``
        (``"FID-domain"`` in a dataset classifier's features), ``n_real``, ``n_fake``,
        ``feature_dim`` and, with mode coverage, ``n_modes``.
    """

    models: tuple
    metrics: tuple
    values: Mapping
    seeds: tuple
    info: Mapping = field(default_factory=dict)

    def _check(self, model: str, metric: str) -> np.ndarray:
        if model not in self.values:
            raise ValueError(f"no model {model!r} in the table; models: {', '.join(self.models)}")
        if metric not in self.values[model]:
            raise ValueError(f"no metric {metric!r} in the table; metrics: {', '.join(self.metrics)}")
        return np.asarray(self.values[model][metric], dtype=np.float64)

    def mean(self, model: str, metric: str) -> float:
        """Mean over seeds of one metric of one model."""
        return float(np.mean(self._check(model, metric)))

    def std(self, model: str, metric: str) -> float:
        """Sample standard deviation (ddof=1) over seeds; 0 for one seed."""
        v = self._check(model, metric)
        return float(v.std(ddof=1)) if len(v) > 1 else 0.0

    def label(self, metric: str) -> str:
        """The heading of a metric (``FID-domain`` when the features are the dataset classifier's)."""
        if metric == "fid":
            return str(self.info.get("fid_label", "FID"))
        if metric == "modes_covered" and "n_modes" in self.info:
            return f"modes (of {self.info['n_modes']})"
        return METRIC_LABELS.get(metric, metric)

    def rows(self) -> list[dict]:
        """One plain dict per model: ``model``, ``n_seeds`` and ``<metric>_mean``, ``<metric>_std``."""
        out = []
        for name in self.models:
            row = {"model": name, "n_seeds": len(self.seeds)}
            for m in self.metrics:
                row[f"{m}_mean"], row[f"{m}_std"] = self.mean(name, m), self.std(name, m)
            out.append(row)
        return out

    def to_csv(self, path, overwrite: bool = False):
        """Write :meth:`rows` as CSV (atomically; an existing file only with ``overwrite``)."""

        path = check_can_write(path, overwrite)
        rows = self.rows()
        with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return path

    def format(self) -> str:
        """A plain-text table: one row per model, ``mean ± sd`` over seeds per metric."""
        header = ["model", *(_TEXT_SCALE.get(m, (1.0, self.label(m)))[1] for m in self.metrics)]
        body = []
        for name in self.models:
            cells = [name]
            for m in self.metrics:
                scale, fmt = _TEXT_SCALE.get(m, (1.0, None))[0], _FORMAT.get(m, ".3f")
                mean, sd = self.mean(name, m) * scale, self.std(name, m) * scale
                if m in _SIGNIFICANT and math.isfinite(mean) and mean != 0:
                    fmt = f".{min(8, max(0, _SIGNIFICANT[m] - 1 - math.floor(math.log10(abs(mean)))))}f"
                cells.append("n/a" if math.isnan(mean) else
                             f"{mean:{fmt}}" + (f" ± {sd:{fmt}}" if len(self.seeds) > 1 else ""))
            body.append(cells)
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

        def line(cells):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        notes = [f"data {self.info.get('data', '?')}; {self.info.get('n_real', '?')} real / "
                 f"{self.info.get('n_fake', '?')} generated samples per seed; seeds {', '.join(map(str, self.seeds))}"
                 + (" (mean ± sd)" if len(self.seeds) > 1 else "")]
        if "feature_space" in self.info:
            notes.append(f"features: {self.info['feature_space']}")
        return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body), *notes])

    def __str__(self) -> str:
        return self.format()


def _generators(models, device) -> dict:

    if isinstance(models, Mapping):
        items = list(models.items())
    elif isinstance(models, (str, os.PathLike)) or isinstance(models, Generator):
        raise TypeError("models must be a dict of name -> Generator or checkpoint path, or a list of checkpoint paths")
    else:
        items = [(str(m), m) for m in models]
    if not items:
        raise ValueError("models is empty: give at least one Generator or checkpoint path")
    out = {}
    for name, model in items:
        if isinstance(model, (str, os.PathLike)):
            model = latentlab.load(model, device=device, expect="generator")
        if not isinstance(model, Generator):
            raise TypeError(f"model {name!r} is a {type(model).__name__}, not a Generator (VAE, GAN, DDPM or a "
                            "Generator subclass)")
        out[str(name)] = model
    return out


def _use_mode_coverage(choice, dataset, mode_attribute) -> str | None:
    """``"mixture"``, ``"classifier"`` or None."""
    if choice not in ("auto", True, False):
        raise ValueError(f"mode_coverage must be 'auto', True or False, not {choice!r}")
    if choice is False:
        return None
    if "centres" in dataset.info and "sigma" in dataset.info:
        return "mixture"
    if mode_attribute is not None or (choice == "auto" and "digit" in dataset.attrs):
        return "classifier"
    if choice is True:
        raise ValueError(f"mode coverage needs a Gaussian mixture (rings, grid) or the name of a categorical "
                         f"attribute whose classes are the modes (mode_attribute=); {dataset.name!r} is neither")
    return None


def evaluate_models(
    models,
    data=None,
    *,
    feature_network=None,
    classifier=None,
    data_options: dict | None = None,
    n: int = 2000,
    n_real: int | None = None,
    seeds: Sequence[int] = (0,),
    mode_coverage: Literal["auto"] | bool = "auto",
    mode_attribute: str | None = None,
    threshold: float = 0.9,
    disentanglement: bool = False,
    batch_size: int = 256,
    device=None,
    progress: bool = False,
) -> EvaluationTable:
    """Score several generators on one dataset, over several sampling seeds.

    Parameters
    ----------
    models : dict of str -> Generator or checkpoint path, or a list of checkpoint paths
        The rows of the table (a list names each row by its path).
    data : None, Dataset, str or path
        The real data. ``None`` (the default): the data the models were trained on, with
        the loader options their checkpoints record (a ``ValueError`` when they were
        trained on different data or record none). The name of that data with
        ``data_options=None``: its training options too; ``data_options`` given replace
        them one by one. Other data is loaded as given. The rule is
        :func:`latentlab.data.spec.choose_data`; ``info["data_note"]`` of the table says
        what was used. A name or path is loaded at the first model's image size; every
        model must generate samples of that shape.
    feature_network : None, path, AttributeClassifier or nn.Module
        The feature space of the sample-quality metrics. ``None``: the dataset's
        attribute classifier (``classifier``, else one trained on ``data`` with seed 0,
        see :func:`~latentlab.metrics.features.domain_feature_network`), whose FID is
        labelled FID-domain; for 2-D point data the points themselves.
    classifier : None, path or AttributeClassifier
        The dataset's classifier: the default feature network, and the judge of
        classifier mode coverage. Trained when needed and not given.
    n : int
        Generated samples per model and seed (and real samples unless ``n_real``).
    n_real : int, optional
        Real samples, chosen once (seed 0) and shared by every row.
    seeds : sequence of int
        Sampling seeds; each metric is reported as mean and spread over them.
    mode_coverage : "auto", True or False
        Add modes covered, % high-quality samples and reverse KL. ``"auto"``: for a
        Gaussian mixture (``rings``, ``grid``: 3σ rule) and for data with a ``digit``
        attribute (the classifier's classes, high quality when the top class
        probability is at least ``threshold``).
    mode_attribute : str, optional
        The categorical attribute whose classes are the modes (default ``"digit"``).
    threshold : float
        Classifier mode coverage: probability a sample's top class needs.
    disentanglement : bool
        Add the scores of
        :func:`latentlab.metrics.disentanglement.evaluate_disentanglement` (data with
        known factors, e.g. ``shapes``); NaN for a model that cannot encode.
    batch_size, device
        Images per batch; where features are computed (models keep their device).
    progress : bool
        Show a progress bar over models x seeds, and one over the samples of each (on stderr).

    Returns
    -------
    EvaluationTable
    """
    check_int(n, "n", min=1, noun="integer number of samples")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must name at least one sampling seed")
    def say(message: str) -> None:
        if progress:
            print(message, file=sys.stderr)


    generators = _generators(models, device)
    choice = choose_data(data, data_options, generators)  # None or the training data's name: the models' options
    data, data_options = choice.data, choice.options or None
    dataset = resolve_dataset(data, next(iter(generators.values())), data_options)
    n_real = n if n_real is None else n_real
    real = real_samples(dataset, n_real, seed=0)
    coverage_kind = _use_mode_coverage(mode_coverage, dataset, mode_attribute)
    shown = getattr(dataset, "name", str(data))
    if isinstance(data, (str, os.PathLike)) and data_options:
        shown = f"{shown} ({describe_options(str(data), data_options)})"
    info = {"data": shown, "data_options": dict(data_options or {}), "data_note": choice.note, "n_real": len(real),
            "n_fake": int(n)}

    if not dataset.is_image and feature_network is not None:
        raise ValueError(f"{info['data']} holds points of shape {dataset.sample_shape}, compared in their own space; "
                         "feature_network and classifier apply to images only")
    judge = None  # the dataset classifier, when one is needed
    if dataset.is_image and (not isinstance(feature_network, torch.nn.Module) or coverage_kind == "classifier"):
        source, options = classifier_data(data, dataset, data_options)
        given = classifier if classifier is not None else (
            feature_network if not isinstance(feature_network, torch.nn.Module) else None)
        if given is None:
            say(f"training a feature classifier on {info['data']} (pass a classifier to skip this)")
        judge = domain_feature_network(source, given, data_options=options, device=device)
    if not dataset.is_image and feature_network is None:
        network, info["feature_space"], info["fid_label"] = None, "the data space itself (2-D points)", "FID (data)"
    elif isinstance(feature_network, torch.nn.Module):
        network, info["feature_space"], info["fid_label"] = feature_network, describe_network(feature_network), "FID"
    else:
        network, info["feature_space"], info["fid_label"] = judge, describe_network(judge), "FID-domain"

    def features(x: torch.Tensor) -> np.ndarray:
        if network is None:
            return x.reshape(len(x), -1).double().numpy()
        return extract_features(x, network, batch_size=batch_size, device=device)

    real_f = features(real)
    info["feature_dim"] = int(real_f.shape[1])
    attribute = None
    if coverage_kind == "mixture":
        centres, sigma = mixture_of(dataset)
        info["n_modes"] = len(centres)
    elif coverage_kind == "classifier":
        attribute = mode_attribute or "digit"
        if attribute not in judge.attribute_names:
            raise ValueError(f"the classifier does not predict {attribute!r}; it predicts: "
                             f"{', '.join(judge.attribute_names)}")
        info["n_modes"] = len(judge.attr_levels[attribute])
        info["mode_attribute"] = attribute
    evaluate_disentanglement = None
    if disentanglement:
        from latentlab.metrics.disentanglement import evaluate_disentanglement  # written beside this module

    values: dict = {name: [] for name in generators}
    runs = [(name, seed) for name in generators for seed in seeds]
    for name, seed in progress_bar(runs, enabled=progress, desc="evaluate", unit="run"):
        gen = generators[name]
        fake = draw_samples(gen, int(n), seed=seed, batch_size=batch_size, progress=progress)
        check_same_shape(real, fake)
        row = sample_quality(real_f, features(fake), seed=seed).to_dict()
        row = {k: row[k] for k in QUALITY}
        if coverage_kind is not None:
            if coverage_kind == "mixture":
                cov = mixture_mode_coverage(fake, centres, sigma)
            else:
                cov = classifier_mode_coverage(judge.predict_proba(fake, batch_size)[attribute], threshold)
            row.update({k: float(getattr(cov, k)) for k in COVERAGE})
        if evaluate_disentanglement is not None:
            try:
                row.update({str(k): float(v) for k, v in
                            evaluate_disentanglement(gen, dataset, n=int(n), seed=seed, progress=progress).items()})
            except NotImplementedError:  # a model that cannot encode: its cells stay NaN
                pass
        values[name].append(row)
    metrics: list[str] = []
    for per_seed in values.values():
        for row in per_seed:
            metrics += [k for k in row if k not in metrics]
    table_values = {name: {m: np.array([row.get(m, np.nan) for row in per_seed], dtype=np.float64) for m in metrics}
                    for name, per_seed in values.items()}
    return EvaluationTable(models=tuple(generators), metrics=tuple(metrics), values=table_values, seeds=seeds,
                           info=info)
