"""A training run survives crashes and mistakes: torn logs, restarts, stale temporaries,
divergence, changed settings on resume, a second run on the same output, outputs that
cannot be written, and checkpoints whose weights are not finite."""

import json
import os

import pytest
import torch
from click.testing import CliRunner

import latentlab
from latentlab.checkpoint import load_checkpoint, save_checkpoint
from latentlab.cli import cli
from latentlab.training import TrainingDiverged, train
from latentlab.training.run_files import hold_run_lock, lock_path, read_metrics_lines

pytestmark = pytest.mark.usefixtures("one_thread")


def _same_weights(a, b):
    wa, wb = load_checkpoint(a).weights, load_checkpoint(b).weights
    return all(torch.equal(t, wb[key][name]) for key in ("model", "ema") for name, t in wa[key].items())


def _cli(args):
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def test_torn_last_log_line_is_dropped_on_resume(tmp_path, tiny_config, logged_losses):
    """A kill while a line was appended leaves half a JSON line; resume drops it and goes on."""
    train(tiny_config(steps=12), out=tmp_path / "whole.pt", progress=False)
    train(tiny_config(steps=8, checkpoint_every=8), out=tmp_path / "part.pt", progress=False)
    log = tmp_path / "part.metrics.jsonl"
    with open(log, "a") as f:
        f.write('{"step": 10, "loss": 1.2')  # what a kill in the middle of an append leaves
    with pytest.raises(json.JSONDecodeError):
        [json.loads(line) for line in log.read_text().splitlines()]
    train(None, out=tmp_path / "part.pt", resume=True, overrides=["train.steps=12"], progress=False)
    assert logged_losses(log) == logged_losses(tmp_path / "whole.metrics.jsonl")
    assert _same_weights(tmp_path / "whole.pt", tmp_path / "part.pt")


def test_damaged_log_line_before_the_end_is_named(tmp_path):
    log = tmp_path / "m.metrics.jsonl"
    log.write_text('{"step": 5, "loss": 1.0}\n{"step": 10, "lo\n{"step": 15, "loss": 0.5}\n')
    with pytest.raises(ValueError, match=r"line 2 of the metrics log .*m.metrics.jsonl is damaged"):
        read_metrics_lines(log)
    log.write_text('{"step": 5, "loss": 1.0}\n{"step": 10, "lo')
    assert read_metrics_lines(log) == [{"step": 5, "loss": 1.0}]


def test_fresh_restart_logs_each_step_once(tmp_path, tiny_config, logged_losses):
    """A run killed after logging but before its first checkpoint is started again from scratch:
    its log must not keep the first attempt's lines."""
    out = tmp_path / "m.pt"
    train(tiny_config(steps=12), out=out, progress=False)
    reference = logged_losses(tmp_path / "m.metrics.jsonl")
    out.unlink()  # as if killed before the checkpoint was written: only the log is left
    train(tiny_config(steps=12), out=out, progress=False)
    assert logged_losses(tmp_path / "m.metrics.jsonl") == reference
    assert [r["step"] for r in reference] == [5, 10, 12]


def test_resume_between_log_lines_continues_the_averages(tmp_path, tiny_config, logged_losses):
    """Stopped at step 7 (between the lines of steps 5 and 10), the resumed run's line at
    step 10 still averages steps 6-10, as in the uninterrupted run; no line for step 7."""
    train(tiny_config(steps=12), out=tmp_path / "whole.pt", progress=False)
    train(tiny_config(steps=7), out=tmp_path / "part.pt", progress=False)
    assert [r["step"] for r in logged_losses(tmp_path / "part.metrics.jsonl")] == [5, 7]
    train(None, out=tmp_path / "part.pt", resume=True, overrides=["train.steps=12"], progress=False)
    assert logged_losses(tmp_path / "part.metrics.jsonl") == logged_losses(tmp_path / "whole.metrics.jsonl")
    assert _same_weights(tmp_path / "whole.pt", tmp_path / "part.pt")


def test_stale_temporaries_of_this_output_are_removed(tmp_path, tiny_config):
    (tmp_path / "m.samples").mkdir()
    stale = [tmp_path / ".m.pt.k2j4_9xq.tmp", tmp_path / ".m.metrics.jsonl.abcdefgh.tmp",
             tmp_path / "m.samples" / ".step_00000012.png.zz0011aa.tmp"]
    others = [tmp_path / ".other.pt.k2j4_9xq.tmp", tmp_path / "notes.tmp"]
    for p in stale + others:
        p.write_bytes(b"")  # a kill during an atomic write leaves an empty temporary
    train(tiny_config(steps=2), out=tmp_path / "m.pt", progress=False)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in others)


def test_divergence_writes_no_checkpoint_from_nonfinite_weights(tmp_path):
    """The issue's case: at lr = 1e5 a small convolutional VAE's losses of steps 1 and 2 are
    finite but its weights after step 2 are NaN; the checkpoint of step 2 is not written."""
    config = {"model": {"kind": "vae", "latent_dim": 4, "base_channels": 4},
              "data": {"name": "faces", "options": {"n": 64, "size": 32, "seed": 0}},
              "train": {"steps": 6, "batch_size": 16, "lr": 1e5, "log_every": 50, "checkpoint_every": 2}}
    out = tmp_path / "c.pt"
    with pytest.raises(TrainingDiverged, match=r"at step 2 hold NaN or infinite values \(weights.model.* no checkpoint was written"):
        train(config, out=out, progress=False)
    assert not out.exists()


def test_resume_with_a_new_lr_uses_it_and_says_so(tmp_path, tiny_config):
    """The new lr reaches the optimizers: lr = 1000 diverges from a good checkpoint, which
    stays the last good one; lr = 5e-4 is the optimizers' lr in the next checkpoint."""
    out = tmp_path / "m.pt"
    train(tiny_config(steps=2), out=out, progress=False)
    said = []
    with pytest.raises(TrainingDiverged, match=r"the last good checkpoint is .*m.pt \(step 2\)"):
        train(None, out=out, resume=True, overrides=["train.steps=6", "train.lr=1000", "train.checkpoint_every=2"],
              progress=False, log=said.append)
    assert said == [f"resuming {out} at step 2 with train.steps = 6 (was 2), train.lr = 1000.0 (was 0.001), "
                    f"train.checkpoint_every = 2 (was 0)"]
    assert load_checkpoint(out).training["step"] == 2
    latentlab.load(out)  # the last good checkpoint is finite
    train(None, out=out, resume=True, overrides=["train.steps=4", "train.lr=5e-4"], progress=False)
    groups = load_checkpoint(out).training["optimizers"]["model"]["param_groups"]
    assert [g["lr"] for g in groups] == [5e-4]


def test_cli_resume_names_changed_settings(tmp_path, tiny_config):
    config = tmp_path / "tiny.toml"
    config.write_text(_toml(tiny_config(steps=2)))
    out = str(tmp_path / "m.pt")
    assert _cli(["train", str(config), "--out", out, "--quiet"])[0] == 0
    code, _, err = _cli(["train", str(config), "--out", out, "--quiet", "--resume", "--set", "train.lr=5e-4",
                         "--set", "train.steps=3"])
    assert code == 0 and "latentlab: resuming" in err and "train.lr = 0.0005 (was 0.001)" in err


def _toml(cfg: dict) -> str:
    def value(v):
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    lines = []
    for section, fields in cfg.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {value(v)}" for k, v in fields.items() if not isinstance(v, dict)]
        for k, v in fields.items():
            if isinstance(v, dict):
                lines.append(f"[{section}.{k}]")
                lines += [f"{kk} = {value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def test_a_second_run_on_the_same_output_is_refused(tmp_path, tiny_config):
    out = tmp_path / "m.pt"
    with hold_run_lock(out):
        assert lock_path(out).read_text().split()[0] == str(os.getpid())
        with pytest.raises(FileExistsError, match=rf"being written by another training run \(pid {os.getpid()} on "):
            train(tiny_config(steps=2), out=out, progress=False)
        config = tmp_path / "tiny.toml"
        config.write_text(_toml(tiny_config(steps=2)))
        code, _, err = _cli(["train", str(config), "--out", str(out), "--quiet"])
        assert code == 2 and err.count("\n") == 1 and "being written by another training run" in err
    assert not out.exists() and not lock_path(out).exists()
    train(tiny_config(steps=2), out=out, progress=False)
    assert out.exists() and not lock_path(out).exists()  # the lock lives as long as the run


@pytest.mark.parametrize("in_the_way", ["m.samples", "m.metrics.jsonl"])
def test_outputs_that_cannot_be_written_stop_the_run_before_it_starts(tmp_path, tiny_config, in_the_way):
    path = tmp_path / in_the_way
    if in_the_way == "m.samples":
        path.write_text("a file where the samples folder goes")
    else:
        path.mkdir()
    with pytest.raises((NotADirectoryError, IsADirectoryError), match=in_the_way):
        train(tiny_config(steps=2, checkpoint_every=1, log_every=2), out=tmp_path / "m.pt", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [in_the_way]


def test_read_only_folder_stops_the_run_before_it_starts(tmp_path, tiny_config):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:
            (folder / "probe").touch()
        except PermissionError:
            pass
        else:
            pytest.skip("this user writes into read-only folders (root with CAP_DAC_OVERRIDE)")
        with pytest.raises(PermissionError, match="cannot write the checkpoint m.pt .* permission denied"):
            train(tiny_config(steps=2), out=folder / "m.pt", progress=False)
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def _poison(path, value):
    """Rewrite a checkpoint with every weight of its decoder set to ``value``."""
    ck = load_checkpoint(path)
    for weights in (ck.weights["model"], ck.weights["ema"]):
        for name in [k for k in weights if k.startswith("decoder")]:
            weights[name] = torch.full_like(weights[name], value)
    save_checkpoint(path, kind=ck.kind, config=ck.config, weights=ck.weights, training=ck.training)


def test_nonfinite_weights_are_refused_at_load_and_sample(tmp_path, tiny_config):
    out = tmp_path / "m.pt"
    train(tiny_config(steps=2), out=out, progress=False)
    _poison(out, float("nan"))
    with pytest.raises(ValueError, match=r"m.pt: the model's weights hold NaN or infinite values \(decoder"):
        latentlab.load(out)
    code, _, err = _cli(["sample", str(out), "--out", str(tmp_path / "s.png")])
    assert code == 2 and "hold NaN or infinite values" in err and not (tmp_path / "s.png").exists()
    with pytest.raises(ValueError, match="cannot resume from them"):
        train(None, out=out, resume=True, progress=False)


def test_sample_refuses_samples_that_overflow(tmp_path, tiny_config):
    out = tmp_path / "m.pt"
    train(tiny_config(steps=2), out=out, progress=False)
    _poison(out, 1e30)  # finite weights whose outputs overflow to infinity
    code, _, err = _cli(["sample", str(out), "--out", str(tmp_path / "s.png")])
    assert code == 2 and "drew samples holding NaN or infinite values" in err
    assert not (tmp_path / "s.png").exists()
