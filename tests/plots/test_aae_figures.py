"""The AAE's figures: the petal plot over its prior, the style-transfer grid."""

import numpy as np
import pytest
import torch

from latentlab.plots import figure_data
from latentlab.plots.aae import petal_figure, style_transfer_figure
from latentlab.plots.images import to_uint8


def test_style_transfer_grid_puts_each_output_in_its_row_and_column():
    inputs = torch.rand(2, 3, 6, 6) * 2 - 1
    outputs = torch.rand(2, 5, 3, 6, 6) * 2 - 1
    fig = style_transfer_figure(inputs, outputs)
    shown = fig.axes[0].images[0].get_array()
    pad = 1  # max(1, 6 // 8)
    for i in range(2):
        top = pad + i * (6 + pad)
        assert np.array_equal(shown[top : top + 6, pad : pad + 6], to_uint8(inputs[i : i + 1])[0])
        for k in range(5):
            left = pad + (k + 1) * (6 + pad)
            assert np.array_equal(shown[top : top + 6, left : left + 6], to_uint8(outputs[i, k : k + 1])[0])
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["input", "0", "1", "2", "3", "4"]


def test_petal_figure_keeps_its_data_and_refuses_codes_that_are_not_2d():
    codes, labels, prior = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 4, np.zeros((50, 2))
    prior[:, 0] = np.linspace(-1, 1, 50)
    data = figure_data(petal_figure(codes, labels, prior))
    assert np.array_equal(data["codes"], codes) and np.array_equal(data["labels"], labels)
    with pytest.raises(ValueError, match=r"codes must have shape \(N, 2\): a petal figure shows 2-D codes"):
        petal_figure(np.zeros((5, 3)), np.zeros(5), prior)
    with pytest.raises(ValueError, match="got 4 labels for 20 codes"):
        petal_figure(codes, labels[:4], prior)
    with pytest.raises(ValueError, match=r"outputs must have shape \(N, K, C, H, W\)"):
        style_transfer_figure(torch.zeros(2, 1, 4, 4), torch.zeros(3, 2, 1, 4, 4))
