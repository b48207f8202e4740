"""Users' own captions beside an image folder: a captions CSV or a COCO-style JSON give the
same Dataset texts, which follow subset and are chosen among with a seed; each mistake in a
captions file is one clear error; CaptionSource draws a batch's captions of either kind."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from latentlab.data import load
from latentlab.data.captions import CaptionSource, choose_captions
from latentlab.data.files import load_image_folder

pytestmark = pytest.mark.usefixtures("one_thread")

# the images' relative paths in the folder's sorted order, and their captions in file order
FILES = ["a/one.png", "a/two.png", "b/three.png", "four.png"]
CAPTIONS = [["a red disc", "one red circle"], ["a blue box"], ["a blue disc", "round and blue", "blue dot"],
            ["a red square"]]


def _csv(rows, header="file,caption"):
    return header + "\n" + "".join(f'{f},"{c}"\n' for f, c in rows)


def _rows(files=FILES, captions=CAPTIONS):
    """(file, caption) rows, interleaved across images, as a real file may list them."""
    rows = [(f, c) for f, texts in zip(files, captions) for c in texts]
    return rows[1::2] + rows[::2]


def _coco(rows):
    files = list(dict.fromkeys(f for f, _ in rows))
    return {"images": [{"id": 100 + k, "file_name": f, "width": 8} for k, f in enumerate(files)],
            "annotations": [{"id": k, "image_id": 100 + files.index(f), "caption": c} for k, (f, c) in enumerate(rows)]}


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "pics"
    for k, rel in enumerate(FILES):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 40 * k, dtype=np.uint8)).save(root / rel)
    return root


def _expected_order(rows):
    """The captions of each image in the order the rows list them."""
    return [[c for f, c in rows if f == rel] for rel in FILES]


def test_a_csv_and_a_coco_json_of_the_same_captions_give_the_same_texts(folder, tmp_path):
    rows = _rows()
    (folder / "captions.csv").write_text(_csv(rows))
    from_csv = load(folder)  # captions.csv in the folder is found
    assert from_csv.caption_kind == "text" and from_csv.texts == _expected_order(rows)
    (tmp_path / "captions_train.json").write_text(json.dumps(_coco(rows)))
    from_json = load(folder, captions=tmp_path / "captions_train.json")
    assert from_json.texts == from_csv.texts
    # COCO's file_name is usually the bare file name: unique names match across sub-folders
    bare = [(f.split("/")[-1], c) for f, c in rows]
    (folder / "captions.csv").unlink()
    (folder / "captions.json").write_text(json.dumps(_coco(bare)))
    assert load(folder).texts == from_csv.texts  # captions.json in the folder is found too
    assert load(folder).info["captions_file"].endswith("captions.json")
    # built-in behaviour is unchanged: a folder without captions has none
    (folder / "captions.json").unlink()
    plain = load(folder)
    assert plain.texts is None and plain.caption_kind is None


def test_texts_follow_subset_and_the_seed_chooses_among_them(folder):
    (folder / "captions.csv").write_text(_csv(_rows()))
    data = load(folder)
    texts = _expected_order(_rows())
    assert data.subset([3, 0]).texts == [texts[3], texts[0]]
    assert data.subset([3, 0]).caption_kind == "text"
    chosen = [data.captions(seed=s) for s in range(60)]
    assert chosen[5] == data.captions(seed=5) and chosen[0] == data.captions()  # default seed 0
    for i, options in enumerate(texts):
        # each image's caption is one of its own, and over many seeds every one of them is chosen
        assert {c[i] for c in chosen} == set(options)
    # a batch gets what the whole data would: the choice depends on the seed and the index only
    idx = np.array([2, 0, 2])
    assert choose_captions(data.texts, 7, idx) == [data.captions(seed=7)[i] for i in idx]
    with pytest.raises(ValueError, match=r"no held-out wordings; use wordings='train'"):
        data.captions("held_out")


def test_caption_column_limit_and_subfolders(folder):
    (folder / "captions.csv").write_text("file,source,text\n" + "".join(f"{f},web,{c}\n" for f, c in _rows()))
    with pytest.raises(ValueError, match=r"needs a column named 'caption' \(choose another column with "
                                         r"caption_column=\); its columns are: file, source, text"):
        load(folder)
    data = load(folder, caption_column="text", limit=2)  # rows of the images not loaded are skipped
    assert data.texts == _expected_order(_rows())[:2]
    data = load_image_folder(folder, caption_column="text", subfolders=["b"])
    assert data.texts == [_expected_order(_rows())[2]]


def _error(folder, tmp_path, name, text, **options):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load(folder, captions=path, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name, text, expected", [
    ("c.csv", "name,caption\n", r"needs a column named 'file' .*its columns are: name, caption"),
    ("c.csv", _csv(_rows()[:-1]), r"1 image\(s\) have no caption in .*c\.csv, e\.g\. four\.png"),
    ("c.csv", _csv([*_rows(), ("five.png", "a green heart")]),
     r"c\.csv line 9: 'five\.png' is not an image in .*pics"),
    ("c.csv", _csv([*_rows(), ("four.png", "  ")]), r"c\.csv line 9: the caption of 'four\.png' is empty"),
    ("c.json", "{not json", r"c\.json is not valid JSON .*expected COCO-style captions"),
    ("c.json", "[1, 2]", r"needs lists 'images' and 'annotations' at the top; it holds a JSON list"),
    ("c.json", json.dumps({"images": []}), r"needs lists 'images' and 'annotations'.*holds keys 'images'"),
    ("c.json", json.dumps({"images": [{"file_name": "four.png"}], "annotations": []}),
     r"images\[0\] is .*not an object with 'id' \(a number or string\) and 'file_name'"),
    ("c.json", json.dumps({"images": [{"id": 1, "file_name": "four.png"}],
                           "annotations": [{"image_id": 2, "caption": "a red square"}]}),
     r"annotations\[0\] has image_id 2, which no entry of 'images' has"),
    ("c.json", json.dumps({"images": [{"id": 1, "file_name": "four.png"}],
                           "annotations": [{"image_id": 1, "caption": None}]}),
     r"annotations\[0\] is .*not an object with 'image_id' \(a number or string\) and 'caption' \(a string\)"),
    ("c.json", json.dumps({"images": [{"id": 1, "file_name": "four.png"}, {"id": 1, "file_name": "a/one.png"}],
                           "annotations": []}), r"images\[1\] repeats the id 1"),
])
def test_each_mistake_in_a_captions_file_is_one_clear_error(folder, tmp_path, name, text, expected):
    import re

    assert re.search(expected, _error(folder, tmp_path, name, text)), expected


def test_other_caption_mistakes(folder, tmp_path):
    message = _error(folder, tmp_path, "c.json", json.dumps(_coco(_rows())), caption_column="text")
    assert "caption_column='text' is for a captions CSV" in message
    with pytest.raises(FileNotFoundError, match="captions file .*nowhere.csv does not exist"):
        load(folder, captions=tmp_path / "nowhere.csv")
    with pytest.raises(ValueError, match="caption_column must name a column"):
        load(folder, caption_column="")
    with pytest.raises(ValueError, match=r"texts\[1\] is \[\]; each sample needs a list of one or more"):
        from latentlab.data import Dataset

        Dataset(torch.zeros(2, 1, 4, 4), texts=[["a"], []])


def test_the_cli_names_a_captions_mistake_in_one_line(folder, tmp_path):
    from latentlab.cli import cli

    (folder / "captions.csv").write_text(_csv(_rows()[:-1]))
    result = CliRunner().invoke(cli, ["train", "faces-clip-tiny", "--set", f"data.name={folder}", "--quiet",
                                      "--out", str(tmp_path / "clip.pt")])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    # (the line before says which of faces' options the folder does not take)
    assert [line for line in result.stderr.splitlines() if "error" in line] == [
        f"latentlab: error: 1 image(s) have no caption in {folder / 'captions.csv'}, e.g. four.png; every image "
        "needs one (named by its path relative to the folder, or its file name)"]
    assert not (tmp_path / "clip.pt").exists()


def test_a_caption_source_draws_what_the_data_would(folder):
    faces = load("faces", n=64, size=32, seed=0)
    source = CaptionSource.from_dataset(faces)
    idx = np.arange(10, 42)
    y = torch.as_tensor(faces.labels(idx), dtype=torch.float32)
    # attribute captions come from the label rows, as a CLIP has always made them
    assert source.draw(idx, y, seed=3) == faces.subset(idx).captions("train", seed=3)
    assert source.draw(idx, y, seed=3, wordings="held_out") == faces.subset(idx).captions("held_out", seed=3)
    (folder / "captions.csv").write_text(_csv(_rows()))
    data = load(folder)
    stored = CaptionSource.from_dataset(data)
    batch = torch.tensor([3, 1, 2], dtype=torch.int64)
    assert stored.draw(batch, torch.zeros(3, 0), seed=9) == [data.captions(seed=9)[i] for i in batch.tolist()]
    assert sorted(stored.vocabulary_texts(data, draws=4)) == sorted(c for texts in CAPTIONS for c in texts)
    with pytest.raises(ValueError, match="digits has no captions"):
        CaptionSource.from_dataset(load("digits", n=16))
