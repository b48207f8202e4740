"""Torch's CPU thread setting, changed for a block and restored."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

__all__ = ["single_thread"]


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch CPU ops on one thread inside the block, then restore the setting.

    Small ops (tiny convolutions, tiles already spread over threads by the caller) only
    pay hand-off costs for more threads; results are the same either way.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
