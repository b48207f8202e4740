"""File helpers shared by checkpoints, figures, reports and the CLI.

Three rules hold everywhere in latentlab:

* nothing a user owns is overwritten unless they ask for it (``overwrite=True`` in
  Python, ``--force`` on the command line), and an output is created exclusively: if
  another process creates the same file meanwhile, the later writer fails instead of
  silently replacing it;
* an output never replaces a file the same command reads, ``--force`` or not
  (:func:`command_inputs`, :func:`note_input`);
* files are written atomically (to a temporary file in the same folder, then renamed),
  so a crash or Ctrl-C never leaves a half-written file behind.

:func:`check_can_write` is the one place where an output path is checked, and
:func:`read_npz` the one reader of ``.npz`` files. latentlab's own result files (directions,
principal directions, maps, latent codes) are written by :func:`save_npz` and read by
:func:`load_npz`, which tell the kinds apart by a marker stored in the file.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["check_can_write", "atomic_path", "command_inputs", "note_input", "is_input", "read_npz", "FileArrays",
           "save_npz", "load_npz", "NPZ_KINDS"]

# The resolved paths of the files the running command reads (None outside a command).
_INPUTS: contextvars.ContextVar[set | None] = contextvars.ContextVar("latentlab_inputs", default=None)


@contextlib.contextmanager
def command_inputs(*paths: str | os.PathLike) -> Iterator[None]:
    """Run one command: inside the block, no output may replace a file it reads.

    The files are those given here and every file a latentlab reader opens inside the
    block (they call :func:`note_input`); :func:`check_can_write` refuses to write over
    any of them, even with ``overwrite=True``. The CLI runs each command in this block.
    """
    token = _INPUTS.set(set())
    try:
        for path in paths:
            note_input(path)
        yield
    finally:
        _INPUTS.reset(token)


def note_input(path: str | os.PathLike | None) -> None:
    """Record ``path`` as read by the running command (see :func:`command_inputs`).

    Does nothing outside a command, or for a path that is not an existing file (a
    dataset name, a folder).
    """
    inputs = _INPUTS.get()
    if inputs is None or path is None:
        return
    path = Path(path).expanduser()
    if path.is_file():
        inputs.add(path.resolve())


def is_input(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file the running command reads (see :func:`command_inputs`)."""
    inputs = _INPUTS.get()
    path = Path(path)
    return bool(inputs) and path.exists() and path.resolve() in inputs


def _check_parent(path: Path) -> None:
    """``NotADirectoryError`` when a component of ``path``'s folder exists but is a file."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                what = "a file" if parent.is_file() else "a broken link"
                raise NotADirectoryError(f"cannot write {path}: {parent} is {what}, not a folder")
            return


def check_can_write(path: str | os.PathLike, overwrite: bool = False, keyword: str = "overwrite",
                    folder: bool = False) -> Path:
    """Check that ``path`` may be written; create its missing parent folders; return it as a ``Path``.

    ``folder``: the output is a folder, written whole (an existing one is replaced only with
    ``overwrite``, and never when it holds an input of the running command).

    ``keyword`` is the name of the Python argument that allows overwriting, for the message
    (``overwrite`` in most of the API, ``force`` in :func:`~latentlab.training.train`).

    Raises
    ------
    ValueError
        ``path`` is a file the running command reads (:func:`command_inputs`): an output
        never replaces an input, whatever ``overwrite`` says.
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    IsADirectoryError
        ``path`` is a folder.
    NotADirectoryError
        A folder on the way to ``path`` is a file.
    """
    path = Path(path)
    _check_parent(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{path} is a file; give the name of a folder to write")
        inputs = _INPUTS.get() or set()
        if path.exists() and any(p == path.resolve() or path.resolve() in p.parents for p in inputs):
            raise ValueError(f"{path} holds an input of this command; an output never replaces an input, "
                             "even with --force: choose another name")
    elif path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name")
    if is_input(path):
        raise ValueError(f"{path} is an input of this command; an output never replaces an input, "
                         "even with --force: choose another name")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass --force ({keyword}=True) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it to ``path``.

    If the body raises (or is interrupted), the temporary file is removed and ``path``
    keeps its previous content. With ``overwrite=False`` the file is created exclusively:
    if ``path`` exists when the body is done (another process wrote it meanwhile),
    ``FileExistsError`` is raised and that file is left as it is.
    """
    import tempfile

    path = Path(path)
    _check_parent(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a finished file gets what open() would give
    try:
        yield tmp
        if overwrite:
            os.replace(tmp, path)
        else:
            _create_exclusively(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    """The process's file-creation mask (read by setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _create_exclusively(tmp: Path, path: Path) -> None:
    """Give ``tmp``'s content the name ``path`` unless ``path`` exists (atomically where links work)."""
    exists = FileExistsError(f"{path} was created by someone else while this ran; it was left as it is "
                             "(pass --force / overwrite=True to replace it)")
    try:
        os.link(tmp, path)  # fails if path exists: no window in which two writers both win
    except FileExistsError:
        raise exists from None
    except OSError:  # a file system without hard links: claim the name, then move the content in
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            raise exists from None
        os.replace(tmp, path)


class FileArrays(dict):
    """The arrays read from one file (:func:`read_npz`, a CSV table's columns), by name.

    Asking for an array the file does not hold raises ``ValueError`` naming the file,
    the array and what the file holds, not a bare ``KeyError``.
    """

    def __init__(self, arrays: dict, path: Path, what: str, kind: str = "", version: int = 0):
        super().__init__(arrays)
        self.path, self.what = path, what
        self.kind, self.version = kind, version  # set by load_npz: the file's kind and version

    def __missing__(self, key):
        raise ValueError(f"{self.path} has no {key!r} (it holds: {', '.join(map(str, self)) or 'nothing'}); "
                         f"expected a {self.what}")


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive; an empty one starts with its end record


def figure_data_paths(path: str | os.PathLike) -> list[Path]:
    """The files :func:`~latentlab.plots.style.save_figure` may write beside the figure ``path``, data before recipe.

    ``fig.png`` keeps its data in ``fig.data.csv`` (a table) or ``fig.data.npz``, and a
    table's recipe in ``fig.data.json``. The ``.data`` infix keeps them apart from a figure's
    inputs and other outputs named after it (``table.csv`` beside ``table.png``).
    """
    path = Path(path)
    return [path.with_name(f"{path.stem}.data{ext}") for ext in (".csv", ".npz", ".json")]


def read_npz(path: str | os.PathLike, what: str = "NumPy .npz file") -> FileArrays:
    """Every array of the ``.npz`` file ``path``, read without unpickling anything.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file should be, for messages: a noun that reads after "a" (e.g.
        ``"direction file (from `latentlab direction`)"``).

    Returns
    -------
    FileArrays
        A dict of name -> ``numpy.ndarray``; asking for a missing name raises ``ValueError``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        No file at ``path``.
    ValueError
        The file is not a valid ``.npz`` archive (another format, truncated, damaged) or
        holds Python objects instead of plain arrays.
    """
    import zipfile
    import zlib

    import numpy as np

    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a {what}")
    note_input(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise ValueError(f"{path} is not a {what}: the file is empty")
    if head not in _ZIP_MAGIC:
        found = " (it is a single .npy array)" if head == b"\x93NUM" else ""
        raise ValueError(f"{path} is not a {what}: it is not a valid .npz file (a zip archive of NumPy arrays){found}")
    arrays, key = {}, None
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                arrays[key] = archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"{path} is not a {what}: its array {key!r} holds Python objects, and latentlab reads "
                             "only plain arrays of numbers or strings") from None
        raise ValueError(f"{path} is not a {what}: its array {key!r} is damaged ({exc})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, NotImplementedError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{path} is not a {what}: it is not a valid .npz file, being truncated or damaged "
                         f"({reason})") from None
    odd = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
    if odd:
        raise ValueError(f"{path} is not a {what}: {odd[0]!r} in the archive is not a NumPy array")
    return FileArrays(arrays, path, what)


# -- latentlab's result files ----------------------------------------------------------------
@dataclass(frozen=True)
class NpzKind:
    """One kind of result file: how it is marked, its version, and how messages name it."""

    marker: str  # the file's "format" array
    version: int  # the newest file version this latentlab writes and reads
    noun: str  # what the file is, read after "a": "direction file"
    holds: str  # what it holds, for a file given where another kind was expected
    command: str  # the command that writes it
    unmarked: bool = False  # files from before markers (no "format" array) are of this kind

    @property
    def what(self) -> str:
        return f"{self.noun} (from `{self.command}`)"


# Every kind, by name. A marker never changes, so that older latentlab versions read newer
# files of a version they know; a change of layout that they cannot read raises `version`.
NPZ_KINDS = {
    "direction": NpzKind("latentlab-direction", 1, "direction file", "an attribute direction", "latentlab direction"),
    "pca": NpzKind("latentlab-pca", 1, "principal directions file", "principal directions",
                   "latentlab directions pca"),
    # its marker predates the version field (files without one are version 0, read alike)
    "map": NpzKind("latentlab.LatentMap/1", 1, "LatentMap file", "a LatentMap", "latentlab map"),
    "codes": NpzKind("latentlab-codes", 1, "latent codes file", "latent codes", "latentlab encode",
                     unmarked=True),
}
_RESERVED = ("format", "version", "latentlab_version")


def save_npz(path: str | os.PathLike, kind: str, arrays: dict, meta: dict | None = None, *,
             overwrite: bool = False, compress: bool = True) -> Path:
    """Write a result file of ``kind`` (a key of ``NPZ_KINDS``): plain arrays, no pickles.

    The file holds ``format`` (the kind's marker), ``version``, ``latentlab_version``,
    each value of ``meta`` as a 0-d array and each of ``arrays`` as it is. It is checked
    with :func:`check_can_write`, written atomically and created exclusively unless
    ``overwrite``.

    Parameters
    ----------
    path : str or Path
    kind : {"direction", "pca", "map", "codes"}
    arrays : dict of str -> array-like
    meta : dict of str -> str, bool, int or float, optional
        Scalars, stored as 0-d arrays of ``str``, ``bool``, ``int64`` or ``float64``.
    overwrite : bool
        Replace an existing file.
    compress : bool
        ``np.savez_compressed`` (smaller) or ``np.savez`` (faster for incompressible floats).

    Returns
    -------
    Path
    """
    import numpy as np

    from latentlab import __version__

    spec = NPZ_KINDS[kind]
    out = {"format": np.asarray(spec.marker), "version": np.asarray(spec.version, np.int64),
           "latentlab_version": np.asarray(__version__)}
    out.update({name: _scalar(value) for name, value in (meta or {}).items()})
    out.update({name: np.asarray(value) for name, value in arrays.items()})
    assert len(out) == len(_RESERVED) + len(meta or {}) + len(arrays), "a name is reserved or given twice"
    path = check_can_write(path, overwrite)
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
        (np.savez_compressed if compress else np.savez)(f, **out)  # a file object: no ".npz" appended
    return path


def _scalar(value):
    """A 0-d array of ``str``, ``bool``, ``int64`` or ``float64`` holding ``value``."""
    import numpy as np

    for types, dtype in ((str, str), ((bool, np.bool_), np.bool_), ((int, np.integer), np.int64),
                         ((float, np.floating), np.float64)):
        if isinstance(value, types):
            return np.asarray(value, dtype)
    raise TypeError(f"a meta value must be a str, bool, int or float, not {type(value).__name__}")


def load_npz(path: str | os.PathLike, kind: str | tuple[str, ...], what: str | None = None) -> FileArrays:
    """Read a result file written by :func:`save_npz`, refusing any other kind.

    Parameters
    ----------
    path : str or Path
    kind : str or tuple of str
        The kind expected (a key of ``NPZ_KINDS``), or the kinds accepted.
    what : str, optional
        What the file should be, for messages (default: the one kind's noun and command).

    Returns
    -------
    FileArrays
        Its arrays, with ``.kind`` (the kind found) and ``.version`` (0 for files written
        before versions); asking for a missing array raises ``ValueError``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        No file at ``path``.
    ValueError
        Not a valid ``.npz`` (see :func:`read_npz`); a file of another kind, naming what it
        holds; a version newer than this latentlab reads.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    what = what or " or ".join(NPZ_KINDS[k].what for k in kinds)
    arrays = read_npz(path, what)
    marker = str(arrays["format"]) if "format" in arrays else None
    found = next((k for k, spec in NPZ_KINDS.items() if spec.marker == marker), None)
    marked = found is not None
    if not marked:  # a file from before markers, or the user's own (which may have a "format" of its own)
        found = next((k for k in kinds if NPZ_KINDS[k].unmarked), None)
    if found not in kinds:
        if found is not None:
            holds = f"{NPZ_KINDS[found].holds} (from `{NPZ_KINDS[found].command}`)"
        else:
            holds = repr(marker) if marker is not None else f"arrays: {', '.join(arrays) or 'none'}"
        raise ValueError(f"{arrays.path} is not a {what}; it holds {holds}")
    version = int(arrays["version"]) if marked and "version" in arrays else 0
    if version > NPZ_KINDS[found].version:
        raise ValueError(f"{arrays.path} was written by a newer latentlab (file version {version}; this one reads "
                         f"up to {NPZ_KINDS[found].version}); upgrade latentlab to read it")
    return FileArrays(arrays, arrays.path, NPZ_KINDS[found].what, found, version)
