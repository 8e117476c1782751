"""What every embedding model looks like to the scorer, and the cache logic they all share.

A concrete model only says how to turn a batch of (already prefixed) texts into vectors and how
to identify itself. Everything else lives here once: prefixes, the cache look-up by
(fingerprint, sha256 of the prefixed text), de-duplication, batching the misses by length,
L2 normalisation and restoring the caller's order. The model itself is loaded lazily, on the
first cache miss, so a CI re-run of an unchanged plan never even imports torch.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..types import ModelInfo

if TYPE_CHECKING:
    from .cache import EmbeddingCache

# Texts are sorted by length and embedded this many at a time. On 2 CPU cores e5-small runs
# 4-10% faster with 16 than with 32 on a plan's chunks, and ~15% faster on the few, unequal
# texts of an edited plan (less padding); USE does not care (benchmarks/README.md).
BATCH_SIZE = 16
# Bump when the way texts become vectors changes without the model changing (prefixing,
# normalisation), so old cache entries stop matching.
EMBED_SCHEME = "1"
# Fewer texts than this embed too quickly for a progress line to be worth drawing.
PROGRESS_MIN_TEXTS = 64


@dataclass
class EmbedStats:
    """What the last runs cost: texts actually embedded, texts served from the cache, time spent."""

    embedded: int = 0
    cache_hits: int = 0
    seconds: float = 0.0


def text_key(text: str) -> str:
    """Cache key of the exact string the model sees (prefix included)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint_of(*parts: str) -> str:
    """A model's identity in the cache: everything that changes its vectors, hashed."""
    h = hashlib.sha256()
    for p in (EMBED_SCHEME, *parts):
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def file_digest(path: Path) -> str:
    """Content hash of a small file, or size + head, middle and tail of a big one (weights of hundreds of
    MB are not re-read on every run; any rebuild changes size, header or tail)."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        if size <= 8 << 20:
            h.update(f.read())
        else:
            h.update(f.read(1 << 20))
            f.seek(size // 2)
            h.update(f.read(1 << 20))
            f.seek(-(1 << 20), os.SEEK_END)
            h.update(f.read())
    return h.hexdigest()


def folder_digest(folder: Path) -> str:
    """Identity of a model folder: every file's relative path and digest (README excluded)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.lower() == "readme.md" or ".cache" in p.parts:
            continue
        h.update(p.relative_to(folder).as_posix().encode("utf-8"))
        h.update(file_digest(p).encode())
    return h.hexdigest()


class Embedder:
    """Base class: subclasses set ``key``, ``info``, the prefixes, and implement ``_embed``."""

    key: str = "custom"  # calibration key: "e5-small" | "use-m3" | "lexical" | "custom"
    dense: bool = True
    query_prefix: str = ""
    passage_prefix: str = ""
    batch_size: int = BATCH_SIZE
    # (done, total) after each embedded batch: for a caller that draws its own progress display
    # (``align batch``); when set, the embedder's own progress line stays off
    progress_hook: Callable[[int, int], None] | None = None

    def __init__(
        self,
        info: ModelInfo,
        *,
        cache: EmbeddingCache | None = None,
        progress: bool = False,
    ):
        self.info = info
        self.cache = cache
        self.progress = progress
        self.stats = EmbedStats()

    # ------------------------------------------------------------------ to implement

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for one batch of already-prefixed texts, shape (len(texts), dim)."""
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Vector size; may load the model."""
        raise NotImplementedError

    # ------------------------------------------------------------------ public

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Task side (policy tasks, sub-measures): e5 wants ``query: `` in front."""
        return self._encode([self.query_prefix + t for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Plan side (chunks): e5 wants ``passage: `` in front."""
        return self._encode([self.passage_prefix + t for t in texts])

    def will_load_model(self, passages: Sequence[str]) -> bool:
        """True when embedding ``passages`` would first have to load the model (seconds of
        start-up the caller can use for other work). Models that load instantly say False."""
        return False

    def _uncached(self, texts: Sequence[str]) -> bool:
        """Whether any of these (prefixed) texts lacks a cached vector."""
        if not texts:
            return False
        if self.cache is None:
            return True
        keys = {text_key(t) for t in texts}
        return len(self.cache.known(self.info.fingerprint, keys)) < len(keys)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.name!r}, key={self.key!r})"

    # ------------------------------------------------------------------ shared machinery

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        unique: dict[str, str] = dict(zip(keys, texts, strict=True))  # de-duplicated, ordered
        found: dict[str, np.ndarray] = {}
        if self.cache is not None:
            found = self.cache.get_many(self.info.fingerprint, unique)
        missing = [k for k in unique if k not in found]
        self.stats.cache_hits += len(unique) - len(missing)
        if missing:
            new = dict(zip(missing, self._embed_missing([unique[k] for k in missing]), strict=True))
            dim = next(iter(new.values())).shape[0]
            stale = [k for k, v in found.items() if v.shape[0] != dim]
            if stale:  # the cache disagrees with the model about the vector size: trust the model
                new.update(zip(stale, self._embed_missing([unique[k] for k in stale]), strict=True))
            if self.cache is not None:
                self.cache.put_many(self.info.fingerprint, new, name=self.info.name)
            found.update(new)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _embed_missing(self, texts: list[str]) -> np.ndarray:
        """Embed in batches of similar length (less padding), normalise, restore order."""
        t0 = time.perf_counter()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: np.ndarray | None = None
        from .. import ui

        # a line of the run's one progress display (align.ui), only for runs worth watching;
        # a caller with its own progress_hook (align batch) draws its own
        hook = self.progress_hook
        bar = ui.stage("嵌入 embedding", total=len(texts),
                       show=self.progress and hook is None and len(texts) >= PROGRESS_MIN_TEXTS)
        try:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                vecs = np.asarray(self._embed([texts[i] for i in idx]), dtype=np.float32)
                if vecs.ndim != 2 or vecs.shape[0] != len(idx):
                    raise RuntimeError(f"model returned shape {vecs.shape} for {len(idx)} texts")
                if out is None:
                    out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
                out[idx] = vecs
                bar.advance(len(idx))
                if hook is not None:
                    hook(min(start + self.batch_size, len(order)), len(order))
        finally:
            bar.close()
        assert out is not None
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms > 0, norms, 1.0)
        self.stats.embedded += len(texts)
        self.stats.seconds += time.perf_counter() - t0
        return out
