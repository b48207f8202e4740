"""Thread settings changed for a block are in force inside it and restored after it."""

import numpy as np
from threadpoolctl import threadpool_info

from latentlab._threads import single_blas_thread


def blas_threads() -> dict[str, int]:
    return {info["filepath"]: info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


def test_single_blas_thread_limits_then_restores():
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS is loaded
    before = blas_threads()
    with single_blas_thread():
        inside = blas_threads()
    assert inside and set(inside.values()) == {1}
    assert blas_threads() == before


def test_torch_threads_sets_and_restores():
    import torch

    from latentlab._threads import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    with torch_threads(0):  # 0 leaves torch's setting
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before


def test_train_threads_is_a_validated_config_field():
    import pytest

    from latentlab.training import load_config

    assert load_config("faces-progan-tiny").train.threads == 1
    with pytest.raises(ValueError, match="train.threads"):
        load_config("faces-vae-tiny", ["train.threads=-1"])
