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
