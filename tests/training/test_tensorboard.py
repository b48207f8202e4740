"""TensorBoard logging: the same numbers as the JSONL log, each step once across a resume."""

import json
import sys

import pytest

from latentlab.errors import MissingExtra
from latentlab.training import train

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

# the tiny VAE and blob images of the loop's own tests
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from test_training import VAE, _blobs, _with  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def _events(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scalars_and_images_match_the_metrics_log_across_a_resume(tmp_path):
    data, cfg = _blobs(), _with(VAE, steps=12, checkpoint_every=0, sample_every=10)
    train(_with(cfg, steps=6), dataset=data, out=tmp_path / "run.pt", tensorboard=tmp_path / "tb", progress=False)
    train(None, dataset=data, out=tmp_path / "run.pt", resume=True, overrides=["train.steps=12"],
          tensorboard=tmp_path / "tb", progress=False)
    log = _jsonl(tmp_path / "run.metrics.jsonl")
    events = _events(tmp_path / "tb")
    losses = [k for k in log[0] if k not in ("step", "time", "images_per_s")]
    assert losses and set(losses) | {"images_per_s"} <= set(events.Tags()["scalars"])
    for name in losses:
        # the first run's line at its last step (6) was discarded by the resume, as in the JSONL log
        got = [(e.step, e.value) for e in events.Scalars(name)]
        assert [s for s, _ in got] == [r["step"] for r in log] == [5, 10, 12]
        assert [v for _, v in got] == pytest.approx([r[name] for r in log], rel=1e-6)
    assert [e.value for e in events.Scalars("lr/model")] == pytest.approx([2e-3] * 3)
    assert [e.step for e in events.Images("samples")] == [10, 12]


def test_missing_extra_is_one_clear_error(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from latentlab.cli import cli

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    with pytest.raises(MissingExtra, match=r'pip install "latentlab\[tensorboard\]"'):
        train(_with(VAE, steps=1), dataset=_blobs(n=64), tensorboard=tmp_path / "tb", progress=False)
    result = CliRunner().invoke(cli, ["train", "digits-vae", "--out", str(tmp_path / "d.pt"), "--set", "train.steps=1",
                                      "--tensorboard", str(tmp_path / "tb"), "--quiet"], prog_name="latentlab")
    assert result.exit_code == 2 and "latentlab[tensorboard]" in result.output
    assert result.output.strip().count("\n") == 0
