"""Reading and writing files the way every command must, whatever the path points at.

* Only regular files are read. A FIFO would block ``open()`` forever and a device
  (``/dev/zero``) never ends, so both are refused from ``stat`` before opening, and again from
  ``fstat`` after (the path may have been swapped in between; ``O_NONBLOCK`` keeps that open
  from blocking).
* The size limit holds while reading, not only from ``stat``: files in ``/proc`` report size 0
  and a file can grow while it is read, so at most ``max_bytes + 1`` bytes are ever read.
* Output goes to a temporary file in the target's folder, is flushed to disk and then renamed
  over the target, so a full disk, a quota or a crash mid-write leaves the old file as it was.
  A target that is not a regular file (``/dev/stdout``, ``/dev/null``, a FIFO) is written
  directly: there is nothing there to protect and it cannot be renamed over.
* The reasons are Chinese-first one-liners; callers wrap them in their own error type.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

NOT_FOUND = "文件不存在 (file not found)"


class FileProblem(Exception):
    """A path that cannot be read as a file; ``reason`` is the one-line message."""

    def __init__(self, reason: str, *, size: int | None = None, too_large: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.size = size
        self.too_large = too_large


def os_reason(e: OSError, path: str | os.PathLike[str], *, writing: bool = False) -> str:
    """The Chinese-first reason for an ``OSError`` on ``path``."""
    code = e.errno
    if code == errno.ELOOP:
        return "符号链接循环，无法解析 (symlink loop)"
    if code == errno.ENOENT:
        if not writing and os.path.islink(path):
            return "符号链接指向的文件不存在 (broken symlink)"
        return NOT_FOUND if not writing else "目标文件夹不存在 (folder not found)"
    if code == errno.ENOTDIR:
        return "路径中的某一级不是目录 (a path component is not a directory)"
    if code in (errno.EACCES, errno.EPERM):
        what = "写入" if writing else "读取该文件"
        return f"没有{what}的权限 (permission denied)"
    if code == errno.EISDIR:
        return "这是目录而不是文件 (is a directory)"
    if code == errno.ENAMETOOLONG:
        return "文件名过长 (file name too long)"
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        return "磁盘空间不足 (no space left on device)"
    if code == errno.EROFS:
        return "文件系统是只读的 (read-only file system)"
    if code == errno.EFBIG:
        return "超出允许的文件大小 (file too large for this system or limit)"
    verb = "写入" if writing else "读取"
    return f"无法{verb}文件 (cannot {'write' if writing else 'read'} file: {e.strerror or e})"


def _kind(mode: int) -> tuple[str, str]:
    if stat.S_ISFIFO(mode):
        return "命名管道", "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件", "device"
    if stat.S_ISSOCK(mode):
        return "套接字", "socket"
    return "特殊文件", "special file"


def not_regular_reason(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "这是目录而不是文件 (is a directory)"
    zh, en = _kind(mode)
    return f"这是{zh}，不是普通文件 (not a regular file: {en})"


def check_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """``stat`` of a regular file (symlinks followed), else FileProblem with the reason."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise FileProblem(os_reason(e, path)) from None
    except ValueError:  # embedded NUL in the name
        raise FileProblem("文件名中含有空字符 (NUL in file name)") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem(not_regular_reason(st.st_mode))
    return st


def read_limited(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; FileProblem otherwise
    (``too_large`` set when the limit was the reason, ``size`` when it is known)."""
    st = check_regular(path)
    if st.st_size > max_bytes:
        raise FileProblem("too large", size=st.st_size, too_large=True)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise FileProblem(os_reason(e, path)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileProblem(not_regular_reason(mode))
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise FileProblem(os_reason(e, path)) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:
        raise FileProblem("too large", too_large=True)
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that a failure leaves whatever was there before.

    Raises ``OSError`` (use :func:`os_reason` for the message). A symlink is followed, so the
    file it points at is replaced and the link stays a link; the replaced file keeps its mode.
    """
    target = Path(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(target, "wb") as f:  # /dev/stdout, /dev/null, a FIFO: nothing to protect
            f.write(data)
        return
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
