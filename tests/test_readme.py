"""Every command and code snippet of README.md runs as typed, in the folder the quickstart leaves.

The blocks are read from README.md itself, so the two cannot drift. The folder holds what
the quickstart leaves (``gan.pt``, ``vae.pt``, ``ddpm.pt``, ``classifier.pt``): the small
models the other tests share (trained enough that the classifier finds glasses in the
GAN's samples, which a seconds-long ``quickstart --tiny`` does not give) and a DDPM
trained for a few steps. Blocks run in README order, each command in-process through the
click entry point; a line that is not run must be listed in ``NOT_RUN`` with the test
that covers it instead, so a new README line can never be skipped silently.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# line -> where it is checked instead
NOT_RUN = {
    "python -m pip install -e .": "installs; .ci/run installs the same way on a clean clone",
    "latentlab quickstart": "the folder below is what it leaves; tests/test_quickstart.py runs the pipeline",
    'python -m pip install -e ".[test]"': "installs; .ci/run runs this command verbatim",
    "python -m pytest": "this suite itself",
    "torchrun --nproc_per_node=4 -m latentlab train faces-gan --out gan.pt":
        "four processes of the full GAN; tests/test_training.py trains two gloo processes against one",
    "latentlab train digits-aae-flower --out aae.pt":
        "minutes of training; tests/models/test_aae.py trains label-conditioned AAEs into their petals, benchmarks/bench_aae.py this config",
    "torchrun --nproc_per_node=4 -m latentlab encode ddpm.pt --data faces --samples 20000 --out ddpm-codes.npz":
        "hours of DDIM inversion; tests/test_encode_processes.py runs two gloo processes against one",
    "latentlab train faces-progan-tiny --out progan.pt":
        "minutes of training; tests/models/test_progan.py trains this config from the command line (8 steps)",
    "latentlab train faces-cyclegan-glasses-tiny --out cyclegan.pt":
        "minutes of training; tests/models/test_cyclegan.py trains the model and resumes it",
    "latentlab translate cyclegan.pt --n 16 --out glasses-translation.png":
        "needs the trained CycleGAN; tests/models/test_cyclegan.py runs this command on its trained model",
    "latentlab train faces-vae-tiny --out vae-tb.pt --tensorboard runs/vae-tiny":
        "a minute of training; tests/training/test_tensorboard.py logs a run and its resume and reads the events",
    "tensorboard --logdir runs": "starts TensorBoard's server; tests/training/test_tensorboard.py reads its event files",
    "latentlab train faces-clip-tiny --out clip.pt":
        "minutes of training; the folder holds the session's small CLIP as clip.pt, and tests/models/test_clip.py "
        "trains faces-clip-tiny from the command line",
    "latentlab train faces-ddpm-text-tiny --out ddpm-text.pt":
        "minutes of training; the folder holds a 2-step one, and tests/models/test_text_ddpm.py trains this line "
        "(shortened by --set) beside a clip.pt",
    "latentlab train faces-ddpm-image-tiny --out decoder.pt":
        "minutes of training; the folder holds a 2-step one, and tests/models/test_unclip.py trains decoders",
    "latentlab train faces-prior-tiny --out prior.pt":
        "minutes of training; the folder holds a 2-step one, and tests/models/test_unclip.py trains priors",
}


def readme_blocks() -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced bash and python block, in order."""
    return re.findall(r"^```(bash|python)\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def commands(code: str) -> list[str]:
    """The commands of a bash block: one per line, ``a && b`` split, comments dropped."""
    out = []
    for line in code.splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            out += [part.strip() for part in line.split("&&")]
    return out


def test_every_readme_line_is_run_or_accounted_for():
    lines = [c for lang, code in readme_blocks() if lang == "bash" for c in commands(code)]
    assert set(NOT_RUN) <= set(lines), f"NOT_RUN names lines the README no longer has: {set(NOT_RUN) - set(lines)}"
    others = [c for c in lines if c not in NOT_RUN]
    assert all(c.startswith("latentlab ") for c in others), [c for c in others if not c.startswith("latentlab ")]
    assert len(others) >= 20 and any(lang == "python" for lang, _ in readme_blocks())


def test_ci_runs_the_readme_test_command_verbatim():
    tests_block = next(code for lang, code in readme_blocks() if "pytest" in code)
    assert tests_block.strip() in (ROOT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def quickstart_folder(tiny_faces_models, tiny_clip, tmp_path_factory, single_thread_context):
    """A folder with gan.pt, vae.pt, ddpm.pt and classifier.pt, as the quickstart leaves it, and
    clip.pt, ddpm-text.pt, decoder.pt and prior.pt, as the text section's training lines leave them."""
    from latentlab.training import train

    folder = tmp_path_factory.mktemp("readme")
    for name, path in tiny_faces_models.items():
        shutil.copy(path, folder / f"{name}.pt")
    with single_thread_context():
        train("faces-ddpm-tiny", out=folder / "ddpm.pt", progress=False,
              overrides=["train.steps=2", "train.batch_size=4", "data.options.n=64", "data.options.nuisance=0.0",
                         "train.checkpoint_every=0", "model.decode_steps=2"])
        shutil.copy(tiny_clip[1], folder / "clip.pt")
        train("faces-ddpm-text-tiny", out=folder / "ddpm-text.pt", progress=False,
              overrides=["train.steps=2", "train.batch_size=4", "data.options.n=64", "train.checkpoint_every=0",
                         "model.decode_steps=2", f"model.clip_model={folder / 'clip.pt'}"])
        for config, out, steps in (("faces-ddpm-image-tiny", "decoder.pt", "model.decode_steps=2"),
                                   ("faces-prior-tiny", "prior.pt", "model.sample_steps=5")):
            train(config, out=folder / out, progress=False,
                  overrides=["train.steps=2", "train.batch_size=4", "data.options.n=64", "train.checkpoint_every=0",
                             f"model.clip_model={folder / 'clip.pt'}", steps])
    return folder


def test_readme_runs_as_typed(quickstart_folder, monkeypatch, single_thread_context):
    from latentlab.cli import cli

    monkeypatch.chdir(quickstart_folder)
    namespace: dict = {}
    runner = CliRunner()
    with single_thread_context():
        for lang, code in readme_blocks():
            if lang == "python":
                exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
                continue
            for command in commands(code):
                if command in NOT_RUN:
                    continue
                result = runner.invoke(cli, shlex.split(command)[1:], prog_name="latentlab")
                assert result.exit_code == 0, f"{command}\n{result.output}\n{result.exception!r}"
    # what the commands promise to leave behind
    for name in ("glasses.npz", "age.npz", "gan2vae.npz", "table.csv", "table.png", "table.data.csv",
                 "entanglement.pdf", "my-vae.pt", "api-vae.pt", "betavae.pt", "glasses-carried.npz",
                 "old-man-glasses.png", "glasses-clip.npz", "glasses-text.npz", "add-glasses.png", "young-to-old.png",
                 "variations.png"):
        assert (quickstart_folder / name).is_file(), name
    assert namespace["glasses"].direction.shape == (32,)  # found in MyGAN, the 32-d GAN
    assert namespace["gan2vae"].coef_.shape == (16, 32)  # VAE codes from GAN codes
    assert namespace["images"].shape == (8, 3, 32, 32)  # unCLIP: text -> prior -> decoder
