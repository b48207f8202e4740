"""The files of a training run, kept sound through crashes.

A run that writes the checkpoint ``m.pt`` also writes, beside it,

``m.metrics.jsonl``  one JSON line per logged step
``m.samples/``       sample grids (``step_00001000.png``)
``m.pt.lock``        while the run lives: the process id and host of the process that holds it

A crash (``kill -9``, a power cut) at any moment leaves them usable. Checkpoints and grids
are written atomically; the temporary files a crash leaves behind (``.m.pt.XXXXXXXX.tmp``)
are removed when the next run on the same output starts. Each log line is written with one
``write`` call, and a torn last line is dropped when the log is read back. The lock file is
held with ``flock`` (POSIX), which the system releases when its process dies, so the lock
of a killed run is taken over by the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Iterator

from latentlab._io import atomic_path

try:
    import fcntl
except ImportError:  # not POSIX: the lock file is written but not enforced
    fcntl = None

__all__ = [
    "metrics_path", "samples_dir", "lock_path", "check_outputs_writable", "hold_run_lock",
    "remove_stale_temporaries", "read_metrics_lines", "append_metrics_line", "keep_metrics_through",
]


def metrics_path(out: Path) -> Path:
    """The metrics log of the run whose checkpoint is ``out``: ``<stem>.metrics.jsonl``."""
    return out.with_name(out.stem + ".metrics.jsonl")


def samples_dir(out: Path) -> Path:
    """The folder of sample grids of the run whose checkpoint is ``out``: ``<stem>.samples/``."""
    return out.with_name(out.stem + ".samples")


def lock_path(out: Path) -> Path:
    """The lock file held while a run writes ``out``: ``<name>.lock``."""
    return out.with_name(out.name + ".lock")


# --------------------------------------------------------------------------------------
# before any work: every output can be written, and no other run writes them
# --------------------------------------------------------------------------------------
def _probe_folder(folder: Path, what: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except PermissionError:
        raise PermissionError(f"cannot write {what} in {folder}: permission denied") from None


def check_outputs_writable(out: Path) -> None:
    """Raise ``PermissionError``/``NotADirectoryError``/``IsADirectoryError`` unless the
    checkpoint ``out``, its metrics log and its samples folder can all be written.

    Creates ``out``'s folder when it is missing; writes nothing else.
    """
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise PermissionError(f"cannot create the folder {folder} for {out.name}: permission denied") from None
    except FileExistsError:
        raise NotADirectoryError(f"cannot write {out}: {folder} is a file, not a folder") from None
    _probe_folder(folder, f"the checkpoint {out.name} and its metrics log")
    log = metrics_path(out)
    if log.is_dir():
        raise IsADirectoryError(f"the metrics log {log} is a folder; move it away")
    if log.exists():
        try:
            with open(log, "a"):
                pass
        except PermissionError:
            raise PermissionError(f"cannot append to the metrics log {log}: permission denied") from None
    grids = samples_dir(out)
    if grids.exists():
        if not grids.is_dir():
            raise NotADirectoryError(f"the samples folder {grids} is a file; move it away")
        _probe_folder(grids, "sample grids")


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 200).decode(errors="replace").split()
    return f"pid {text[0]} on {text[1]}" if len(text) >= 2 else "a process that has not written its id yet"


@contextlib.contextmanager
def hold_run_lock(out: Path) -> Iterator[Path]:
    """Hold ``out``'s lock file while the block runs; ``FileExistsError`` if another run holds it.

    The file holds ``"<pid> <host>"`` and is removed on exit. A lock left by a process that
    died is free (the system drops ``flock`` locks with their process) and is taken over.
    """
    path = lock_path(out)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        if fcntl is None:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            raise FileExistsError(
                f"{out} is being written by another training run ({holder}, lock {path}); wait for it to "
                f"finish or stop it"
            ) from None
        try:  # the holder may have removed the file between our open and our lock: lock the new one
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield path
    finally:
        path.unlink(missing_ok=True)  # before the lock is released, so nobody locks a removed file
        os.close(fd)


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove the temporary files that a crash during an atomic write of ``out``, its metrics
    log or a sample grid left behind; return them. Call only while holding the run's lock."""
    # the names latentlab._io.atomic_path gives: "." + name + "." + 8 random characters + ".tmp"
    names = "|".join(re.escape(p.name) for p in (out, metrics_path(out)))
    places = [(out.parent, re.compile(rf"\.(?:{names})\.[a-z0-9_]{{8}}\.tmp")),
              (samples_dir(out), re.compile(r"\.step_\d+\.png\.[a-z0-9_]{8}\.tmp"))]
    removed = []
    for folder, pattern in places:
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if pattern.fullmatch(p.name) and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


# --------------------------------------------------------------------------------------
# the metrics log
# --------------------------------------------------------------------------------------
def read_metrics_lines(path: Path) -> list[dict]:
    """The records of a metrics log, without a torn last line (a crash while it was written).

    ``[]`` for a missing log. A damaged line elsewhere raises ``ValueError`` naming it.
    """
    if not path.exists():
        return []
    pieces = path.read_text(errors="replace").split("\n")  # the last piece is "" unless cut short
    records = []
    for number, line in enumerate(pieces, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            if number == len(pieces):  # the last line, cut short by a crash while it was written
                break
            raise ValueError(f"line {number} of the metrics log {path} is damaged ({line[:60]!r}); "
                             f"delete that line or the log to continue")
        records.append(record)
    return records


def append_metrics_line(path: Path, record: dict) -> None:
    """Append one record to the metrics log as one line, in one ``write`` call."""
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def keep_metrics_through(path: Path, step: int) -> None:
    """Keep only the log lines up to ``step`` (and drop a torn last line): a resumed run
    writes what came after again. ``step = 0`` starts a new log."""
    if step <= 0:
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return
    kept = [r for r in read_metrics_lines(path) if r["step"] <= step]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
