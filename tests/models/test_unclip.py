"""unCLIP (DALL-E 2) on a small scale: the DDPM conditioned on CLIP image embeddings (image
variations), the diffusion prior from a caption's text embedding to an image embedding, and
the two chained (text -> image). Known answers: variations resemble their own image more
than other images and more than unconditional samples do; the prior's embeddings for a
prompt are near real images the prompt describes and, unlike the text embedding, lie
among image embeddings."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import latentlab
from latentlab.checkpoint import load_checkpoint
from latentlab.cli import cli
from latentlab.data import load
from latentlab.models.prior import unclip_sample
from latentlab.training import train

pytestmark = pytest.mark.usefixtures("one_thread")

TRAIN = {"batch_size": 32, "lr": 2e-3, "log_every": 10, "checkpoint_every": 0, "ema_decay": 0.0}


def _decoder_config(clip_path, **train_fields):
    """faces-ddpm-image-tiny made smaller: base 8, two levels, 10 decoding steps."""
    return {"model": {"kind": "ddpm", "base_channels": 8, "channel_mults": [1, 2], "num_res_blocks": 1,
                      "norm_groups": 8, "attention_heads": 2, "schedule": "cosine", "prediction": "v",
                      "decode_steps": 10, "condition": "image", "clip_model": str(clip_path),
                      "cross_attention_resolutions": [16], "guidance_scale": 3.0, "label_dropout": 0.2},
            "train": {**TRAIN, "steps": 6, **train_fields}}


def _prior_config(clip_path, **train_fields):
    """faces-prior-tiny made smaller: width 128, two blocks, 25 sampling steps."""
    return {"model": {"kind": "prior", "width": 128, "depth": 2, "sample_steps": 25, "clip_model": str(clip_path)},
            "train": {**TRAIN, "steps": 6, "batch_size": 64, "lr": 1e-3, **train_fields}}


@pytest.fixture(scope="module")
def faces():
    return load("faces", n=2000, size=32, seed=0)  # tiny_clip's training faces


@pytest.fixture(scope="module")
def held_out():
    """1000 faces the models never saw: images and their attribute columns."""
    data = load("faces", n=1000, size=32, seed=1)
    labels = torch.as_tensor(data.labels()).bool()
    return data.get(np.arange(len(data))), {name: labels[:, i] for i, name in enumerate(data.attribute_names)}


@pytest.fixture(scope="module")
def trained(tiny_clip, faces, tmp_path_factory):
    """``{"decoder", "prior"} -> checkpoint path``: the decoder trained 150 steps (about 30 s on one
    core), the prior 1000 (about 10 s)."""
    root = tmp_path_factory.mktemp("unclip")
    for name, make, steps in (("decoder", _decoder_config, 150), ("prior", _prior_config, 1000)):
        train(make(tiny_clip[1], steps=steps), dataset=faces, out=root / f"{name}.pt", progress=False)
    return {name: root / f"{name}.pt" for name in ("decoder", "prior")}


@pytest.fixture(scope="module")
def decoder_file(trained):
    return trained["decoder"]


@pytest.fixture(scope="module")
def prior_file(trained):
    return trained["prior"]


@pytest.fixture(scope="module")
def decoder(decoder_file):
    return latentlab.load(decoder_file)


@pytest.fixture(scope="module")
def prior(prior_file):
    return latentlab.load(prior_file)


# -- the decoder: image variations ----------------------------------------------------------
def test_variations_resemble_their_own_image(decoder, held_out, tiny_clip):
    clip = tiny_clip[0].model
    sources = held_out[0][:8]
    own_embeddings = clip.encode_image(sources)
    variations = decoder.variations(sources, 4, torch.Generator().manual_seed(0))
    assert variations.shape == (8, 4, 3, 32, 32) and variations.abs().max() <= 1
    cos = torch.einsum("ikd,jd->ij", clip.encode_image(variations.flatten(0, 1)).reshape(8, 4, -1), own_embeddings) / 4
    own, other = cos.diag().mean(), (cos.sum() - cos.diag().sum()) / 56
    unconditional = clip.encode_image(decoder.sample(32, torch.Generator().manual_seed(0), guidance_scale=0.0))
    baseline = (unconditional @ own_embeddings.T).mean()
    # measured (150 steps, guidance 3): own 0.276, other 0.076, unconditional 0.178 (guidance 1: 0.198, 0.141)
    assert own > other + 0.1 and own > baseline + 0.05, (own, other, baseline)


def test_guidance_zero_is_the_unconditional_model(decoder, held_out, tiny_clip):
    z = decoder.sample_latents(3, generator=torch.Generator().manual_seed(0))
    embeddings = tiny_clip[0].model.encode_image(held_out[0][:3])
    unconditional = decoder.decode(z)
    assert torch.allclose(decoder.decode(z, image_embeddings=embeddings, guidance_scale=0.0), unconditional, atol=1e-5)
    assert (decoder.decode(z, image_embeddings=embeddings) - unconditional).abs().max() > 1e-3


def test_each_sample_reads_its_own_embedding_and_a_dropped_one_reads_as_none(decoder, held_out, tiny_clip):
    x, level = torch.randn(4, 3, 32, 32), torch.linspace(-5, 5, 4)
    context = decoder.image_context(tiny_clip[0].model.encode_image(held_out[0][:4]))
    assert context.tokens.shape == (4, decoder.config.image_tokens, tiny_clip[0].model.config.embed_dim)
    with torch.no_grad():
        assert torch.equal(decoder.net(x, level, text=context._replace(keep=torch.zeros(4, dtype=torch.bool))),
                           decoder.net(x, level))
        kept = decoder.net(x, level, text=context)
        one = decoder.net(x[:1], level[:1], text=decoder.image_context(context.pooled[:1]))
    assert torch.allclose(one, kept[:1], atol=1e-5)
    # one embedding for all samples is the same as that embedding repeated; rows are scaled to unit length
    e = context.pooled[2]
    assert torch.allclose(decoder.image_context(3 * e, 4).pooled, e.expand(4, -1), atol=1e-6)


def test_the_checkpoint_holds_the_frozen_clip(tiny_clip, decoder_file, prior_file, tmp_path):
    clip_weights = load_checkpoint(tiny_clip[1]).weights["model"]
    for path in (decoder_file, prior_file):
        saved = load_checkpoint(path).weights["model"]
        for name, t in clip_weights.items():  # training never changed the copy of the CLIP
            assert torch.equal(saved[f"clip.{name}"], t), (path.name, name)
    moved = tmp_path / "alone.pt"  # loading needs no CLIP file
    moved.write_bytes(prior_file.read_bytes())
    a = latentlab.load(moved).sample("a man", torch.Generator().manual_seed(1), n=2)
    b = latentlab.load(prior_file).sample("a man", torch.Generator().manual_seed(1), n=2)
    assert torch.equal(a, b)


@pytest.mark.parametrize("make", [_decoder_config, _prior_config], ids=["decoder", "prior"])
def test_resume_continues_identically(tiny_clip, faces, tmp_path, make):
    runs = {"whole": make(tiny_clip[1]), "part": make(tiny_clip[1], steps=3)}
    history = {name: train(cfg, dataset=faces, out=tmp_path / f"{name}.pt", progress=False).history
               for name, cfg in runs.items()}
    history["part"] += train(None, dataset=faces, out=tmp_path / "part.pt", resume=True,
                             overrides=["train.steps=6"], progress=False).history
    assert history["part"] == history["whole"]
    whole, part = (load_checkpoint(tmp_path / f"{name}.pt").weights["model"] for name in runs)
    assert whole.keys() == part.keys() and all(torch.equal(whole[k], part[k]) for k in whole)


# -- the prior: caption -> image embedding ----------------------------------------------------
PROMPTS = {  # prompt -> the attributes (name, value) it states
    "a man with glasses": (("male", True), ("glasses", True)),
    "a woman with glasses": (("male", False), ("glasses", True)),
    "a man, no glasses": (("male", True), ("glasses", False)),
    "a woman without glasses": (("male", False), ("glasses", False)),
}


def _matching(attributes, facts):
    match = torch.ones_like(attributes["glasses"])
    for name, value in facts:
        match &= attributes[name] == value
    return match


def test_prior_embeddings_are_near_the_images_the_prompt_describes(prior, held_out, tiny_clip):
    images = tiny_clip[0].model.encode_image(held_out[0])
    for prompt, facts in PROMPTS.items():
        match = _matching(held_out[1], facts)
        e = prior.sample(prompt, torch.Generator().manual_seed(0), n=32)
        assert e.shape == (32, prior.embed_dim) and torch.allclose(e.norm(dim=1), torch.ones(32), atol=1e-5)
        cos = e @ images.T
        # measured: matching 0.60-0.72, the others 0.06-0.13
        assert cos[:, match].mean() > cos[:, ~match].mean() + 0.4, (prompt, cos[:, match].mean(), cos[:, ~match].mean())


def test_prior_embeddings_lie_among_image_embeddings_unlike_the_text_embedding(prior, held_out, tiny_clip):
    """The modality gap: a caption's text embedding is not an image embedding; the prior's are, and
    they are closer to the images the caption describes than the text embedding is."""
    clip = tiny_clip[0].model
    images = clip.encode_image(held_out[0])
    others = images @ images.T
    others.fill_diagonal_(-1)
    real_nearest = others.max(1).values.mean()  # how close a real image's embedding is to another's: 0.975
    to_matching = {"prior": [], "text": []}
    for prompt, facts in PROMPTS.items():
        match = _matching(held_out[1], facts)
        prior_cos = prior.sample(prompt, torch.Generator().manual_seed(0), n=32) @ images.T
        text_cos = clip.encode_text(prompt) @ images.T
        # measured: prior 0.958-0.972, text 0.870-0.911
        assert abs(prior_cos.max(1).values.mean() - real_nearest) < 0.03, (prompt, prior_cos.max(1).values.mean())
        assert real_nearest - text_cos.max() > 0.05, (prompt, text_cos.max())
        to_matching["prior"].append(prior_cos[:, match].mean())
        to_matching["text"].append(text_cos[:, match].mean())
    # measured: mean cosine with the matching faces 0.679 (prior) against 0.555 (text)
    assert np.mean(to_matching["prior"]) > np.mean(to_matching["text"]) + 0.05, to_matching


def test_prior_sampling_is_seeded(prior):
    a = prior.sample(["a man", "a woman with a hat"], torch.Generator().manual_seed(3))
    b = prior.sample(["a man", "a woman with a hat"], torch.Generator().manual_seed(3))
    c = prior.sample(["a man", "a woman with a hat"], torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_text_to_image_chains_the_prior_and_the_decoder(prior, decoder, tiny_clip):
    images, again = (unclip_sample(prior, decoder, "an old man with glasses", torch.Generator().manual_seed(0), n=3)
                     for _ in range(2))
    assert images.shape == (3, 3, 32, 32) and images.abs().max() <= 1
    assert torch.equal(images, again)


# -- bad input --------------------------------------------------------------------------------
def test_bad_embeddings_and_conditions_are_refused(decoder, prior):
    dim = prior.embed_dim
    cases = [
        (lambda: decoder.sample(2, image_embeddings=torch.randn(3, dim)), r"shape \(1 or 2, 32\), not \(3, 32\)"),
        (lambda: decoder.sample(2, image_embeddings=torch.randn(2, dim + 1)), r"shape \(1 or 2, 32\)"),
        (lambda: decoder.sample(1, image_embeddings=torch.zeros(dim)), "finite and non-zero"),
        (lambda: decoder.sample(1, image_embeddings=torch.full((dim,), float("nan"))), "finite and non-zero"),
        (lambda: decoder.sample(1, prompts="a man"), "not text-conditioned"),
        (lambda: decoder.sample(1, prompts="a man", image_embeddings=torch.randn(dim)), "prompts or image_embeddings"),
        (lambda: decoder.variations(torch.zeros(1, 3, 28, 28)), r"this model takes \(N, 3, 32, 32\)"),
        (lambda: prior.sample(""), "prompt '' is empty"),
        (lambda: prior.sample(["a man", "a woman"], n=3), r"one prompt or one per sample \(3\), not 2"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


@pytest.fixture(scope="module")
def text_ddpm_file(tiny_clip, faces, tmp_path_factory):
    """A text-conditioned DDPM (one training step): a decoder that takes prompts, not embeddings."""
    config = _decoder_config(tiny_clip[1], steps=1)
    config["model"]["condition"] = "text"
    out = tmp_path_factory.mktemp("unclip-text") / "text-ddpm.pt"
    train(config, dataset=faces, out=out, progress=False)
    return out


def test_models_that_do_not_fit_together_are_refused(prior, decoder, text_ddpm_file, tiny_clip, faces):
    text_ddpm = latentlab.load(text_ddpm_file)
    with pytest.raises(ValueError, match="conditioned on CLIP image embeddings"):
        text_ddpm.variations(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="the decoder must be a DDPM conditioned on CLIP image embeddings"):
        unclip_sample(prior, text_ddpm, "a man")
    other = train(_prior_config(tiny_clip[1], steps=1), dataset=faces, progress=False).model
    other.clip.text_projection.weight.data += 1  # another CLIP
    with pytest.raises(ValueError, match="trained with different CLIP models"):
        unclip_sample(other, decoder, "a man")


@pytest.mark.parametrize("make, fields, message", [
    (_decoder_config, {"clip_model": ""}, "model.condition = 'image' needs model.clip_model"),
    (_decoder_config, {"cond_attr": "glasses"}, "conditions on CLIP image embeddings; it cannot also take class labels"),
    (_decoder_config, {"image_tokens": 0}, "image_tokens"),
    (_prior_config, {"clip_model": ""}, r"a diffusion prior \(kind 'prior'\) needs model.clip_model"),
    (_prior_config, {"clip_model": "nowhere.pt"}, "model.clip_model = 'nowhere.pt': no such file"),
    (_prior_config, {"sample_steps": 2000}, "model.sample_steps = 2000 cannot exceed model.timesteps = 1000"),
])
def test_bad_configs_are_named(tiny_clip, faces, make, fields, message):
    cfg = make(tiny_clip[1])
    cfg["model"].update(fields)
    with pytest.raises(ValueError, match=message):
        train(cfg, dataset=faces, progress=False)


def test_the_clip_must_read_the_data_images(tiny_clip):
    with pytest.raises(ValueError, match=r"reads images of shape \(3, 32, 32\) and faces has images of shape \(3, 64, 64\)"):
        train(_prior_config(tiny_clip[1]), dataset=load("faces", n=64, size=64), progress=False)


# -- the command line -------------------------------------------------------------------------
def test_cli_draws_variations_of_data_images(decoder_file, text_ddpm_file, tmp_path):
    out = tmp_path / "variations.png"
    result = CliRunner().invoke(cli, ["sample", str(decoder_file), "--like", "faces", "--n", "6", "--steps", "2",
                                      "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    samples = np.load(tmp_path / "variations.data.npz")
    assert out.exists() and len(samples[samples.files[0]]) == 6 * 2  # 6 images, each with one variation
    for model, like, message in [(text_ddpm_file, "faces", "--like needs a diffusion model conditioned on CLIP image embeddings"),
                                 (decoder_file, str(tmp_path / "nowhere"), "nowhere")]:
        bad = CliRunner().invoke(cli, ["sample", str(model), "--like", like, "--out", str(tmp_path / "b.png")])
        assert bad.exit_code == 2 and bad.output.count("\n") == 1 and message in bad.output, bad.output


def test_the_tiny_configs_train_from_the_command_line_beside_a_clip(tiny_clip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.pt").write_bytes(tiny_clip[1].read_bytes())
    short = ["--set", "train.steps=2", "--set", "train.batch_size=4", "--set", "data.options.n=32",
             "--set", "train.checkpoint_every=0", "--quiet"]
    for config, extra in (("faces-ddpm-image-tiny", ["--set", "model.decode_steps=2"]),
                          ("faces-prior-tiny", ["--set", "model.sample_steps=2"])):
        result = CliRunner().invoke(cli, ["train", config, "--out", f"{config}.pt", *short, *extra])
        assert result.exit_code == 0, result.output
    decoder = latentlab.load(tmp_path / "faces-ddpm-image-tiny.pt")
    prior = latentlab.load(tmp_path / "faces-prior-tiny.pt")
    assert decoder.image_conditional and not decoder.text_conditional
    assert unclip_sample(prior, decoder, "a woman with a hat", torch.Generator().manual_seed(0), n=2).shape == (2, 3, 32, 32)
