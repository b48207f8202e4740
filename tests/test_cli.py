"""The command line: help everywhere, one-line errors with exit code 2, no overwriting."""

import subprocess
import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner

import latentlab
from latentlab.cli import cli


def run(args, expect=0):
    """Run the CLI as the console script does and return (code, stdout, stderr)."""
    runner = CliRunner()
    result = runner.invoke(cli, args, catch_exceptions=False)
    code = result.exit_code
    assert code == expect, f"exit {code} != {expect}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return code, result.stdout, result.stderr


def _all_commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, (*prefix, name))


def test_version():
    _, out, _ = run(["--version"])
    assert latentlab.__version__ in out


@pytest.mark.parametrize("path", list(_all_commands(cli)), ids=lambda p: " ".join(p))
def test_every_command_has_help(path):
    _, out, _ = run([*path, "--help"])
    assert "Usage:" in out and len(out.splitlines()) > 3


def test_unknown_dataset_is_one_line_exit_2():
    _, _, err = run(["data", "stats", "celebb"], expect=2)
    assert err.strip().count("\n") == 0
    assert "unknown dataset 'celebb'" in err and "faces" in err


def test_bad_option_is_one_line_exit_2():
    _, _, err = run(["data", "stats", "faces", "-o", "sise=32"], expect=2)
    assert "unknown option 'sise'" in err and "size" in err and err.strip().count("\n") == 0
    _, _, err = run(["data", "preview", "faces", "--n", "0"], expect=2)
    assert err.strip().count("\n") == 0 and "--n" in err


def test_preview_writes_figure_and_data_and_never_overwrites(tmp_path):
    out = tmp_path / "grid.png"
    run(["data", "preview", "faces", "--n", "16", "--label", "glasses", "--out", str(out)])
    assert out.stat().st_size > 1000
    saved = np.load(tmp_path / "grid.data.npz")
    assert saved["images"].shape == (16, 3, 32, 32) and len(saved["labels"]) == 16
    before = out.read_bytes()
    _, _, err = run(["data", "preview", "faces", "--n", "16", "--out", str(out)], expect=2)
    assert "already exists" in err and "--force" in err and out.read_bytes() == before
    run(["data", "preview", "faces", "--n", "9", "--seed", "3", "--out", str(out), "--force"])
    assert out.read_bytes() != before


def test_preview_unknown_label_lists_attributes(tmp_path):
    _, _, err = run(["data", "preview", "faces", "--n", "4", "--label", "glases", "--out", str(tmp_path / "g.png")], expect=2)
    assert "unknown attribute 'glases'" in err and "glasses" in err


def test_stats_prints_frequencies_and_correlations():
    _, out, _ = run(["data", "stats", "faces", "--n", "2000"])
    assert "faces: 2000 samples" in out and "glasses" in out and "phi" in out


def test_train_sample_encode_round_trip(tmp_path):
    ckpt = tmp_path / "vae.pt"
    small = ["--set", "train.steps=4", "--set", "data.options.n=128", "--set", "train.batch_size=16"]
    _, out, _ = run(["train", "faces-vae-tiny", "--out", str(ckpt), "--quiet", *small])
    assert "trained 4 steps" in out and ckpt.exists()
    _, _, err = run(["train", "faces-vae-tiny", "--out", str(ckpt), "--quiet", *small], expect=2)
    assert "already exists" in err
    _, _, err = run(["train", "faces-vae-tiny", "--out", str(ckpt), "--quiet", "--set", "train.stepz=1"], expect=2)
    assert "unknown field train.stepz" in err
    run(["train", "faces-vae-tiny", "--out", str(ckpt), "--quiet", "--resume", "--set", "train.steps=6"])
    run(["sample", str(ckpt), "--n", "8", "--out", str(tmp_path / "s.png")])
    assert np.load(tmp_path / "s.data.npz")["images"].shape == (8, 3, 32, 32)
    _, _, err = run(["sample", str(ckpt), "--steps", "10", "--out", str(tmp_path / "s2.png")], expect=2)
    assert "diffusion models only" in err
    _, out, _ = run(["encode", str(ckpt), "--data", "faces", "--n", "40", "--out", str(tmp_path / "z.npz")])
    from latentlab.codes import LatentCodes

    codes = LatentCodes.load(tmp_path / "z.npz")
    assert codes.z.shape == (40, 16) and "glasses" in codes.attrs and len(codes.attrs["glasses"]) == 40


def test_not_a_checkpoint_is_one_line(tmp_path):
    bad = tmp_path / "x.pt"
    bad.write_text("nope")
    _, _, err = run(["sample", str(bad), "--out", str(tmp_path / "s.png")], expect=2)
    assert "not a latentlab checkpoint" in err and err.strip().count("\n") == 0


def test_installed_entry_points():
    out = subprocess.run(["latentlab", "--version"], capture_output=True, text=True, check=True).stdout
    assert latentlab.__version__ in out
    out = subprocess.run([sys.executable, "-m", "latentlab", "--help"], capture_output=True, text=True, check=True).stdout
    assert "Usage:" in out
