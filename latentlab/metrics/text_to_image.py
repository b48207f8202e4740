"""How well a text-conditioned diffusion model draws what a prompt says.

* :func:`prompt_accuracy` — one sample per prompt; an attribute classifier's call on each
  sample is compared with every fact its prompt states ("an old man with glasses": age 1,
  male 1, glasses 1), per attribute. Its chance level is the same score of the
  unconditional model's samples (guidance 0, the same starting noise) against the same
  prompts: what a model that ignores the prompt gets from the data's attribute rates alone.
* :func:`guidance_sweep` — prompt accuracy, FID-domain and CLIP score at each
  classifier-free guidance weight ``w``: the trade-off of guidance (Ho & Salimans 2022)
  between following the prompt and matching the data's distribution.

Prompts are face captions (:mod:`latentlab.data.captions`); the facts they state are read
with :func:`~latentlab.data.captions.read_face_caption`. Held-out prompts are the captions of
faces the model never saw, in the held-out wordings: ``dataset.captions("held_out")``.
Those templates use words the model never read ("portrait", "here is"), by design, so the
warnings about unknown words are not shown here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from latentlab._progress import batch_starts, progress_bar
from latentlab._validation import check_float, check_int
from latentlab.data.captions import read_face_caption
from latentlab.data.tokenizer import UnknownWordsWarning, prompt_words
from latentlab.metrics.features import extract_features
from latentlab.metrics.retrieval import clip_score
from latentlab.metrics.sample_quality import SampleSizeWarning, frechet_distance

__all__ = ["PromptScores", "PromptAccuracy", "GuidanceSweep", "check_text_model", "check_prompts", "score_prompts",
           "prompt_samples", "prompt_accuracy", "guidance_sweep", "GUIDANCES"]

#: The guidance weights of the sweep: 0 (unconditional), 1 (conditional) and stronger guidance.
GUIDANCES = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0)


def check_text_model(model) -> None:
    """Raise ``ValueError`` unless ``model`` is a text-conditioned diffusion model."""
    if not getattr(model, "text_conditional", False):
        raise ValueError(f"this needs a text-conditioned diffusion model (a DDPM with model.condition = 'text'); "
                         f"got a {type(model).__name__} that takes no prompts")


def check_prompts(prompts, n: int | None = None, name: str = "prompts", model=None) -> list[str]:
    """``prompts`` as a list of non-empty str (one per image when ``n`` is given), or ``ValueError``;
    with a text-conditioned ``model``, each must also hold a word its text encoder knows."""
    if isinstance(prompts, str) or not isinstance(prompts, Sequence) or not all(isinstance(p, str) for p in prompts):
        raise ValueError(f"{name} must be a list of str, one per sample, not {prompts!r:.60}")
    prompts = list(prompts)
    if not prompts:
        raise ValueError(f"{name} is empty: give at least one prompt")
    if model is not None:
        model.clip.tokenizer.check_prompts(prompts)
    for p in prompts:
        prompt_words(p)
    if n is not None and len(prompts) != n:
        raise ValueError(f"{name} holds {len(prompts)} prompts for {n} images: give one per image")
    return prompts


@dataclass
class PromptScores:
    """How often samples show what their prompts state (result of :func:`score_prompts`).

    Attributes
    ----------
    accuracy : dict of str -> float
        Per attribute: the share, in [0, 1], of the samples whose prompt states a value of the
        attribute that the classifier also calls (NaN when no prompt states it).
    counts : dict of str -> int
        Per attribute: how many prompts state a value of it.
    all_facts : float
        Share of the samples for which every checked fact of the prompt holds.
    n : int
        Number of samples.
    """

    accuracy: dict
    counts: dict
    all_facts: float
    n: int

    @property
    def mean(self) -> float:
        """Mean of the per-attribute accuracies (each attribute counts once)."""
        values = [v for v in self.accuracy.values() if np.isfinite(v)]
        return float(np.mean(values)) if values else float("nan")


def _checked_attributes(classifier, facts: list[dict], attributes) -> list[str]:
    known = list(classifier.attribute_names)
    stated = [a for a in known if any(a in f for f in facts)]
    if attributes is None:
        if not stated:
            raise ValueError(f"none of the prompts states an attribute the classifier predicts ({', '.join(known)}); "
                             "give face captions, e.g. 'an old man with glasses'")
        return stated
    attributes = [attributes] if isinstance(attributes, str) else list(attributes)
    if not attributes:
        raise ValueError(f"attributes is empty; choose among: {', '.join(stated or known)}")
    for a in attributes:
        if a not in known:
            raise ValueError(f"unknown attribute {a!r}: the classifier predicts {', '.join(known)}")
        if a not in stated:
            raise ValueError(f"no prompt states attribute {a!r}; the prompts state: {', '.join(stated) or 'none'}")
    return attributes


def score_prompts(classifier, images, prompts: Sequence[str], attributes=None, batch_size: int = 256) -> PromptScores:
    """Compare the classifier's call on each image with the facts its prompt states.

    Parameters
    ----------
    classifier : AttributeClassifier (anything with ``predict(images)`` and ``attribute_names``)
    images : tensor ``(N, C, H, W)`` in [-1, 1]
    prompts : N face captions, ``prompts[i]`` the one ``images[i]`` was drawn for
    attributes : str or list of str, optional
        Attributes to check; default every attribute the classifier predicts and some prompt states.

    Returns
    -------
    PromptScores
    """
    prompts = check_prompts(prompts, len(images))
    facts = [read_face_caption(p) for p in prompts]
    attributes = _checked_attributes(classifier, facts, attributes)
    predicted = classifier.predict(torch.as_tensor(images), batch_size=batch_size)
    holds = np.ones(len(prompts), dtype=bool)
    accuracy, counts = {}, {}
    for a in attributes:
        rows = np.array([i for i, f in enumerate(facts) if a in f], dtype=np.int64)
        stated = np.array([facts[i][a] for i in rows], dtype=np.int64)
        right = predicted[a][rows] == stated
        holds[rows[~right]] = False
        accuracy[a] = float(right.mean()) if len(rows) else float("nan")
        counts[a] = int(len(rows))
    return PromptScores(accuracy=accuracy, counts=counts, all_facts=float(holds.mean()), n=len(prompts))


def prompt_samples(model, prompts, *, guidance_scale: float | None = None, seed: int = 0, steps: int | None = None,
                   codes: torch.Tensor | None = None, batch_size: int = 256, progress: bool = False) -> torch.Tensor:
    """One sample per prompt: DDIM from the model's own prior noise, guided by the prompt.

    Parameters
    ----------
    model : a text-conditioned DDPM
    prompts : list of N str, or None
        ``None``: the unconditional model's samples.
    guidance_scale : float, optional
        Classifier-free guidance weight ``w >= 0``; the model's ``config.guidance_scale`` by default.
    seed : int
        Draws the starting noise ``(N, C, H, W)`` from ``model.sample_latents``: the same seed gives
        the same noise at every guidance weight, so the samples of a sweep differ by guidance only.
    steps : int, optional
        DDIM steps; the model's ``decode_steps`` by default.
    codes : tensor ``(N, C, H, W)``, optional
        The starting noise itself (then ``seed`` is not used).
    progress : bool
        A bar over the samples.

    Returns
    -------
    tensor ``(N, C, H, W)`` in [-1, 1], on the CPU
    """
    check_text_model(model)
    n = len(codes) if codes is not None else None
    if prompts is not None:
        prompts = check_prompts(prompts, n, model=model)
        n = len(prompts)
    if n is None:
        raise ValueError("give prompts or codes: how many samples to draw")
    check_int(batch_size, "batch_size", min=1)
    if guidance_scale is not None:
        guidance_scale = check_float(guidance_scale, "guidance_scale", min=0)
    if codes is None:
        codes = model.sample_latents(n, generator=torch.Generator().manual_seed(int(seed)))
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownWordsWarning)  # held-out wordings hold unknown words by design
        for s in batch_starts(n, batch_size, enabled=progress, desc="samples", unit="sample", leave=False):
            part = slice(s, s + batch_size)
            extra = {} if prompts is None else {"prompts": prompts[part], "guidance_scale": guidance_scale}
            out.append(model.decode(codes[part], steps, **extra).float().cpu())
    return torch.cat(out)


@dataclass
class PromptAccuracy:
    """Result of :func:`prompt_accuracy`.

    Attributes
    ----------
    scores : PromptScores
        The guided samples against their prompts.
    chance : PromptScores or None
        The unconditional model's samples (the same noise) against the same prompts.
    guidance_scale : float
    prompts : list of str
    samples : tensor ``(N, C, H, W)``
        The guided samples, one per prompt.
    """

    scores: PromptScores
    chance: PromptScores | None
    guidance_scale: float
    prompts: list
    samples: torch.Tensor = field(repr=False)

    def table(self) -> str:
        """Per attribute: the prompts stating it, the accuracy and the chance level, as aligned text."""
        lines = [f"{'attribute':<12}{'prompts':>8}{'accuracy':>10}{'chance':>8}"]
        for a, acc in self.scores.accuracy.items():
            chance = self.chance.accuracy[a] if self.chance is not None else float("nan")
            lines.append(f"{a:<12}{self.scores.counts[a]:>8d}{acc:>10.3f}{chance:>8.3f}")
        chance = self.chance.mean if self.chance is not None else float("nan")
        lines.append(f"{'mean':<12}{'':>8}{self.scores.mean:>10.3f}{chance:>8.3f}")
        return "\n".join(lines)


def prompt_accuracy(model, classifier, prompts: Sequence[str], *, guidance_scale: float | None = None,
                    attributes=None, chance: bool = True, seed: int = 0, steps: int | None = None,
                    batch_size: int = 256, progress: bool = False) -> PromptAccuracy:
    """Per attribute, the share of samples whose classified attributes match what their prompt states.

    Parameters
    ----------
    model : a text-conditioned DDPM
    classifier : AttributeClassifier
        Trained on data like the model's (the same rendering), so that its calls mean something there.
    prompts : list of N str
        Face captions, one sample each; held-out ones: ``faces.captions("held_out")`` of faces
        the model did not train on.
    guidance_scale : float, optional
        Classifier-free guidance weight; the model's ``config.guidance_scale`` by default.
    attributes : str or list of str, optional
        Attributes to score; default all that the classifier predicts and the prompts state.
    chance : bool
        Also score the unconditional model's samples from the same noise against the same
        prompts: the accuracy of a model that ignores its prompt.
    seed, steps, batch_size, progress
        As in :func:`prompt_samples`.

    Returns
    -------
    PromptAccuracy
    """
    check_text_model(model)
    prompts = check_prompts(prompts, model=model)
    codes = model.sample_latents(len(prompts), generator=torch.Generator().manual_seed(int(seed)))
    run = {"steps": steps, "codes": codes, "batch_size": batch_size, "progress": progress}
    samples = prompt_samples(model, prompts, guidance_scale=guidance_scale, **run)
    scores = score_prompts(classifier, samples, prompts, attributes, batch_size)
    base = None
    if chance:
        base = score_prompts(classifier, prompt_samples(model, None, **run), prompts, list(scores.accuracy), batch_size)
    scale = model.config.guidance_scale if guidance_scale is None else float(guidance_scale)
    return PromptAccuracy(scores=scores, chance=base, guidance_scale=scale, prompts=prompts, samples=samples)


@dataclass
class GuidanceSweep:
    """Result of :func:`guidance_sweep`: one row per guidance weight.

    Attributes
    ----------
    rows : list of dict
        ``guidance``, ``accuracy_<attribute>`` for each attribute, ``accuracy_mean`` (mean over
        attributes), ``all_facts``, ``fid`` (FID-domain, squared feature units), ``clip_score``
        (mean CLIP score of each sample with its own prompt, 0-100) and ``n``.
    attributes : list of str
    samples : dict of float -> tensor ``(N, C, H, W)``
        The samples at each guidance weight (the same starting noise for all).
    """

    rows: list
    attributes: list
    samples: dict = field(repr=False)

    def column(self, name: str) -> np.ndarray:
        """One column of the rows, ``(W,)``."""
        if name not in self.rows[0]:
            raise ValueError(f"no column {name!r}; the sweep has: {', '.join(self.rows[0])}")
        return np.asarray([r[name] for r in self.rows])

    def table(self) -> str:
        """The rows as aligned text (w = 0 is the unconditional model: the chance level)."""
        names = [a[:8] for a in self.attributes]
        lines = [f"{'w':>5}" + "".join(f"{a:>9}" for a in names) + f"{'mean':>8}{'all':>7}{'FID-dom':>9}{'CLIP':>7}"]
        for r in self.rows:
            lines.append(f"{r['guidance']:>5g}" + "".join(f"{r['accuracy_' + a]:>9.3f}" for a in self.attributes)
                         + f"{r['accuracy_mean']:>8.3f}{r['all_facts']:>7.3f}{r['fid']:>9.2f}{r['clip_score']:>7.2f}")
        return "\n".join(lines)


def guidance_sweep(model, classifier, feature_network, real_images, prompts: Sequence[str], *,
                   guidances: Sequence[float] = GUIDANCES, attributes=None, clip=None, seed: int = 0,
                   steps: int | None = None, batch_size: int = 256, progress: bool = False) -> GuidanceSweep:
    """Prompt accuracy, FID-domain and CLIP score of the same prompts at each guidance weight.

    Parameters
    ----------
    model : a text-conditioned DDPM
    classifier : AttributeClassifier
        Scores the attributes (:func:`score_prompts`).
    feature_network : AttributeClassifier or nn.Module
        The feature space of the FID (:func:`~latentlab.metrics.features.domain_feature_network`:
        FID-domain); it may be ``classifier`` itself.
    real_images : tensor ``(M, C, H, W)`` in [-1, 1]
        Real images of the data the model learned, for the FID.
    prompts : list of N str
        One sample per prompt at each weight, all from the same starting noise (``seed``).
    guidances : sequence of float >= 0
        The weights ``w`` (0: unconditional; 1: conditional without guidance).
    attributes : as in :func:`score_prompts`
    clip : CLIP, optional
        The image-text model of the CLIP score; default the model's own (``model.clip``), which
        reads the prompts as the model does, so its score favours strong guidance somewhat.
    seed, steps, batch_size, progress
        As in :func:`prompt_samples`; ``progress`` shows a bar over the weights and the samples.

    Returns
    -------
    GuidanceSweep
        Its rows, in the order of ``guidances``.
    """
    check_text_model(model)
    prompts = check_prompts(prompts, model=model)
    guidances = [check_float(w, "guidance", min=0) for w in guidances]
    if not guidances:
        raise ValueError("guidances is empty: give the guidance weights to compare, e.g. (0, 1, 3)")
    clip = model.clip if clip is None else clip
    real = extract_features(real_images, feature_network, batch_size=batch_size)
    codes = model.sample_latents(len(prompts), generator=torch.Generator().manual_seed(int(seed)))
    rows, samples, attrs = [], {}, attributes
    for w in progress_bar(guidances, enabled=progress, desc="guidance weights", unit="weight"):
        x = prompt_samples(model, prompts, guidance_scale=w, steps=steps, codes=codes, batch_size=batch_size,
                           progress=progress)
        scores = score_prompts(classifier, x, prompts, attrs, batch_size)
        attrs = list(scores.accuracy)  # every weight scores the same attributes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownWordsWarning)
            own = float(np.diagonal(clip_score(clip, x, prompts, batch_size=batch_size)).mean())  # sample i, prompt i
        with warnings.catch_warnings():
            if rows:  # a warning about too few samples holds for every weight: shown once
                warnings.simplefilter("ignore", SampleSizeWarning)
            fid = frechet_distance(real, extract_features(x, feature_network, batch_size=batch_size))
        rows.append({"guidance": w, **{f"accuracy_{a}": v for a, v in scores.accuracy.items()},
                     "accuracy_mean": scores.mean, "all_facts": scores.all_facts, "fid": fid, "clip_score": own,
                     "n": len(prompts)})
        samples[w] = x
    return GuidanceSweep(rows=rows, attributes=attrs, samples=samples)
