"""The one progress bar of every loop a user waits on: tqdm on stderr, silent when asked.

Library functions take ``progress: bool`` (default off) and pass it here as ``enabled``;
commands pass ``not quiet``. ``estimate=True`` also prints, once the first item is done,
how long the whole loop will take at that pace (for loops of minutes: GAN inversion, a
diffusion model's Jacobian), so a user can decide up front whether to wait.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

__all__ = ["progress_bar", "batch_starts", "duration"]

T = TypeVar("T")


def progress_bar(iterable: Iterable[T], *, enabled: bool = True, total: int | None = None, desc: str | None = None,
                 unit: str = "it", weights: Iterable[int] | None = None, estimate: bool = False,
                 leave: bool = True) -> Iterator[T]:
    """Iterate ``iterable`` behind a tqdm bar on stderr (nothing is shown when ``enabled`` is false).

    Parameters
    ----------
    iterable : the loop's items
    enabled : show the bar (and the estimate)
    total : number of units (default ``len(iterable)``)
    desc, unit : the bar's label and unit
    weights : units each item stands for (e.g. samples per batch), so the bar counts
        samples while the loop runs over batches; default one unit per item
    estimate : after the first item, print the expected duration of the whole loop
    leave : keep the finished bar on screen (``False`` for inner loops)
    """
    from tqdm.auto import tqdm

    items = list(iterable) if weights is not None else iterable
    sizes = list(weights) if weights is not None else None
    if total is None:
        total = sum(sizes) if sizes is not None else (len(items) if hasattr(items, "__len__") else None)
    bar = tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=leave, file=sys.stderr,
               dynamic_ncols=True)
    start = time.perf_counter()
    try:
        for i, item in enumerate(items):
            yield item  # the caller's work on ``item`` runs here
            done = sizes[i] if sizes is not None else 1
            bar.update(done)
            if estimate and i == 0 and enabled and total and total > done:
                seconds = (time.perf_counter() - start) * total / done
                bar.write(f"{desc or 'this'}: about {duration(seconds)} for {total} {unit}s "
                          f"(timed on the first {done})", file=sys.stderr)
    finally:
        bar.close()


def batch_starts(n: int, batch_size: int, **bar_options) -> Iterator[int]:
    """The starts ``0, batch_size, 2 batch_size, ...`` of batches of ``n`` samples, behind a
    :func:`progress_bar` that counts samples (``bar_options``: its keywords)."""
    starts = range(0, n, batch_size)
    return progress_bar(starts, weights=[min(batch_size, n - s) for s in starts], **bar_options)


def duration(seconds: float) -> str:
    """``seconds`` in words: ``"8 s"``, ``"2 min 40 s"``, ``"1 h 05 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
