"""``latentlab edit-prompt``: real faces inverted under one prompt and decoded under another,
scored with a classifier, and every bad input refused in one line with exit code 2."""

import numpy as np
import pytest
from click.testing import CliRunner

from latentlab.cli import cli
from latentlab.data import load
from latentlab.training import train

pytestmark = pytest.mark.usefixtures("one_thread")


def test_an_edit_from_young_to_old_is_drawn_and_scored(tiny_text_models, tmp_path):
    out = tmp_path / "edit.png"
    args = ["edit-prompt", str(tiny_text_models["ddpm"]), "--from", "a young man", "--to", "an old man", "--n", "6",
            "-o", "seed=5", "--guidance", "3", "--classifier", str(tiny_text_models["classifier"]),
            "--attribute", "age", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "edited 6 images: 'a young man' -> 'an old man', guidance 3" in result.output
    assert "age: flip rate" in result.output and out.exists()
    saved = np.load(tmp_path / "edit.data.npz")
    assert saved["rows"].tolist() == ["input", "reconstruction", "edited"] and saved["images"].shape[:2] == (3, 6)
    # the inputs are faces of the model's training data, as the note says
    assert "the data" in result.output and "was trained on" in result.output


def test_add_makes_each_face_s_prompt_pair(tiny_text_models, tmp_path):
    result = CliRunner().invoke(cli, ["edit-prompt", str(tiny_text_models["ddpm"]), "--add", "glasses", "--n", "3",
                                      "--out", str(tmp_path / "g.png"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "with glasses" in result.output and "(the first image's)" in result.output


@pytest.fixture(scope="module")
def unconditional(tmp_path_factory):
    path = tmp_path_factory.mktemp("uncond") / "ddpm.pt"
    train("faces-ddpm-tiny", overrides=["train.steps=1", "train.batch_size=4", "model.base_channels=8",
                                        "model.channel_mults=[1, 2]", "train.checkpoint_every=0"],
          dataset=load("faces", n=8, size=32), out=path, progress=False)
    return path


@pytest.mark.parametrize("extra, message", [
    ([], "give --from and --to"),
    (["--from", "a man"], "give --from and --to"),
    (["--add", "glasses", "--from", "a man"], "give it without --from/--to"),
    (["--add", "age"], "attribute 'age' cannot be added to a caption with 'with ...'; choose one of: glasses, hat, beard"),
    (["--from", "a man", "--to", "  "], "is empty: give it some words"),
    (["--from", "xyzzy", "--to", "a man"], "the prompt 'xyzzy' has no word the model learnt"),
    (["--from", "a man", "--to", "a woman", "--classifier", "CLF", "--attribute", "wings"],
     "--attribute 'wings' is not predicted by"),
    (["--from", "a man", "--to", "a woman", "--classifier", "CLF"], "give --attribute"),
])
def test_bad_input_is_one_line(tiny_text_models, tmp_path, extra, message):
    extra = [str(tiny_text_models["classifier"]) if e == "CLF" else e for e in extra]
    result = CliRunner().invoke(cli, ["edit-prompt", str(tiny_text_models["ddpm"]), *extra, "--n", "2",
                                      "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.count("\n") == 1, result.output


def test_a_model_without_text_is_refused(unconditional, tmp_path):
    result = CliRunner().invoke(cli, ["edit-prompt", str(unconditional), "--from", "a man", "--to", "a woman",
                                      "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "needs a text-conditioned diffusion model" in result.output
