"""A text's term weights, the lexical model's "vector": jieba words weighted by IDF; and the
``--model lexical`` embedder, which has no dense vectors and is scored on these alone.

Like an embedder's vectors, term weights depend only on the text, are stored in the on-disk
cache (``passage_weights``), and can be computed ahead in another process (``lexical_helper``).
Comparing them with a task's words is the scorer's job (``scoring/lexical.py``).

IDF comes from jieba's bundled table (a large general corpus), never from the passages being
scored: a plan scored paragraph by paragraph, or a single short text, has one to three
"documents", where corpus IDF collapses to nothing and scores stop being comparable across
documents. With a fixed IDF a passage's score depends only on the passage and the query.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..types import ModelInfo
from .base import Embedder, file_digest, fingerprint_of

if TYPE_CHECKING:  # pragma: no cover
    from .cache import EmbeddingCache

LEXICAL_KEY = "lexical"
# Bump when tokenize() or _weights() change: cached term weights are keyed by it.
LEXICAL_SCHEME = "lexical-weights/1"
CACHE_KIND = "lexical"

# Function words and policy boilerplate that say nothing about which task a passage serves.
STOPWORDS = frozenset(
    """
    的 了 和 与 及 或 等 在 是 为 对 中 上 下 把 被 将 从 由 于 向 以 之 其 并 而 也 都 又 就 还 各 该
    此 这 那 其中 我 我们 你 他 它 她 有 着 过 个 每 所 则 即 如 若 但 因 因此 所以 以及 或者 并且 而且
    以上 以下 之一 通过 按照 根据 围绕 进行 开展 实施 推进 推动 加强 加快 强化 完善 健全 建立 坚持
    不断 积极 切实 全面 深入 进一步 大力 着力 努力 认真 有效 充分 更加 相关 有关 主要 重要 重点 工作
    方面 问题 情况 要求 方式 提高 提升 促进 实现 形成 做好 抓好 注重 一批 一个 若干 以上 年 月 日
    """.split()
)
_FUNCTION_CHARS = frozenset(
    "的了和与及或等在是为对中上下把被将从由于向以之其并而也都又就还各该此这那个着过每所则即如若但因"
)
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_DIGITS = re.compile(r"^[\d.%％]+$")
_PLUS_TERM = re.compile(r"[0-9a-z]+(?:\+[0-9a-z]+)+")  # 1+x, which jieba cuts into 1 / + / x

_lock = threading.Lock()
_ready = False
_idf: dict[str, float] | None = None
_idf_median = 10.0


def _jieba():
    """jieba with its dictionary loaded once and quietly (it logs to stderr by default)."""
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _ready = True
    return jieba


def _idf_table() -> tuple[dict[str, float], float]:
    """jieba's bundled IDF table (jieba/analyse/idf.txt): word -> idf, plus the median for
    unknown words, exactly as jieba.analyse uses it."""
    global _idf, _idf_median
    if _idf is None:
        with _lock:
            if _idf is None:
                table: dict[str, float] = {}
                with open(_idf_path(), encoding="utf-8") as f:
                    for line in f:
                        word, _, val = line.strip().rpartition(" ")
                        if word:
                            table[word] = float(val)
                vals = sorted(table.values())
                _idf_median = vals[len(vals) // 2] if vals else 10.0
                _idf = table
    return _idf, _idf_median


def _idf_path() -> str:
    import jieba

    return os.path.join(os.path.dirname(jieba.__file__), "analyse", "idf.txt")


def _keep(tok: str) -> bool:
    if not tok or tok in STOPWORDS or _DIGITS.match(tok):
        return False
    if not _WORD.search(tok):  # punctuation, spaces, symbols
        return False
    if len(tok) == 1 and (tok in _FUNCTION_CHARS or tok.isascii()):
        return False
    return True


def tokenize(text: str) -> list[str]:
    """Words of ``text`` for matching: jieba's search-mode cut (a compound such as 校企合作 also
    yields 校企 and 合作, so 校企深度合作 still matches), lowercased and NFKC-normalised
    (full-width Ｘ -> x), without punctuation, stopwords or single-character function words."""
    text = unicodedata.normalize("NFKC", text).lower()
    jieba = _jieba()
    toks = [t for t in (w.strip() for w in jieba.cut_for_search(text, HMM=True)) if _keep(t)]
    toks.extend(_PLUS_TERM.findall(text))
    return toks


def _weights(tokens: Sequence[str]) -> dict[str, float]:
    """Sublinear TF x IDF: repeating a word helps, but less and less."""
    idf, median = _idf_table()
    return {w: (1.0 + math.log(n)) * idf.get(w, median) for w, n in Counter(tokens).items()}


def term_weights(text: str) -> dict[str, float]:
    """The words of ``text`` with their TF-IDF weights (no cache: see :func:`passage_weights`)."""
    return _weights(tokenize(text))


def idf(word: str) -> float:
    """A word's IDF in jieba's table; the table's median for a word it does not know."""
    table, median = _idf_table()
    return table.get(word, median)


def passage_weights(
    texts: Sequence[str], store: EmbeddingCache | None = None
) -> list[dict[str, float]]:
    """Each text's words with their TF-IDF weights, through the on-disk cache when given: a
    re-scored plan cuts only its changed paragraphs with jieba (and needs no jieba at all when
    nothing changed)."""
    if store is None:
        return [term_weights(t) for t in texts]
    keys = _keys(texts)
    unique = dict(zip(keys, texts, strict=True))
    found: dict[str, dict[str, float]] = {}
    for k, blob in store.get_blobs(CACHE_KIND, unique).items():
        try:
            vec = json.loads(blob.decode("utf-8"))
        except ValueError:  # checksummed, so only a foreign writer gets here: recompute
            continue
        if isinstance(vec, dict):
            found[k] = vec
    new = {k: term_weights(unique[k]) for k in unique if k not in found}
    if new:
        store.put_blobs(
            CACHE_KIND,
            {
                k: json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                for k, v in new.items()
            },
        )
        found.update(new)
    return [found[k] for k in keys]


def _keys(texts: Sequence[str]) -> list[str]:
    ident = lexical_identity()
    return [hashlib.sha256(f"{ident}\0{t}".encode()).hexdigest() for t in texts]


def uncached(texts: Sequence[str], store: EmbeddingCache) -> list[str]:
    """The texts whose term weights are not in ``store`` yet (each once)."""
    unique = dict(zip(_keys(texts), texts, strict=True))
    known = store.known_blobs(CACHE_KIND, unique)
    return [t for k, t in unique.items() if k not in known]


def jieba_loaded() -> bool:
    """Whether this process has loaded jieba's dictionary (0.4 s) already."""
    return _ready


def term_words(term: str) -> tuple[str, ...]:
    """The words of a key term (NFKC, lowercased) as matched_terms splits it."""
    return tuple(_plain_cut(unicodedata.normalize("NFKC", term).lower().strip()))


def _plain_cut(text: str) -> list[str]:
    jieba = _jieba()
    return [w for w in (x.strip() for x in jieba.cut(text, HMM=True)) if _keep(w)]


class LexicalEmbedder(Embedder):
    """``--model lexical``: no vectors at all; the scorer computes the lexical signal itself
    (``cache`` then holds only term weights and the task index)."""

    key = LEXICAL_KEY
    dense = False

    def __init__(self, *, cache=None, progress: bool = False):
        import jieba

        version = getattr(jieba, "__version__", "")
        info = ModelInfo(
            name=LEXICAL_KEY,
            version=f"jieba=={version}",
            kind="lexical",
            fingerprint=fingerprint_of(LEXICAL_KEY, lexical_identity()),
        )
        super().__init__(info, cache=cache, progress=progress)

    @property
    def dim(self) -> int:
        return 0

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError(
            "LexicalEmbedder has no vectors (dense=False): use scoring.lexical.lexical_scores"
        )


_identity: str | None = None


def lexical_identity() -> str:
    """Everything that changes a text's term weights: the scheme, the stopwords, jieba's version
    and its dictionary and IDF files (once per process, ~20 ms). It is also the lexical model's
    fingerprint and part of every task index's key."""
    global _identity
    if _identity is None:
        from pathlib import Path

        import jieba

        def digest(path: Path) -> str:
            try:
                return file_digest(path)
            except OSError:
                return ""

        stop = hashlib.sha256(" ".join(sorted(STOPWORDS)).encode()).hexdigest()[:16]
        _identity = fingerprint_of(
            LEXICAL_SCHEME,
            getattr(jieba, "__version__", ""),
            digest(Path(jieba.__file__).parent / "dict.txt"),
            digest(Path(_idf_path())),
            stop,
        )
    return _identity
