"""Every example runs end to end (``--smoke``: tiny models, seconds) and writes what it says.

The examples are scripts, not modules of the package: each is loaded from its file and
its ``main(argv)`` called in this process, so the run shares the already imported torch.
Each check names the files the example's docstring promises and the rows of the table
it prints; where a smoke run still has a known answer (a planted direction, the true
mixture covering every mode) that is checked too.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(autouse=True)
def _examples_on_path(monkeypatch):
    # as when a script is run: its folder first on the path (the examples share _common.py)
    monkeypatch.syspath_prepend(str(EXAMPLES))


def run_example(name: str, out: Path, *extra: str):
    """Load ``examples/<name>.py`` and return what its ``main`` returns for ``--smoke --out out``."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--smoke", "--out", str(out), *extra])


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def printed_rows(text: str, first_words) -> dict[str, str]:
    """The printed line that starts with each of ``first_words`` (after indentation)."""
    lines = [line.strip() for line in text.splitlines()]
    return {w: next((line for line in lines if line.startswith(w)), None) for w in first_words}


@pytest.fixture(autouse=True)
def _one_thread(single_thread_context):
    # the examples set one thread for --smoke; the context restores the suite's setting
    with single_thread_context():
        yield


def test_every_example_is_tested():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    tested = {"mode_collapse", "glasses_direction", "entanglement", "comparing_spaces", "ddpm_vs_ddim",
              "latent_size_vs_intrinsic_dim", "own_generator", "translate_or_edit",
              "progressive_growth", "aae_flower", "zero_shot_directions", "text_to_image"}
    assert scripts == tested


def test_mode_collapse(tmp_path, capsys):
    rows = run_example("mode_collapse", tmp_path)
    text = capsys.readouterr().out
    names = ["true mixture", "minimax", "non-saturating", "WGAN-GP"]
    assert all(printed_rows(text, names).values()), text
    assert "=> on rings" in text
    assert [r["model"] for r in csv_rows(tmp_path / "results.csv")] == names
    assert (tmp_path / "rings_samples.png").exists() and (tmp_path / "rings_samples.data.npz").exists()
    # fresh draws of the mixture cover every mode whatever the models learned
    truth = rows[0]
    assert truth["model"] == "true mixture" and truth["modes_covered"] == truth["n_modes"] == 8


def test_glasses_direction(tmp_path, capsys):
    result = run_example("glasses_direction", tmp_path)
    text = capsys.readouterr().out
    steps = ["-3.0", "-2.0", "-1.0", "+0.0", "+1.0", "+2.0", "+3.0"]
    assert all(printed_rows(text, steps).values()), text
    assert "=> the glasses hyperplane" in text
    table = csv_rows(tmp_path / "results.csv")
    assert [float(r["step"]) for r in table] == [float(s) for s in steps]
    assert all(0.0 <= float(r["share_with_glasses"]) <= 1.0 for r in table)
    for name in ("traversal.png", "traversal.data.npz", "distances.png", "distances.data.csv"):
        assert (tmp_path / name).exists(), name
    assert 0.0 <= result["val_accuracy"] <= 1.0


def test_entanglement(tmp_path, capsys):
    run_example("entanglement", tmp_path)
    text = capsys.readouterr().out
    assert all(printed_rows(text, ["glasses", "age", "flip rate", "off-target"]).values()), text
    assert "=> the glasses and age directions have cosine" in text
    table = csv_rows(tmp_path / "results.csv")
    assert [(r["direction"], r["kind"]) for r in table] == [
        ("glasses", "as fitted"), ("age", "as fitted"), ("glasses|age", "conditioned"), ("age|glasses", "conditioned")]
    for name in ("entanglement.png", "entanglement.data.npz", "cosines.png", "cosines.data.npz"):
        assert (tmp_path / name).exists(), name


def test_comparing_spaces(tmp_path, capsys):
    rows = run_example("comparing_spaces", tmp_path)
    text = capsys.readouterr().out
    assert all(printed_rows(text, ["affine", "procrustes", "random-orthogonal*", "mean*"]).values()), text
    assert "=> VAE seed 0 -> VAE seed 1" in text and "=> GAN -> VAE" in text
    assert [r["pair"] for r in csv_rows(tmp_path / "results.csv")] == [r["pair"] for r in rows]
    for stem in ("VAE_seed_0_to_VAE_seed_1", "GAN_to_VAE"):
        for suffix in ("_mapped.png", "_mapped.data.npz", "_support_curve.png", "_support_curve.data.csv"):
            assert (tmp_path / (stem + suffix)).exists(), stem + suffix
    # two encoders of the same faces are related linearly far better than by a random rotation
    vae = {r["map"]: r for r in rows if r["pair"].startswith("VAE")}
    assert vae["affine"]["L_rel"] < vae["random-orthogonal"]["L_rel"]


def test_ddpm_vs_ddim(tmp_path, capsys):
    rows = run_example("ddpm_vs_ddim", tmp_path)
    text = capsys.readouterr().out
    assert all(printed_rows(text, ["real faces", "DDIM", "DDPM"]).values()), text
    assert "=> DDIM has the lower FID at" in text
    table = csv_rows(tmp_path / "results.csv")
    assert [(r["sampler"], int(r["steps"])) for r in table] == [
        ("real faces", 0), ("DDIM", 1), ("DDIM", 2), ("DDPM", 1), ("DDPM", 2)]
    assert all(float(r["fid"]) >= 0 for r in table)
    for name in ("quality_vs_steps.png", "quality_vs_steps.data.csv", "samples.png", "samples.data.npz"):
        assert (tmp_path / name).exists(), name
    assert len(rows) == len(table)


def test_latent_size_vs_intrinsic_dim(tmp_path, capsys):
    errors = run_example("latent_size_vs_intrinsic_dim", tmp_path)
    text = capsys.readouterr().out
    expected = ["intrinsic dimension of faces", "latent size   2", "latent size   8"]
    assert all(printed_rows(text, expected).values()), text
    table = csv_rows(tmp_path / "results.csv")
    assert [int(r["latent_size"]) for r in table] == [2, 8] and len(errors) == 2
    assert (tmp_path / "latent_size_vs_id.png").exists() and (tmp_path / "latent_size_vs_id.data.csv").exists()


def test_own_generator(tmp_path, capsys):
    direction = run_example("own_generator", tmp_path)
    text = capsys.readouterr().out
    assert all(printed_rows(text, ["validation accuracy", "direction:", "decoder local dimension: 2"]).values()), text
    # the planted attribute: the disc is on the right when z[0] > 0
    assert abs(direction.direction_[0]) > 0.9
    assert len(csv_rows(tmp_path / "results.csv")) == 6


def test_translate_or_edit(tmp_path, capsys):
    rows = run_example("translate_or_edit", tmp_path)
    text = capsys.readouterr().out
    names = ["CycleGAN A->B", "VAE edit 1x gap", "VAE edit 2x gap", "VAE reconstruction", "GAN edit 1x gap",
             "GAN edit 2x gap", "GAN reconstruction"]
    assert all(printed_rows(text, names).values()), text
    assert "=> on the same faces" in text
    assert [r["edit"] for r in csv_rows(tmp_path / "results.csv")] == names
    assert (tmp_path / "comparison.png").exists() and (tmp_path / "comparison.data.npz").exists()
    # the same inputs for every row, and the VAE's edits start from the same reconstruction
    assert len({r["n"] for r in rows}) == 1
    assert rows[1]["cycle_error"] == rows[2]["cycle_error"] == rows[3]["cycle_error"]
    assert rows[4]["cycle_error"] == rows[5]["cycle_error"] == rows[6]["cycle_error"]
    assert all(0 <= r["flip_rate"] <= 1 and -1 <= r["ssim"] <= 1 for r in rows)


def test_progressive_growth(tmp_path, capsys):
    rows = run_example("progressive_growth", tmp_path)
    assert [r["transition"] for r in rows] == ["fade", "abrupt"]
    for row in rows:
        assert row["steps"] == 14 and set(row) >= {"spike_8px", "spike_16px", "spike_32px", "fid", "precision", "recall"}
        assert all(np.isfinite(row[k]) for k in ("spike_8px", "spike_16px", "spike_32px", "fid"))
    for name in ("growth_fade.png", "growth_abrupt.png", "critic_loss.png", "results.csv"):
        assert (tmp_path / name).exists(), name
    data = np.load(tmp_path / "growth_fade.data.npz")
    assert data["rows"].tolist() == ["4 px", "8 px", "16 px", "32 px"]  # one row per stage of the growth
    printed = printed_rows(capsys.readouterr().out, ["=> fade:", "=> abrupt:"])
    assert all(line and "spikes" in line and "FID-domain" in line for line in printed.values()), printed


def test_aae_flower(tmp_path, capsys):
    result = run_example("aae_flower", tmp_path)
    text = capsys.readouterr().out
    assert all(printed_rows(text, ["flower AAE", "held-out codes vs the prior", "supervised AAE"]).values()), text
    assert "=> " in text and "in their own petal" in text
    assert [r["model"] for r in csv_rows(tmp_path / "results.csv")] == ["digits-aae-flower", "digits-aae-style"]
    for name in ("petals.png", "petals.data.npz", "style_transfer.png", "style_transfer.data.npz"):
        assert (tmp_path / name).exists(), name
    assert 0.0 <= result["petal_accuracy"] <= 1.0 and result["mmd2_floor"] < 0.05


def test_zero_shot_directions(tmp_path, capsys):
    # smoke: the models trained for a few steps (no answer to check), and every output written
    run_example("zero_shot_directions", tmp_path / "trained")
    text = capsys.readouterr().out
    rows = ["CLIP zero-shot labels", "text, pulled back", "random", "CLIP zero-shot glasses labels agree"]
    assert all(printed_rows(text, rows).values()), text
    found = [r["found_from"] for r in csv_rows(tmp_path / "trained" / "results.csv")]
    assert found == ["data", "clip", "text", "random"]
    for name in ("entanglement.png", "entanglement.data.npz", "cosines.png", "cosines.data.npz",
                 "glasses_data.npz", "glasses_clip.npz", "glasses_text.npz"):
        assert (tmp_path / "trained" / name).exists(), name


def test_zero_shot_directions_with_trained_models(tmp_path, tiny_faces_models, tiny_clip):
    # the session's tiny GAN, classifier and CLIP: the known answers hold
    import shutil

    models = tmp_path / "models"
    models.mkdir()
    for name, path in {**tiny_faces_models, "clip": tiny_clip[1]}.items():
        shutil.copy(path, models / f"{name}.pt")
    result = run_example("zero_shot_directions", tmp_path / "out", "--models", str(models))
    assert result["agreement"] > result["chance"] + 0.2  # measured 0.89 against 0.51
    cosines, flips = result["cosines"], result["flip_rate"]
    assert cosines["glasses~clip"] > 0.7 and cosines["glasses~text"] > 0.7 and abs(cosines["glasses~random"]) < 0.5
    assert min(flips["glasses~clip"], flips["glasses~text"]) > 0.7 > 0.2 > flips["glasses~random"], flips


def test_text_to_image(tmp_path, capsys):
    # smoke: models of a few steps (no answer to check); the tables printed, every output
    # written, and the sweep's w = 0 row is the chance level of the prompt accuracy
    result = run_example("text_to_image", tmp_path)
    text = capsys.readouterr().out
    assert all(printed_rows(text, ["prompt accuracy of", "guidance sweep", "=> prompt accuracy", "identity (w=1)",
                                   "with glasses (w=3)"]).values()), text
    sweep = csv_rows(tmp_path / "sweep.csv")
    assert [float(r["guidance"]) for r in sweep] == [0, 1, 2, 3, 5, 8]
    assert float(sweep[0]["accuracy_mean"]) == pytest.approx(result["accuracy"].chance.mean)
    assert [r["edit"] for r in csv_rows(tmp_path / "edits.csv")][:2] == ["identity (w=1)", "with glasses (w=3)"]
    for name in ("prompts.png", "prompts.data.npz", "tradeoff.png", "tradeoff.data.csv", "edits.png",
                 "edits.data.npz", "accuracy.csv"):
        assert (tmp_path / name).exists(), name
