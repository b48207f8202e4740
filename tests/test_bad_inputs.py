"""Bad inputs, table-driven: each is one clear error, and nothing on disk changes.

Every CLI case runs in a fresh folder holding the same files (tiny checkpoints trained
once per module, damaged copies of them, truncated and foreign ``.npz`` files, ...). It
must exit with status 2, print exactly one line on stderr starting with
``latentlab: error:`` and no traceback, and leave every file in the folder as it was
(bytes and modification time), ``--force`` or not. The API cases give the same
mistakes to the Python functions, which raise the documented exception type with a
message naming the problem.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import latentlab
from latentlab.cli import cli

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ["train.steps=2", "train.batch_size=16", "data.options.n=64", "train.checkpoint_every=0"]


def _damaged_checkpoint(source: Path, target: Path, damage) -> None:
    payload = torch.load(source, weights_only=True)
    damage(payload)
    torch.save(payload, target)


def _misfit(payload):
    """The decoder's first weights replaced by a tensor of another shape (in both weight sets)."""
    for state in payload["weights"].values():
        if state is not None:
            state["decoder.stem.weight"] = torch.zeros(3, 3)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder of the files the cases read, made once: checkpoints, codes, maps, damaged files."""
    from latentlab.analysis.maps import LatentMap
    from latentlab.analysis.workflow import DirectionResult
    from latentlab.codes import LatentCodes
    from latentlab.training import train_classifier
    from latentlab.plots import image_grid, save_figure
    from latentlab.plots.intrinsic_dim import intrinsic_dim_figure
    from latentlab.training import train

    folder = tmp_path_factory.mktemp("bad-inputs")
    vae = folder / "vae.pt"
    train("faces-vae-tiny", out=vae, overrides=TINY, progress=False)
    train_classifier("faces", out=folder / "classifier.pt", n=100, steps=1, progress=False)
    _damaged_checkpoint(vae, folder / "misfit.pt", _misfit)
    _damaged_checkpoint(vae, folder / "list-weights.pt", lambda p: p.update(weights=[1, 2]))
    _damaged_checkpoint(vae, folder / "empty-config.pt", lambda p: p.update(config={}))

    rng = np.random.default_rng(0)
    z = rng.standard_normal((64, 16)).astype(np.float32)
    LatentCodes(z=z, attrs={"glasses": (z[:, 0] > 0).astype(np.int64)}).save(folder / "codes.npz")
    LatentMap(kind="affine").fit(z, z @ rng.standard_normal((16, 16))).save(folder / "map.npz")
    np.savez(folder / "images.npz", images=rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8))
    np.savez(folder / "empty-codes.npz", z=np.zeros((0, 16), np.float32))
    np.savez(folder / "string-codes.npz", z=np.array([["a", "b"]] * 10))
    whole = (folder / "codes.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(whole[: len(whole) // 2])
    (folder / "text.npz").write_text("a text file, not an archive\n")
    for name in ("codes", "map", "images"):  # inputs named as a figure's data file (m.png -> m.data.npz)
        (folder / f"{name}.data.npz").write_bytes((folder / f"{name}.npz").read_bytes())
    (folder / "afile").write_text("a file where a folder is expected\n")

    direction = np.eye(16)[0]
    DirectionResult(attribute="glasses", direction=direction, primal=direction, intercept=0.0,
                    model="vae.pt").save(folder / "glasses.npz")
    _drop_array(folder / "glasses.npz", folder / "no-primal.npz", "primal")
    save_figure(image_grid(torch.zeros(4, 3, 8, 8)), folder / "grid.png")
    _drop_array(folder / "grid.data.npz", folder / "no-images.npz", "images")
    save_figure(intrinsic_dim_figure(rng.standard_normal((200, 3))), folder / "id.png")
    return folder


def _drop_array(source: Path, target: Path, name: str) -> None:
    with np.load(source, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k != name}
    with open(target, "wb") as f:
        np.savez(f, **arrays)


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# (command line, what the one error line must contain)
CLI_CASES = {
    # an output never replaces an input, --force or not (also the data file saved beside a figure)
    "map apply output data file is the map": (
        ["map", "apply", "map.data.npz", "--src", "vae.pt", "--dst", "vae.pt", "--out", "map.png", "--force"],
        "map.data.npz, which is an input"),
    "intrinsic-dim plot data file is the codes": (
        ["intrinsic-dim", "--latents", "codes.data.npz", "--plot", "codes.png", "--force", "--boot", "0"],
        "codes.data.npz, which is an input"),
    "data preview data file is the images": (
        ["data", "preview", "images.data.npz", "--n", "4", "--out", "images.png", "--force"],
        "images.data.npz, which is an input"),
    "encode output is the model": (
        ["encode", "vae.pt", "--data", "faces", "--n", "4", "--out", "vae.pt", "--force"], "vae.pt is an input"),
    "sample output under a file": (["sample", "vae.pt", "--n", "2", "--out", "afile/samples.png"],
                                   "afile is a file, not a folder"),
    # damaged checkpoints
    "weights that do not fit the config": (["sample", "misfit.pt", "--n", "2", "--out", "s.png"],
                                           "weights do not fit"),
    "weights entry is a list": (["sample", "list-weights.pt", "--n", "2", "--out", "s.png"], "weights are a list"),
    "empty config": (["sample", "empty-config.pt", "--n", "2", "--out", "s.png"], "config has no [model] section"),
    # a model of the wrong kind for the command
    "sample a classifier": (["sample", "classifier.pt", "--n", "2", "--out", "s.png"],
                            "classifier.pt holds an attribute classifier; this needs a generative model"),
    "encode with a classifier": (["encode", "classifier.pt", "--data", "faces", "--n", "4", "--out", "c.npz"],
                                 "holds an attribute classifier"),
    "direction of a classifier": (["direction", "--model", "classifier.pt", "--attr", "glasses", "--classifier",
                                   "classifier.pt", "--n", "8", "--out", "d.npz"], "holds an attribute classifier"),
    "evaluate-edit with a generator as classifier": (
        ["evaluate-edit", "--model", "vae.pt", "--classifier", "vae.pt", "--direction", "glasses.npz"],
        "vae.pt holds a VAE; this needs an attribute classifier"),
    # .npz files that are not what they claim
    "truncated npz": (["data", "preview", "truncated.npz", "--out", "p.png"], "not a valid .npz file"),
    "text file named npz": (["data", "preview", "text.npz", "--out", "p.png"], "not a valid .npz file"),
    "truncated codes": (["intrinsic-dim", "--latents", "truncated.npz", "--boot", "0"], "not a valid .npz file"),
    # sizes and contents
    "a trillion faces": (["data", "stats", "faces", "--n", "1000000000000"], "TiB of memory"),
    "figure data without its images": (["plot", "redraw", "no-images.npz", "--out", "r.png"], "has no 'images'"),
    "direction file without its primal": (["edit", "--model", "vae.pt", "--direction", "no-primal.npz", "--out", "e.png"],
                                          "has no 'primal'"),
    "empty codes": (["intrinsic-dim", "--latents", "empty-codes.npz", "--boot", "0"], "have shape (0, 16)"),
    "codes of strings": (["intrinsic-dim", "--latents", "string-codes.npz", "--boot", "0"], "not real numbers"),
    "unknown data option": (["data", "stats", "faces", "-o", "sise=32"], "unknown option 'sise'"),
    "redraw with an option the figure does not take": (["plot", "redraw", "id.data.npz", "--out", "r.png", "--width", "two"],
                                                       "intrinsic_dim_figure does not take the option 'width'"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_input_is_one_line_exit_2_and_changes_nothing(case, files, tmp_path):
    args, expected = CLI_CASES[case]
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path) as here:
        here = Path(here)
        for f in files.iterdir():
            if f.is_file():
                shutil.copy2(f, here / f.name)
        before = _snapshot(here)
        result = runner.invoke(cli, args, catch_exceptions=False)
        lines = result.stderr.splitlines()
        assert result.exit_code == 2, result.output
        assert len(lines) == 1 and lines[0].startswith("latentlab: error: "), result.stderr
        assert "Traceback" not in result.output
        assert expected in lines[0]
        assert _snapshot(here) == before


# -- the same mistakes through the Python API --------------------------------------------
def test_damaged_and_wrong_kind_checkpoints(files):
    from latentlab.analysis.workflow import find_direction

    with pytest.raises(ValueError, match=r"weights do not fit the model its config describes \(size mismatch for "
                                         r"decoder.stem.weight"):
        latentlab.load(files / "misfit.pt")
    with pytest.raises(ValueError, match="damaged latentlab checkpoint: its weights are a list"):
        latentlab.load(files / "list-weights.pt")
    with pytest.raises(ValueError, match=r"damaged latentlab checkpoint: its config has no \[model\] section"):
        latentlab.load(files / "empty-config.pt")
    with pytest.raises(ValueError, match="holds an attribute classifier; this needs a generative model"):
        latentlab.load(files / "classifier.pt", expect="generator")
    with pytest.raises(ValueError, match="holds a VAE; this needs an attribute classifier"):
        latentlab.load(files / "vae.pt", expect="classifier")
    with pytest.raises(ValueError, match="holds an attribute classifier"):
        find_direction(files / "classifier.pt", "glasses", classifier=files / "classifier.pt", n=8)
    assert latentlab.load(files / "vae.pt", expect="generator").latent_shape == (16,)


def test_npz_readers_name_the_problem(files):
    from latentlab import data
    from latentlab.analysis.workflow import DirectionResult
    from latentlab.codes import LatentCodes
    from latentlab.plots import redraw

    for name in ("truncated.npz", "text.npz"):
        with pytest.raises(ValueError, match="not a valid .npz file") as info:
            data.load(files / name)
        assert "pickle" not in str(info.value)
    with pytest.raises(ValueError, match="not a latent codes file.*not a valid .npz"):
        LatentCodes.load(files / "truncated.npz")
    with pytest.raises(ValueError, match=r"have shape \(0, 16\)"):
        LatentCodes.load(files / "empty-codes.npz")
    with pytest.raises(ValueError, match="not real numbers"):
        LatentCodes.load(files / "string-codes.npz")
    with pytest.raises(ValueError, match="has no 'primal'.*expected a direction file"):
        DirectionResult.load(files / "no-primal.npz")
    with pytest.raises(ValueError, match="has no 'images'"):
        redraw(files / "no-images.npz")


def test_sizes_are_checked_before_allocating():
    from latentlab import data

    with pytest.raises(ValueError, match=r"n = 1,000,000,000,000 faces would need about .* TiB of memory"):
        data.load("faces", n=10**12)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        data.load("rings", n=10, seed="x")


def test_codes_too_large_for_the_solver_say_so():
    from latentlab import AttributeDirection

    rng = np.random.default_rng(0)
    z = rng.standard_normal((200, 4))
    y = (z[:, 0] > 0).astype(int)
    assert AttributeDirection(random_state=0).fit(z * 1e10, y).val_accuracy_ > 0.9  # large but computable
    with pytest.raises(ValueError, match="too large for float64 arithmetic"):
        AttributeDirection(random_state=0).fit(z * 1e160, y)
    with pytest.raises(ValueError, match="too large for float32 arithmetic.*float64"):
        AttributeDirection(random_state=0).fit((z * 1e20).astype(np.float32), y)


def test_outputs_never_replace_inputs_and_are_created_exclusively(tmp_path):
    from latentlab._io import atomic_path, check_can_write, command_inputs, note_input

    source = tmp_path / "in.npz"
    source.write_bytes(b"input")
    with command_inputs():
        note_input(source)
        with pytest.raises(ValueError, match="is an input of this command"):
            check_can_write(source, overwrite=True)
        check_can_write(tmp_path / "other.npz", overwrite=True)
    check_can_write(source, overwrite=True)  # outside a command there are no inputs
    with pytest.raises(NotADirectoryError, match="in.npz is a file, not a folder"):
        check_can_write(source / "out.png")
    # another writer creates the file while this one works: it wins, this one fails
    target = tmp_path / "out.csv"
    with pytest.raises(FileExistsError, match="created by someone else"):
        with atomic_path(target, overwrite=False) as tmp:
            tmp.write_text("mine")
            target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz", "out.csv"]
    with atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("mine")
    assert target.read_text() == "mine"


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_take_the_users_umask(tmp_path, umask):
    from latentlab._io import atomic_path

    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "out.npz", overwrite=False) as tmp:
            tmp.write_bytes(b"x")
        (tmp_path / "plain.txt").write_text("as open() makes it")
    finally:
        os.umask(old)
    assert (tmp_path / "out.npz").stat().st_mode & 0o777 == (tmp_path / "plain.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_bug_is_not_a_user_error():
    from latentlab.cli import USER_ERRORS
    from latentlab.errors import OptionError

    for bug in (KeyError, TypeError, AttributeError, IndexError):
        assert not issubclass(bug, USER_ERRORS)
    assert issubclass(OptionError, USER_ERRORS) and issubclass(OptionError, TypeError)


def test_unknown_names_are_value_errors_listing_the_known_ones():
    from latentlab.metrics.evaluate import EvaluationTable

    table = EvaluationTable(models=("VAE",), metrics=("fid",), values={"VAE": {"fid": np.array([1.0, 3.0])}},
                            seeds=(0, 1))
    assert table.mean("VAE", "fid") == 2.0
    with pytest.raises(ValueError, match="no model 'GAN' in the table; models: VAE"):
        table.mean("GAN", "fid")
    with pytest.raises(ValueError, match="no metric 'kid' in the table; metrics: fid"):
        table.std("VAE", "kid")
