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
