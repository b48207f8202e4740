import numpy as np
import pytest
import torch

from latentlab.data import load
from latentlab.data.shapes import ORIENTATIONS, POSITIONS, SCALES, ShapesSource, make_shapes, render_shapes


def _mask(images):
    return (images[:, 0] > 0).numpy()


def _centroid(mask):
    rows, cols = np.nonzero(mask)
    return cols.mean(), rows.mean()


def test_random_samples_are_deterministic_and_binary():
    a, b, c = make_shapes(n=64, seed=1), make_shapes(n=64, seed=1), make_shapes(n=64, seed=2)
    assert torch.equal(a.data, b.data)
    assert not np.array_equal(a.labels(), c.labels())
    assert a.data.shape == (64, 1, 64, 64) and a.data.dtype == torch.float32
    assert set(torch.unique(a.data).tolist()) == {-1.0, 1.0}
    assert a.attr_levels["shape"] == ["square", "ellipse", "heart"]


def test_sizes_and_bad_size():
    assert load("shapes", n=4, size=32).sample_shape == (1, 32, 32)
    with pytest.raises(ValueError, match="size must be one of"):
        make_shapes(n=4, size=48)
    with pytest.raises(ValueError, match="n must be"):
        make_shapes(n=0)


def test_factors_match_attrs_and_images():
    d = make_shapes(n=50, seed=3)
    np.testing.assert_allclose(d.factors["scale"], SCALES[d.attrs["scale"]], rtol=1e-6)
    np.testing.assert_allclose(d.factors["orientation"], ORIENTATIONS[d.attrs["orientation"]], rtol=1e-6)
    np.testing.assert_allclose(d.factors["pos_x"], POSITIONS[d.attrs["pos_x"]], rtol=1e-6)
    rerendered = render_shapes(
        d.attrs["shape"], d.factors["scale"], d.factors["orientation"], d.factors["pos_x"], d.factors["pos_y"], size=64
    )
    assert torch.equal(rerendered, d.data)


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_pos_x_and_pos_y_move_the_centroid(shape):
    steps = POSITIONS[np.r_[0:32:4, 31]]  # includes both ends
    xs = render_shapes(shape, 0.75, 0.3, steps, 0.5, size=64)
    ys = render_shapes(shape, 0.75, 0.3, 0.5, steps, size=64)
    cx = np.array([_centroid(m)[0] for m in _mask(xs)])
    cy = np.array([_centroid(m)[1] for m in _mask(ys)])
    assert np.all(np.diff(cx) > 0)  # right
    assert np.all(np.diff(cy) > 0)  # down the rows
    # the other coordinate stays put
    assert np.ptp([_centroid(m)[1] for m in _mask(xs)]) < 0.5
    # the whole position range moves the shape by size - 2 * (0.2 * size + 1) = 36.4 px
    assert abs((cx[-1] - cx[0]) - 36.4) < 1.0


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_scale_grows_area_quadratically(shape):
    area = _mask(render_shapes(shape, SCALES, 1.0, 0.5, 0.5, size=64)).sum(axis=(1, 2))
    assert np.all(np.diff(area) > 0)
    # area ~ scale^2: doubling the scale (0.5 -> 1) multiplies it by about 4
    assert 3.5 < area[-1] / area[0] < 4.5


def test_shapes_differ_in_area_and_mask():
    masks = _mask(render_shapes([0, 1, 2], 1.0, 0.0, 0.5, 0.5, size=64))
    areas = masks.sum(axis=(1, 2))
    # analytic areas in the unit disc (r = 12.8 px): square 1.96 r^2, ellipse pi/2 r^2, heart ~2.34 r^2
    r2 = (0.2 * 64) ** 2
    np.testing.assert_allclose(areas / r2, [1.96, np.pi / 2, 2.34], rtol=0.05)
    # the heart points down: more of it above its centre row than below
    heart = masks[2]
    centre_row = 32
    assert heart[:centre_row].sum() > heart[centre_row:].sum()


def _principal_angle(mask):
    rows, cols = np.nonzero(mask)
    x, y = cols - cols.mean(), -(rows - rows.mean())  # y up
    cov = np.cov(np.stack([x, y]))
    w, v = np.linalg.eigh(cov)
    major = v[:, np.argmax(w)]
    return np.arctan2(major[1], major[0]) % np.pi


def test_orientation_rotates_the_second_moments():
    thetas = ORIENTATIONS[:20]  # [0, pi): the ellipse is symmetric under a half turn
    masks = _mask(render_shapes(1, 1.0, thetas, 0.5, 0.5, size=64))
    angles = np.array([_principal_angle(m) for m in masks])
    err = np.abs((angles - thetas + np.pi / 2) % np.pi - np.pi / 2)
    assert err.max() < np.radians(3)
    # a half turn gives the same ellipse; a quarter turn of the square the same square
    half = render_shapes(1, 1.0, [0.4, 0.4 + np.pi], 0.5, 0.5, size=64)
    assert (half[0] != half[1]).float().mean() < 0.01
    quarter = render_shapes(0, 1.0, [0.0, np.pi / 2], 0.5, 0.5, size=64)
    assert (quarter[0] != quarter[1]).float().mean() < 0.01
    heart = render_shapes(2, 1.0, [0.0, np.pi], 0.5, 0.5, size=64)
    assert (heart[0] != heart[1]).float().mean() > 0.02


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_never_touch_the_border(size):
    # extreme corners, largest scale, every orientation, every shape
    shape, theta, px, py = np.meshgrid(np.arange(3), ORIENTATIONS, [0.0, 1.0], [0.0, 1.0], indexing="ij")
    images = render_shapes(shape.ravel(), 1.0, theta.ravel(), px.ravel(), py.ravel(), size=size)
    border = torch.cat([images[..., 0, :], images[..., -1, :], images[..., :, 0], images[..., :, -1]], dim=-1)
    assert (border == -1).all()
    assert (images == 1).flatten(1).any(dim=1).all()  # and every image shows something


def test_render_rejects_out_of_range_factors():
    with pytest.raises(ValueError, match="shape codes"):
        render_shapes(3, 1.0, 0.0, 0.5, 0.5)
    with pytest.raises(ValueError, match="scale"):
        render_shapes(0, 1.5, 0.0, 0.5, 0.5)
    with pytest.raises(ValueError, match="pos_x"):
        render_shapes(0, 1.0, 0.0, 1.2, 0.5)


def test_full_grid_is_lazy_and_ordered(monkeypatch):
    calls = []
    original = ShapesSource.get
    monkeypatch.setattr(ShapesSource, "get", lambda self, idx: calls.append(len(idx)) or original(self, idx))
    d = make_shapes(full_grid=True)
    assert len(d) == 3 * 6 * 40 * 32 * 32 == 737280
    assert calls == []  # nothing rendered while building
    # C order over (shape, scale, orientation, pos_x, pos_y), pos_y fastest
    idx = np.array([0, 1, 32, 32 * 32, 40 * 32 * 32, 6 * 40 * 32 * 32, 737279])
    expected = np.array([
        [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 1, 0, 0],
        [0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [2, 5, 39, 31, 31],
    ])
    np.testing.assert_array_equal(d.labels(idx), expected)
    images = d.get(idx)
    assert calls == [len(idx)]
    ref = render_shapes(expected[:, 0], SCALES[expected[:, 1]], ORIENTATIONS[expected[:, 2]],
                        POSITIONS[expected[:, 3]], POSITIONS[expected[:, 4]], size=64)
    assert torch.equal(images, ref)
    # successive pos_y indices move the shape down
    assert _centroid(_mask(images)[1])[1] > _centroid(_mask(images)[0])[1]
