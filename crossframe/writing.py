"""Writing files without losing anything: check first, write beside, rename into place.

    check_writable(path, force)      before any work: the folder exists and is writable, the
                                     target is not a folder, and is not overwritten without force
    write_atomic(path, write)        write(tmp) to a temporary file beside ``path``, then rename

A reader never sees half a file; an error or an interrupt leaves the old file (or none) and no
temporary behind; the new file gets the user's umask, not the private mode of a temporary.
"""
from __future__ import annotations

import os
import tempfile

from .errors import InputError


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str, force: bool = False, suffix: str | None = None) -> str:
    """Raise an InputError (one line, with the fix) unless ``path`` can be written."""
    if not path:
        raise InputError("the output path is empty", "give a file name")
    if suffix and not path.endswith(suffix):
        raise InputError(f"'{path}' should end in {suffix}", f"name it e.g. out{suffix}")
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a folder", "give a file name")
    if os.path.exists(path) and not force:
        raise InputError(f"'{path}' exists", "pass --force to overwrite it, or another path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"folder '{folder}' does not exist", "create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"folder '{folder}' is not writable", "give a writable folder")
    return path


def write_atomic(path: str, write) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it into place."""
    folder, name = os.path.split(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write in '{folder}' ({err.strerror})",
                         "give a writable folder") from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes it private; give the usual mode
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, InputError):
            raise InputError(f"cannot write '{path}' ({err.strerror or err})",
                             "free some space or give another path") from None
        raise
