import os

import pytest
import torch

import latentlab
from latentlab.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint


def _weights():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    return net, {"model": net.state_dict(), "ema": None}


def test_round_trip(tmp_path):
    net, weights = _weights()
    path = save_checkpoint(
        tmp_path / "m.pt", kind="vae", config={"model": {"latent_dim": 4}, "lr": 1e-3},
        weights=weights, training={"step": 7, "rng": torch.get_rng_state()}, dataset={"name": "faces", "n": 10},
    )
    ck = load_checkpoint(path)
    assert ck.kind == "vae" and ck.config["model"]["latent_dim"] == 4
    assert ck.training["step"] == 7 and torch.equal(ck.training["rng"], torch.get_rng_state())
    assert ck.dataset["name"] == "faces"
    assert ck.latentlab_version == latentlab.__version__ and ck.format_version == FORMAT_VERSION
    other = torch.nn.Linear(4, 3)
    other.load_state_dict(ck.weights["model"])
    assert torch.equal(other.weight, net.weight)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "latentlab-checkpoint", "payload": _Evil()}, path)
    with pytest.raises(ValueError, match="not a latentlab checkpoint.*safe load refuses"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(ValueError, match="no 'latentlab-checkpoint' header"):
        load_checkpoint(plain)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a latentlab checkpoint"):
        load_checkpoint(text)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_newer_format_is_refused_with_upgrade_hint(tmp_path):
    _, weights = _weights()
    path = save_checkpoint(tmp_path / "m.pt", kind="vae", config={}, weights=weights)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, path)
    with pytest.raises(ValueError, match="upgrade latentlab"):
        load_checkpoint(path)


def test_write_is_atomic(tmp_path, monkeypatch):
    _, weights = _weights()
    path = save_checkpoint(tmp_path / "m.pt", kind="vae", config={"v": 1}, weights=weights)
    before = path.read_bytes()

    def crash(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, kind="vae", config={"v": 2}, weights=weights)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind


def test_load_unknown_kind_lists_known(tmp_path):
    _, weights = _weights()
    path = save_checkpoint(tmp_path / "m.pt", kind="nonsense", config={}, weights=weights)
    with pytest.raises(ValueError, match="unknown model kind 'nonsense'"):
        latentlab.load(path)
