"""TensorBoard logging of training runs (``pip install "latentlab[tensorboard]"``).

``latentlab train ... --tensorboard runs/NAME`` (or ``train(..., tensorboard=...)``) writes,
beside the JSONL metrics log that stays the source of truth, every value of each log line
as a scalar (the losses, D(x) and D(G(z)), gradient norms, images/s), each optimizer's
learning rate (``lr/NAME``), and the sample previews as images. A resumed run writes into
the same folder and first discards what the interrupted run logged after its checkpoint,
so each step appears once, as in the JSONL log.
"""

from __future__ import annotations

import os

import numpy as np

from latentlab.errors import MissingExtra

__all__ = ["TensorBoardLogger"]

INSTALL = 'pip install "latentlab[tensorboard]"'


class TensorBoardLogger:
    """Scalars and images of one run, in TensorBoard's event files under ``logdir``.

    Parameters
    ----------
    logdir : path
        The run's folder (``tensorboard --logdir`` its parent to compare runs).
    purge_step : int, optional
        Discard events at this step and later (a resumed run: the steps it will log again).
    """

    def __init__(self, logdir: str | os.PathLike, purge_step: int | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MissingExtra(f"--tensorboard needs the tensorboard extra: {INSTALL}") from None
        self.writer = SummaryWriter(log_dir=str(logdir), purge_step=purge_step)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """One value per tag at ``step``."""
        for tag, value in values.items():
            self.writer.add_scalar(tag, float(value), global_step=int(step))

    def image(self, step: int, tag: str, pixels: np.ndarray) -> None:
        """A uint8 picture ``(H, W, C)`` (C = 1, 3 or 4) at ``step``."""
        pixels = np.asarray(pixels)
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        self.writer.add_image(tag, pixels, global_step=int(step), dataformats="HWC")

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
