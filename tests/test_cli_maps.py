"""``latentlab map`` and ``latentlab map apply``: exactly the command lines users type."""

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from latentlab.analysis.maps import LatentMap
from latentlab.cli import _Group, cli
from latentlab.cli.maps import map_group


def _root():
    """The ``latentlab`` group with ``map`` in it (registered by the package, or added here)."""
    if "map" in cli.commands:
        return cli
    root = _Group(name="latentlab", context_settings={"help_option_names": ["-h", "--help"]})
    root.add_command(map_group)
    return root


def run(args, expect=0):
    result = CliRunner().invoke(_root(), args, catch_exceptions=False, prog_name="latentlab")
    assert result.exit_code == expect, f"exit {result.exit_code} != {expect}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout, result.stderr


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Three barely trained 32 px faces VAEs: two with 8-d codes (seeds 0, 1), one with 5-d codes."""
    from latentlab import data
    from latentlab.training import train

    folder = tmp_path_factory.mktemp("map_models")
    ds = data.load("faces", n=64, size=32, seed=0)
    paths = {}
    for name, latent, seed in (("a", 8, 0), ("b", 8, 1), ("small", 5, 0)):
        paths[name] = folder / f"{name}.pt"
        train("faces-vae-tiny", out=paths[name], dataset=ds, progress=False,
              overrides=["model.base_channels=4", f"model.latent_dim={latent}", "train.steps=3",
                         "train.batch_size=16", f"train.seed={seed}"])
    return paths


def test_fit_prints_the_table_and_writes_the_map(models, tmp_path):
    out = tmp_path / "a2b.npz"
    stdout, _ = run(["map", "--src", str(models["a"]), "--dst", str(models["b"]), "--support", "60", "--test", "20",
                     "--kind", "affine", "--kind", "ridge", "--out", str(out), "--quiet"])
    for row in ("affine", "ridge", "random-orthogonal*", "mean*", "R  destination reconstruction", "20 held-out"):
        assert row in stdout, stdout
    m = LatentMap.load(out)
    assert m.kind == "affine" and m.src_shape_ == (8,) and m.dst_shape_ == (8,)
    # never overwritten without --force
    _, err = run(["map", "--src", str(models["a"]), "--dst", str(models["b"]), "--support", "60", "--test", "20",
                  "--out", str(out), "--quiet"], expect=2)
    assert "already exists" in err and "--force" in err and err.strip().count("\n") == 0
    run(["map", "--src", str(models["a"]), "--dst", str(models["b"]), "--support", "60", "--test", "20",
         "--kind", "procrustes", "--source", "generated", "--out", str(out), "--force", "--quiet",
         "--curve", str(tmp_path / "curve.png"), "--table-figure", str(tmp_path / "table.png")])
    assert LatentMap.load(out).kind == "procrustes"
    assert (tmp_path / "curve.png").stat().st_size > 1000 and (tmp_path / "table.png").stat().st_size > 1000


def test_apply_draws_source_above_mapped(models, tmp_path):
    out = tmp_path / "a2b.npz"
    run(["map", "--src", str(models["a"]), "--dst", str(models["b"]), "--support", "40", "--test", "10",
         "--out", str(out), "--quiet"])
    fig = tmp_path / "mapped.png"
    stdout, _ = run(["map", "apply", str(out), "--src", str(models["a"]), "--dst", str(models["b"]),
                     "--n", "6", "--out", str(fig), "--encoded"])
    assert fig.stat().st_size > 1000 and "wrote" in stdout
    saved = np.load(tmp_path / "mapped.data.npz")
    assert saved["source"].shape == saved["mapped"].shape == saved["dst encoded"].shape == (6, 3, 32, 32)
    _, err = run(["map", "apply", str(out), "--src", str(models["a"]), "--dst", str(models["b"]), "--out", str(fig)],
                 expect=2)
    assert "already exists" in err


def test_apply_with_models_of_other_latent_sizes_is_one_line_exit_2(models, tmp_path):
    out = tmp_path / "a2b.npz"
    run(["map", "--src", str(models["a"]), "--dst", str(models["b"]), "--support", "40", "--test", "10",
         "--out", str(out), "--quiet"])
    for flag in ("--src", "--dst"):
        args = {"--src": str(models["a"]), "--dst": str(models["b"]), flag: str(models["small"])}
        _, err = run(["map", "apply", str(out), "--src", args["--src"], "--dst", args["--dst"],
                      "--out", str(tmp_path / f"x{flag}.png")], expect=2)
        assert err.startswith("latentlab: error:") and err.strip().count("\n") == 0
        assert "shape (8,)" in err and "latent shape (5,)" in err
        assert not (tmp_path / f"x{flag}.png").exists()


def test_usage_errors_are_one_line_exit_2(models, tmp_path):
    _, err = run(["map", "--dst", str(models["b"])], expect=2)
    assert "--src" in err and err.strip().count("\n") == 0
    _, err = run(["map", "--src", str(models["a"]), "--dst", str(models["b"]), "--kind", "cubic"], expect=2)
    assert "cubic" in err and "affine" in err
    _, err = run(["map", "apply", str(tmp_path / "none.npz"), "--src", str(models["a"]), "--dst", str(models["b"])],
                 expect=2)
    assert "no LatentMap file" in err
    bogus = tmp_path / "bogus.npz"
    bogus.write_text("not a map")
    _, err = run(["map", "apply", str(bogus), "--src", str(models["a"]), "--dst", str(models["b"]),
                  "--out", str(tmp_path / "y.png")], expect=2)
    assert "is not a LatentMap file" in err and err.strip().count("\n") == 0
    np.savez(tmp_path / "codes.npz", z=np.zeros((3, 2)))
    _, err = run(["map", "apply", str(tmp_path / "codes.npz"), "--src", str(models["a"]), "--dst", str(models["b"]),
                  "--out", str(tmp_path / "y.png")], expect=2)
    assert "is not a LatentMap file" in err
    _, err = run(["map", "--src", str(models["a"]), "--dst", str(tmp_path / "missing.pt"), "--out",
                  str(tmp_path / "m.npz")], expect=2)
    assert "missing.pt" in err and err.strip().count("\n") == 0


def test_help_of_both_forms():
    stdout, _ = run(["map", "--help"])
    assert "--src" in stdout and "--support" in stdout and "apply" in stdout
    stdout, _ = run(["map", "apply", "--help"])
    assert "MAP_FILE" in stdout and "--n" in stdout


@pytest.mark.skipif("map" not in cli.commands, reason="`map` is not registered in latentlab.cli yet")
def test_installed_entry_point_runs_map(models, tmp_path):
    out = tmp_path / "m.npz"
    proc = subprocess.run([sys.executable, "-m", "latentlab", "map", "--src", str(models["a"]), "--dst",
                           str(models["b"]), "--support", "30", "--test", "8", "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and "mean*" in proc.stdout


def test_kind_choices_match_the_library():
    from latentlab.analysis.maps import KINDS
    from latentlab.cli import maps as cli_maps

    assert cli_maps._KINDS == KINDS


# -- map transfer ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def transfer_files(tmp_path_factory, single_thread_context, tiny_faces_models):
    """Tiny faces GAN, VAE and classifier; glasses directions in both; a GAN -> VAE ridge map; a VAE identity map."""
    import latentlab
    from latentlab.analysis.support import support_set
    from latentlab.analysis.workflow import find_direction

    with single_thread_context():
        paths = {k: str(v) for k, v in tiny_faces_models.items()}
        folder = tmp_path_factory.mktemp("transfer")
        gan, vae = latentlab.load(paths["gan"]), latentlab.load(paths["vae"])
        paths["glasses-gan"] = str(folder / "glasses-gan.npz")
        find_direction(paths["gan"], "glasses", classifier=paths["classifier"], n=2000).save(paths["glasses-gan"])
        paths["glasses-vae"] = str(folder / "glasses-vae.npz")
        find_direction(paths["vae"], "glasses", labels_from="data", n=1500).save(paths["glasses-vae"])
        paths["gan2vae"] = str(folder / "gan2vae.npz")
        support_set(gan, vae, source="generated", n=1000, seed=0).fit("ridge", alpha=1.0).save(paths["gan2vae"])
        # W = I exactly: a linear fit of random codes onto themselves
        z = np.random.default_rng(0).standard_normal((64, *vae.latent_shape))
        paths["vae2vae"] = str(folder / "vae2vae.npz")
        LatentMap("linear").fit(z, z).save(paths["vae2vae"])
    return paths


def flip_rates(stdout: str) -> dict:
    line = next(line for line in stdout.splitlines() if line.startswith("flip rate of glasses: "))
    return {name: float(value) for name, value in (part.split() for part in line.split(": ", 1)[1].split(", "))}


def test_transfer_through_the_identity_map_is_the_direct_direction(transfer_files, tmp_path):
    f = transfer_files
    stdout, _ = run(["map", "transfer", f["vae2vae"], "--direction", f["glasses-vae"], "--dst", f["vae"],
                     "--classifier", f["classifier"], "--direct", f["glasses-vae"], "--n", "64"])
    rates = flip_rates(stdout)
    assert rates["carried"] == rates["direct"], stdout
    assert "cosine between the carried and the direct direction: +1.000" in stdout


def test_transfer_gan_direction_edits_the_vae_and_saves_an_editable_direction(transfer_files, tmp_path):
    from latentlab.analysis.maps import transport_direction
    from latentlab.analysis.workflow import DirectionResult

    f = transfer_files
    out = tmp_path / "glasses-in-vae.npz"
    args = ["map", "transfer", f["gan2vae"], "--direction", f["glasses-gan"], "--dst", f["vae"],
            "--classifier", f["classifier"], "--direct", f["glasses-vae"], "--step", "3", "--out", str(out)]
    stdout, _ = run(args)
    rates = flip_rates(stdout)
    assert list(rates) == ["carried", "direct", "random"]
    assert rates["carried"] > rates["random"] + 0.2, stdout
    assert rates["direct"] > rates["random"] + 0.2, stdout
    saved = DirectionResult.load(out)
    source = DirectionResult.load(f["glasses-gan"])
    assert saved.attribute == "glasses" and saved.latent_shape == (16,) and saved.model == f["vae"]
    np.testing.assert_allclose(saved.direction, transport_direction(LatentMap.load(f["gan2vae"]), source.direction))
    assert np.isclose(np.linalg.norm(saved.direction), 1.0) and np.isnan(saved.intercept)
    # the saved file drives `latentlab edit` in the destination model
    if "edit" in _root().commands:
        run(["edit", "--model", f["vae"], "--direction", str(out), "--n", "2", "--steps", "3",
             "--out", str(tmp_path / "edit.png")])
        assert (tmp_path / "edit.png").stat().st_size > 1000
    # never overwritten without --force
    _, err = run(args, expect=2)
    assert "already exists" in err and err.strip().count("\n") == 0


def test_transfer_errors_are_one_line_exit_2(transfer_files, tmp_path, monkeypatch):
    import dataclasses

    from latentlab.analysis.workflow import DirectionResult, PCAResult

    f = transfer_files
    out = tmp_path / "t.npz"

    def error(map_file, direction, dst, *extra):
        _, err = run(["map", "transfer", map_file, "--direction", direction, "--dst", dst,
                      "--classifier", f["classifier"], "--out", str(out), *extra], expect=2)
        assert err.startswith("latentlab: error:") and err.strip().count("\n") == 0, err
        assert not out.exists()
        return err

    # a 32-d GAN direction through a map from the 16-d VAE space
    err = error(f["vae2vae"], f["glasses-gan"], f["vae"])
    assert "latent shape (32,)" in err and "source codes of shape (16,)" in err
    # a map into the VAE, used with the GAN as destination
    err = error(f["gan2vae"], f["glasses-gan"], f["gan"])
    assert "destination codes of shape (16,)" in err and "latent shape (32,)" in err
    # a --direct direction of the wrong model, or of another attribute
    err = error(f["gan2vae"], f["glasses-gan"], f["vae"], "--direct", f["glasses-gan"])
    assert "latent shape (32,)" in err
    smile = tmp_path / "smile-vae.npz"
    dataclasses.replace(DirectionResult.load(f["glasses-vae"]), attribute="smile").save(smile)
    err = error(f["gan2vae"], f["glasses-gan"], f["vae"], "--direct", str(smile))
    assert "'smile'" in err and "'glasses'" in err
    # principal directions name no attribute
    pca = tmp_path / "pca.npz"
    PCAResult(components=np.eye(2, 32), explained_variance=np.ones(2), explained_variance_ratio=np.full(2, 0.5),
              mean=np.zeros(32)).save(pca)
    assert "principal directions" in error(f["gan2vae"], str(pca), f["vae"])
    assert "is not a LatentMap file" in error(f["glasses-gan"], f["glasses-gan"], f["vae"])
    # --out must not replace an input
    _, err = run(["map", "transfer", f["gan2vae"], "--direction", f["glasses-gan"], "--dst", f["vae"],
                  "--classifier", f["classifier"], "--out", f["glasses-gan"], "--force"], expect=2)
    assert "is an input of this command" in err
    # no classifier given and none in this folder
    monkeypatch.chdir(tmp_path)
    _, err = run(["map", "transfer", f["gan2vae"], "--direction", f["glasses-gan"], "--dst", f["vae"]], expect=2)
    assert "classifier" in err and err.strip().count("\n") == 0
