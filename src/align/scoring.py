"""Score plan chunks against policy tasks: standardised signals and the probability of evidence.

How a score is made (the "why" behind the numbers):

1. Each task is read in several *views*: its main text (title + matching description), and each
   sub-measure. Views are embedded as queries (``query: `` for e5), chunks as passages.
2. Raw similarities are not comparable between tasks or models: multilingual-e5 puts almost every
   pair of education texts between 0.85 and 0.92, and a broad task (立德树人) sits high against any
   school text. So every view's raw similarity is *standardised* against that view's own null
   distribution: its similarities to a background of plan passages that are NOT about the task
   (``calibration/background.jsonl``). A score of 2.0 means "two standard deviations above what
   this task typically gets from unrelated plan text", whatever the model or the task.
3. A dense signal (embeddings) and a lexical signal (jieba terms weighted by IDF) are standardised
   the same way. Per task and chunk that gives four signals (dense/lexical x main view/best
   sub-measure view), which ``judge.py``'s learned head turns into the probability that the
   chunk is evidence for the task, and then into a document status.

Everything here is numpy on small matrices; the model does the heavy lifting elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chunk import unwrap
from .errors import ModelError
from .types import (
    Chunk,
    Location,
    PolicySet,
    Task,
    Threshold,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .embed.base import Embedder
    from .embed.cache import EmbeddingCache
    from .embed.lexical import LexicalQueries
    from .judge import Head

CALIBRATION_DIR = Path(__file__).parent / "calibration"
BACKGROUND_FILE = CALIBRATION_DIR / "background.jsonl"


# --------------------------------------------------------------------------- calibration

CALIBRATION_FORMAT = "align-calibration/2"


@dataclass(frozen=True)
class Calibration:
    """Per-model scoring parameters, fitted from labelled passages by ``align calibrate`` (the
    shipped ones by ``scripts/calibrate.py`` from real plans); never hand-tuned here.

    ``head`` turns a chunk's standardised signals into a probability of being evidence (see
    ``judge.py``); thresholds are on the 0-100 confidence scale."""

    key: str
    head: Head
    covered: float
    partial: float
    evidence: float | None = None
    tasks: dict[str, Threshold] = field(default_factory=dict)
    top_k: int = 3
    covered_min_passages: int = 2
    heading_context: bool = True
    negative_penalty: float = 1.0
    source: str = ""

    @property
    def uses_dense(self) -> bool:
        return self.head.uses_dense

    def threshold_for(self, task: Task) -> Threshold:
        if task.threshold is not None:  # the policy file has the last word
            return task.threshold
        if task.id in self.tasks:
            return self.tasks[task.id]
        return Threshold(covered=self.covered, partial=self.partial, evidence=self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "model": self.key,
            "heading_context": self.heading_context,
            "negative_penalty": self.negative_penalty,
            "aggregate": {"top_k": self.top_k, "covered_min_passages": self.covered_min_passages},
            "thresholds": {
                "covered": round(self.covered, 3),
                "partial": round(self.partial, 3),
                "evidence": None if self.evidence is None else round(self.evidence, 3),
                "tasks": {
                    k: {"covered": round(v.covered, 3), "partial": round(v.partial, 3)}
                    for k, v in sorted(self.tasks.items())
                },
            },
            "head": self.head.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> Calibration:
        from .judge import Head

        if data.get("format") != CALIBRATION_FORMAT:
            raise ValueError(f"not an {CALIBRATION_FORMAT} file (format: {data.get('format')!r})")
        th = data["thresholds"]
        agg = data.get("aggregate", {})
        ev = th.get("evidence")
        return cls(
            key=str(data["model"]),
            head=Head.from_dict(data["head"]),
            covered=float(th["covered"]),
            partial=float(th["partial"]),
            evidence=None if ev is None else float(ev),
            tasks={k: Threshold(float(v["covered"]), float(v["partial"])) for k, v in th.get("tasks", {}).items()},
            top_k=int(agg.get("top_k", 3)),
            covered_min_passages=int(agg.get("covered_min_passages", 2)),
            heading_context=bool(data.get("heading_context", True)),
            negative_penalty=float(data.get("negative_penalty", 1.0)),
            source=source,
        )


def calibration_path(key: str) -> Path:
    return CALIBRATION_DIR / f"{key}.json"


def read_calibration(path: Path, source: str | None = None) -> Calibration:
    """A calibration file (shipped or a user's ``align calibrate`` output); ModelError if bad."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration.from_dict(data, source=source or path.name)
    except OSError as e:
        raise ModelError(f"无法读取校准文件 ({e.strerror or e})", path=str(path)) from None
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise ModelError(f"校准文件格式错误：{e} (invalid calibration file)", path=str(path)) from None


def load_calibration(key: str) -> Calibration:
    """The shipped calibration for a model key; unknown models (``custom``) use the generic
    one, and the report says which file it was."""
    path = calibration_path(key)
    if not path.exists():
        path = calibration_path("custom")
    if not path.exists():
        raise ModelError(f"没有模型 {key} 的校准文件 {path} (no calibration for this model)")
    return read_calibration(path)


# --------------------------------------------------------------------------- background


@dataclass(frozen=True)
class BackgroundPassage:
    text: str
    labels: frozenset[str]


@cache
def load_background(path: Path = BACKGROUND_FILE) -> tuple[BackgroundPassage, ...]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                out.append(BackgroundPassage(d["text"], frozenset(d.get("labels", ()))))
    return tuple(out)


# --------------------------------------------------------------------------- task views


def task_main_text(task: Task) -> str:
    return f"{task.title}。{task.description}".strip()


def sub_measure_text(task: Task, i: int) -> str:
    m = task.sub_measures[i]
    return f"{task.title}：{m.title}。{m.description}".strip("。 ") + "。"


def lexical_query(task: Task) -> str:
    """The bag of words the lexical signal looks for: title, aliases and key terms (terms twice:
    they are the words a reviewer would search for)."""
    return " ".join([task.title, *task.aliases, *task.terms, *task.terms])


def sub_lexical_query(task: Task, i: int) -> str:
    m = task.sub_measures[i]
    return " ".join([m.title, *m.terms, *m.terms])


def chunk_embed_text(chunk: Chunk, heading_context: bool) -> str:
    """What the model sees for a chunk: its text with page-width line wraps removed, and the
    innermost heading, which gives a short paragraph its topic."""
    text = unwrap(chunk.text)
    if heading_context and chunk.heading_path:
        head = chunk.heading_path[-1]
        if head and not text.startswith(head):
            return f"{head}：{text}"
    return text


_NO_LOCATION = Location(0, 0)


@dataclass
class _View:
    task_index: int
    sub_index: int | None  # None for the task's main view
    text: str


@dataclass
class TaskIndex:
    """Everything about the tasks that does not depend on the document, computed once (and kept
    in the on-disk cache, see :func:`load_task_index`)."""

    tasks: list[Task]
    views: list[_View]
    dense_q: np.ndarray | None  # (n_views, dim)
    lex: LexicalQueries  # one query per view
    dense_mu: np.ndarray  # per view
    dense_sd: np.ndarray
    lex_mu: np.ndarray  # per view
    lex_sd: np.ndarray
    # every key term and alias -> its words, for matched_terms (no jieba at scoring time)
    term_words: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """The computed parts as one .npz (no pickle); tasks and views come from the policies."""
        import io

        import numpy as np

        meta = {
            "task_ids": [t.id for t in self.tasks],
            "n_views": len(self.views),
            "vocab": list(self.lex.vocab),
            "term_words": {k: list(v) for k, v in self.term_words.items()},
        }
        arrays = {
            "meta": np.array(json.dumps(meta, ensure_ascii=False)),
            "lex_matrix": self.lex.matrix,
            "dense_mu": self.dense_mu,
            "dense_sd": self.dense_sd,
            "lex_mu": self.lex_mu,
            "lex_sd": self.lex_sd,
        }
        if self.dense_q is not None:
            arrays["dense_q"] = self.dense_q
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, tasks: list[Task]) -> TaskIndex:
        """The inverse of :meth:`to_bytes`; raises ValueError if it does not fit ``tasks``."""
        import io

        import numpy as np

        from .embed.lexical import LexicalQueries

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arr = {k: z[k] for k in z.files if k != "meta"}
        except Exception as e:  # noqa: BLE001 - zipfile, numpy and json each raise their own
            raise ValueError(f"unreadable task index: {e!r}") from e
        views = _views(tasks)
        if not isinstance(meta, dict) or meta.get("task_ids") != [t.id for t in tasks] or (
            meta.get("n_views") != len(views)
        ):
            raise ValueError("task index is for other tasks")
        try:
            index = cls(
                tasks=tasks,
                views=views,
                dense_q=arr.get("dense_q"),
                lex=LexicalQueries(tuple(meta["vocab"]), arr["lex_matrix"]),
                dense_mu=arr["dense_mu"],
                dense_sd=arr["dense_sd"],
                lex_mu=arr["lex_mu"],
                lex_sd=arr["lex_sd"],
                term_words={k: tuple(v) for k, v in meta["term_words"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"unreadable task index: {e!r}") from e
        n_v = len(views)
        shapes_ok = (
            index.lex.matrix.shape == (n_v, len(index.lex.vocab))
            and all(a.shape == (n_v,) for a in (index.dense_mu, index.dense_sd, index.lex_mu, index.lex_sd))
            and (index.dense_q is None or index.dense_q.shape[0] == n_v)
        )
        if not shapes_ok:
            raise ValueError("unreadable task index: array shapes do not match the tasks")
        return index


def _null_stats(sims: np.ndarray, exclude: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean/sd of each row over background passages not labelled with that row's task."""
    import numpy as np

    mu = np.zeros(sims.shape[0], dtype=np.float64)
    sd = np.ones(sims.shape[0], dtype=np.float64)
    for i in range(sims.shape[0]):
        row = sims[i][~exclude[i]] if exclude[i].any() else sims[i]
        if row.size >= 2:
            mu[i] = float(row.mean())
            sd[i] = max(float(row.std()), 1e-6)
    return mu, sd


def _views(tasks: Sequence[Task]) -> list[_View]:
    views: list[_View] = []
    for ti, t in enumerate(tasks):
        views.append(_View(ti, None, task_main_text(t)))
        for si in range(len(t.sub_measures)):
            views.append(_View(ti, si, sub_measure_text(t, si)))
    return views


def _lexical_queries(tasks: Sequence[Task]) -> list[str]:
    """One bag of words per view, in the order of :func:`_views`."""
    out: list[str] = []
    for t in tasks:
        out.append(lexical_query(t))
        out.extend(sub_lexical_query(t, si) for si in range(len(t.sub_measures)))
    return out


def build_task_index(
    policy_sets: Sequence[PolicySet],
    embedder: Embedder,
    calibration: Calibration,
    store: EmbeddingCache | None = None,
) -> TaskIndex:
    import numpy as np

    from .embed.lexical import build_queries, passage_weights, similarity, term_words

    tasks = [t for s in policy_sets for t in s.tasks]
    views = _views(tasks)
    lex_q = build_queries(_lexical_queries(tasks))

    bg = load_background()
    bg_text = [b.text for b in bg]
    own = np.array([[t.id in b.labels for b in bg] for t in tasks], dtype=bool)  # (tasks, bg)

    dense_q = None
    dense_mu = np.zeros(len(views))
    dense_sd = np.ones(len(views))
    bg_vec = None
    if embedder.dense:
        dense_q = embedder.encode_queries([v.text for v in views])
        bg_vec = embedder.encode_passages(bg_text)
        sims = dense_q @ bg_vec.T
        dense_mu, dense_sd = _null_stats(sims, [own[v.task_index] for v in views])
    bg_weights = passage_weights(bg_text, store)
    lex = similarity(lex_q, bg_weights)
    lex_mu, lex_sd = _null_stats(lex, [own[v.task_index] for v in views])
    terms = {x for t in tasks for x in (*t.terms, *t.aliases, *(w for m in t.sub_measures for w in m.terms))}
    index = TaskIndex(
        tasks, views, dense_q, lex_q, dense_mu, dense_sd, lex_mu, lex_sd,
        term_words={x: term_words(x) for x in sorted(terms)},
    )  # fmt: skip
    return index


# Bump when what build_task_index computes changes in a way the key below cannot see.
INDEX_SCHEME = "align-task-index/2"
INDEX_KIND = "task-index"


def task_index_key(
    policy_sets: Sequence[PolicySet], embedder: Embedder, calibration: Calibration
) -> str:
    """Everything a task index is computed from: the tasks (every field), the model's
    fingerprint, the lexical weights' identity, the calibration, the background passages, and
    the code that computes it (this module and the lexical one, by content)."""
    import hashlib

    from . import __version__
    from .embed import lexical
    from .embed.base import file_digest

    def code(path: str) -> str:
        try:
            return file_digest(Path(path))
        except OSError:  # not a plain file (a zip import): the version has to do
            return ""

    h = hashlib.sha256()
    parts = [
        INDEX_SCHEME,
        __version__,
        code(__file__),
        code(lexical.__file__),
        embedder.info.fingerprint,
        lexical.lexical_identity(),
        repr(calibration),
        file_digest(BACKGROUND_FILE),
        repr([t for s in policy_sets for t in s.tasks]),
    ]
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def load_task_index(
    policy_sets: Sequence[PolicySet],
    embedder: Embedder,
    calibration: Calibration,
    store: EmbeddingCache | None = None,
) -> TaskIndex:
    """The task index from the on-disk cache when it was computed from exactly these inputs;
    otherwise built (task and background vectors come from the embedding cache) and stored.
    A warm run then needs neither jieba nor the model."""
    if store is None:
        return build_task_index(policy_sets, embedder, calibration)
    tasks = [t for s in policy_sets for t in s.tasks]
    key = task_index_key(policy_sets, embedder, calibration)
    data = store.get_blobs(INDEX_KIND, [key]).get(key)
    if data is not None:
        try:
            return TaskIndex.from_bytes(data, tasks)
        except ValueError:
            pass  # written by another version of the code: rebuild and overwrite
    index = build_task_index(policy_sets, embedder, calibration, store)
    store.put_blobs(INDEX_KIND, {key: index.to_bytes()})
    return index


# --------------------------------------------------------------------------- scoring


@dataclass
class ChunkScores:
    """Per task and chunk: the standardised signals, and the head's log-odds and probability
    that the chunk is evidence for the task (tasks in report order)."""

    features: np.ndarray  # (n_tasks, n_chunks, len(judge.FEATURES))
    logit: np.ndarray  # (n_tasks, n_chunks)
    prob: np.ndarray  # (n_tasks, n_chunks), in [0, 1]
    sub: dict[tuple[int, int], np.ndarray]  # (task, sub-measure) -> (n_chunks,) view signal


def chunk_features(
    chunks: Sequence[Chunk],
    index: TaskIndex,
    embedder: Embedder,
    calibration: Calibration,
    *,
    vectors: np.ndarray | None = None,
    lex_weights: Sequence[dict[str, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Standardised signals per (task, chunk): dense and lexical similarity to the task's main
    view and to its best-matching sub-measure view (z-scores against each view's background),
    plus the raw per-view dense and lexical z matrices and the chunk vectors (for the head)."""
    import numpy as np

    from .embed.lexical import passage_weights, similarity

    n_t, n_c, n_v = len(index.tasks), len(chunks), len(index.views)
    texts = [chunk_embed_text(c, calibration.heading_context) for c in chunks]
    if lex_weights is None:
        lex_weights = passage_weights(texts)
    z_lex = (similarity(index.lex, lex_weights) - index.lex_mu[:, None]) / index.lex_sd[:, None]
    z_dense = np.zeros((n_v, n_c))
    vec = None
    if embedder.dense and index.dense_q is not None and calibration.uses_dense:
        vec = vectors if vectors is not None else embedder.encode_passages(texts)
        z_dense = (index.dense_q @ vec.T - index.dense_mu[:, None]) / index.dense_sd[:, None]
    feats = np.zeros((n_t, n_c, 4))
    feats[:, :, 1] = -np.inf
    feats[:, :, 3] = -np.inf
    for vi, v in enumerate(index.views):
        if v.sub_index is None:
            feats[v.task_index, :, 0] = z_dense[vi]
            feats[v.task_index, :, 2] = z_lex[vi]
        else:
            feats[v.task_index, :, 1] = np.maximum(feats[v.task_index, :, 1], z_dense[vi])
            feats[v.task_index, :, 3] = np.maximum(feats[v.task_index, :, 3], z_lex[vi])
    # a task without sub-measures: its main view stands in for the best sub-measure
    for col, main in ((1, 0), (3, 2)):
        missing = ~np.isfinite(feats[:, :, col])
        feats[:, :, col][missing] = feats[:, :, main][missing]
    return feats, np.stack([z_dense, z_lex]), vec


def score_chunks(
    chunks: Sequence[Chunk],
    index: TaskIndex,
    embedder: Embedder,
    calibration: Calibration,
    *,
    vectors: np.ndarray | None = None,
    lex_weights: Sequence[dict[str, float]] | None = None,
) -> ChunkScores:
    """Every chunk against every task: features, then the calibrated head's probability.
    ``vectors`` / ``lex_weights``: the chunks' dense vectors and term weights, when the caller
    has them already (from the caches). The score of a chunk does not depend on the rest of the
    document: a passage means the same in a 1-page and a 100-page plan."""
    import numpy as np

    from .judge import FEATURES, sigmoid

    n_t, n_c = len(index.tasks), len(chunks)
    if n_c == 0:
        empty = np.zeros((n_t, 0))
        return ChunkScores(np.zeros((n_t, 0, 4)), empty, empty.copy(), {})
    feats, z, vec = chunk_features(
        chunks, index, embedder, calibration, vectors=vectors, lex_weights=lex_weights
    )
    head = calibration.head
    cols = [FEATURES.index(f) for f in head.features]  # chunk_features' columns are FEATURES
    lg = head.logits(feats[:, :, cols], [t.id for t in index.tasks], vec)
    if calibration.negative_penalty:
        for ti, t in enumerate(index.tasks):
            if not t.negative_terms:
                continue
            for ci, c in enumerate(chunks):
                if any(n in c.text for n in t.negative_terms) and not any(
                    term in c.text for term in t.terms
                ):
                    lg[ti, ci] -= calibration.negative_penalty
    # sub-measure views, weighted as the head weighs the sub-measure signals
    coef = dict(zip(head.features, head.coef, strict=True))
    wd, wl = max(coef.get("dense_sub", 0.0), 0.0), max(coef.get("lex_sub", 0.0), 0.0)
    if wd + wl == 0:
        wd = wl = 1.0
    sub: dict[tuple[int, int], np.ndarray] = {}
    for vi, v in enumerate(index.views):
        if v.sub_index is not None:
            sub[(v.task_index, v.sub_index)] = (wd * z[0, vi] + wl * z[1, vi]) / (wd + wl)
    return ChunkScores(feats, lg, sigmoid(lg), sub)
