"""On-disk embedding cache: re-scoring an unchanged plan in CI embeds nothing.

Vectors live in one SQLite file keyed by (model fingerprint, sha256 of the exact text the model
saw, prefix included), in the spirit of llm's ``embed_multi``: ask which keys are known, embed
only the rest. SQLite in WAL mode with a busy timeout lets several ``align`` processes share the
file. Each row carries its dimension, dtype and a CRC of the blob, so a damaged or foreign file
is detected, reported in one warning line and rebuilt; it never crashes a run and never yields
a wrong vector. Any other failure (read-only disk, full disk) turns the cache off for the rest
of the process with one warning: the cache is an optimisation, never a reason to fail.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = "align-embeddings/1"
FILENAME = "embeddings.sqlite"
_DTYPE = "float32"
_CHUNK = 500  # keys per SELECT, well under SQLite's host-parameter limit
_BUSY_MS = 60_000


def default_root() -> Path:
    """``ALIGN_CACHE_DIR`` when set (tests, CI caches), else the platform's user cache dir."""
    env = os.environ.get("ALIGN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("align"))


class CacheCorrupt(Exception):
    """The file is not a cache we wrote, or a row does not hold what it claims."""

    def __init__(self, message: str, row: tuple[str, str] | None = None, force: bool = False):
        super().__init__(message)
        self.row = row  # (fingerprint, key) of the bad row, so a rebuild can re-check it
        self.force = force  # damage a re-check cannot see: rebuild regardless


def _warn(msg: str) -> None:
    from ..ui import notice

    notice(msg)


class EmbeddingCache:
    """Vectors keyed by (fingerprint, text key). Opened lazily, on first use."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.path = self.root / FILENAME
        self._conn: sqlite3.Connection | None = None
        self._disabled = False
        self.rebuilt = 0  # how many times this object found the file corrupt and rebuilt it
        self._lock = threading.RLock()  # one connection, shared by threads (align serve)

    # ------------------------------------------------------------------ public API

    def get_many(self, fingerprint: str, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached float32 vectors among ``keys``; unknown keys are simply absent."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        return self._guard(lambda: self._get_many(fingerprint, keys), default={})

    def put_many(
        self,
        fingerprint: str,
        items: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
        *,
        name: str = "",
    ) -> int:
        """Store vectors (one transaction). ``name`` labels the model in ``align cache info``."""
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        if not pairs:
            return 0
        return self._guard(lambda: self._put_many(fingerprint, pairs, name), default=0)

    def known(self, fingerprint: str, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have a vector (without reading the vectors)."""
        return self._known("vectors", "fingerprint", fingerprint, keys)

    def known_blobs(self, kind: str, keys: Iterable[str]) -> set[str]:
        return self._known("blobs", "kind", kind, keys)

    def _known(self, table: str, column: str, value: str, keys: Iterable[str]) -> set[str]:
        keys = list(dict.fromkeys(keys))
        if not keys or not self.path.exists():
            return set()

        def run() -> set[str]:
            sql = f"SELECT key FROM {table} WHERE {column} = ?"
            return {r[0] for r in _rows_for_keys(self._connect(), sql, value, keys)}

        return self._guard(run, default=set())

    def get_blobs(self, kind: str, keys: Iterable[str]) -> dict[str, bytes]:
        """Other derived data by (kind, key): a text's lexical term weights, a task index."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        return self._guard(lambda: self._get_blobs(kind, keys), default={})

    def put_blobs(
        self, kind: str, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]]
    ) -> int:
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        if not pairs:
            return 0
        return self._guard(lambda: self._put_blobs(kind, pairs), default=0)

    def info(self) -> dict[str, Any]:
        """Path, size on disk and entries per model, for ``align cache info``."""
        size = sum(p.stat().st_size for p in self._files() if p.exists())
        models = self._guard(self._models, default=[]) if self.path.exists() else []
        other = self._guard(self._blob_kinds, default=[]) if self.path.exists() else []
        return {
            "path": str(self.path),
            "exists": self.path.exists(),
            "size_bytes": size,
            "entries": sum(m["entries"] for m in models),
            "models": models,
            "other": other,
        }

    def clear(self) -> int:
        """Delete every cached vector; returns how many there were."""
        if not self.path.exists():
            return 0

        def run() -> int:
            conn = self._connect()
            n = conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM vectors")
            conn.execute("DELETE FROM models")
            conn.execute("DELETE FROM blobs")
            conn.execute("COMMIT")
            conn.execute("VACUUM")
            return int(n)

        return self._guard(run, default=0)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    # ------------------------------------------------------------------ internals

    def _files(self) -> list[Path]:
        return [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]

    def _guard(self, fn, default):
        """Run one cache operation; corruption -> rebuild and retry once; other errors -> off."""
        with self._lock:
            return self._guarded(fn, default)

    def _guarded(self, fn, default):
        if self._disabled:
            return default
        for attempt in (0, 1):
            try:
                return fn()
            except (CacheCorrupt, sqlite3.DatabaseError) as e:
                if isinstance(e, sqlite3.OperationalError) and not _looks_corrupt(e):
                    self._disable(e)
                    return default
                if attempt == 1:
                    self._disable(e)
                    return default
                try:
                    self._rebuild(e)
                except Exception as e2:  # noqa: BLE001 - e.g. the file is held open on Windows
                    self._disable(e2)
                    return default
            except OSError as e:
                self._disable(e)
                return default
        return default  # pragma: no cover

    def _disable(self, err: BaseException) -> None:
        self.close()
        self._disabled = True
        _warn(f"嵌入缓存不可用，本次不使用缓存 (embedding cache disabled): {self.path}: {err}")

    def _rebuild(self, err: BaseException) -> None:
        """Remove the damaged file (under a lock, so two processes do not race) and start over."""
        self.close()
        from filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock", timeout=_BUSY_MS / 1000):
            # Another process may have rebuilt it already; only delete what is still broken.
            if getattr(err, "force", False) or self._still_broken(getattr(err, "row", None)):
                for p in self._files():
                    try:
                        p.unlink()
                    except FileNotFoundError:
                        pass
        self.rebuilt += 1
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        _warn(
            f"嵌入缓存已损坏，已重建 (embedding cache was corrupt, rebuilt): {self.path}: {reason}"
        )

    def _still_broken(self, row: tuple[str, str] | None) -> bool:
        if not self.path.exists():
            return False
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000)
            try:
                _check_schema(conn)
                if row is not None:
                    got = conn.execute(
                        "SELECT key, dim, dtype, crc, vec FROM vectors"
                        " WHERE fingerprint = ? AND key = ?",
                        row,
                    ).fetchone()
                    if got is not None:
                        _decode(row[0], *got)
                return conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
            finally:
                conn.close()
        except (CacheCorrupt, sqlite3.DatabaseError):
            return True

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        self.root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            if not _is_ready(conn):
                # Creating the file and switching it to WAL must not race another process.
                from filelock import FileLock

                with FileLock(str(self.path) + ".lock", timeout=_BUSY_MS / 1000):
                    _init_schema(conn)
                    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        conn.execute("PRAGMA journal_mode=WAL")
            _check_schema(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _get_many(self, fingerprint: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        sql = "SELECT key, dim, dtype, crc, vec FROM vectors WHERE fingerprint = ?"
        out: dict[str, np.ndarray] = {}
        for key, dim, dtype, crc, blob in _rows_for_keys(self._connect(), sql, fingerprint, keys):
            out[key] = _decode(fingerprint, key, dim, dtype, crc, blob)
        if out:  # one model's vectors all share a dimension; a mix means the file lies
            dims = {v.shape[0] for v in out.values()}
            if len(dims) != 1:
                raise CacheCorrupt(
                    f"同一模型的向量维度不一致 (mixed dimensions {sorted(dims)})", force=True
                )
        return out

    def _put_many(self, fingerprint: str, pairs: list[tuple[str, np.ndarray]], name: str) -> int:
        rows = []
        dim = None
        for key, vec in pairs:
            v = np.ascontiguousarray(vec, dtype=np.float32).reshape(-1)
            if dim is None:
                dim = v.shape[0]
            elif v.shape[0] != dim:
                raise ValueError("vectors of one model must share a dimension")
            blob = v.tobytes()
            rows.append((fingerprint, key, v.shape[0], _DTYPE, zlib.crc32(blob), blob))
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?)", rows)
            conn.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE"
                " SET name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,"
                " updated = excluded.updated",
                (fingerprint, name, dim, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(rows)

    def _get_blobs(self, kind: str, keys: Sequence[str]) -> dict[str, bytes]:
        sql = "SELECT key, crc, data FROM blobs WHERE kind = ?"
        out: dict[str, bytes] = {}
        for key, crc, data in _rows_for_keys(self._connect(), sql, kind, keys):
            if not isinstance(data, bytes) or zlib.crc32(data) != crc:
                raise CacheCorrupt(
                    f"条目校验失败 (entry {kind}/{key[:12]}: checksum mismatch)", force=True
                )
            out[key] = data
        return out

    def _put_blobs(self, kind: str, pairs: list[tuple[str, bytes]]) -> int:
        rows = [(kind, key, zlib.crc32(data), bytes(data)) for key, data in pairs]
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(rows)

    def _blob_kinds(self) -> list[dict[str, Any]]:
        conn = self._connect()
        rows = conn.execute(
            "SELECT kind, COUNT(*), SUM(LENGTH(data)) FROM blobs GROUP BY kind ORDER BY kind"
        ).fetchall()
        return [{"kind": k, "entries": int(n), "bytes": int(b or 0)} for k, n, b in rows]

    def _models(self) -> list[dict[str, Any]]:
        conn = self._connect()
        rows = conn.execute(
            "SELECT v.fingerprint, COALESCE(m.name, ''), MIN(v.dim), COUNT(*),"
            " SUM(LENGTH(v.vec)), m.updated"
            " FROM vectors v LEFT JOIN models m ON m.fingerprint = v.fingerprint"
            " GROUP BY v.fingerprint ORDER BY COUNT(*) DESC"
        ).fetchall()
        return [
            {
                "fingerprint": fp,
                "name": name,
                "dim": int(dim),
                "entries": int(n),
                "bytes": int(nbytes or 0),
                "updated": updated,
            }
            for fp, name, dim, n, nbytes, updated in rows
        ]


def _rows_for_keys(
    conn: sqlite3.Connection, select: str, value: str, keys: Sequence[str]
) -> list[tuple[Any, ...]]:
    """``select ... WHERE <column> = ?`` narrowed to ``keys``, asked in chunks that stay under
    SQLite's limit on host parameters."""
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(keys), _CHUNK):
        part = keys[i : i + _CHUNK]
        marks = ",".join("?" * len(part))
        rows.extend(conn.execute(f"{select} AND key IN ({marks})", (value, *part)).fetchall())
    return rows


# Added after schema 1 shipped, so a file without it is still ours: the table is created on open.
_BLOBS_TABLE = (
    "CREATE TABLE IF NOT EXISTS blobs (kind TEXT NOT NULL, key TEXT NOT NULL,"
    " crc INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID"
)


def _is_ready(conn: sqlite3.Connection) -> bool:
    """Schema present and WAL on: the common case, checked without taking the file lock."""
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name IN ('meta', 'blobs')"
        )
    }
    return tables == {"meta", "blobs"} and (
        conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    )


def _init_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            if tables:  # some other program's database: not ours to reuse
                raise CacheCorrupt(f"不是 align 的缓存文件 (foreign database: {sorted(tables)})")
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
            conn.execute(
                "CREATE TABLE vectors (fingerprint TEXT NOT NULL, key TEXT NOT NULL,"
                " dim INTEGER NOT NULL, dtype TEXT NOT NULL, crc INTEGER NOT NULL,"
                " vec BLOB NOT NULL, PRIMARY KEY (fingerprint, key)) WITHOUT ROWID"
            )
            conn.execute(
                "CREATE TABLE models (fingerprint TEXT PRIMARY KEY, name TEXT NOT NULL,"
                " dim INTEGER NOT NULL, updated REAL NOT NULL)"
            )
        conn.execute(_BLOBS_TABLE)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _check_schema(conn: sqlite3.Connection) -> None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        cols = [r[1] for r in conn.execute("PRAGMA table_info(vectors)")]
    except sqlite3.OperationalError as e:  # no such table / column
        raise CacheCorrupt(f"缓存结构不符 (unexpected schema: {e})") from e
    if row is None or row[0] != SCHEMA:
        raise CacheCorrupt(f"缓存版本不符 (schema {row[0] if row else None!r}, expected {SCHEMA})")
    if cols != ["fingerprint", "key", "dim", "dtype", "crc", "vec"]:
        raise CacheCorrupt(f"缓存结构不符 (unexpected columns {cols})")
    blob_cols = [r[1] for r in conn.execute("PRAGMA table_info(blobs)")]
    if blob_cols != ["kind", "key", "crc", "data"]:
        raise CacheCorrupt(f"缓存结构不符 (unexpected columns {blob_cols})")


def _decode(fingerprint: str, key: str, dim: Any, dtype: Any, crc: Any, blob: Any) -> np.ndarray:
    row = (fingerprint, key)
    if dtype != _DTYPE or not isinstance(dim, int) or dim <= 0:
        raise CacheCorrupt(f"条目类型不符 (entry {key[:12]}: dtype {dtype!r}, dim {dim!r})", row)
    if not isinstance(blob, bytes) or len(blob) != dim * 4:
        size = len(blob) if isinstance(blob, bytes | str) else None
        raise CacheCorrupt(
            f"条目长度不符 (entry {key[:12]}: {size} bytes, expected {dim * 4})", row
        )
    if zlib.crc32(blob) != crc:
        raise CacheCorrupt(f"条目校验失败 (entry {key[:12]}: checksum mismatch)", row)
    v = np.frombuffer(blob, dtype=np.float32).copy()
    if not np.isfinite(v).all():
        raise CacheCorrupt(f"条目含非有限值 (entry {key[:12]}: non-finite values)", row)
    return v


def _looks_corrupt(err: sqlite3.OperationalError) -> bool:
    """OperationalError covers both damage (no such table) and contention/disk problems."""
    msg = str(err).lower()
    if "locked" in msg or "busy" in msg or "disk i/o" in msg or "readonly" in msg:
        return False
    if "unable to open" in msg or "full" in msg:
        return False
    return True
