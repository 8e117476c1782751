"""The lexical signal: how close a passage's words are to a task view's bag of words.

Dense models miss exact policy vocabulary (1+X证书, 双高计划) and lexical matching misses
paraphrase; the two are complementary (see docs/models.md), so the scorer combines them, and
``--model lexical`` runs on this alone without torch. A text's term weights (jieba words x a
fixed IDF) come from ``embed/lexical.py``, as a text's vector comes from an embedder; this
module compares them.

TF-IDF cosine rather than BM25: cosine is bounded (0..1) and needs no corpus statistics (BM25
needs the average passage length of the corpus at hand), which is what makes scores of different
plans comparable and thresholds calibratable.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..embed.lexical import idf, passage_weights, term_weights, term_words, tokenize


@dataclass(frozen=True)
class LexicalQueries:
    """The queries' TF-IDF vectors over their own vocabulary, computed once per task index."""

    vocab: tuple[str, ...]
    matrix: np.ndarray  # (n_queries, len(vocab)) float64

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])


def build_queries(
    queries: Sequence[str], *, query_weights: Sequence[dict[str, float]] | None = None
) -> LexicalQueries:
    """``query_weights[i]`` maps terms to multipliers for query ``i`` (e.g. 2.0 for a task's key
    terms, 0 to ignore a word); a term absent from the query text is added with that weight.
    Multi-word terms are tokenised the same way as the text."""
    if query_weights is not None and len(query_weights) != len(queries):
        raise ValueError("query_weights must have one dict per query")
    qvecs: list[dict[str, float]] = []
    for i, q in enumerate(queries):
        vec = term_weights(q)
        if query_weights is not None:
            for term, mult in query_weights[i].items():
                for tok in set(tokenize(term)):
                    vec[tok] = vec.get(tok, idf(tok)) * float(mult)
        qvecs.append(vec)
    vocab: dict[str, int] = {}
    for vec in qvecs:
        for w in vec:
            vocab.setdefault(w, len(vocab))
    q = np.zeros((len(queries), len(vocab)), dtype=np.float64)
    for i, vec in enumerate(qvecs):
        for w, x in vec.items():
            q[i, vocab[w]] = x
    return LexicalQueries(tuple(vocab), q)


def similarity(queries: LexicalQueries, passages: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Cosine of TF-IDF vectors, shape (queries, passages), values in [0, 1]."""
    out = np.zeros((queries.n, len(passages)), dtype=np.float32)
    if not queries.n or not passages or not queries.vocab:
        return out
    vocab = {w: i for i, w in enumerate(queries.vocab)}
    q = queries.matrix
    # Only the query vocabulary matters for the dot product; the passage's norm needs all words.
    p = np.zeros((len(passages), len(vocab)), dtype=np.float64)
    pnorm = np.zeros(len(passages), dtype=np.float64)
    for j, vec in enumerate(passages):
        pnorm[j] = math.sqrt(sum(x * x for x in vec.values()))
        for w, x in vec.items():
            k = vocab.get(w)
            if k is not None:
                p[j, k] = x
    qnorm = np.linalg.norm(q, axis=1)
    sims = (q @ p.T) / np.outer(np.where(qnorm > 0, qnorm, 1.0), np.where(pnorm > 0, pnorm, 1.0))
    out[:] = np.clip(sims, 0.0, 1.0)
    return out


def lexical_scores(
    queries: Sequence[str],
    passages: Sequence[str],
    *,
    query_weights: Sequence[dict[str, float]] | None = None,
) -> np.ndarray:
    """Cosine of TF-IDF vectors, shape (len(queries), len(passages)), values in [0, 1]
    (``query_weights``: see :func:`build_queries`)."""
    q = build_queries(queries, query_weights=query_weights)
    return similarity(q, passage_weights(passages) if q.n else [{}] * len(passages))


def matched_terms(
    query_terms: Sequence[str],
    text: str,
    words_of: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """The key terms of a task that occur in ``text``, in the task's order, for highlighting.

    A term counts when it occurs verbatim (after NFKC and lowercasing, so 1+X and １＋ｘ agree)
    or when every word of it occurs in the text (校企合作 in 校企深度合作). ``words_of`` maps a
    term to its words (:func:`term_words`, precomputed by the task index), so scoring a cached
    plan needs no jieba: the text's words are looked up as substrings, not cut.
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    compact = re.sub(r"\s+", "", norm)
    out: list[str] = []
    for term in query_terms:
        t = unicodedata.normalize("NFKC", term).lower().strip()
        if not t or term in out:
            continue
        if t in norm or re.sub(r"\s+", "", t) in compact:
            out.append(term)
            continue
        parts = words_of.get(term) if words_of is not None else None
        if parts is None:
            parts = term_words(term)
        if len(parts) > 1 and all(w in compact for w in parts):
            out.append(term)
    return out
