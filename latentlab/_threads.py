"""Thread settings (torch's, the BLAS libraries') changed for a block and restored."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

__all__ = ["torch_threads", "single_thread", "single_blas_thread"]

_BLAS = []  # the threadpoolctl controller, made on first use (after NumPy/SciPy loaded BLAS)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch CPU ops on ``n`` threads inside the block (``0``: leave torch's setting), then restore it."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def single_thread():
    """Run torch CPU ops on one thread inside the block, then restore the setting.

    Small ops (tiny convolutions, tiles already spread over threads by the caller) only
    pay hand-off costs for more threads; results are the same either way.
    """
    return torch_threads(1)


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run NumPy/SciPy's BLAS and LAPACK calls on one thread inside the block.

    Many small calls (matrix-vector products over a few MB, factorisations of a few
    hundred rows) gain nothing from more threads and, with OpenBLAS on shared cores,
    lose a lot: the SVM direction solver ran 3-4x slower with 2 threads than with 1 on
    a 2-core machine. Results are the same either way.
    """
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    with _BLAS[0].limit(limits=1, user_api="blas"):
        yield
