"""The text-conditioned DDPM: captions read by a frozen CLIP text encoder, classifier-free
guidance, a checkpoint that stands alone, exact resume, and clear errors for bad prompts."""

import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import latentlab
from latentlab.checkpoint import load_checkpoint
from latentlab.cli import cli
from latentlab.data import load
from latentlab.data.tokenizer import UnknownWordsWarning
from latentlab.models.ddpm import DDPM
from latentlab.models.unet import TextContext
from latentlab.training import train
from latentlab.training.config import load_config

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(clip_path, **train_fields):
    """faces-ddpm-text-tiny made smaller: base 8, 4 decoding steps."""
    return {"model": {"kind": "ddpm", "base_channels": 8, "channel_mults": [1, 2], "num_res_blocks": 1,
                      "norm_groups": 8, "attention_heads": 2, "schedule": "cosine", "prediction": "v",
                      "decode_steps": 4, "condition": "text", "clip_model": str(clip_path),
                      "cross_attention_resolutions": [16], "guidance_scale": 3.0},
            "train": {"steps": 6, "batch_size": 8, "lr": 2e-3, "log_every": 2, "checkpoint_every": 0,
                      "ema_decay": 0.0, **train_fields}}


@pytest.fixture(scope="module")
def faces():
    return load("faces", n=200, size=32, seed=0)


@pytest.fixture(scope="module")
def model_file(tiny_clip, faces, tmp_path_factory):
    out = tmp_path_factory.mktemp("text-ddpm") / "ddpm.pt"
    train(_config(tiny_clip[1]), dataset=faces, out=out, progress=False)
    return out


@pytest.fixture(scope="module")
def model(model_file):
    return latentlab.load(model_file)


def test_guidance_zero_is_the_unconditional_model(model):
    z = model.sample_latents(3, generator=torch.Generator().manual_seed(0))
    unconditional = model.decode(z)
    guided = model.decode(z, prompts="a smiling old man with glasses", guidance_scale=0.0)
    assert torch.allclose(guided, unconditional, atol=1e-5)
    # and a prompt at the default guidance changes the images
    assert (model.decode(z, prompts="a smiling old man with glasses") - unconditional).abs().max() > 1e-3


def test_a_dropped_caption_reads_as_no_caption(model):
    x = torch.randn(4, 3, 32, 32)
    level = torch.linspace(-5, 5, 4)
    text = model.text_context(["a man with a hat", "a woman", "an old man, no glasses", "a young man"])
    dropped = text._replace(keep=torch.zeros(4, dtype=torch.bool))
    with torch.no_grad():
        assert torch.equal(model.net(x, level, text=dropped), model.net(x, level))
        kept = model.net(x, level, text=text)
    assert (kept - model.net(x, level)).abs().max() > 1e-4  # after training, the caption matters
    # the prediction of each sample depends on its own caption only
    one = model.text_context("a man with a hat", 1)
    with torch.no_grad():
        assert torch.allclose(model.net(x[:1], level[:1], text=one), kept[:1], atol=1e-5)


def test_the_checkpoint_stands_alone_and_the_text_encoder_stays_frozen(tiny_clip, model_file, tmp_path):
    clip_weights = load_checkpoint(tiny_clip[1]).weights["model"]
    saved = load_checkpoint(model_file).weights["model"]
    for name, t in clip_weights.items():  # training never changed the copy of the text encoder
        assert torch.equal(saved[f"clip.{name}"], t), name
    # loading needs no CLIP file: the DDPM holds its text encoder
    moved = tmp_path / "alone.pt"
    moved.write_bytes(model_file.read_bytes())
    missing = tmp_path / "gone.pt"
    config = load_checkpoint(model_file).config["model"]
    assert config["clip_config"]["kind"] == "clip" and config["clip_config"]["vocabulary"]
    a = latentlab.load(moved).sample(2, generator=torch.Generator().manual_seed(1), prompts="a woman with a hat")
    b = latentlab.load(model_file).sample(2, generator=torch.Generator().manual_seed(1), prompts="a woman with a hat")
    assert torch.equal(a, b) and not missing.exists()


def test_resume_continues_identically(tiny_clip, faces, tmp_path):
    whole = train(_config(tiny_clip[1]), dataset=faces, out=tmp_path / "whole.pt", progress=False)
    train(_config(tiny_clip[1], steps=3), dataset=faces, out=tmp_path / "part.pt", progress=False)
    resumed = train(None, dataset=faces, out=tmp_path / "part.pt", resume=True, overrides=["train.steps=6"],
                    progress=False)
    assert resumed.history == whole.history[3:]
    a, b = load_checkpoint(tmp_path / "whole.pt"), load_checkpoint(tmp_path / "part.pt")
    for name, t in a.weights["model"].items():
        assert torch.equal(t, b.weights["model"][name]), name


def test_bad_prompts_are_refused_in_one_line(model):
    with pytest.raises(ValueError, match="prompt '' is empty"):
        model.sample(2, prompts="")
    with pytest.raises(ValueError, match="the prompt 'xyzzy plugh' has no word the model learnt"):
        model.sample(2, prompts="xyzzy plugh")
    with pytest.raises(ValueError, match="one prompt or one per sample \\(3\\), not 2"):
        model.sample(3, prompts=["a man", "a woman"])
    with pytest.raises(ValueError, match="a str or a sequence of str"):
        model.sample(2, prompts=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.sample(1, prompts="a face with glasses")
    assert [str(w.message) for w in caught if w.category is UnknownWordsWarning] == [
        "words the model never saw in training (read as unknown): face"]


def test_prompts_for_a_model_without_text_are_refused(tiny_faces_models):
    gan = latentlab.load(tiny_faces_models["gan"])
    result = CliRunner().invoke(cli, ["sample", str(tiny_faces_models["gan"]), "--prompt", "a man", "--out", "x.png"])
    assert result.exit_code == 2
    assert "--prompt applies to diffusion models only" in result.output
    ddpm = DDPM.build(load_config("faces-ddpm-tiny").model, load("faces", n=8, size=32))
    with pytest.raises(ValueError, match="not text-conditioned"):
        ddpm.sample(1, prompts="a man")
    assert not hasattr(gan, "text_context")


@pytest.mark.parametrize("fields, message", [
    ({"clip_model": ""}, "needs model.clip_model, the path of a CLIP checkpoint"),
    ({"clip_model": "nowhere.pt"}, "model.clip_model = 'nowhere.pt': no such file; train one with"),
    ({"cond_attr": "glasses"}, "cannot also take class labels"),
    ({"condition": "", "cross_attention_resolutions": [8]}, "need model.condition = 'text'"),
])
def test_bad_text_configs_are_named(tiny_clip, faces, fields, message):
    cfg = _config(tiny_clip[1])
    cfg["model"].update(fields)
    with pytest.raises(ValueError, match=message):
        train(cfg, dataset=faces, progress=False)


def test_the_text_encoder_must_be_a_clip_of_the_same_captions(tiny_clip, tiny_faces_models, tmp_path):
    cfg = _config(tiny_faces_models["vae"])
    with pytest.raises(ValueError, match="holds a model of kind 'vae'; it must be a CLIP"):
        train(cfg, dataset=load("faces", n=16, size=32), progress=False)
    with pytest.raises(ValueError, match="was trained on faces captions .* shapes has shapes captions"):
        train(_config(tiny_clip[1]), dataset=load("shapes", n=16, size=32), progress=False)


def test_cli_samples_a_prompt_and_warns_about_unknown_words(model_file, tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli, ["sample", str(model_file), "--prompt", "a smiling face with glasses",
                                      "--guidance", "2", "--n", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "latentlab: warning: words the model never saw in training (read as unknown): face" in result.output
    samples = np.load(tmp_path / "grid.data.npz")
    assert out.exists() and len(samples[samples.files[0]]) == 4
    bad = CliRunner().invoke(cli, ["sample", str(model_file), "--prompt", "  ", "--out", str(tmp_path / "b.png")])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "is empty" in bad.output


# -- does it follow prompts? A folder of red and blue discs and squares with captions ----------
@pytest.fixture(scope="module")
def shapes_models(tmp_path_factory, draw_captioned_images, small_clip_config):
    """``(clip path, text DDPM)`` trained on 512 captioned red/blue discs/squares (captions.csv)."""
    root = tmp_path_factory.mktemp("captioned")
    draw_captioned_images(root / "train", 512, seed=0)
    data = {"name": str(root / "train")}
    train({**small_clip_config, "data": data, "train": {**small_clip_config["train"], "steps": 300, "batch_size": 32}},
          out=root / "clip.pt", progress=False)
    config = _config(root / "clip.pt", steps=400, batch_size=32, log_every=50)
    config["model"].update(decode_steps=10, label_dropout=0.2)
    result = train({**config, "data": data}, out=root / "ddpm.pt", progress=False)
    return root / "clip.pt", result.model


def _colour(x):
    """Per image: +1 where the bright pixels are redder than blue, -1 where bluer (images in [-1, 1])."""
    red, blue = x[:, 0].flatten(1), x[:, 2].flatten(1)
    return torch.sign((red - blue).sum(1))


def test_samples_follow_the_colour_the_prompt_names(shapes_models):
    model = shapes_models[1].eval()
    z = model.sample_latents(32, generator=torch.Generator().manual_seed(0))
    unconditional = _colour(model.decode(z))
    assert 4 <= (unconditional > 0).sum() <= 28  # the model draws both colours
    red = _colour(model.decode(z, prompts="a red disc", guidance_scale=3.0))
    blue = _colour(model.decode(z, prompts="a blue square", guidance_scale=3.0))
    assert (red > 0).float().mean() > 0.8 and (blue < 0).float().mean() > 0.8, (red, blue)


def test_the_tiny_config_trains_from_the_command_line_beside_a_clip(tiny_clip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    short = ["--set", "train.steps=2", "--set", "train.batch_size=4", "--set", "data.options.n=32",
             "--set", "train.checkpoint_every=0", "--set", "model.decode_steps=2"]
    missing = CliRunner().invoke(cli, ["train", "faces-ddpm-text-tiny", "--out", "ddpm-text.pt", *short])
    assert missing.exit_code == 2 and missing.output.count("\n") == 1
    assert "model.clip_model = 'clip.pt': no such file; train one with: latentlab train faces-clip-tiny --out clip.pt" \
        in missing.output
    (tmp_path / "clip.pt").write_bytes(tiny_clip[1].read_bytes())  # the README's order: the CLIP first
    result = CliRunner().invoke(cli, ["train", "faces-ddpm-text-tiny", "--out", "ddpm-text.pt", "--quiet", *short])
    assert result.exit_code == 0, result.output
    model = latentlab.load(tmp_path / "ddpm-text.pt")
    assert model.text_conditional and model.config.guidance_scale == 3.0
    assert model.clip.tokenizer.vocabulary == latentlab.load(tmp_path / "clip.pt").tokenizer.vocabulary


def test_the_gpu_config_builds_on_64_px_faces(small_clip_config, tmp_path):
    faces = load("faces", n=16, size=64, seed=0)
    clip_file = tmp_path / "clip64.pt"
    train({**small_clip_config, "train": {**small_clip_config["train"], "steps": 1, "batch_size": 8}}, dataset=faces,
          out=clip_file, progress=False)
    cfg = load_config("faces-ddpm-text", [f"model.clip_model={clip_file}", "model.decode_steps=1"])
    torch.manual_seed(0)
    model = DDPM.build(cfg.model, faces)
    assert model.text_conditional and model.latent_shape == (3, 64, 64)
    loss = model(faces.get(np.arange(2)), prompts=["a man with a hat", "a woman"], generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(loss)
    x = model.sample(1, generator=torch.Generator().manual_seed(0), prompts="a man with a hat")
    assert x.shape == (1, 3, 64, 64) and torch.isfinite(x).all()
