"""``latentlab direction`` from text: CLIP zero-shot labels, text directions, their files and one-line errors."""

import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from latentlab.analysis.workflow import DirectionResult
from latentlab.cli import _Group
from latentlab.cli import directions as commands

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def quickstart(tiny_faces_models, tiny_clip, tmp_path, monkeypatch):
    """A folder holding gan.pt, vae.pt, classifier.pt and clip.pt; the current folder."""
    for name, path in {**tiny_faces_models, "clip": tiny_clip[1]}.items():
        shutil.copy(path, tmp_path / f"{name}.pt")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(args, expect=0):
    """Run the commands as the console script does; return (stdout, stderr)."""
    group = _Group("latentlab")
    for command in (commands.direction, commands.edit, commands.evaluate_edit):
        group.add_command(command)
    result = CliRunner().invoke(group, args, prog_name="latentlab", catch_exceptions=False, standalone_mode=True)
    assert result.exit_code == expect, f"exit {result.exit_code} != {expect}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout, result.stderr


def one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("latentlab: error: "), err
    return lines[0]


def test_three_glasses_directions_compare_in_evaluate_edit(quickstart):
    out, _ = run(["direction", "--attr", "glasses", "--n", "1500", "--out", "clf.npz", "--quiet"])
    out, _ = run(["direction", "--attr", "glasses", "--labels-from", "clip", "--n", "1500", "--out", "clip.npz", "--quiet"])
    assert "using CLIP model clip.pt" in out and "labels: CLIP clip.pt zero-shot, the default glasses prompts" in out
    assert DirectionResult.load("clip.npz").labels_from == "clip"
    out, err = run(["direction", "--attr", "glasses", "--prompt", "a man with glasses", "--prompt", "a woman with glasses",
                    "--negative", "a man, no glasses", "--negative", "a woman, no glasses", "--n", "1500",
                    "--out", "text.npz", "--quiet"])
    assert "text direction: 2 prompt(s) and 2 negative(s)" in out and "map from codes to CLIP embeddings: R²" in out
    assert "warning" not in err  # every word is one the CLIP's captions use
    saved = DirectionResult.load("text.npz")
    assert saved.labels_from == "text" and np.linalg.norm(saved.direction) == pytest.approx(1.0)

    out, _ = run(["evaluate-edit", "--direction", "clf.npz", "--direction", "clip.npz", "--direction", "text.npz",
                  "--n", "128"])
    flips = [float(v) for v in re.search(r"flip rate\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)", out).groups()]
    assert min(flips) > 0.7, out  # each puts glasses on faces without them
    cosines = re.search(r"glasses~classifier\s+1\.000\s+([-0-9.]+)\s+([-0-9.]+)", out)
    assert cosines and min(map(float, cosines.groups())) > 0.8, out
    run(["edit", "--direction", "text.npz", "--n", "2", "--steps", "3", "--out", "edit.png"])
    assert (quickstart / "edit.png").exists()


def test_a_text_direction_needs_no_attribute(quickstart):
    out, err = run(["direction", "--prompt", "a man with glasses", "--negative", "a man without glasses",
                    "--n", "300", "--quiet"])
    assert "wrote man-with-glasses.npz" in out and DirectionResult.load("man-with-glasses.npz").labels_from == "text"
    out, err = run(["direction", "--prompt", "a face with glasses", "--negative", "a face, no glasses", "--n", "300",
                    "--quiet"])
    assert err.strip() == "latentlab: warning: words the model never saw in training (read as unknown): face"


@pytest.mark.parametrize("args, message", [
    (["--prompt", "", "--negative", "a man, no glasses"], "the positive prompt '' is empty"),
    (["--prompt", "   ", "--negative", "a man, no glasses"], "is empty: give it some words"),
    (["--prompt", "xyzzy frobnicate", "--negative", "a man, no glasses"], "has no word the CLIP model learnt"),
    (["--attr", "glasses", "--prompt", "a man with glasses"], "give --prompt and --negative together"),
    (["--attr", "glasses", "--labels-from", "data", "--prompt", "a", "--negative", "b"], "--prompt is read with"),
    (["--attr", "glasses", "--labels-from", "clip", "--clip", "gan.pt"], "kind 'gan'; it must be a CLIP image-text"),
    (["--attr", "glasses", "--labels-from", "text", "--clip", "classifier.pt"], "kind 'classifier'; it must be a CLIP"),
    (["--attr", "glasses", "--labels-from", "clip", "--model", "clip.pt"], "clip.pt holds a CLIP image-text model; "
                                                                           "this needs a generative model"),
    (["--attr", "hair_color", "--labels-from", "clip"], "no default prompts for 'hair_color'"),
    ([], "give --attr (or --prompt and --negative"),
])
def test_bad_prompts_and_models_are_one_line(quickstart, args, message):
    assert message in one_error(run(["direction", "--n", "50", "--quiet", *args], expect=2)[1])
    assert not list(quickstart.glob("*.npz"))


def test_no_clip_model_is_a_usage_error(quickstart):
    (quickstart / "clip.pt").unlink()
    err = one_error(run(["direction", "--attr", "glasses", "--labels-from", "clip"], expect=2)[1])
    assert "no CLIP model given and no clip.pt in this folder; pass --clip PATH" in err
