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
