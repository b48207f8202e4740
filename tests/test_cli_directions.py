"""``latentlab direction``, ``edit``, ``evaluate-edit``, ``directions pca``: defaults, outputs, one-line errors."""

import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from latentlab.analysis.workflow import DirectionResult, PCAResult
from latentlab.cli import _Group
from latentlab.cli import directions as commands


@pytest.fixture(scope="module")
def trained(tiny_faces_models):
    return tiny_faces_models


@pytest.fixture
def quickstart(trained, tmp_path, monkeypatch):
    """A folder holding gan.pt, vae.pt and classifier.pt, as after the quickstart; the current folder."""
    for name, path in trained.items():
        shutil.copy(path, tmp_path / f"{name}.pt")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli():
    group = _Group("latentlab")
    for command in (commands.direction, commands.edit, commands.evaluate_edit, commands.directions):
        group.add_command(command)
    return group


def run(args, expect=0):
    """Run the commands as the console script does; return (stdout, stderr)."""
    result = CliRunner().invoke(_cli(), args, prog_name="latentlab", catch_exceptions=False, standalone_mode=True)
    assert result.exit_code == expect, f"exit {result.exit_code} != {expect}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout, result.stderr


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("label samples", "encode"))]
    assert len(lines) == 1, err
    assert lines[0].startswith("latentlab: error: ")
    return lines[0]


def test_direction_works_as_typed_in_a_quickstart_folder(quickstart):
    out, _ = run(["direction", "--attr", "glasses"])
    assert "using model gan.pt (choose another with --model)" in out
    assert "using classifier classifier.pt" in out
    accuracy = float(re.search(r"validation accuracy ([0-9.]+)", out).group(1))
    assert accuracy > 0.9
    saved = DirectionResult.load(quickstart / "glasses.npz")
    assert (saved.model, saved.labels_from, saved.label_source, saved.n) == ("gan.pt", "classifier", "classifier.pt", 5000)
    assert abs(saved.val_accuracy - accuracy) < 5e-4
    # never overwritten without --force
    err = one_line(run(["direction", "--attr", "glasses"], expect=2)[1])
    assert "glasses.npz already exists" in err and "--force" in err
    run(["direction", "--attr", "glasses", "--n", "500", "--force"])
    assert DirectionResult.load(quickstart / "glasses.npz").n == 500


def test_conditions_print_cosines_before_and_after(quickstart):
    out, _ = run(["direction", "--attr", "glasses", "--condition", "age", "--n", "2000", "--out", "g.npz"])
    before, after = map(float, re.search(r"cosine with age: before ([-+0-9.]+), after ([-+0-9.]+)", out).groups())
    assert abs(before) > 0.2 and abs(after) < 5e-4
    assert DirectionResult.load(quickstart / "g.npz").name == "glasses|age"


def test_the_model_default_falls_back_to_vae_then_fails_clearly(quickstart):
    (quickstart / "gan.pt").unlink()
    out, _ = run(["direction", "--attr", "glasses", "--labels-from", "data", "--n", "300"])
    assert "using model vae.pt" in out and "classifier" not in out.split("labels:")[0]
    saved = DirectionResult.load(quickstart / "glasses.npz")
    assert saved.labels_from == "data" and saved.data_options["nuisance"] == 0.0  # the VAE's training faces
    (quickstart / "vae.pt").unlink()
    err = one_line(run(["direction", "--attr", "smile"], expect=2)[1])
    assert "none of gan.pt, vae.pt, ddpm.pt in this folder" in err and "--model" in err


def test_edit_writes_a_traversal_grid(quickstart):
    run(["direction", "--attr", "glasses", "--n", "1000"])
    out, _ = run(["edit", "--direction", "glasses.npz", "--n", "4", "--range", "-2", "2", "--steps", "5"])
    assert "wrote edit.png, edit.data.npz" in out
    saved = np.load(quickstart / "edit.data.npz")
    assert saved["images"].shape == (4, 5, 3, 32, 32)
    np.testing.assert_allclose(saved["steps"], [-2, -1, 0, 1, 2])
    # a figure named after its direction keeps its data apart (glasses.data.npz) ...
    direction = (quickstart / "glasses.npz").read_bytes()
    run(["edit", "--direction", "glasses.npz", "--n", "2", "--steps", "3", "--out", "glasses.png"])
    assert (quickstart / "glasses.npz").read_bytes() == direction and (quickstart / "glasses.data.npz").exists()
    # ... and the figure's data file never replaces the direction it was drawn from, even with --force
    (quickstart / "g.data.npz").write_bytes(direction)
    err = one_line(run(["edit", "--direction", "g.data.npz", "--out", "g.png", "--force"], expect=2)[1])
    assert "is an input of this command" in err and (quickstart / "g.data.npz").read_bytes() == direction


def test_evaluate_edit_prints_the_matrix_and_saves_the_figure(quickstart):
    run(["direction", "--attr", "glasses", "--condition", "age", "--n", "2000"])
    out, _ = run(["evaluate-edit", "--direction", "glasses.npz", "--n", "128", "--out", "entanglement.png"])
    assert "flip rate" in out and "off-target" in out and "orthogonalized" in out
    flip = float(re.search(r"flip rate\s+([0-9.]+)", out).group(1))
    assert flip > 0.5
    data = np.load(quickstart / "entanglement.data.npz")
    assert data["before"].shape == (6, 1) and list(data["after_directions"]) == ["glasses|age"]


def test_pca_prints_variance_and_its_directions_can_be_edited_along(quickstart):
    out, _ = run(["directions", "pca", "--k", "4", "--n", "2000", "--codes", "prior", "--out", "prior.npz"])
    assert "isotropic prior gives uniform components" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("pc")]
    assert [r[0] for r in rows] == ["pc0", "pc1", "pc2", "pc3"]
    shares = [float(r[2]) for r in rows]
    assert shares == sorted(shares, reverse=True) and all(abs(s - 1 / 32) < 0.01 for s in shares)  # N(0, I) codes
    out, _ = run(["directions", "pca", "--k", "4", "--n", "2000", "--out", "pca.npz"])  # the default: GANSpace
    assert "codes: features (--codes auto chose features for a GAN)" in out
    assert isinstance(PCAResult.load(quickstart / "pca.npz"), PCAResult)
    run(["edit", "--direction", "pca.npz", "--component", "3", "--n", "2", "--steps", "3", "--out", "pc3.png"])
    err = one_line(run(["edit", "--direction", "pca.npz", "--component", "4", "--out", "pc4.png"], expect=2)[1])
    assert "out of range" in err and "holds 4 directions" in err


def test_bad_input_is_one_line_exit_2(quickstart):
    err = one_line(run(["direction", "--attr", "beauty"], expect=2)[1])
    assert "unknown attribute 'beauty'" in err and "glasses, smile, age, beard, hat, male" in err
    err = one_line(run(["direction", "--attr", "hair_color"], expect=2)[1])
    assert "binary" in err
    # a direction of the GAN used with the VAE
    run(["direction", "--attr", "glasses", "--n", "500"])
    err = one_line(run(["edit", "--model", "vae.pt", "--direction", "glasses.npz"], expect=2)[1])
    assert "latent shape (32,)" in err and "(16,)" in err and "gan.pt" in err
    err = one_line(run(["evaluate-edit", "--model", "vae.pt", "--direction", "glasses.npz"], expect=2)[1])
    assert "latent shape (32,)" in err
    # labelled data in which no face wears glasses
    np.savez(quickstart / "plain.npz", images=np.zeros((50, 32, 32, 3), np.uint8),
             glasses=np.zeros(50, np.int64), age=np.arange(50) % 2)
    err = one_line(run(["direction", "--model", "vae.pt", "--attr", "glasses", "--labels-from", "data",
                        "--data", "plain.npz", "--out", "plain-glasses.npz"], expect=2)[1])
    assert "only 0 of 50 codes are labelled with 'glasses'" in err
    # a file that is not a direction
    err = one_line(run(["edit", "--direction", "plain.npz"], expect=2)[1])
    assert "not a direction file" in err and "holds arrays: images" in err


def test_no_classifier_means_a_clear_error_or_the_data_route(quickstart):
    (quickstart / "classifier.pt").unlink()
    err = one_line(run(["evaluate-edit", "--direction", "x.npz"], expect=2)[1])
    assert "no classifier given and no classifier.pt" in err
    err = one_line(run(["direction", "--attr", "glasses", "--labels-from", "classifier"], expect=2)[1])
    assert "no classifier given" in err


def test_every_command_has_help():
    for args in (["direction"], ["edit"], ["evaluate-edit"], ["directions"], ["directions", "pca"]):
        out, _ = run([*args, "--help"])
        assert "Usage:" in out


def test_gan_data_labels_say_what_is_used_and_what_it_costs(quickstart):
    out, err = run(["direction", "--attr", "glasses", "--labels-from", "data", "--n", "300", "--invert-steps", "3"])
    # classifier.pt is here but data labels were asked for: the message names what is used instead
    assert "labels: the 'glasses' labels of 300 images of faces, encoded by gan.pt " \
           "(GAN inversion: 3 Adam steps per image from the recoder's guess)" in out
    assert "classifier" not in out
    assert "encode: about" in err and "(timed on the first 256)" in err  # the estimate, before the second batch
    saved = DirectionResult.load(quickstart / "glasses.npz")
    assert saved.labels_from == "data" and saved.n == 300
    _, quiet = run(["direction", "--attr", "glasses", "--labels-from", "data", "--n", "300", "--invert-steps", "0",
                    "--quiet", "--force"])
    assert quiet == ""
    help_text = " ".join(run(["direction", "--help"])[0].split())
    assert "--invert-steps" in help_text and "ms per image" in help_text
