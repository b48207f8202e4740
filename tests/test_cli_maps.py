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
    saved = np.load(tmp_path / "mapped.npz")
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
    assert "no map file" in err
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
