"""The scalar parameter checks of latentlab._validation, which every module uses."""

import math

import numpy as np
import pytest

from latentlab._validation import check_choice, check_float, check_int


def test_check_int_returns_python_ints_and_refuses_bools_floats_and_out_of_range():
    assert check_int(np.int64(3), "k", min=1) == 3 and type(check_int(np.int64(3), "k", min=1)) is int
    assert check_int(None, "k", min=1, allow_none=True) is None
    assert check_int(10, "steps", min=1, max=10) == 10
    assert check_int(10**400, "n", min=0) == 10**400
    for bad in (True, 2.0, "3", None):
        with pytest.raises(ValueError, match=f"k must be a positive integer; got {bad!r}"):
            check_int(bad, "k", min=1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer; got -1"):
        check_int(-1, "seed", min=0)
    with pytest.raises(ValueError, match="steps must be an integer from 1 to 10; got 11"):
        check_int(11, "steps", min=1, max=10)
    with pytest.raises(ValueError, match="n must be a number of codes >= 4 or None; got 3"):
        check_int(3, "n", min=4, allow_none=True, noun="number of codes")


def test_check_int_raises_type_error_only_for_the_type_when_asked():
    with pytest.raises(TypeError, match="k must be an integer >= 3; got 2.5"):
        check_int(2.5, "k", min=3, type_error=TypeError)
    with pytest.raises(ValueError) as info:  # a value out of range stays a ValueError
        check_int(2, "k", min=3, type_error=TypeError)
    assert type(info.value) is ValueError


@pytest.mark.parametrize(
    "value,bounds,message",
    [
        (0.0, dict(min=0, min_open=True), "sigma must be a positive number; got 0.0"),
        (math.nan, dict(min=0, min_open=True), "sigma must be a positive number; got nan"),
        (math.inf, dict(min=0), "sigma must be a non-negative number; got inf"),
        (1.0, dict(min=0, max=1, max_open=True), r"sigma must be a number in \[0, 1\); got 1.0"),
        (0.7, dict(min=0, max=0.5, min_open=True), r"sigma must be a number in \(0, 0.5\]; got 0.7"),
        (False, dict(), "sigma must be a number; got False"),
    ],
)
def test_check_float_names_the_allowed_interval(value, bounds, message):
    with pytest.raises(ValueError, match=message):
        check_float(value, "sigma", **bounds)


def test_check_float_accepts_the_bounds_it_includes_and_ints():
    assert check_float(0, "x", min=0, max=1) == 0.0 and type(check_float(0, "x", min=0, max=1)) is float
    assert check_float(np.float32(0.5), "x", min=0, max=0.5) == 0.5
    assert check_float(1, "x", min=0, max=1, min_open=True) == 1.0


def test_check_choice_lists_the_options():
    assert check_choice("ddim", "sampler", ("ddpm", "ddim")) == "ddim"
    with pytest.raises(ValueError, match="sampler='euler' is not one of 'ddpm', 'ddim'"):
        check_choice("euler", "sampler", ("ddpm", "ddim"))
