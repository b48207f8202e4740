import numpy as np
import pytest
import torch

from latentlab.data import load
from latentlab.data.faces import (
    BINARY_ATTRIBUTES,
    FACTOR_DEFAULTS,
    HAIR_COLORS,
    SKIN_TONES,
    make_faces,
    render_faces,
)

# Image regions as fractions of the image (rows top to bottom, columns left to right)
# for centred, upright faces (nuisance=0), from the layout of the drawing: the eyes sit
# a little above the middle, the mouth about two thirds down, the hat above the brow.
EYES = ((0.36, 0.60), (0.20, 0.80))
MOUTH = ((0.58, 0.82), (0.32, 0.68))
TOP = ((0.0, 0.36), (0.0, 1.0))
UPPER_HALF = ((0.0, 0.5), (0.0, 1.0))
FOREHEAD = ((0.28, 0.42), (0.38, 0.62))
LOWER_FACE = ((0.45, 0.92), (0.2, 0.8))
MOUTH_ONLY = ((0.6, 0.75), (0.38, 0.62))  # inside the face, clear of the hair beside the chin


pytestmark = pytest.mark.usefixtures("one_thread")


def _box_mask(box, size):
    (r0, r1), (c0, c1) = box
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[round(r0 * size) : round(r1 * size), round(c0 * size) : round(c1 * size)] = True
    return mask


def _base_factors(n=24, seed=5, **overrides):
    """Random centred faces with no optional features, as factor arrays."""
    f = {k: v.copy() for k, v in make_faces(n=n, seed=seed, nuisance=0.0, correlations={}).factors.items()}
    for name in ("glasses", "beard", "hat", "age"):
        f[name][:] = 0.1
    f.update({k: np.full(n, v, np.float32) for k, v in overrides.items()})
    return f


def _switch(factor, off, on, size=32, **overrides):
    """Per-image absolute change (summed over channels) when one factor switches."""
    f = _base_factors(**overrides)
    a = render_faces({**f, factor: np.full(len(f["age"]), off, np.float32)}, size)
    b = render_faces({**f, factor: np.full(len(f["age"]), on, np.float32)}, size)
    return (b - a).abs().sum(dim=1)  # (n, H, W)


def _fraction_inside(change, box):
    mask = _box_mask(box, change.shape[-1])
    return (change * mask).sum(dim=(1, 2)) / change.sum(dim=(1, 2))


# -- basic contract ---------------------------------------------------------------------
@pytest.mark.parametrize("size", [32, 64])
def test_shapes_dtype_range_and_labels(size):
    ds = load("faces", n=12, size=size, seed=1)
    x = ds.images
    assert x.shape == (12, 3, size, size) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.2
    assert ds.name == "faces" and ds.attribute_names == [*BINARY_ATTRIBUTES, "hair_color", "skin_tone"]
    assert ds.attr_levels["hair_color"] == list(HAIR_COLORS) and ds.attr_levels["skin_tone"] == list(SKIN_TONES)
    for name in BINARY_ATTRIBUTES:
        assert set(np.unique(ds.attrs[name])) <= {0, 1}
    assert {"pos_x", "pos_y", "scale", "tilt", "age", "smile"} <= set(ds.factors)
    assert ds.info["seed"] == 1 and ds.info["size"] == size and ds.info["correlations"] == {"glasses~age": 0.5}


def test_deterministic_by_seed():
    a = make_faces(n=16, seed=3).images
    assert torch.equal(a, make_faces(n=16, seed=3).images)
    assert not torch.equal(a, make_faces(n=16, seed=4).images)
    # the first faces do not depend on how many are drawn
    assert torch.equal(a[:5], make_faces(n=5, seed=3).images)


def test_factors_reproduce_the_images_and_labels():
    ds = make_faces(n=40, seed=2)
    assert torch.equal(render_faces(ds.factors, 32), ds.images)
    assert torch.allclose(ds.get([7, 3]), ds.images[[7, 3]], atol=1e-5, rtol=0)
    # every label sits on its side of the factor threshold
    assert np.array_equal(ds.attrs["smile"], (ds.factors["smile"] > 0).astype(int))
    assert np.array_equal(ds.attrs["age"], (ds.factors["age"] >= 0.5).astype(int))


@pytest.mark.parametrize("size", [32, 64])
def test_a_face_does_not_depend_on_its_batch(size):
    # large poses, so that every part's pixel box differs from image to image
    f = make_faces(n=24, seed=8, nuisance=2.0).factors
    together = render_faces(f, size)
    alone = torch.cat([render_faces({k: v[i : i + 1] for k, v in f.items()}, size) for i in range(24)])
    assert torch.allclose(together, alone, atol=1e-5, rtol=0)
    reordered = render_faces({k: v[::-1].copy() for k, v in f.items()}, size)
    assert torch.allclose(together, reordered.flip(0), atol=1e-5, rtol=0)


def test_nuisance_controls_pose():
    still = make_faces(n=50, seed=0, nuisance=0.0).factors
    for name, value in (("pos_x", 0), ("pos_y", 0), ("tilt", 0), ("scale", 1)):
        assert np.all(still[name] == value)
    assert np.ptp(still["background"]) == 0
    moving = make_faces(n=50, seed=0, nuisance=1.0).factors
    assert np.all(np.abs(moving["tilt"]) <= 0.2 + 1e-6) and np.ptp(moving["tilt"]) > 0.2
    assert np.ptp(moving["pos_x"]) > 0.05 and np.ptp(moving["scale"]) > 0.05


def test_works_with_dataloader():
    loader = torch.utils.data.DataLoader(make_faces(n=20, seed=0), batch_size=8, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    x, y = next(iter(loader))
    assert x.shape == (8, 3, 32, 32) and y.shape == (8, 8) and y.dtype == torch.float32


# -- each attribute is visible where it should be ---------------------------------------
@pytest.mark.parametrize(
    "factor, off, on, box, extra",
    [
        ("glasses", 0.1, 0.8, EYES, {}),
        ("smile", -0.3, 0.8, MOUTH, {}),
        ("hat", 0.1, 0.8, TOP, {}),
        ("age", 0.1, 0.8, UPPER_HALF, {"male": 0.8}),  # short hair: all hair is above the ears
        ("beard", 0.1, 0.8, LOWER_FACE, {}),
    ],
)
@pytest.mark.parametrize("size", [32, 64])
def test_attribute_changes_only_its_region(factor, off, on, box, extra, size):
    change = _switch(factor, off, on, size=size, **extra)
    assert _fraction_inside(change, box).min() > 0.95
    # non-trivial: the mean change inside the box is large, in every face
    mask = _box_mask(box, size)
    mean_in_box = (change * mask).sum(dim=(1, 2)) / mask.sum()
    assert mean_in_box.min() > 0.1


def test_age_shows_on_the_forehead_and_not_on_the_mouth():
    change = _switch("age", 0.1, 0.9, size=64)  # long and short hair alike
    forehead = _box_mask(FOREHEAD, 64)
    assert ((change * forehead).sum(dim=(1, 2)) / forehead.sum()).min() > 0.1  # hairline and wrinkles
    assert _fraction_inside(change, MOUTH_ONLY).max() < 0.01


def test_hair_colour_and_skin_tone_change_the_pixels():
    f = _base_factors(n=4)
    images = render_faces({**f, "hair_color": np.arange(4, dtype=np.float32)}, 32)
    # four different hair colours give four different images of the same face
    flat = images.flatten(1)
    assert torch.cdist(flat, flat)[~torch.eye(4, dtype=torch.bool)].min() > 1.0
    light = render_faces({**f, "skin_tone": np.full(4, 0.1, np.float32)}, 32)
    dark = render_faces({**f, "skin_tone": np.full(4, 0.9, np.float32)}, 32)
    centre = _box_mask(((0.4, 0.7), (0.35, 0.65)), 32)
    assert (light.mean(dim=1)[:, centre] - dark.mean(dim=1)[:, centre]).mean(dim=1).min() > 0.5


# -- attribute statistics ---------------------------------------------------------------
def _phi(a, b):
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("target", [0.5, 0.0, -0.3])
def test_correlation_is_honoured(target):
    n = 20000
    ds = make_faces(n=n, seed=11, correlations={("glasses", "age"): target})
    # the standard error of a sample phi is at most about 1/sqrt(n)
    assert abs(_phi(ds.attrs["glasses"], ds.attrs["age"]) - target) < 4 / np.sqrt(n)
    assert abs(_phi(ds.attrs["smile"], ds.attrs["hat"])) < 4 / np.sqrt(n)


def test_several_correlations_and_string_forms():
    n = 20000
    ds = make_faces(n=n, seed=12, correlations="glasses~age=0.4, beard~male=0.5,smile~hat=-0.2")
    for (a, b), target in ((("glasses", "age"), 0.4), (("beard", "male"), 0.5), (("smile", "hat"), -0.2)):
        assert abs(_phi(ds.attrs[a], ds.attrs[b]) - target) < 4 / np.sqrt(n)
    same = make_faces(n=10, seed=12, correlations={"age~glasses": 0.4, ("male", "beard"): 0.5, "smile~hat": -0.2})
    assert same.info["correlations"] == make_faces(n=10, seed=12, correlations="glasses~age=0.4,beard~male=0.5,smile~hat=-0.2").info["correlations"]
    independent = make_faces(n=n, seed=13, correlations={})
    assert abs(_phi(independent.attrs["glasses"], independent.attrs["age"])) < 4 / np.sqrt(n)


def test_prevalence_is_honoured():
    n = 20000
    prevalence = {"glasses": 0.2, "hat": 0.6, "hair_color": {"red": 0.5, "black": 0.5}}
    ds = make_faces(n=n, seed=14, prevalence=prevalence)
    for name, p in (("glasses", 0.2), ("hat", 0.6), ("smile", 0.5), ("age", 0.35)):
        assert abs(ds.attrs[name].mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    counts = np.bincount(ds.attrs["hair_color"], minlength=4) / n
    assert counts[HAIR_COLORS.index("brown")] == 0 and counts[HAIR_COLORS.index("blond")] == 0
    assert abs(counts[HAIR_COLORS.index("red")] - 0.5) < 4 * np.sqrt(0.25 / n)


# -- bad options --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options, message",
    [
        ({"size": 48}, "32, 64"),
        ({"correlations": {("glases", "age"): 0.5}}, "unknown attribute 'glases'.*glasses, smile"),
        ({"correlations": "glasses~hair_color=0.2"}, "categorical"),
        ({"correlations": {"glasses~glasses": 0.2}}, "twice"),
        ({"correlations": {("glasses", "age"): 0.95}}, r"glasses~age.*achievable range is \[-0\.\d+, 0\.\d+\]"),
        ({"correlations": {"glasses~age": 0.9, "age~smile": 0.9, "glasses~smile": -0.9},
          "prevalence": {"glasses": 0.5, "age": 0.5}}, "positive definite"),
        ({"prevalence": {"beards": 0.3}}, "unknown attribute 'beards'.*beard"),
        ({"prevalence": {"hat": 1.2}}, "strictly between 0 and 1"),
        ({"prevalence": {"skin_tone": [0.5, 0.5]}}, "3 non-negative frequencies"),
        ({"nuisance": -1}, r"nuisance must be a number in \[0, 2\]"),
        ({"seed": None}, "seed must be a non-negative integer"),
    ],
)
def test_bad_options_raise_helpful_errors(options, message):
    with pytest.raises(ValueError, match=message):
        load("faces", n=4, **options)


def test_render_faces_checks_its_input():
    with pytest.raises(ValueError, match="unknown face factor 'colour'.*glasses"):
        render_faces({"colour": [0.1]}, 32)
    with pytest.raises(ValueError, match="32, 64"):
        render_faces({}, 16)
    with pytest.raises(ValueError, match="one common length"):
        render_faces({"age": np.zeros(3), "smile": np.zeros(2)}, 32)
    one = render_faces({}, 64)  # every factor at its default: one neutral face
    assert one.shape == (1, 3, 64, 64) and set(FACTOR_DEFAULTS) >= {"tilt", "glasses"}
