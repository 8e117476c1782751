"""Building a folder into the cache at most once, shared by the e5 build and its ONNX export:
a file lock, a temporary folder renamed into place after its ``BUILD_OK`` marker is written last,
the marker check that decides whether a folder is trusted, removal of superseded builds, and the
build's progress line."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import AlignError, ModelError

MARKER = "BUILD_OK"
LOCK_TIMEOUT_S = 900.0


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


class Progress:
    """A line of the run's one progress display (``align.ui``) on a terminal; one notice line
    per step otherwise; nothing if disabled or ``--quiet``. ``label`` is (Chinese, English)."""

    def __init__(self, enabled: bool, steps: int, label: tuple[str, str] = ("e5 模型", "e5 model")):
        self.enabled = enabled
        self.steps = steps
        self.label = label
        self.n = 0
        self._stage: Any = None

    def __enter__(self) -> Progress:
        from ... import ui

        zh, en = self.label
        self._stage = ui.stage(f"构建 {zh} (building {en})", total=self.steps * 100,
                               show=self.enabled)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stage is not None:
            self._stage.close()

    def step(self, message: str) -> None:
        from ... import ui

        zh, en = self.label
        self.n += 1
        if self._stage:
            short = f"构建 {zh} [{self.n}/{self.steps}] {message.split(' (')[0]}"
            self._stage.update(description=short, completed=(self.n - 1) * 100)
        elif self.enabled:
            ui.notice(f"构建 {zh} (building {en}) [{self.n}/{self.steps}] {message}", prefix="")

    def fraction(self, done: int, total: int) -> None:
        if self._stage:
            self._stage.update(completed=(self.n - 1) * 100 + 100 * done // max(total, 1))

    def done(self, message: str) -> None:
        from ... import ui

        if self._stage is not None:
            self._stage.close()
        if self.enabled:
            zh, en = self.label
            ui.notice(f"{zh}已就绪 ({en} ready): {message}", prefix="")


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def file_sizes(folder: Path) -> dict[str, int]:
    """The marker's ``files``: every file's path relative to ``folder`` and its size."""
    return {
        str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()
    }


def complete_marker(folder: Path, expect: dict[str, Any], required: str) -> dict[str, Any] | None:
    """The marker of a complete build, or None: the marker is written last, it must carry every
    ``expect`` value, list ``required`` among its files, and every file it lists must still have
    the size it had then. Shared by every folder this project builds into the cache."""
    marker = _read_marker(folder)
    if marker is None or any(marker.get(k) != v for k, v in expect.items()):
        return None
    files = marker.get("files")
    if not isinstance(files, dict) or required not in files:
        return None
    for rel, size in files.items():
        try:
            if (folder / rel).stat().st_size != size:
                return None
        except OSError:
            return None
    return marker


def _remove_tree(path: Path) -> None:
    """Move aside then delete, so a half-deleted folder never sits under a trusted name."""
    if not path.exists():
        return
    aside = path.with_name(f".{path.name}.stale-{os.getpid()}-{time.time_ns()}")
    os.replace(path, aside)
    if aside.is_dir():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink()


def prune_superseded(final: Path, pattern: str, same: dict[str, Any]) -> None:
    """Delete the folders beside ``final`` matching ``pattern`` whose marker carries the ``same``
    values (builds of the same thing by another version). Folders without our marker are not
    ours and are left alone."""
    for other in final.parent.glob(pattern):
        if other == final or not other.is_dir():
            continue
        marker = _read_marker(other)
        if marker is None or any(marker.get(k) != v for k, v in same.items()):
            continue
        try:
            _remove_tree(other)
        except OSError:  # in use on a platform that forbids it, or not ours to delete
            pass


def _fsync_tree(folder: Path) -> None:
    """Flush every file and directory so a crash right after the rename cannot expose empty files."""
    for p in sorted(folder.rglob("*"), reverse=True) + [folder]:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def build_once(
    final: Path,
    build: Callable[[Path, Progress], dict[str, Any]],
    *,
    valid: Callable[[Path], bool],
    prune: Callable[[Path], None],
    steps: int,
    progress: bool,
    label: tuple[str, str] = ("e5 模型", "e5 model"),
) -> Path:
    """Build ``final`` at most once across processes: under a file lock, in a temporary folder
    beside it that gets the marker ``build`` returns written last and is then renamed into place;
    leftovers of interrupted builds and an untrusted folder under the final name are removed
    first, superseded builds (``prune``) after. ``label`` is (Chinese, English) for messages."""
    lock = _lock(final, progress, label)
    try:
        if valid(final):  # another process finished it while we waited
            return final
        _clear(final)
        _build_in_tmp(final, build, prune, steps=steps, progress=progress, label=label)
    finally:
        lock.release()
    return final


def _lock(final: Path, progress: bool, label: tuple[str, str]) -> Any:
    """The acquired lock file beside ``final``: at once, else after saying we wait, at most
    ``LOCK_TIMEOUT_S``."""
    from filelock import FileLock, Timeout

    zh, en = label
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(
            f"无法创建模型缓存目录 (cannot create model cache dir): {e}", path=str(parent)
        ) from e
    lock = FileLock(str(parent / f".{final.name}.lock"))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if progress:
                from ... import ui

                ui.notice(f"等待另一个进程构建 {zh} (waiting for another process building the {en})",
                          prefix="")
            lock.acquire(timeout=LOCK_TIMEOUT_S)
    except Timeout as e:
        raise ModelError(
            f"等待其他进程构建 {zh}超时 (timed out waiting for another build)", path=str(final)
        ) from e
    except OSError as e:
        raise ModelError(
            f"无法锁定模型缓存目录 (cannot lock model cache dir): {e}", path=str(parent)
        ) from e
    return lock


def _clear(final: Path) -> None:
    """Leftovers of interrupted builds (we hold the lock, so nobody is writing them) and an
    untrusted folder under the final name."""
    for stale in final.parent.glob(f".{final.name}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    try:
        _remove_tree(final)
    except OSError as e:
        raise ModelError(
            f"无法清理旧的模型目录 (cannot remove untrusted folder): {e}", path=str(final)
        ) from e


def _build_in_tmp(
    final: Path,
    build: Callable[[Path, Progress], dict[str, Any]],
    prune: Callable[[Path], None],
    *,
    steps: int,
    progress: bool,
    label: tuple[str, str],
) -> None:
    """Run ``build`` in a fresh temporary folder, write its marker last, rename it to ``final``,
    then ``prune``; any failure becomes one ModelError line and leaves no temporary folder."""
    zh, en = label
    # mkdir (not mkdtemp) so the folder gets the user's umask rather than 0700
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    t0 = time.perf_counter()
    try:
        with Progress(progress, steps=steps, label=label) as bar:
            marker = build(tmp, bar)
            marker["build_seconds"] = round(time.perf_counter() - t0, 1)
            write_json(tmp / MARKER, marker)
            _fsync_tree(tmp)
            os.replace(tmp, final)
            bar.done(str(final))
        prune(final)
    except AlignError:
        raise
    except MemoryError as e:
        raise ModelError(f"内存不足，无法构建 {zh} (out of memory building the {en})") from e
    except OSError as e:
        raise ModelError(f"无法写入 {zh} (cannot write the {en}): {e}", path=str(final)) from e
    except Exception as e:
        raise ModelError(
            f"构建 {zh}失败 ({en} build failed): {type(e).__name__}: {e}"
        ) from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
