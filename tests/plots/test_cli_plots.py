"""``latentlab plot ...``: thin commands, one-line errors with exit 2, no overwriting."""

import numpy as np
import pytest
from click.testing import CliRunner

from latentlab.cli import _Group
from latentlab.cli.plots import plot
from latentlab.codes import LatentCodes
from latentlab.plots import figure_data, redraw

# The plot group under a top-level group like latentlab's own, so errors take the real path.
CLI = _Group(name="latentlab", commands={"plot": plot})


def run(args, expect=0):
    result = CliRunner().invoke(CLI, ["plot", *map(str, args)], catch_exceptions=False)
    assert result.exit_code == expect, f"exit {result.exit_code} != {expect}\n{result.stdout}\n{result.stderr}"
    return result.stdout, result.stderr


@pytest.fixture
def codes_file(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    z = rng.normal(size=(40, 6)) + 8.0 * y[:, None]
    path = tmp_path / "codes.npz"
    LatentCodes(z=z.astype(np.float32), attrs={"glasses": y, "smile": 1 - y},
                attr_levels={"glasses": ["no", "yes"], "smile": ["no", "yes"]}).save(path)
    return path, y


def test_projection_writes_figure_and_data_and_never_overwrites(codes_file, tmp_path):
    codes, y = codes_file
    out = tmp_path / "proj.png"
    stdout, _ = run(["projection", codes, "--attr", "glasses", "--method", "pca", "--out", out])
    assert "proj.png" in stdout and out.stat().st_size > 1000
    data = figure_data(redraw(tmp_path / "proj.data.csv"))
    np.testing.assert_array_equal(data["label"], y)
    assert abs(data["x"][y == 0].mean() - data["x"][y == 1].mean()) > 10  # the planted gap is PC 1
    before = out.read_bytes()
    _, err = run(["projection", codes, "--attr", "glasses", "--method", "pca", "--out", out], expect=2)
    assert "already exists" in err and "--force" in err and err.strip().count("\n") == 0
    assert out.read_bytes() == before
    run(["projection", codes, "--attr", "smile", "--method", "pca", "--out", out, "--force"])
    assert out.read_bytes() != before


def test_projection_bad_attribute_is_one_line_listing_the_valid_ones(codes_file, tmp_path):
    codes, _ = codes_file
    _, err = run(["projection", codes, "--attr", "glases", "--method", "pca", "--out", tmp_path / "p.png"], expect=2)
    assert err.strip().count("\n") == 0
    assert "unknown attribute 'glases'" in err and "glasses, smile" in err
    assert not (tmp_path / "p.png").exists()
    _, err = run(["projection", codes, "--method", "isomap", "--out", tmp_path / "p.png"], expect=2)
    assert "isomap" in err and err.strip().count("\n") == 0


def test_heatmap_curve_and_redraw_from_csv(tmp_path):
    # a figure named after its input table (heat.csv -> heat.png) keeps its data apart (heat.data.npz)
    (tmp_path / "heat.csv").write_text("attr,d1,d2\nglasses,0.5,-0.1\nsmile,0.0,0.9\n")
    run(["heatmap", tmp_path / "heat.csv", "--center", "0", "--out", tmp_path / "heat.png"])
    data = figure_data(redraw(tmp_path / "heat.data.npz"))
    np.testing.assert_array_equal(data["matrix"], [[0.5, -0.1], [0.0, 0.9]])
    assert data["row_names"].tolist() == ["glasses", "smile"]

    rows = ["step,seed,loss"] + [f"{s},{k},{1.0 / (s + 1) + 0.01 * k}" for s in (0, 1, 2, 3) for k in range(3)]
    (tmp_path / "loss.csv").write_text("\n".join(rows) + "\n")
    run(["curve", tmp_path / "loss.csv", "--x", "step", "--y", "loss", "--out", tmp_path / "loss.png"])
    data = figure_data(redraw(tmp_path / "loss.data.npz"))
    assert data["y/loss"].shape == (3, 4)  # three seeds per step became three runs
    np.testing.assert_allclose(data["mean/loss"], 1.0 / np.arange(1, 5) + 0.01)
    _, err = run(["curve", tmp_path / "loss.csv", "--y", "lost", "--out", tmp_path / "c2.png"], expect=2)
    assert "no column 'lost'" in err and "step, seed, loss" in err

    run(["redraw", tmp_path / "loss.data.npz", "--out", tmp_path / "loss2.pdf", "--width", "two"])
    assert (tmp_path / "loss2.pdf").read_bytes().startswith(b"%PDF") and (tmp_path / "loss2.data.npz").exists()
    _, err = run(["redraw", tmp_path / "loss.data.npz", "--out", tmp_path / "loss.pdf", "--force"], expect=2)
    assert "is an input of this command" in err
    _, err = run(["redraw", tmp_path / "heat.csv", "--out", tmp_path / "r.png"], expect=2)
    assert "no recipe" in err and err.strip().count("\n") == 0


def test_images_from_data_with_labels(tmp_path):
    out = tmp_path / "faces.png"
    run(["images", "--data", "faces", "--n", "4", "--label", "glasses", "--out", out])
    saved = np.load(tmp_path / "faces.data.npz")
    assert saved["images"].shape == (4, 3, 32, 32)
    assert set(saved["labels"].tolist()) <= {"glasses", "no glasses"}
    _, err = run(["images", "--n", "4", "--out", tmp_path / "x.png"], expect=2)
    assert "exactly one of --model" in err
    _, err = run(["images", "--data", "faces", "--n", "4", "--label", "glases", "--out", tmp_path / "x.png"], expect=2)
    assert "unknown attribute 'glases'" in err and "glasses" in err


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory, single_thread_context):
    from latentlab.training import train

    path = tmp_path_factory.mktemp("vae") / "vae.pt"
    overrides = ["train.steps=2", "data.options.n=64", "train.batch_size=16", "train.checkpoint_every=0"]
    with single_thread_context():
        train("faces-vae-tiny", out=path, overrides=overrides, progress=False, force=True)
    return path


def test_images_of_a_model_and_its_traversal(tiny_vae, tmp_path):
    import latentlab
    from latentlab.analysis.workflow import DirectionResult, PCAResult

    run(["images", "--model", tiny_vae, "--n", "3", "--out", tmp_path / "s.png"])
    assert np.load(tmp_path / "s.data.npz")["images"].shape == (3, 3, 32, 32)

    d = latentlab.load(tiny_vae).latent_shape[0]
    unit = np.eye(d)[0]
    DirectionResult(attribute="glasses", direction=unit, primal=unit, intercept=0.0).save(tmp_path / "g.npz")
    run(["traversal", tiny_vae, tmp_path / "g.npz", "--n", "2", "--steps", "3", "--out", tmp_path / "t.png"])
    data = figure_data(redraw(tmp_path / "t.data.npz"))
    assert data["images"].shape == (2, 3, 3, 32, 32) and data["steps"].tolist() == [-3.0, 0.0, 3.0]
    # the middle column is the unedited code, the ends differ from it
    assert not np.allclose(data["images"][:, 0], data["images"][:, 1])

    PCAResult(components=np.eye(d)[:2], explained_variance=np.ones(2), explained_variance_ratio=np.full(2, 0.5),
              mean=np.zeros(d)).save(tmp_path / "pca.npz")
    _, err = run(["traversal", tiny_vae, tmp_path / "pca.npz", "--component", "5", "--out", tmp_path / "t2.png"],
                 expect=2)
    assert "component 5 is out of range" in err and "holds 2 directions" in err
    wrong = np.eye(d + 1)[0]
    DirectionResult(attribute="x", direction=wrong, primal=wrong, intercept=0.0).save(tmp_path / "w.npz")
    _, err = run(["traversal", tiny_vae, tmp_path / "w.npz", "--out", tmp_path / "t3.png"], expect=2)
    assert "latent shape" in err and err.strip().count("\n") == 0
