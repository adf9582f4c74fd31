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


def can_write(folder: str) -> bool:
    """Whether a file can be created in ``folder``, found by creating (and removing) one: the
    permission bits alone say yes to root on a folder such as /sys that refuses every write."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".crossframe-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def check_folder(path: str, what: str) -> None:
    """The nearest existing folder at or above ``path`` can be written (``what`` names the
    option in the message)."""
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError(f"{what} {path}: '{parent}' is a file", "give a folder path")
    if not can_write(parent):
        raise InputError(f"{what} {path}: '{parent}' is not writable", "give a writable folder")


def check_writable(path: str, force: bool = False, suffix: str | None = None) -> str:
    """Raise an InputError (one line, with the fix) unless ``path`` can be written."""
    if not path:
        raise InputError("the output path is empty", "give a file name")
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a folder", "give a file name")
    if suffix and not path.endswith(suffix):
        raise InputError(f"'{path}' should end in {suffix}", f"name it e.g. out{suffix}")
    if os.path.islink(path) and not os.path.exists(path):
        raise InputError(f"'{path}' is a symbolic link to nothing", "remove it, or give "
                         "another path")
    if os.path.lexists(path) and not force:
        raise InputError(f"'{path}' exists", "pass --force to overwrite it, or another path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"folder '{folder}' does not exist", "create it first")
    if not can_write(folder):
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


def write_all_atomic(writers: dict) -> None:
    """Several files, all or none: each ``writer(tmp)`` writes a temporary file beside its path,
    and only when every one is written are they renamed into place."""
    temps: dict[str, str] = {}
    try:
        for path, write in writers.items():
            folder, name = os.path.split(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            os.close(fd)
            temps[path] = tmp
            write(tmp)
            os.chmod(tmp, 0o666 & ~umask())
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except BaseException as err:
        for tmp in temps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
        if isinstance(err, OSError):
            raise InputError(f"cannot write {', '.join(writers)} ({err.strerror or err})",
                             "free some space or give another path") from None
        raise
