"""Captions from ground-truth attributes say only what is true; the tokenizer reads them back."""

import numpy as np
import pytest
import torch

from latentlab.data import load
from latentlab.data.captions import face_captions, read_face_caption, shape_captions
from latentlab.data.tokenizer import Tokenizer, UnknownWordsWarning


@pytest.fixture(scope="module")
def faces():
    return load("faces", n=2000, size=32, seed=4)


def test_every_caption_states_only_true_facts_and_every_present_attribute(faces):
    captions = face_captions(faces.attrs, seed=0)
    assert len(captions) == 2000
    stated = negated = 0
    for i, caption in enumerate(captions):
        facts = read_face_caption(caption)
        for name, value in facts.items():
            assert value == faces.attrs[name][i], (caption, name)
        for name in ("glasses", "hat", "age", "male") + (("beard",) if faces.attrs["male"][i] else ()):
            if name in ("age", "male") or faces.attrs[name][i]:
                assert name in facts, (caption, name)  # age, sex and whatever is worn are always said
        stated += len(facts)
        negated += sum(v == 0 for k, v in facts.items() if k in ("glasses", "hat", "beard"))
    assert negated > 500  # explicit negations are common ("no glasses")
    assert len(set(captions)) > 1000  # varied wording


def test_same_seed_same_captions_other_seed_same_facts(faces):
    a, b = face_captions(faces.attrs, seed=3), face_captions(faces.attrs, seed=3)
    c = face_captions(faces.attrs, seed=4)
    assert a == b and a != c
    for x, y, i in zip(a, c, range(200)):
        fx, fy = read_face_caption(x), read_face_caption(y)
        assert all(fx[k] == fy[k] for k in set(fx) & set(fy))


def test_held_out_wordings_use_templates_never_seen_in_training(faces):
    def opening(caption):  # the template's words before the person is named
        return caption.split(" a ")[0].split(" an ")[0]

    train = {opening(c) for c in face_captions(faces.attrs, seed=0)}
    held = {opening(c) for c in face_captions(faces.attrs, seed=0, wordings="held_out")}
    assert len(train) >= 4 and len(held) >= 3 and not train & held
    with pytest.raises(ValueError, match="wordings"):
        face_captions(faces.attrs, wordings="test")
    with pytest.raises(ValueError, match="missing: glasses"):
        face_captions({"smile": np.zeros(3)})


def test_shape_captions_name_the_shape_size_and_place():
    shapes = load("shapes", n=300, seed=1)
    captions = shape_captions(shapes.attrs, seed=0)
    names = {0: ("square", "box"), 1: ("ellipse", "oval"), 2: ("heart",)}
    for caption, shape, scale, x in zip(captions, shapes.attrs["shape"], shapes.attrs["scale"], shapes.attrs["pos_x"]):
        assert any(w in caption for w in names[int(shape)]), caption
        assert any(w in caption for w in (("small", "tiny", "little") if scale < 2 else ("large", "big") if scale >= 4
                                          else ("medium",  "mid"))), caption
        if x < 11:
            assert "left" in caption
        elif x > 20:
            assert "right" in caption


def test_tokenizer_round_trip_unknown_words_and_checkpoint_state(faces):
    captions = face_captions(faces.attrs, seed=0)
    tok = Tokenizer.from_texts(captions)
    ids = tok.encode(captions[:50])
    assert ids.shape == (50, 32) and ids.dtype == torch.long
    assert tok.decode(ids) == [" ".join(t for t in c.lower().replace(",", " ,").replace(":", " :").split())
                               for c in captions[:50]]
    with pytest.warns(UnknownWordsWarning, match="zebra, moustache"):
        unknown = tok.encode("a zebra with glasses and a moustache")
    assert (unknown == 1).sum() == 2  # <unk>
    again = Tokenizer.from_dict(tok.to_dict())
    assert torch.equal(again.encode(captions[:5]), ids[:5])
    assert tok.unknown_words("an old Zebra") == ["zebra"]


def test_dataset_captions_follow_the_datasets_seed():
    a, b = load("faces", n=50, size=32, seed=7), load("faces", n=50, size=32, seed=7)
    assert a.captions() == b.captions() == face_captions(a.attrs, seed=7)
    assert a.captions(wordings="held_out") != a.captions()
    assert len(load("shapes", n=20).captions()) == 20
    with pytest.raises(ValueError, match="has no captions"):
        load("digits").captions()
