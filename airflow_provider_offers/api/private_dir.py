"""Opening a directory, and files in it, that no other local user can change or redirect.

Used by the machine token cache (`token_cache.py`). The path is walked from `/`, one
component at a time, each opened relative to its checked parent without following symbolic
links (`O_NOFOLLOW`) and checked on the opened descriptor (`fstat`), so no component can be
swapped between the check and the use:

- an ancestor is owned by this user or root, and writable by no one else unless sticky (like
  `/tmp`, where others cannot rename or remove what is ours);
- a symbolic link on the path is followed only if this user or root owns it (in a sticky
  directory, anyone may create one);
- the directory itself is this user's, writable by this user alone; missing components are
  created `0700`.

Files are opened `O_NOFOLLOW | O_NONBLOCK` in the checked directory and must be regular files
of this user that no one else may use: a FIFO opens at once and is refused, a symbolic link
(dangling or not) is never followed, so it creates nothing.
"""

from __future__ import annotations

import contextlib
import os
import stat

__all__ = ["Unsafe", "create_file", "open_directory", "open_file"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
_FILE = _NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
_MAX_LINKS = 40  # as the kernel's ELOOP


class Unsafe(Exception):
    """Why the directory or file must not be used now (the message is for the log)."""


def _trusted_owner(uid: int) -> bool:
    return uid in (0, os.geteuid())


def _check(fd: int, path: str, *, last: bool) -> None:
    info = os.fstat(fd)
    mode = stat.S_IMODE(info.st_mode)
    if last:
        if info.st_uid != os.geteuid():
            raise Unsafe("another user owns it")
        if mode & _WRITABLE_BY_OTHERS:
            raise Unsafe(f"group or others can write it (mode {mode:o})")
    elif not _trusted_owner(info.st_uid):
        raise Unsafe(f"another user (uid {info.st_uid}) owns {path}, on its path")
    elif mode & _WRITABLE_BY_OTHERS and not mode & stat.S_ISVTX:
        raise Unsafe(f"group or others can write {path}, on its path (mode {mode:o})")


def _lstat(name: str, directory: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unsafe(f"cannot read {name} ({exc.strerror})") from None


def _child(parent: int, name: str, path: str) -> int:
    """Directory `name` of `parent` opened (created `0700` if missing), not following links."""
    try:
        with contextlib.suppress(FileExistsError):  # created by someone else meanwhile: theirs
            if _lstat(name, parent) is None:
                os.mkdir(name, 0o700, dir_fd=parent)
        return os.open(name, _DIRECTORY, dir_fd=parent)
    except OSError as exc:
        info = _lstat(name, parent)
        if info is not None and stat.S_ISLNK(info.st_mode):
            raise Unsafe(f"{path} became a symbolic link while it was checked") from None
        raise Unsafe(f"cannot create or open {path} ({exc.strerror})") from None


def open_directory(path: str) -> int:
    """A descriptor of the checked directory `path` (absolute); raises `Unsafe`."""
    if not os.path.isabs(path):
        raise Unsafe("it is not an absolute path")
    pending = [name for name in reversed(path.split("/")) if name not in ("", ".")]
    stack = [os.open("/", _DIRECTORY)]  # a descriptor per component; stack[-1] is current
    names: list[str] = []
    links = 0
    try:
        _check(stack[-1], "/", last=not pending)
        while pending:
            name = pending.pop()
            where = "/" + "/".join([*names, name])
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                    names.pop()
                continue
            info = _lstat(name, stack[-1])
            if info is not None and stat.S_ISLNK(info.st_mode):
                links += 1
                if links > _MAX_LINKS or not _trusted_owner(info.st_uid):
                    raise Unsafe(f"{where} is a symbolic link another user owns")
                target = os.readlink(name, dir_fd=stack[-1])
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                    names.clear()
                parts = [part for part in target.split("/") if part not in ("", ".")]
                pending.extend(reversed(parts))
                continue
            stack.append(_child(stack[-1], name, where))
            names.append(name)
            _check(stack[-1], where, last=not pending)
        if len(stack) == 1:
            _check(stack[0], "/", last=True)
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)


def open_file(directory: int, name: str, flags: int) -> int | None:
    """File `name` of the checked `directory` opened with `flags` (plus `O_NOFOLLOW`,
    `O_NONBLOCK`; created `0600` with `O_CREAT`); None if it does not exist. Raises
    `Unsafe` for a symbolic link, a FIFO or device, a file of another user or one that
    others may use."""
    try:
        fd = os.open(name, flags | _FILE, 0o600, dir_fd=directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        info = _lstat(name, directory)
        if info is not None and stat.S_ISLNK(info.st_mode):
            raise Unsafe("a symbolic link") from None
        raise Unsafe(exc.strerror) from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "not a regular file"
    elif info.st_uid != os.geteuid():
        problem = "another user owns it"
    elif info.st_mode & 0o077:
        problem = f"others may use it (mode {stat.S_IMODE(info.st_mode):o})"
    if problem:
        os.close(fd)
        raise Unsafe(problem)
    return fd


def create_file(directory: int, name: str) -> int:
    """A new file `name` (`0600`, `O_EXCL`, not following links) in the checked directory."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    return os.open(name, flags, 0o600, dir_fd=directory)
