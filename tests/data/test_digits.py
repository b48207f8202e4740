import numpy as np
import pytest
import torch

from latentlab.data import load
from latentlab.data.digits import make_digits


@pytest.fixture(scope="module")
def digits():
    return make_digits()


def test_shape_range_and_count(digits):
    x = digits.images
    assert x.shape == (1797, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() == -1.0 and x.max() <= 1.0 and x.max() > 0.9
    # the 8x8 border columns are mostly blank, so most pixels are background
    assert (x < -0.9).float().mean() > 0.4
    assert load("digits", size=32).sample_shape == (1, 32, 32)


def test_labels_are_balanced_digits(digits):
    counts = np.bincount(digits.attrs["digit"], minlength=10)
    assert counts.sum() == 1797 and len(counts) == 10
    assert counts.min() > 170 and counts.max() < 190  # about 180 of each
    assert digits.attr_levels["digit"] == [str(i) for i in range(10)]


def test_class_means_look_like_the_digits(digits):
    x, y = digits.images[:, 0].numpy(), digits.attrs["digit"]
    zero, one = x[y == 0].mean(axis=0), x[y == 1].mean(axis=0)
    centre = (slice(11, 17), slice(11, 17))
    # a zero has a hole in the middle where a one has its stroke
    assert zero[centre].mean() < one[centre].mean() - 0.5
    # a zero has ink on its left and right sides, a one there has little
    sides = np.r_[zero[8:20, 3:8].mean(), zero[8:20, 20:25].mean()]
    assert np.all(sides > one[8:20, 3:8].mean())


def test_resize_preserves_the_8x8_content(digits):
    # averaging the 28 px images back over 3.5 px blocks gives the original 8x8 digits,
    # up to the blur of interpolation
    from sklearn.datasets import load_digits

    original = load_digits().images / 8.0 - 1.0
    back = torch.nn.functional.interpolate(digits.images, size=(8, 8), mode="area").numpy()[:, 0]
    assert np.corrcoef(back.ravel(), original.ravel())[0, 1] > 0.95
    # and each image matches its own digit far better than another one
    assert np.abs(back - original).mean() < 0.5 * np.abs(back - original[::-1]).mean()


def test_deterministic_and_subset(digits):
    assert torch.equal(make_digits(seed=5).images, digits.images)  # seed unused without n
    sub = make_digits(n=100, seed=2)
    assert len(sub) == 100
    assert torch.equal(sub.images, make_digits(n=100, seed=2).images)
    assert not np.array_equal(sub.attrs["digit"], make_digits(n=100, seed=3).attrs["digit"])


def test_bad_options():
    with pytest.raises(ValueError, match="size must be one of"):
        make_digits(size=64)
    with pytest.raises(ValueError, match="n must be"):
        make_digits(n=5000)
