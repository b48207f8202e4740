"""``latentlab encode`` keeps finished batches (resume after a crash) and shares them across processes."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import latentlab
from latentlab.cli import cli
from latentlab.codes import encode_dataset, prepare_parts
from latentlab.data import load
from latentlab.models.base import Generator


class CountingEncoder(Generator):
    """A trained model, with a count of the images it encodes."""

    def __init__(self, model):
        self.model, self.latent_shape, self.encoded = model, model.latent_shape, 0

    def decode(self, z):
        return self.model.decode(z)

    def encode(self, x):
        self.encoded += len(x)
        return self.model.encode(x)


@pytest.fixture(scope="module")
def faces():
    return load("faces", n=40, size=32, seed=3, nuisance=0.0)


def test_an_interrupted_encoding_redoes_only_the_missing_batches(tiny_faces_models, faces, tmp_path):
    vae = latentlab.load(tiny_faces_models["vae"])
    whole = encode_dataset(vae, faces, batch_size=8).z
    parts = prepare_parts(tmp_path / "codes.npz.parts", {"n": 40})
    encode_dataset(vae, faces, batch_size=8, parts=parts)
    assert sorted(p.name for p in parts.glob("*.npy")) == [f"{b:06d}.npy" for b in range(5)]
    for b in (1, 4):  # as if the run had stopped before these batches were written
        (parts / f"{b:06d}.npy").unlink()
    counting = CountingEncoder(vae)
    again = encode_dataset(counting, faces, batch_size=8, parts=prepare_parts(parts, {"n": 40}, resume=True))
    assert counting.encoded == 16  # two batches of 8, the others read back
    np.testing.assert_array_equal(again.z, whole)
    with pytest.raises(FileExistsError, match="did not complete"):
        prepare_parts(parts, {"n": 40})
    with pytest.raises(ValueError, match="another encoding"):
        prepare_parts(parts, {"n": 41}, resume=True)


def test_the_cli_keeps_its_parts_until_done_and_resumes(tiny_faces_models, tmp_path):
    args = ["encode", str(tiny_faces_models["vae"]), "--data", "faces", "-o", "size=32", "--n", "24",
            "--batch-size", "8", "--quiet"]
    runner = CliRunner()
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "a.npz")], prog_name="latentlab")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "a.npz.parts").exists()  # gone once the codes are written
    (tmp_path / "b.npz.parts").mkdir()  # left by a run that stopped
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "b.npz")], prog_name="latentlab")
    assert result.exit_code == 2 and "--resume" in result.output and result.output.strip().count("\n") == 0
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "b.npz"), "--resume"], prog_name="latentlab")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "a.npz")["z"], np.load(tmp_path / "b.npz")["z"])


def test_two_processes_write_what_one_writes(tiny_faces_models, tmp_path):
    # --samples, not --n: torchrun's parser would take --n for an abbreviation of its own --nnodes
    args = ["encode", str(tiny_faces_models["vae"]), "--data", "faces", "-o", "size=32", "--samples", "36",
            "--batch-size", "8", "--device", "cpu", "--quiet"]
    one = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "one.npz")], prog_name="latentlab")
    assert one.exit_code == 0, one.output
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533", "-m", "latentlab",
         *args, "--out", str(tmp_path / "two.npz")],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("encoded 36 samples") == 1  # one process speaks
    a, b = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    assert sorted(a.files) == sorted(b.files)
    for key in a.files:
        if not key.startswith("info/"):
            np.testing.assert_array_equal(a[key], b[key])
    assert not (tmp_path / "two.npz.parts").exists()
    assert torch.from_numpy(b["z"]).shape == (36, 16)
