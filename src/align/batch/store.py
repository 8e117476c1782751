"""``OUTDIR/reports.jsonl``: the batch's one source of truth, appended one plan at a time.

Each line is a plan's ``align-report/1`` object with a ``batch`` member saying which file it came
from and the *job key* it was scored under (content hash, policy sets, model, calibration,
align version); a plan that failed is an ``align-batch-error/1`` line with its one-line error.
Lines are written whole and flushed to disk as each plan finishes, so a crash (even kill -9)
loses at most the plan in progress. Opening the store keeps the newest line per file and drops
a torn last line; when anything was dropped the file is rewritten (atomically) before new lines
are appended, so the file never holds two entries for one plan.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..fileio import write_atomic as _write_atomic
from ..report.overview import is_error
from ..types import ERROR_SCHEMA, REPORT_SCHEMA

REPORTS_FILE = "reports.jsonl"
LOCK_FILE = ".align-batch.lock"


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write beside the target and rename over it: a failed write leaves the old file
    (:func:`align.fileio.write_atomic`; text is written as UTF-8)."""
    _write_atomic(path, data.encode("utf-8") if isinstance(data, str) else data)


def record_file(rec: dict[str, Any]) -> str:
    """The identity of the plan a line is about (its resolved path)."""
    b = rec.get("batch") or {}
    return str(b.get("file") or (rec.get("document") or {}).get("path") or "")


def read_records(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The usable lines of a reports.jsonl (newest per file, in first-seen order) and how many
    lines were dropped (torn, not JSON, or superseded by a later line for the same file)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    except OSError as e:
        raise InputError(f"无法读取 {REPORTS_FILE}：{e.strerror} (cannot read)", path=str(path)) from None
    latest: dict[str, dict[str, Any]] = {}
    dropped = 0
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            dropped += 1  # a line cut off by a crash mid-write
            continue
        if not isinstance(rec, dict) or rec.get("schema") not in (REPORT_SCHEMA, ERROR_SCHEMA):
            dropped += 1
            continue
        key = record_file(rec)
        if key in latest:
            dropped += 1
            del latest[key]  # re-insert: the plan's place is where its newest line is
        latest[key] = rec
    if raw.strip() and not raw.endswith(b"\n") and not dropped:
        dropped = 1  # whole but unterminated: rewrite so the next append starts a new line
    return list(latest.values()), dropped


class ReportStore:
    """The reports.jsonl of one batch folder, held under a lock while a batch runs in it."""

    def __init__(self, outdir: Path, *, fresh: bool = False) -> None:
        self.outdir = outdir
        self.path = outdir / REPORTS_FILE
        self._lock: Any = None
        self._fh: Any = None
        self.records: dict[str, dict[str, Any]] = {}
        self.fresh = fresh

    def __enter__(self) -> ReportStore:
        from filelock import FileLock, Timeout

        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"无法创建输出目录：{e.strerror} (cannot create output folder)", path=str(self.outdir)
            ) from None
        lock = FileLock(str(self.outdir / LOCK_FILE))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise ConfigError(
                "另一个 align batch 正在使用这个输出目录 (another batch is running in this folder)",
                path=str(self.outdir),
            ) from None
        self._lock = lock
        try:
            if self.fresh:
                recs, dropped = [], 0
                write_atomic(self.path, b"")
            else:
                recs, dropped = read_records(self.path)
                if dropped:
                    self._rewrite(recs)
            self.records = {record_file(r): r for r in recs}
            self._fh = open(self.path, "ab")  # noqa: SIM115  (held for the batch's lifetime)
        except BaseException:
            lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _rewrite(self, recs: Iterable[dict[str, Any]]) -> None:
        write_atomic(self.path, "".join(_line(r) for r in recs))

    def done(self, file: str, key: str) -> bool:
        """True when this file was already scored under this job key (errors are retried)."""
        rec = self.records.get(file)
        return rec is not None and not is_error(rec) and (rec.get("batch") or {}).get("key") == key

    def forget(self, files: Iterable[str]) -> None:
        """Drop the old lines of plans about to be scored again (content, policies or model
        changed, or they failed last time): one rewrite, before any new line is appended."""
        gone = [f for f in files if f in self.records]
        if not gone:
            return
        for f in gone:
            del self.records[f]
        self._fh.close()
        self._rewrite(self.records.values())
        self._fh = open(self.path, "ab")  # noqa: SIM115

    def append(self, rec: dict[str, Any]) -> None:
        """Add one plan's line, flushed to disk before returning."""
        file = record_file(rec)
        if file in self.records:
            self.forget([file])
        self._fh.write(_line(rec).encode("utf-8"))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records[file] = rec

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records.values())


def _line(rec: dict[str, Any]) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"
