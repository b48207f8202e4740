import os

import pytest
import torch

from latentlab._threads import single_thread

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def one_thread():
    """Module-wide :func:`single_thread`; opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    with single_thread():
        yield


@pytest.fixture(scope="session")
def single_thread_context():
    """:func:`single_thread` for fixtures in other folders (conftest modules are not importable)."""
    return single_thread


@pytest.fixture(scope="session")
def tiny_faces_models(tmp_path_factory, single_thread_context):
    """Tiny trained faces checkpoints ``{"gan", "vae", "classifier"} -> Path``, trained once per session.

    The training helper lives in tests/analysis/conftest.py (whose fixtures pytest shows only
    below that folder); it is loaded from there so every folder shares one training.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_tiny_faces_models", Path(__file__).parent / "analysis" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with single_thread_context():
        return module.train_tiny_models(tmp_path_factory.getbasetemp() / "tiny-faces-models")



@pytest.fixture(scope="session")
def small_clip_config():
    """A CLIP run config smaller than faces-clip-tiny, enough to learn the attributes the captions name."""
    return {"model": {"kind": "clip", "embed_dim": 32, "base_channels": 8, "width": 32, "layers": 1, "heads": 2,
                      "vocabulary_seeds": 4},
            "train": {"steps": 250, "batch_size": 64, "lr": 2e-3, "betas": [0.9, 0.98], "log_every": 10,
                      "checkpoint_every": 0, "ema_decay": 0.0}}


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory, single_thread_context, small_clip_config):
    """``(TrainResult, Path)`` of a small CLIP trained once per session: 250 steps on 2000 faces of
    32 px (seed 0), about 30 s on one core. Its zero-shot glasses accuracy on unseen faces is far
    above chance (tests/models/test_clip.py)."""
    from latentlab.data import load
    from latentlab.training import train

    out = tmp_path_factory.mktemp("tiny-clip") / "clip.pt"
    with single_thread_context():
        result = train(small_clip_config, dataset=load("faces", n=2000, size=32, seed=0), out=out, progress=False)
    return result, out


@pytest.fixture(scope="session")
def draw_captioned_images():
    """``draw(root, n, seed) -> (classes, rows)``: ``n`` RGB images of 32 px written to ``root``
    (``img000.png`` ...), each one red or blue disc or square on black, of random size and place,
    with three captions naming its colour and shape in different words, written to
    ``root/captions.csv`` (columns file, caption). ``classes`` (n,) is colour + 2 * shape
    (0 red disc, 1 blue disc, 2 red square, 3 blue square); ``rows`` the (file, caption) rows."""
    import csv

    import numpy as np
    from PIL import Image, ImageDraw

    colours = {"red": (220, 40, 40), "blue": (40, 60, 220)}
    shapes = {"disc": ("disc", "circle", "round dot"), "square": ("square", "box", "block")}
    templates = ("a {colour} {shape}", "{shape}, {colour}", "a picture of a {colour} {shape}")

    def draw(root, n, seed):
        rng = np.random.default_rng(seed)
        root.mkdir(parents=True, exist_ok=True)
        classes = rng.integers(4, size=n)
        rows = []
        for i, c in enumerate(classes):
            colour, shape = list(colours)[c % 2], list(shapes)[c // 2]
            image = Image.new("RGB", (32, 32))
            r = int(rng.integers(7, 12))
            x, y = (int(v) for v in rng.integers(r, 32 - r, size=2))
            paint = ImageDraw.Draw(image).ellipse if shape == "disc" else ImageDraw.Draw(image).rectangle
            paint([x - r, y - r, x + r, y + r], fill=colours[colour])
            name = f"img{i:03d}.png"
            image.save(root / name)
            rows += [(name, t.format(colour=colour, shape=shapes[shape][int(rng.integers(3))])) for t in templates]
        with open(root / "captions.csv", "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([("file", "caption"), *rows])
        return classes, rows

    return draw


#: Centred 32 px faces (nuisance 0) of the small text DDPM of :func:`tiny_text_models`, and its classifier's.
TEXT_FACES = {"size": 32, "seed": 0, "nuisance": 0.0}


@pytest.fixture(scope="session")
def tiny_text_models(tmp_path_factory, single_thread_context, tiny_clip):
    """``{"ddpm": Path, "classifier": Path}``, trained once per session on :data:`TEXT_FACES`.

    The DDPM is faces-ddpm-text-tiny made smaller (base 8, levels [1, 2], 10 DDIM steps),
    reading captions with ``tiny_clip``'s text encoder, trained 350 steps of 32 faces out
    of 2000; the classifier is trained 150 steps on 2000 faces of the same rendering (its
    held-out accuracy is about 1 for every binary attribute). Centred faces: with shifts,
    tilts and backgrounds the small model learns much less in this time. It follows the
    sex and age a prompt names (tests/metrics/test_text_to_image.py) and an edit by prompt
    ages faces (tests/analysis/test_prompt_editing.py); it draws no glasses for a prompt yet
    (that takes base 16 and more steps, not the time of a test).
    """
    from latentlab.data import load
    from latentlab.training import train, train_classifier

    folder = tmp_path_factory.mktemp("tiny-text-models")
    paths = {"ddpm": folder / "ddpm.pt", "classifier": folder / "classifier.pt"}
    config = {"model": {"kind": "ddpm", "base_channels": 8, "channel_mults": [1, 2], "num_res_blocks": 1,
                        "norm_groups": 8, "attention_heads": 2, "schedule": "cosine", "prediction": "v",
                        "decode_steps": 10, "condition": "text", "clip_model": str(tiny_clip[1]),
                        "cross_attention_resolutions": [16], "guidance_scale": 3.0, "label_dropout": 0.2},
              "train": {"steps": 350, "batch_size": 32, "lr": 2e-3, "log_every": 50, "checkpoint_every": 0,
                        "ema_decay": 0.0}}
    with single_thread_context():
        train(config, dataset=load("faces", n=2000, **TEXT_FACES), out=paths["ddpm"], progress=False)
        train_classifier("faces", out=paths["classifier"], n=2000, steps=150,
                         data_options={k: v for k, v in TEXT_FACES.items()}, progress=False)
    return paths
