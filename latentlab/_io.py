"""File-writing helpers shared by checkpoints, figures, reports and the CLI.

Two rules hold everywhere in latentlab: nothing a user owns is overwritten unless they
ask for it (``overwrite=True`` in Python, ``--force`` on the command line), and files are
written atomically (to a temporary file in the same folder, then renamed), so a crash or
Ctrl-C never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def check_can_write(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Raise ``FileExistsError`` if ``path`` exists and ``overwrite`` is false.

    Also refuses a path that is an existing folder and creates missing parent folders.
    Returns the path as a ``Path``.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass --force (overwrite=True) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it over ``path``.

    If the body raises (or is interrupted), the temporary file is removed and ``path``
    keeps its previous content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
