"""Shared helpers for the figure tests."""

import numpy as np
import pytest


def pixels(fig) -> np.ndarray:
    """The figure rendered by Agg, as an (H, W, 4) uint8 array."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


@pytest.fixture
def render():
    return pixels


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
