"""Every Generator kind returns plain tensors from decode/encode/sample; decode_with_grad differentiates."""

import numpy as np
import pytest
import torch

from latentlab.loading import role_of
from latentlab.data import load
from latentlab.models import available_kinds, model_class
from latentlab.training.config import load_config

pytestmark = pytest.mark.usefixtures("one_thread")

# (bundled config, overrides) per model built untrained: every generator kind and its variants
CASES = {
    "vae (faces-vae-tiny)": ("faces-vae-tiny", []),
    "beta-vae (shapes-betavae)": ("shapes-betavae", ["data.options.size=32", "model.base_channels=4"]),
    "capacity vae (shapes-vae-capacity)": ("shapes-vae-capacity", ["data.options.size=32", "model.base_channels=4"]),
    "gan (faces-gan-tiny)": ("faces-gan-tiny", []),
    "conditional gan": ("faces-gan-tiny", ["model.cond_attr=glasses"]),
    "acgan without recoder": ("faces-gan-tiny", ["model.cond_attr=glasses", "model.conditioning=acgan",
                                                 "model.recoder=false"]),
    "2-D gan (rings-gan-nonsat)": ("rings-gan-nonsat", ["model.hidden=16"]),
    "ddpm (faces-ddpm-tiny)": ("faces-ddpm-tiny", ["model.decode_steps=2"]),
    "text ddpm (faces-ddpm-text-tiny)": ("faces-ddpm-text-tiny", ["model.decode_steps=2"]),
    "unclip decoder (faces-ddpm-image-tiny)": ("faces-ddpm-image-tiny", ["model.decode_steps=2"]),
    "progan (faces-progan-tiny)": ("faces-progan-tiny", []),
    "aae (faces-aae-tiny)": ("faces-aae-tiny", []),
    "petal aae (digits-aae-flower)": ("digits-aae-flower", ["model.base_channels=4"]),
    "supervised aae (digits-aae-style)": ("digits-aae-style", ["model.base_channels=4"]),
}


@pytest.fixture
def build(request):
    """Builds the model of a case untrained; a text-conditioned one reads the session's small CLIP."""
    def _build(name):
        config, overrides = CASES[name]
        if "text" in config or "image" in config:
            overrides = [*overrides, f"model.clip_model={request.getfixturevalue('tiny_clip')[1]}"]
        return _build_from(config, overrides)
    return _build


def _build_from(config, overrides):
    cfg = load_config(config, overrides)
    options = {k: v for k, v in cfg.data.options.items() if k != "n"}
    dataset = load(cfg.data.name, n=8, **options)
    torch.manual_seed(0)
    return model_class(cfg.model.kind).build(cfg.model, dataset).eval(), dataset


def _is_plain(t):
    return isinstance(t, torch.Tensor) and not t.requires_grad and t.grad_fn is None


def test_every_generator_kind_is_covered():
    generators = [k for k in available_kinds() if role_of(model_class(k)) == "generator"]
    covered = {load_config(c, o).model.kind for c, o in CASES.values()}
    assert set(generators) <= covered, f"add a case for {set(generators) - covered}"


@pytest.mark.parametrize("name", list(CASES))
def test_decode_encode_sample_return_plain_tensors(name, build):
    gen, dataset = build(name)
    z = gen.sample_latents(2, generator=torch.Generator().manual_seed(0))
    x = gen.decode(z)
    assert _is_plain(x) and x.numpy().shape == (2, *dataset.sample_shape)
    assert _is_plain(gen.sample(2, generator=torch.Generator().manual_seed(1)))
    options = {"steps": 2} if gen.config.kind in ("gan", "progan", "ddpm") else {}
    codes = gen.encode(dataset.get(np.arange(2)), **options)
    assert _is_plain(codes) and codes.numpy().shape == (2, *gen.latent_shape)
    # even codes that require grad give plain images
    assert _is_plain(gen.decode(z.clone().requires_grad_(True)))
    # the differentiable path: gradients reach the codes
    zg = z.clone().requires_grad_(True)
    gen.decode_with_grad(zg).sum().backward()
    assert zg.grad is not None and zg.grad.abs().sum() > 0
