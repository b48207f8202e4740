"""Attribute directions for a model: label its codes, fit, condition, save, evaluate.

The estimators in :mod:`~latentlab.analysis.directions`, :mod:`~latentlab.analysis.orthogonal`
and :mod:`~latentlab.analysis.pca` work on arrays. This module is the model-facing layer the
command line and users' scripts call: it obtains labelled latent codes from a Generator,
fits the attribute's hyperplane (and those of the conditions), orthogonalizes, and keeps
everything needed later in a result that saves to a plain ``.npz``
(:mod:`~latentlab.analysis.results`, re-exported here).

Where the labels come from (``labels_from``):

* ``"classifier"`` — draw ``n`` codes from the prior, decode them and score the images
  with an attribute classifier (:func:`~latentlab.codes.label_samples`). The
  classifier's log-odds rank the codes and the top and bottom ``fraction`` are the two
  classes (the InterFaceGAN recipe). Works for any Generator.
* ``"data"`` — encode ``n`` real images of a labelled dataset with the model's ``encode``
  (:func:`~latentlab.codes.encode_dataset`) and use the data's binary labels. Needs a
  model that can encode (VAE posterior mean; GAN/DDPM inversion, which is slow).
* ``"clip"`` — draw ``n`` codes, decode them and score the images zero-shot with a
  CLIP model: ``cos(image, prompts) − cos(image, negatives)``
  (:func:`~latentlab.analysis.text_directions.clip_label_samples`); the scores are
  ranked like a classifier's log-odds. Works for any Generator, with no labelled data
  and no trained attribute classifier.
* ``"auto"`` — ``"classifier"`` when a classifier is given, ``"data"`` otherwise.

:func:`find_text_direction` needs no labels at all: it pulls a text target back
through a linear map from the codes to the CLIP embeddings of their images
(:class:`~latentlab.analysis.text_directions.TextDirection`).

Sections: labelling, the workflow functions.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Literal, Sequence

import numpy as np
import torch

from latentlab import data as data_mod
from latentlab._validation import check_choice, check_float, check_int
from latentlab.analysis.directions import METHODS, AttributeDirection
from latentlab.analysis.edit_evaluation import edit_effects
from latentlab.analysis.orthogonal import orthogonalization_report
from latentlab.analysis.pca import PCADirections
from latentlab.analysis.results import DirectionResult, PCAResult, check_latent_shape, load_direction_file
from latentlab.analysis.text_directions import (
    TextDirection, as_clip, clip_label_samples, default_prompts, prompt_name, sample_embeddings, text_target,
)
from latentlab.codes import encode_dataset, label_samples
from latentlab.data.spec import choose_data
from latentlab.data.stats import random_subset
from latentlab.models.base import Generator
from latentlab.loading import ROLES, load, role_of

__all__ = [
    "LABEL_SOURCES",
    "DirectionResult",
    "PCAResult",
    "find_direction",
    "find_text_direction",
    "pca_directions",
    "auto_pca_codes",
    "PCA_CODES",
    "evaluate_directions",
    "load_direction_file",
    "check_latent_shape",
]

LabelSource = Literal["auto", "classifier", "data", "clip"]
LABEL_SOURCES = ("auto", "classifier", "data", "clip")

# Each class needs one code to train on and one to validate on.
_MIN_PER_CLASS = 2


# -- labelling ----------------------------------------------------------------------------
def _as_model(model, what: str, device=None):
    """``(model object, name for messages)`` from an object or a checkpoint path (loaded on ``device``).

    ``what`` is ``"model"`` (a Generator) or ``"classifier"`` (an attribute classifier); a
    checkpoint or an object of the other kind is refused with a message saying so.
    """

    expect = "classifier" if what == "classifier" else "generator"
    if isinstance(model, (str, os.PathLike)):
        return load(model, device=device, expect=expect), str(model)
    if model is None:
        raise ValueError(f"give the {what} (an object or a checkpoint path), not None")
    if role_of(model) != expect:
        raise TypeError(f"the {what} is a {type(model).__name__}; it must be {ROLES[expect]}")
    return model, type(model).__name__


def _binary_names(levels: dict) -> list[str]:
    return [name for name, values in levels.items() if len(values) == 2]


def _check_attributes(attribute: str, conditions: Sequence[str], levels: dict, source: str) -> None:
    """``ValueError`` naming the binary attributes ``source`` offers, for an unknown or unusable name."""
    binary = _binary_names(levels)
    for role, name in [("attribute", attribute), *[("condition", c) for c in conditions]]:
        if name in binary:
            continue
        if name in levels:
            raise ValueError(
                f"{role} {name!r} has {len(levels[name])} values; directions are fitted for binary attributes "
                f"({source} has: {', '.join(binary) or 'none'})"
            )
        raise ValueError(f"unknown {role} {name!r}; {source} labels these binary attributes: {', '.join(binary) or 'none'}")
    if attribute in conditions:
        raise ValueError(f"{attribute!r} cannot be a condition of itself; conditions must be other attributes")
    if len(set(conditions)) != len(conditions):
        raise ValueError(f"conditions name an attribute twice: {', '.join(conditions)}")


def _load_data(data, model, name: str, n: int, seed: int, data_options: dict | None):
    """``(dataset of at most n samples shaped for model, its name, the loader options used, a note)``.

    ``data=None`` is the data the model was trained on; its name without options gets the
    training options (:func:`latentlab.data.spec.choose_data`): codes are more meaningful
    for images like those the model learnt (a model trained on centred faces encodes
    shifted ones poorly). Fresh samples are drawn, from a seed other than any training seed.
    """

    if isinstance(data, data_mod.Dataset):
        return random_subset(data, n, seed=seed), data.name, {}, f"data: the Dataset {data.name!r} given"
    choice = choose_data(data, data_options, {name: model})
    data_name, options = str(choice.data), dict(choice.options)
    if data_name in data_mod.available():
        accepted = data_mod.builtin_options(data_name)
        # a seed other than any training seed, so the codes are of images the model has not seen
        if "seed" in accepted:
            options.setdefault("seed", 1_000_003 + seed)
        if "n" in accepted:
            options.setdefault("n", n)
    dataset = data_mod.load_for_model(data_name, model, **options)
    return random_subset(dataset, n, seed=seed), data_name, options, choice.note


def _prompt_sets(clip, names: Sequence[str], prompts: dict | None) -> dict:
    """``{name: (prompts, negatives)}`` for every name: those given, else the CLIP's default prompts."""
    prompts = dict(prompts or {})
    unused = [a for a in prompts if a not in names]
    if unused:
        raise ValueError(f"prompts given for {unused[0]!r}, which is neither the attribute nor a condition "
                         f"({', '.join(names)})")
    return {name: tuple(prompts[name]) if name in prompts else default_prompts(clip, name) for name in names}


def _clip_source(clip_name: str, prompt_sets: dict, name: str) -> str:
    yes, no = ([s] if isinstance(s, str) else list(s) for s in prompt_sets[name])
    said = lambda side: repr(side[0]) + (f" (+{len(side) - 1})" if len(side) > 1 else "")  # noqa: E731
    return f"CLIP {clip_name}: {said(yes)} vs {said(no)}"


def _labelled_codes(model, model_name, attribute, conditions, labels_from, classifier, data, n, seed,
                    data_options, batch_size, progress, device, encode_options=None, clip=None, prompts=None):
    """``(codes (n, *latent_shape), targets {name: (n,)}, labels {name: (n,) 0/1}, source, data options)``.

    ``targets`` are the classifier's log-odds or the CLIP zero-shot scores (ranked by the
    estimator), or the data's 0/1 labels.
    """

    if labels_from == "clip":
        clip_model = as_clip(clip, device)
        sets = _prompt_sets(clip_model, [attribute, *conditions], prompts)
        codes = clip_label_samples(model, clip_model, sets, n=n, seed=seed, batch_size=batch_size, progress=progress)
        name = str(clip) if isinstance(clip, (str, os.PathLike)) else type(clip_model).__name__
        return codes.z, codes.scores, codes.attrs, _clip_source(name, sets, attribute), {}
    if labels_from == "classifier":
        clf, clf_name = _as_model(classifier, "classifier", device)
        _check_attributes(attribute, conditions, clf.attr_levels, f"the classifier {clf_name}")
        codes = label_samples(model, clf, n=n, seed=seed, batch_size=batch_size, progress=progress)
        return codes.z, codes.scores, codes.attrs, clf_name, {}
    cannot_encode = ValueError(
        f"{type(model).__name__} cannot encode images, so labels_from='data' is impossible; "
        "use labels_from='classifier' with an attribute classifier"
    )
    if type(model).encode is Generator.encode:  # said before data is chosen and loaded for nothing
        raise cannot_encode
    dataset, data_name, options, _ = _load_data(data, model, model_name, n, seed, data_options)
    _check_attributes(attribute, conditions, dataset.attr_levels, f"the data {data_name!r}")
    try:
        codes = encode_dataset(model, dataset, batch_size=batch_size, progress=progress, encode_options=encode_options)
    except NotImplementedError:
        raise cannot_encode from None
    return codes.z, codes.attrs, codes.attrs, data_name, options


def _check_both_classes(name: str, labels: np.ndarray, source: str) -> None:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)[:2]
    if counts.min() < _MIN_PER_CLASS:
        which = "without" if counts[0] < _MIN_PER_CLASS else "with"
        raise ValueError(
            f"only {counts.min()} of {len(labels)} codes are labelled {which} {name!r} by {source}; "
            f"need at least {_MIN_PER_CLASS} with and without it to find a direction "
            "(the attribute is missing from these samples or always present)"
        )


# -- the workflow functions ----------------------------------------------------------------
def _direction_result(attribute: str, primal, conditions, fitted_conditions, **fields) -> DirectionResult:
    """A :class:`DirectionResult` from fitted estimators (``direction_``, ``intercept_``): the
    primal direction made orthogonal to the conditions' directions, with the cosines before and
    after; ``fields`` are the rest of the result."""
    report = orthogonalization_report(primal.direction_, [c.direction_ for c in fitted_conditions])
    return DirectionResult(
        attribute=attribute,
        direction=report.direction,
        primal=primal.direction_.copy(),
        intercept=float(primal.intercept_),
        conditions=conditions,
        condition_directions=(np.stack([c.direction_ for c in fitted_conditions]) if fitted_conditions
                              else np.zeros((0, *primal.direction_.shape))),
        cosines_before=np.asarray(report.cosines_before, np.float64),
        cosines_after=np.asarray(report.cosines_after, np.float64),
        **fields,
    )


def find_direction(
    model,
    attribute: str,
    *,
    conditions: Sequence[str] = (),
    labels_from: LabelSource = "auto",
    classifier=None,
    data=None,
    data_options: dict | None = None,
    n: int = 5000,
    seed: int = 0,
    method: str = "svm",
    fraction: float = 0.1,
    batch_size: int = 256,
    device=None,
    progress: bool = False,
    encode_options: dict | None = None,
    clip=None,
    prompts: dict | None = None,
) -> DirectionResult:
    """Find the direction of ``attribute`` in ``model``'s latent space.

    Parameters
    ----------
    model : Generator or path of a checkpoint
    attribute : str
        A binary attribute the labels carry (e.g. ``"glasses"``).
    conditions : sequence of str
        Attributes the edit must leave alone: the returned ``direction`` is the
        attribute's normal made orthogonal to theirs (fitted on the same codes).
    labels_from : {"auto", "classifier", "data", "clip"}
        See the module docstring; ``"auto"`` is ``"classifier"`` when ``classifier`` is given.
    classifier : AttributeClassifier, path of its checkpoint, or None
    data : None, str, path or Dataset
        Labelled images for ``labels_from="data"`` (built-in name or a path). ``None``:
        the data the model was trained on (``model.trained_on``, recorded in its checkpoint).
    data_options : dict or None
        Loader options for ``data``. For the model's training data, its training options
        with these replacing theirs one by one (fresh samples from another seed); for
        other data, these over the loader's defaults
        (:func:`latentlab.data.spec.choose_data`).
    n : int
        Codes to label (samples drawn, or images encoded).
    seed : int
        Seed of the codes drawn, the images chosen and the train/validation split.
    method : {"svm", "logistic", "lda", "mean_difference"}
        The linear classifier (see :class:`~latentlab.analysis.directions.AttributeDirection`).
    fraction : float in (0, 0.5]
        Classifier labels: share of the codes kept at each end of the score ranking.
        InterFaceGAN keeps 2 % of 500,000 codes; with thousands of codes a larger share
        keeps hundreds per class.
    batch_size : int
        Images per decode/encode/classifier call.
    device : str or torch.device, optional
        Where models given as paths are loaded (``"auto"``, ``"cpu"``, ``"cuda"``, ...).
    progress : bool
        Show progress bars.
    encode_options : dict, optional
        Data labels: keyword arguments of the model's ``encode`` (for a GAN, ``steps``
        and ``restarts`` of its inversion; see :meth:`latentlab.models.gan.GAN.invert`).
    clip : CLIP, path of its checkpoint, or None
        The image-text model of ``labels_from="clip"``.
    prompts : dict of str -> (prompts, negatives), optional
        CLIP labels: the prompt ensembles (each side a str or a list of str) of the
        attribute and of conditions; those not given are the CLIP's defaults for faces
        attributes (:func:`~latentlab.analysis.text_directions.default_prompts`).

    Returns
    -------
    DirectionResult

    Raises
    ------
    ValueError
        For an unknown or non-binary attribute (the message lists the binary ones), a
        ``labels_from`` not in ``LABEL_SOURCES``, classifier labels without a
        classifier, CLIP labels without a CLIP model or with bad prompts, a model that cannot encode with data labels, or labels where one
        class has fewer than 2 codes.
    """

    check_choice(labels_from, "labels_from", LABEL_SOURCES)
    check_choice(method, "method", METHODS)
    check_int(n, "n", min=2 * _MIN_PER_CLASS, noun="number of codes to label")
    check_float(fraction, "fraction", min=0, max=0.5, min_open=True)
    if isinstance(conditions, str):
        conditions = [conditions]
    conditions = tuple(conditions)
    if labels_from == "auto":
        labels_from = "classifier" if classifier is not None else "data"
    if labels_from == "classifier" and classifier is None:
        raise ValueError(
            "labels_from='classifier' needs an attribute classifier "
            "(train one with `latentlab classifier train`); or use labels_from='data'"
        )
    if labels_from == "clip" and clip is None:
        raise ValueError("labels_from='clip' needs a CLIP image-text model (train one with "
                         "`latentlab train faces-clip-tiny`)")
    if prompts is not None and labels_from != "clip":
        raise ValueError(f"prompts are for labels_from='clip'; labels_from={labels_from!r} does not read them")
    gen, model_name = _as_model(model, "model", device)
    z, targets, labels, source, used_options = _labelled_codes(
        gen, model_name, attribute, conditions, labels_from, classifier, data, int(n), seed, data_options,
        batch_size, progress, device, encode_options, clip, prompts,
    )
    for name in (attribute, *conditions):
        _check_both_classes(name, labels[name], source)

    def fit(name: str) -> AttributeDirection:
        return AttributeDirection(method=method, fraction=fraction, random_state=seed).fit(z, targets[name])

    primal = fit(attribute)
    return _direction_result(
        attribute, primal, conditions, [fit(c) for c in conditions],
        val_accuracy=float(primal.val_accuracy_),
        train_accuracy=float(primal.train_accuracy_),
        labels_from=labels_from,
        label_source=source,
        data_options=used_options,
        method=method,
        fraction=float(fraction) if primal.target_type_ == "scores" else math.nan,
        n=int(len(z)),
        seed=int(seed),
        model=model_name,
        distances=primal.decision_function(z),
        labels=np.asarray(labels[attribute], np.int64),
        estimator=primal,
    )


def find_text_direction(
    model,
    clip,
    attribute: str | None = None,
    *,
    prompts=None,
    negatives=None,
    conditions: Sequence[str] = (),
    n: int = 5000,
    seed: int = 0,
    kind: str = "affine",
    alpha: float = 1.0,
    validation: float = 0.2,
    batch_size: int = 256,
    device=None,
    progress: bool = False,
) -> DirectionResult:
    """The latent direction of a text: a text target pulled back through a map from codes to CLIP embeddings.

    ``n`` codes are drawn from ``model``'s prior and their images embedded by ``clip``; a
    linear map ``e ≈ A z + b`` is fitted on a training share of them and the text target
    ``t`` (prompts minus negatives, :func:`~latentlab.analysis.text_directions.text_target`)
    is pulled back as the unit vector along ``Aᵀ t``: the latent step that raises the
    predicted zero-shot score most (:class:`~latentlab.analysis.text_directions.TextDirection`).
    No labels and no attribute classifier are needed.

    Parameters
    ----------
    model : Generator or checkpoint path
    clip : CLIP or checkpoint path
    attribute : str, optional
        Name of the direction (the attribute a classifier scores its edits for, e.g.
        ``"glasses"``); with no ``prompts`` its default faces prompts are used. Default:
        a name made of the first prompt's words.
    prompts, negatives : str or sequence of str, optional
        What the attribute looks like and what its absence looks like; give both or neither.
    conditions : sequence of str
        Faces attributes to make the direction orthogonal to: their text directions (default
        prompts) through the same map.
    n : int
        Codes drawn (``seed``) and embedded.
    kind, alpha
        The map (:class:`~latentlab.analysis.maps.LatentMap`); ``alpha`` for ``kind="ridge"``.
    validation : float in (0, 0.5]
        Share of the codes held out of the map's fit; ``val_accuracy`` is how often the sign
        of the predicted score (the side of the direction's hyperplane) matches CLIP's
        zero-shot label on them.

    Returns
    -------
    DirectionResult
        ``labels_from="text"``, ``method="text"``; ``labels`` are the zero-shot labels of
        the codes and ``distances`` their signed distances from the hyperplane of
        predicted score 0. ``estimator`` is the fitted TextDirection (``r2_``, ``gain_``).
    """

    check_int(n, "n", min=2 * _MIN_PER_CLASS, noun="number of codes")
    check_float(validation, "validation", min=0, max=0.5, min_open=True)
    if (prompts is None) != (negatives is None):
        raise ValueError("give both prompts and negatives (what the attribute looks like and what its absence "
                         "looks like), or neither for an attribute's default prompts")
    if attribute is None and prompts is None:
        raise ValueError("give an attribute (for its default prompts) or prompts and negatives")
    if isinstance(conditions, str):
        conditions = [conditions]
    conditions = tuple(conditions)
    if attribute is None:
        attribute = prompt_name(prompts if isinstance(prompts, str) else next(iter(prompts), ""))
    if attribute in conditions or len(set(conditions)) != len(conditions):
        raise ValueError(f"conditions must be attributes other than {attribute!r}, each once; got {', '.join(conditions)}")
    gen, model_name = _as_model(model, "model", device)
    clip_model = as_clip(clip, device)
    given = {attribute: (prompts, negatives)} if prompts is not None else None
    sets = _prompt_sets(clip_model, [attribute, *conditions], given)
    targets = {name: text_target(clip_model, yes, no) for name, (yes, no) in sets.items()}
    z, embeddings = sample_embeddings(gen, clip_model, int(n), seed=seed, batch_size=batch_size, progress=progress)
    order = np.random.default_rng(seed).permutation(len(z))
    held = max(1, int(round(validation * len(z))))
    val, train = order[:held], order[held:]
    fitted = {name: TextDirection(t, kind=kind, alpha=alpha).fit(z[train], embeddings[train])
              for name, t in targets.items()}
    primal = fitted[attribute]
    scores = embeddings @ targets[attribute]
    labels = (scores > 0).astype(np.int64)
    distances = primal.decision_function(z)
    agree = (distances > 0) == labels.astype(bool)
    clip_name = str(clip) if isinstance(clip, (str, os.PathLike)) else type(clip_model).__name__
    return _direction_result(
        attribute, primal, conditions, [fitted[c] for c in conditions],
        val_accuracy=float(agree[val].mean()),
        train_accuracy=float(agree[train].mean()),
        labels_from="text",
        label_source=_clip_source(clip_name, sets, attribute),
        data_options={},
        method="text",
        fraction=math.nan,
        n=int(len(z)),
        seed=int(seed),
        model=model_name,
        distances=distances,
        labels=labels,
        estimator=primal,
    )


PCACodes = Literal["auto", "data", "features", "prior"]
PCA_CODES = ("auto", "data", "features", "prior")
# what codes="auto" takes per model kind: a VAE's or an AAE's encoder is one cheap pass (the aggregate
# posterior of real images has preferred axes); a GAN has no cheap encoder, and GANSpace
# was made for it; a DDPM's decoder is a whole DDIM run with no feature layer to speak of,
# so its codes are DDIM inversions of real images (slow: one network pass per step and image)
_AUTO_CODES = {"vae": "data", "gan": "features", "ddpm": "data", "aae": "data"}


def auto_pca_codes(model) -> str:
    """What ``pca_directions(codes="auto")`` uses for ``model``: ``"data"``, ``"features"`` or ``"prior"``.

    latentlab's own kinds: ``"data"`` for a VAE, an AAE and a DDPM, ``"features"`` for a GAN.
    Another Generator: ``"features"`` when it implements ``decoder_features``, else
    ``"data"`` when it implements ``encode``, else ``"prior"``.
    """

    kind = getattr(getattr(model, "config", None), "kind", None)
    if kind in _AUTO_CODES:
        return _AUTO_CODES[kind]
    if type(model).decoder_features is not Generator.decoder_features:
        return "features"
    if type(model).encode is not Generator.encode:
        return "data"
    return "prior"


def _feature_directions(gen, k: int, n: int, seed: int, batch_size: int):
    """GANSpace (Härkönen et al. 2020): PCA of decoder features of sampled codes, regressed back to the codes.

    Returns ``(unit directions (k, *latent_shape), feature variances (k,), their shares, mean code)``.
    """

    if k > min(n, gen.latent_dim):
        raise ValueError(f"k={k} directions cannot exceed the number of codes ({n}) or the latent size "
                         f"({gen.latent_dim})")
    z = gen.sample_latents(int(n), generator=torch.Generator().manual_seed(seed))
    feats = torch.cat([gen.decoder_features(z[i : i + batch_size]).cpu() for i in range(0, len(z), batch_size)])
    pca = PCADirections(n_components=min(k, feats.shape[1])).fit(feats.double().numpy())
    x = pca.transform(feats.double().numpy())  # (n, k) coordinates along the feature-space axes
    zf = z.reshape(len(z), -1).double().numpy()
    mean = zf.mean(axis=0)
    # least squares z - mean ≈ x U: row i of U is the change of code that moves the features along axis i
    u = np.linalg.lstsq(x, zf - mean, rcond=None)[0]
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    u = u / np.where(norms > 0, norms, 1.0)
    return (u.reshape(len(u), *gen.latent_shape), pca.explained_variance_, pca.explained_variance_ratio_,
            mean.reshape(gen.latent_shape))


def pca_directions(model, *, k: int = 10, codes: PCACodes = "auto", n: int = 5000, seed: int = 0,
                   data=None, data_options: dict | None = None, batch_size: int = 256, device=None,
                   progress: bool = False) -> PCAResult:
    """Principal directions of ``model``'s latent space, found without labels.

    ``codes`` says which codes (``"auto"``: :func:`auto_pca_codes`, per model kind):

    * ``"data"`` — PCA of the codes of ``n`` real images (``model.encode``: a VAE's
      posterior means, GAN or DDIM inversion). ``data=None``: fresh samples of the data
      the model was trained on, with its options (see :func:`find_direction` for
      ``data`` and ``data_options``).
    * ``"features"`` — GANSpace (Härkönen et al., NeurIPS 2020): PCA of the activations
      of the decoder's first hidden layer (``model.decoder_features``) for ``n`` codes
      drawn from the prior, each axis regressed back to the codes by least squares. The
      directions are unit latent vectors (not orthogonal in general); the variances are
      those of the features along each axis.
    * ``"prior"`` — PCA of ``n`` codes drawn from the prior. For the isotropic Gaussian
      prior of a VAE or a GAN every direction has variance about 1 and shares about
      ``1 / latent_dim`` of it: the directions are arbitrary, which the flat spectrum shows.

    Parameters
    ----------
    model : Generator or checkpoint path
    k : int
        Directions to keep, ``1 <= k <= min(n, latent size)``.
    codes : {"auto", "data", "features", "prior"}
    n : int
        Images encoded or codes drawn (seeded by ``seed``).

    Returns
    -------
    PCAResult
        ``codes`` is the choice made (never ``"auto"``) and ``source`` says it in words.
    """

    check_choice(codes, "codes", PCA_CODES)
    check_int(n, "n", min=2, noun="number of codes")
    gen, name = _as_model(model, "model", device)
    chosen = auto_pca_codes(gen) if codes == "auto" else codes
    if chosen == "features":
        try:
            components, variance, ratio, mean = _feature_directions(gen, k, int(n), seed, batch_size)
        except NotImplementedError:
            raise ValueError(f"{type(gen).__name__} exposes no decoder features; use codes='data' or 'prior'") from None
        source = f"GANSpace: PCA of the decoder's first feature layer for {n} prior codes, regressed back to the codes"
        return PCAResult(components=components, explained_variance=variance, explained_variance_ratio=ratio,
                         mean=mean, codes=chosen, model=name, n=int(n), seed=int(seed), source=source)
    if chosen == "prior":
        z = gen.sample_latents(int(n), generator=torch.Generator().manual_seed(seed))
        source = (f"{n} codes drawn from the prior; an isotropic prior gives uniform components "
                  f"(each about 1/{gen.latent_dim} of the variance, in arbitrary directions)")
    else:
        dataset, _, _, note = _load_data(data, gen, name, int(n), seed, data_options)
        try:
            z = encode_dataset(gen, dataset, batch_size=batch_size, progress=progress).z
        except NotImplementedError:
            raise ValueError(f"{type(gen).__name__} cannot encode images; use codes='features' or 'prior'") from None
        source = f"codes of {len(z)} images encoded by the model; {note}"
    pca = PCADirections(n_components=k).fit(z)
    return PCAResult(components=pca.directions(), explained_variance=pca.explained_variance_,
                     explained_variance_ratio=pca.explained_variance_ratio_,
                     mean=pca.mean_.reshape(pca.latent_shape_), codes=chosen, model=name, n=int(len(z)),
                     seed=int(seed), source=source)


def _column_names(results: Sequence[DirectionResult]) -> list[tuple[str, str]]:
    """``(primal column, conditioned column)`` names of each result: ``"glasses"``, ``"glasses|age"``.

    Directions of one attribute found in different ways are told apart by how their
    codes were labelled (``"glasses~classifier"``, ``"glasses~clip"``, ``"glasses~text"``;
    :func:`~latentlab.analysis.edit_evaluation.edit_effects` reads the attribute before ``~``).
    """
    attributes = [r.attribute for r in results]
    names = []
    for r in results:
        tag = f"~{r.labels_from}" if attributes.count(r.attribute) > 1 else ""
        names.append((r.attribute + tag, r.name.replace(r.attribute, r.attribute + tag, 1)))
    primal = [p for p, _ in names]
    twice = next((p for p in primal if primal.count(p) > 1), None)
    if twice is not None:
        raise ValueError(f"two directions named {twice!r} (same attribute, found the same way); give each once")
    return names


def evaluate_directions(model, classifier, results: Sequence[DirectionResult], *, n: int = 256, step: float = 2.0,
                        seed: int = 0, batch_size: int = 256, device=None):
    """Measure the edits of attribute directions, before and after their conditioning.

    All edits start from the same ``n`` codes (``seed``) and are scored by the classifier.

    Parameters
    ----------
    model : Generator or checkpoint path
    classifier : AttributeClassifier or checkpoint path
    results : sequence of DirectionResult
        Directions of this model (checked against its latent shape).
    n, step, seed, batch_size
        As in :func:`~latentlab.analysis.edit_evaluation.edit_effects`.
    device : str or torch.device, optional
        Where models given as paths are loaded.

    Returns
    -------
    before : EditEffects
        One column per result, editing along its primal direction (named by attribute;
        ``"ATTR~LABELS_FROM"`` when several results share an attribute).
    after : EditEffects or None
        One column per conditioned result, editing along its orthogonalized direction
        (named ``"attr|cond..."``); ``None`` when no result has conditions.
    """

    if not results:
        raise ValueError("give at least one direction to evaluate")
    gen, _ = _as_model(model, "model", device)
    clf, _ = _as_model(classifier, "classifier", device)
    directions, before_names, after_names = {}, [], []
    for i, r, (primal_name, name) in zip(range(len(results)), results, _column_names(results)):
        r.check_model(gen, what=f"direction {i} ({r.name})")
        directions[primal_name] = r.primal
        before_names.append(primal_name)
        if r.conditions:
            directions[name] = r.direction
            after_names.append(name)
    effects = edit_effects(gen, clf, directions, n=n, step=step, seed=seed, batch_size=batch_size)

    def columns(names):
        idx = [effects.directions.index(c) for c in names]
        return dataclasses.replace(effects, directions=list(names), matrix=effects.matrix[:, idx],
                                   flip_rate={c: effects.flip_rate[c] for c in names},
                                   off_target={c: effects.off_target[c] for c in names})

    return columns(before_names), (columns(after_names) if after_names else None)
