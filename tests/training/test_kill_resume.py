"""A run killed at random moments and resumed each time ends exactly as an uninterrupted run.

The training runs in child processes started from a fork server that has imported torch
and latentlab once, so that a start costs milliseconds, not seconds.
"""

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest
import torch

from latentlab.checkpoint import load_checkpoint
from latentlab.training import train
from latentlab.training.run_files import lock_path

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills processes with POSIX signals")


@pytest.fixture(scope="module")
def processes():
    """A multiprocessing context whose children start with everything imported, on one thread."""
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    # torch._dynamo: the first optimizer imports it (seconds); one thread: small steps are faster on a busy machine
    context.set_forkserver_preload(["torch._dynamo", "latentlab.training", "latentlab.models.vae", "latentlab.data",
                                    "latentlab.plots.style"])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_NUM_THREADS", "1")
        forkserver.ensure_running()
    return context


def _start(processes, config, out, resume):
    kwargs = {"config": None if resume else config, "out": str(out), "resume": resume, "progress": False, "device": "cpu"}
    child = processes.Process(target=train, kwargs=kwargs, daemon=True)
    child.start()
    return child


def _version(path):
    """Changes whenever the file is replaced (atomic writes make a new inode)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _wait(child, done, timeout=60.0):
    deadline = time.monotonic() + timeout
    while child.is_alive() and not done() and time.monotonic() < deadline:
        time.sleep(0.0005)


@pytest.mark.slow
def test_killed_at_random_moments_and_resumed_ends_as_uninterrupted(tmp_path, processes, tiny_config, logged_losses):
    # lines at steps 7, 14, ...; checkpoints at 10, 20, ...: most checkpoints fall between lines
    config = tiny_config(steps=300, log_every=7, checkpoint_every=10)
    reference = tmp_path / "reference" / "m.pt"
    child = _start(processes, config, reference, resume=False)
    child.join(120)
    assert child.exitcode == 0

    out = tmp_path / "killed" / "m.pt"
    rng = np.random.default_rng(7)
    stops, stale_seen = [], 0
    for attempt in range(12):
        before = _version(out)
        child = _start(processes, config, out, resume=out.exists())
        if attempt == 0:  # first line logged (step 7), first checkpoint (step 10) not yet written
            _wait(child, lambda: (out.parent / "m.metrics.jsonl").exists())
        else:  # at least one new checkpoint, then a random moment of the next ones
            _wait(child, lambda: _version(out) != before)
            time.sleep(rng.uniform(0.0, 0.05))
        if not child.is_alive():
            break
        how = signal.SIGINT if rng.random() < 0.25 else signal.SIGKILL  # Ctrl-C, or a crash
        os.kill(child.pid, how)
        child.join(60)
        assert child.exitcode in (-signal.SIGKILL, 1), child.exitcode  # killed, or stopped by Ctrl-C
        stops.append(load_checkpoint(out).training["step"] if out.exists() else 0)
        stale_seen += any(p.name.endswith(".tmp") for p in out.parent.iterdir())
    child = _start(processes, config, out, resume=out.exists())
    child.join(120)
    assert child.exitcode == 0
    assert len(stops) >= 8 and len(set(stops)) >= 4, stops  # killed at many different moments

    a, b = load_checkpoint(reference), load_checkpoint(out)
    assert a.training["step"] == b.training["step"] == 300
    for key in ("model", "ema"):
        for name, t in a.weights[key].items():
            assert torch.equal(t, b.weights[key][name]), (key, name)  # max abs difference 0
    assert torch.equal(a.training["generator_state"], b.training["generator_state"])
    assert logged_losses(out.parent / "m.metrics.jsonl") == logged_losses(reference.parent / "m.metrics.jsonl")
    left = sorted(p.name for p in out.parent.iterdir())
    assert left == ["m.metrics.jsonl", "m.pt", "m.samples"], (left, stale_seen)  # no temporaries, no lock
    assert not lock_path(out).exists()


def test_a_running_run_holds_its_output_and_a_killed_one_lets_go(tmp_path, processes, tiny_config):
    out = tmp_path / "m.pt"
    child = _start(processes, tiny_config(steps=100000, checkpoint_every=50), out, resume=False)
    try:
        _wait(child, out.exists)
        assert child.is_alive()
        with pytest.raises(FileExistsError, match=rf"m.pt is being written by another training run \(pid {child.pid} on "):
            train(tiny_config(steps=2), out=out, force=True, progress=False)
    finally:
        child.kill()
        child.join(60)
    assert lock_path(out).read_text().split()[0] == str(child.pid)  # a kill leaves the lock file behind
    train(tiny_config(steps=2), out=out, force=True, progress=False)  # ...and the next run takes it over
    assert load_checkpoint(out).training["step"] == 2 and not lock_path(out).exists()
