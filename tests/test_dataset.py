import numpy as np
import pytest
import torch

from latentlab.data import Dataset, load
from latentlab.data.stats import attribute_correlations, attribute_stats, random_subset


def _toy(n=20):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, 8, 8, generator=g) * 2 - 1
    a = np.arange(n) % 2
    b = (np.arange(n) // 2) % 3
    return Dataset(images, attrs={"a": a, "b": b}, factors={"f": np.linspace(0, 1, n)}, attr_levels={"b": ["x", "y", "z"]}, name="toy")


def test_container_basics():
    ds = _toy()
    assert len(ds) == 20 and ds.sample_shape == (3, 8, 8) and ds.is_image
    assert ds.attribute_names == ["a", "b"] and ds.attr_levels["a"] == ["no", "yes"]
    x, y = ds[3]
    assert torch.equal(x, ds.images[3]) and y.tolist() == [1.0, 1.0]
    assert torch.equal(ds.get([1, 2]), ds.images[1:3])
    sub = ds.subset([5, 0])
    assert torch.equal(sub.images[0], ds.images[5]) and sub.attrs["a"].tolist() == [1, 0]
    assert sub.factors["f"][1] == ds.factors["f"][0]


def test_works_with_dataloader():
    loader = torch.utils.data.DataLoader(_toy(), batch_size=8, shuffle=False)
    x, y = next(iter(loader))
    assert x.shape == (8, 3, 8, 8) and y.shape == (8, 2)


def test_bad_columns_and_indices():
    with pytest.raises(ValueError, match="shape"):
        Dataset(torch.zeros(4, 2), attrs={"a": np.zeros(3)})
    with pytest.raises(IndexError):
        _toy().get([20])
    with pytest.raises(ValueError, match="not images"):
        Dataset(torch.zeros(4, 2)).images


def test_stats_and_correlation():
    ds = _toy()
    s = attribute_stats(ds)
    assert s["attributes"]["a"]["yes"] == (10, 0.5)
    assert s["attributes"]["b"]["x"][0] == 8
    names, corr = attribute_correlations(Dataset(torch.zeros(6, 2), attrs={"p": [0, 0, 0, 1, 1, 1], "q": [0, 0, 0, 1, 1, 1], "r": [1, 1, 1, 0, 0, 0]}))
    assert names == ["p", "q", "r"]
    np.testing.assert_allclose(corr, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]])
    assert len(random_subset(ds, 5, seed=1)) == 5
    assert np.array_equal(random_subset(ds, 5, seed=1).attrs["b"], random_subset(ds, 5, seed=1).attrs["b"])


def test_unknown_name_lists_builtins():
    with pytest.raises(ValueError, match="unknown dataset 'celebb'.*faces"):
        load("celebb")
    with pytest.raises(FileNotFoundError):
        load("./no/such/folder")
