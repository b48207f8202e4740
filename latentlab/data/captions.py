"""Captions made from ground-truth attributes: text for the built-in ``faces`` and ``shapes``.

Each caption states facts of its image in words — "an old man with glasses and a hat",
"photo of a smiling young woman, no glasses" — with the wording drawn at random: the
template, synonyms, the order of the things listed, and whether an absent attribute is
negated explicitly or left out. What a caption says is always true of its image: an
attribute that is present is always mentioned; one that is absent is either negated or
not mentioned. The same attributes and seed give the same captions.

Two sets of templates: ``wordings="train"`` for training, and ``wordings="held_out"``,
templates never used in training, for testing whether a text model generalises beyond
the phrasings it saw. :func:`read_face_caption` reads a caption back into the facts it
states (the check that captions say what they should).

Users' data carries its own captions instead (caption kind ``"text"``, several per image,
read by :func:`latentlab.data.files.load_image_folder`); :func:`choose_captions` picks one
per image with a seed. :class:`CaptionSource` gives any model that trains on captions the
captions of a batch, whichever of the two kinds its data has.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from latentlab._convert import to_numpy
from latentlab._validation import check_choice

__all__ = ["face_captions", "shape_captions", "read_face_caption", "captions_for", "attribute_prompts",
           "choose_captions", "CaptionSource", "WORDINGS", "FACE_WORDS", "CAPTION_KINDS", "USER_CAPTIONS"]

WORDINGS = ("train", "held_out")

# attribute -> (words when present, words when absent); a caption uses one of each list
FACE_WORDS = {
    "glasses": (["glasses", "spectacles", "eyeglasses"], ["no glasses", "without glasses", "not wearing glasses"]),
    "hat": (["a hat", "a cap"], ["no hat", "without a hat", "bareheaded"]),
    "beard": (["a beard", "facial hair"], ["no beard", "clean-shaven", "without a beard"]),
}
_AGE = {1: ["old", "elderly", "older", "senior"], 0: ["young", "youthful"]}
_SMILE = {1: ["smiling", "grinning", "happy"], 0: ["serious", "unsmiling", "straight-faced"]}
_PERSON = {1: ["man", "guy", "gentleman"], 0: ["woman", "lady"]}
_HAIR = {0: ["black", "jet-black"], 1: ["brown", "brunette"], 2: ["blond", "blonde", "fair"], 3: ["red", "ginger"]}
_SKIN = {0: ["light", "pale"], 1: ["medium", "olive"], 2: ["dark", "deep brown"]}

# {a}: the article; {who}: the person with adjectives; {has}: " with ..." (may be empty);
# {neg}: ", no glasses, ..." (may be empty)
_FACE_TEMPLATES = {
    "train": [
        "{a} {who}{has}{neg}",
        "photo of {a} {who}{has}{neg}",
        "a picture of {a} {who}{has}{neg}",
        "cartoon of {a} {who}{has}{neg}",
        "an image showing {a} {who}{has}{neg}",
    ],
    "held_out": [
        "portrait: {a} {who}{has}{neg}",
        "here is {a} {who}{has}{neg}",
        "drawing of {a} {who}{has}{neg}",
    ],
}


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def face_captions(attrs: dict, seed: int = 0, wordings: str = "train", negate: float = 0.3) -> list[str]:
    """One caption per face from its attributes (the ``faces`` dataset's ``attrs``).

    Parameters
    ----------
    attrs : dict of str -> int array (N,)
        ``glasses``, ``smile``, ``age``, ``beard``, ``hat``, ``male`` (0/1), ``hair_color``
        (0-3: black, brown, blond, red) and ``skin_tone`` (0-2: light, medium, dark).
    seed : int
        Draws the wording; the same seed gives the same captions.
    wordings : {"train", "held_out"}
        Which set of templates.
    negate : float
        Probability that an absent attribute is negated explicitly ("no glasses") rather
        than left out (also: that a face that does not smile is called serious).

    Returns
    -------
    list of N str
    """
    check_choice(wordings, "wordings", WORDINGS)
    need = ("glasses", "smile", "age", "beard", "hat", "male", "hair_color", "skin_tone")
    missing = [k for k in need if k not in attrs]
    if missing:
        raise ValueError(f"face captions need the attributes {', '.join(need)}; missing: {', '.join(missing)}")
    values = {k: np.asarray(attrs[k]).astype(int) for k in need}
    rng = np.random.default_rng([seed, WORDINGS.index(wordings)])
    templates = _FACE_TEMPLATES[wordings]
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    out = []
    for i in range(len(values["glasses"])):
        v = {k: int(values[k][i]) for k in need}
        adjectives = [pick(_AGE[v["age"]])]
        if v["smile"] or rng.random() < negate:
            adjectives.insert(int(rng.integers(2)), pick(_SMILE[v["smile"]]))
        who = " ".join([*adjectives, pick(_PERSON[v["male"]])])
        features, absent = [], []
        for name, (yes, no) in FACE_WORDS.items():
            if name == "beard" and not v["male"]:
                continue  # faces of women are drawn without beards: saying so adds nothing
            if v[name]:
                features.append(pick(yes))
            elif rng.random() < negate:
                absent.append(pick(no))
        if rng.random() < 0.5:
            features.append(f"{pick(_HAIR[v['hair_color']])} hair")
        if rng.random() < 0.3:
            features.append(f"{pick(_SKIN[v['skin_tone']])} skin")
        features = [features[j] for j in rng.permutation(len(features))]
        absent = [absent[j] for j in rng.permutation(len(absent))]
        has = f" with {_join(features)}" if features else ""
        neg = "".join(f", {phrase}" for phrase in absent)
        out.append(pick(templates).format(a=_article(who), who=who, has=has, neg=neg))
    return out


_SHAPE_NAMES = {0: ["square", "box"], 1: ["ellipse", "oval"], 2: ["heart"]}
_SHAPE_TEMPLATES = {
    "train": ["a {size} {shape} {where}", "a white {shape}, {size}, {where}", "{size} {shape} {where}"],
    "held_out": ["there is a {size} {shape} {where}", "one {shape}, {size}, placed {where}"],
}


def shape_captions(attrs: dict, seed: int = 0, wordings: str = "train") -> list[str]:
    """One caption per ``shapes`` image: its shape, size (scale index 0-5) and position (0-31 each axis)."""
    check_choice(wordings, "wordings", WORDINGS)
    for k in ("shape", "scale", "pos_x", "pos_y"):
        if k not in attrs:
            raise ValueError(f"shape captions need the attributes shape, scale, pos_x, pos_y; missing: {k}")
    rng = np.random.default_rng([seed, 2 if wordings == "train" else 3])
    templates = _SHAPE_TEMPLATES[wordings]
    out = []
    for shape, scale, x, y in zip(*(np.asarray(attrs[k]).astype(int) for k in ("shape", "scale", "pos_x", "pos_y"))):
        size = ["small", "tiny", "little"][int(rng.integers(3))] if scale < 2 else \
            ["medium-sized", "mid-sized"][int(rng.integers(2))] if scale < 4 else ["large", "big"][int(rng.integers(2))]
        horizontal = "left" if x < 11 else "right" if x > 20 else "centre"
        vertical = "top" if y < 11 else "bottom" if y > 20 else "middle"
        where = f"at the {vertical} {horizontal}" if (horizontal, vertical) != ("centre", "middle") else "in the centre"
        names = _SHAPE_NAMES[int(shape)]
        text = templates[int(rng.integers(len(templates)))].format(size=size, shape=names[int(rng.integers(len(names)))],
                                                                   where=where)
        out.append(text)
    return out


def read_face_caption(caption: str) -> dict[str, int]:
    """The facts a face caption states: attribute -> value, for the attributes it mentions."""
    text = caption.lower()
    facts: dict[str, int] = {}
    has = lambda phrase: re.search(rf"(^|[\s,:]){re.escape(phrase)}($|[\s,])", text) is not None  # noqa: E731
    for name, (yes, no) in FACE_WORDS.items():
        if any(has(w) for w in no):
            facts[name] = 0
        elif any(has(w) for w in yes):
            facts[name] = 1
    for attribute, table, suffix in (("age", _AGE, ""), ("smile", _SMILE, ""), ("male", _PERSON, ""),
                                     ("hair_color", _HAIR, " hair"), ("skin_tone", _SKIN, " skin")):
        for value, words in table.items():
            if any(has(w + suffix) for w in words):
                facts[attribute] = value
    return facts


CAPTION_KINDS = ("faces", "shapes")


def captions_for(kind: str, attrs: dict, seed: int = 0, wordings: str = "train") -> list[str]:
    """The captions of a built-in dataset of ``kind`` (one of :data:`CAPTION_KINDS`) from its ``attrs``."""
    check_choice(kind, "caption kind", CAPTION_KINDS)
    if kind == "faces":
        return face_captions(attrs, seed=seed, wordings=wordings)
    return shape_captions(attrs, seed=seed, wordings=wordings)


def attribute_prompts(kind: str = "faces") -> dict[str, tuple[list[str], list[str]]]:
    """Prompt pairs for zero-shot attribute prediction: attribute -> (prompts for "yes", for "no").

    Each side is an ensemble (Radford et al. 2021, section 3.1.4): the same statement in
    the words of the training captions, said of each kind of person, so that a prompt
    reads only words a model trained on these captions knows and the person's sex does
    not decide between the two sides. Only ``faces`` has binary attributes to prompt for.
    """
    check_choice(kind, "caption kind", ("faces",))
    persons = [w for words in _PERSON.values() for w in words]
    prompts = {}
    for name, (yes, no) in FACE_WORDS.items():
        prompts[name] = ([f"a {p} with {w}" for p in persons for w in yes], [f"a {p}, {w}" for p in persons for w in no])
    for name, table in (("smile", _SMILE), ("age", _AGE)):
        prompts[name] = tuple([f"{_article(w)} {w} {p}" for p in persons for w in table[v]] for v in (1, 0))
    prompts["male"] = tuple([f"photo of {_article(w)} {w}" for w in _PERSON[v]] for v in (1, 0))
    return prompts


#: The caption kind of data that carries its own captions (a user's captions file).
USER_CAPTIONS = "text"


def choose_captions(texts, seed: int, indices=None, wordings: str = "train") -> list[str]:
    """One caption per sample, each chosen at random among that sample's stored captions.

    Parameters
    ----------
    texts : list of N lists of str
        The captions of each sample (at least one each).
    seed : int
        Draws the choice; the same seed gives the same captions.
    indices : int array (B,), optional
        The samples wanted; default all N, in order.
    wordings : {"train"}
        Stored captions are the data's own texts: ``"held_out"`` (templates kept from
        training, for attribute captions) is an error.

    Returns
    -------
    list of str, one per index
        The choice for sample ``i`` depends on ``seed``, ``i`` and ``N`` only, so a batch gets
        what the whole dataset would: ``choose_captions(t, s, idx)[j] == choose_captions(t, s)[idx[j]]``.
    """
    check_choice(wordings, "wordings", WORDINGS)
    if wordings != "train":
        raise ValueError(f"wordings={wordings!r}: stored captions are the data's own texts and have no held-out "
                         "wordings; use wordings='train'")
    u = np.random.default_rng([seed, 4]).random(len(texts))  # 4: apart from the streams of the templates
    indices = range(len(texts)) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1).tolist()
    return [texts[i][int(u[i] * len(texts[i]))] for i in indices]


class CaptionSource:
    """The captions of any batch of a dataset, for a model that trains on captions.

    Made once from the training data (:meth:`from_dataset`, in the model's ``build``); at
    each step :meth:`draw` gives the captions of the batch, with a seed from the run's
    random stream so that a resumed run draws the same ones.

    Parameters
    ----------
    kind : {"faces", "shapes", "text"}
        ``"faces"``/``"shapes"``: captions made from the label rows ``y``; ``"text"``
        (:data:`USER_CAPTIONS`): a choice among the stored ``texts`` of the batch's samples.
    attributes : list of str
        The columns of ``y`` (the dataset's ``attribute_names``), for the attribute kinds.
    texts : list of N lists of str, optional
        The stored captions of each sample, for ``"text"``.
    """

    def __init__(self, kind: str, attributes=(), texts=None):
        check_choice(kind, "caption kind", (*CAPTION_KINDS, USER_CAPTIONS))
        if (kind == USER_CAPTIONS) != (texts is not None):
            raise ValueError(f"texts are given for caption kind {USER_CAPTIONS!r} only")
        self.kind, self.attributes, self.texts = kind, list(attributes), texts

    @classmethod
    def from_dataset(cls, dataset) -> "CaptionSource":
        """The captions of ``dataset`` (a :class:`~latentlab.data.Dataset`); ``ValueError`` when it has none."""
        kind = getattr(dataset, "caption_kind", None)
        if kind is None:
            raise ValueError(f"{dataset.name} has no captions: the built-in faces and shapes make them from their "
                             "attributes, and an image folder takes them from a captions file (captions.csv or "
                             "captions.json in the folder, or the captions= option)")
        return cls(kind, dataset.attribute_names, dataset.texts if kind == USER_CAPTIONS else None)

    def __deepcopy__(self, memo):
        return self  # never changed after it is made: an EMA copy of a model shares it

    def draw_for_step(self, indices, y, generator: torch.Generator) -> list[str]:
        """:meth:`draw` with a seed drawn from ``generator`` (a training run's stream, the same on
        every process), so the wording varies each step and a resumed run draws the same captions."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device).item())
        return self.draw(indices, y, seed)

    def draw(self, indices, y, seed: int, wordings: str = "train") -> list[str]:
        """The captions of a batch: one per sample.

        Parameters
        ----------
        indices : int tensor or array (B,)
            The samples' indices in the dataset (``step.indices`` in ``train_step``); read for ``"text"``.
        y : tensor (B, n_attributes)
            Their label rows (columns in ``attributes`` order); read for ``"faces"``/``"shapes"``.
        seed : int
            Draws the wording (attribute captions) or the choice among stored captions.
        wordings : {"train", "held_out"}
            Templates of attribute captions; stored captions have ``"train"`` only.

        Returns
        -------
        list of B str
        """
        if self.kind == USER_CAPTIONS:
            return choose_captions(self.texts, seed, to_numpy(indices, "indices"), wordings)
        labels = to_numpy(y, "y")
        attrs = {name: np.rint(labels[:, j]).astype(np.int64) for j, name in enumerate(self.attributes)}
        return captions_for(self.kind, attrs, seed=seed, wordings=wordings)

    def vocabulary_texts(self, dataset, draws: int) -> list[str]:
        """Every text a tokenizer for these captions should read: all the stored captions, or for
        attribute captions ``draws`` draws of each sample's caption in the training wordings (enough
        for every synonym and template word to appear)."""
        if self.kind == USER_CAPTIONS:
            return [t for texts in self.texts for t in texts]
        return [t for s in range(draws) for t in dataset.captions("train", seed=s)]
