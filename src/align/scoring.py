"""Score plan chunks against policy tasks and decide, per task, covered / partial / missing.

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
   the same way and combined with weights calibrated per model.
4. A task's document score is its best chunk's score; thresholds (calibrated per model, with
   stricter ones for broad tasks, overridable per task in the policy file) turn it into a status.

Everything here is numpy on small matrices; the model does the heavy lifting elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelError
from .types import (
    Chunk,
    Evidence,
    Location,
    PolicySet,
    SetResult,
    Status,
    SubMeasureResult,
    Task,
    TaskResult,
    Threshold,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .embed.base import Embedder
    from .embed.cache import EmbeddingCache
    from .embed.lexical import LexicalQueries

CALIBRATION_DIR = Path(__file__).parent / "calibration"
BACKGROUND_FILE = CALIBRATION_DIR / "background.jsonl"
MAX_EVIDENCE = 3


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Calibration:
    """Per-model scoring parameters, written by ``scripts/calibrate.py`` (never hand-tuned here)."""

    key: str
    dense_weight: float
    lexical_weight: float
    covered: float
    partial: float
    sub_measure: float
    broad: Threshold | None = None
    tasks: dict[str, Threshold] = field(default_factory=dict)
    heading_context: bool = True
    sub_view_weight: float = 0.0
    sub_mode: str = "blend"  # "blend": (1-w)*main + w*best_sub; "max": max(main, w-blend)
    negative_penalty: float = 1.0
    source: str = ""

    def threshold_for(self, task: Task) -> Threshold:
        if task.threshold is not None:  # the policy file has the last word
            return task.threshold
        if task.id in self.tasks:
            return self.tasks[task.id]
        if task.broad and self.broad is not None:
            return self.broad
        return Threshold(covered=self.covered, partial=self.partial)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> Calibration:
        th = data["thresholds"]
        broad = th.get("broad")
        return cls(
            key=data["model"],
            dense_weight=float(data["weights"]["dense"]),
            lexical_weight=float(data["weights"]["lexical"]),
            covered=float(th["covered"]),
            partial=float(th["partial"]),
            sub_measure=float(th["sub_measure"]),
            broad=Threshold(**broad) if broad else None,
            tasks={k: Threshold(**v) for k, v in th.get("tasks", {}).items()},
            heading_context=bool(data.get("heading_context", True)),
            sub_view_weight=float(data.get("sub_view_weight", 0.0)),
            sub_mode=str(data.get("sub_mode", "blend")),
            negative_penalty=float(data.get("negative_penalty", 1.0)),
            source=source,
        )


def calibration_path(key: str) -> Path:
    return CALIBRATION_DIR / f"{key}.json"


def load_calibration(key: str) -> Calibration:
    """The shipped calibration for a model key; unknown models (``custom``) use the e5 one's
    *shape* only if nothing better exists, and say so in the report."""
    path = calibration_path(key)
    if not path.exists():
        path = calibration_path("custom")
    if not path.exists():
        raise ModelError(f"没有模型 {key} 的校准文件 {path} (no calibration for this model)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration.from_dict(data, source=path.name)
    except (KeyError, ValueError, TypeError) as e:
        raise ModelError(f"校准文件格式错误：{e} (invalid calibration file)", path=str(path)) from None


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
    """What the model sees for a chunk: the innermost heading gives a short paragraph its topic."""
    if heading_context and chunk.heading_path:
        head = chunk.heading_path[-1]
        if head and not chunk.text.startswith(head):
            return f"{head}：{chunk.text}"
    return chunk.text


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
    # per task: sorted combined scores of background passages NOT about the task (the null)
    null: list[np.ndarray] = field(default_factory=list)
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
            "null_sizes": [int(v.size) for v in self.null],
        }
        arrays = {
            "meta": np.array(json.dumps(meta, ensure_ascii=False)),
            "lex_matrix": self.lex.matrix,
            "dense_mu": self.dense_mu,
            "dense_sd": self.dense_sd,
            "lex_mu": self.lex_mu,
            "lex_sd": self.lex_sd,
            "null": np.concatenate(self.null) if self.null else np.zeros(0),
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
            sizes = [int(n) for n in meta["null_sizes"]]
            bounds = np.cumsum([0, *sizes])
            index = cls(
                tasks=tasks,
                views=views,
                dense_q=arr.get("dense_q"),
                lex=LexicalQueries(tuple(meta["vocab"]), arr["lex_matrix"]),
                dense_mu=arr["dense_mu"],
                dense_sd=arr["dense_sd"],
                lex_mu=arr["lex_mu"],
                lex_sd=arr["lex_sd"],
                null=[arr["null"][bounds[i] : bounds[i + 1]] for i in range(len(sizes))],
                term_words={k: tuple(v) for k, v in meta["term_words"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"unreadable task index: {e!r}") from e
        n_v = len(views)
        shapes_ok = (
            index.lex.matrix.shape == (n_v, len(index.lex.vocab))
            and all(a.shape == (n_v,) for a in (index.dense_mu, index.dense_sd, index.lex_mu, index.lex_sd))
            and (index.dense_q is None or index.dense_q.shape[0] == n_v)
            and len(index.null) == len(tasks)
        )
        if not shapes_ok:
            raise ValueError("unreadable task index: array shapes do not match the tasks")
        return index

    def expected_null_max(self, n: int) -> np.ndarray:
        """Per task, the expected best score among ``n`` chunks that are not about the task.

        A long plan has many chunks, and the best of many unrelated chunks is higher than the
        best of a few; subtracting this makes a score mean the same in a 1-page and a 100-page
        plan. Exact for draws from the empirical null: sum_i v_i * ((i/m)^n - ((i-1)/m)^n).
        """
        import numpy as np

        out = np.zeros(len(self.tasks))
        for ti, v in enumerate(self.null):
            m = v.size
            if m == 0 or n <= 0:
                continue
            q = np.arange(m + 1, dtype=np.float64) / m
            w = np.diff(q**n)
            out[ti] = float((v * w).sum())
        return out


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
    bg_chunks = [Chunk(id=f"bg{i}", text=t, location=_NO_LOCATION) for i, t in enumerate(bg_text)]
    bg_scores = score_chunks(
        bg_chunks, index, embedder, calibration, n_effective=0, vectors=bg_vec,
        lex_weights=bg_weights,
    )  # fmt: skip
    index.null = [np.sort(bg_scores.task[ti][~own[ti]]) for ti in range(len(tasks))]
    return index


# Bump when what build_task_index computes changes in a way the key below cannot see.
INDEX_SCHEME = "align-task-index/1"
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
    """Standardised scores, tasks x chunks (and sub-measure views x chunks)."""

    task: np.ndarray  # (n_tasks, n_chunks) combined score used for status and evidence
    sub: dict[tuple[int, int], np.ndarray]  # (task, sub) -> (n_chunks,)


def score_chunks(
    chunks: Sequence[Chunk],
    index: TaskIndex,
    embedder: Embedder,
    calibration: Calibration,
    *,
    n_effective: int | None = None,
    vectors: np.ndarray | None = None,
    lex_weights: Sequence[dict[str, float]] | None = None,
) -> ChunkScores:
    """Scores of every chunk for every task, minus what ``n_effective`` unrelated chunks would
    reach by chance (default: the number of chunks, i.e. the document's length; 0 = raw).
    ``vectors`` / ``lex_weights``: the chunks' dense vectors and term weights, when the caller
    has them already (from the caches)."""
    import numpy as np

    from .embed.lexical import passage_weights, similarity

    n_t, n_c = len(index.tasks), len(chunks)
    if n_c == 0:
        return ChunkScores(np.zeros((n_t, 0)), {})
    texts = [chunk_embed_text(c, calibration.heading_context) for c in chunks]
    if lex_weights is None:
        lex_weights = passage_weights(texts)
    z_lex = (similarity(index.lex, lex_weights) - index.lex_mu[:, None]) / index.lex_sd[:, None]
    wd, wl = calibration.dense_weight, calibration.lexical_weight
    if embedder.dense and index.dense_q is not None and wd > 0:
        vec = vectors if vectors is not None else embedder.encode_passages(texts)
        z_dense = (index.dense_q @ vec.T - index.dense_mu[:, None]) / index.dense_sd[:, None]
        view = (wd * z_dense + wl * z_lex) / (wd + wl)  # (n_views, n_chunks)
    else:
        view = z_lex
    # a task's score: its main view, blended with its best-matching sub-measure view
    main = np.empty((n_t, n_c))
    best_sub = np.full((n_t, n_c), -np.inf)
    sub: dict[tuple[int, int], np.ndarray] = {}
    for vi, v in enumerate(index.views):
        if v.sub_index is None:
            main[v.task_index] = view[vi]
        else:
            best_sub[v.task_index] = np.maximum(best_sub[v.task_index], view[vi])
            sub[(v.task_index, v.sub_index)] = view[vi].copy()
    sw = calibration.sub_view_weight
    combined = main.copy()
    has_sub = np.isfinite(best_sub[:, 0])
    if sw > 0 and has_sub.any():
        blended = (1 - sw) * main[has_sub] + sw * best_sub[has_sub]
        # "max": a task with several distinct measures (fyp43-2 spans 产教融合, 1+X, 职业本科...)
        # is answered by a passage about any one of them, even if it never names the whole task
        combined[has_sub] = np.maximum(main[has_sub], blended) if calibration.sub_mode == "max" else blended

    if calibration.negative_penalty:
        for ti, t in enumerate(index.tasks):
            if not t.negative_terms:
                continue
            for ci, c in enumerate(chunks):
                if any(n in c.text for n in t.negative_terms) and not any(
                    term in c.text for term in t.terms
                ):
                    combined[ti, ci] -= calibration.negative_penalty
    n = n_c if n_effective is None else n_effective
    if n > 0 and index.null:
        offset = index.expected_null_max(n)
        combined -= offset[:, None]
        for (ti, _si), row in sub.items():
            row -= offset[ti]
    return ChunkScores(combined, sub)


def _status(score: float, th: Threshold) -> Status:
    if score >= th.covered:
        return "covered"
    if score >= th.partial:
        return "partial"
    return "missing"


def _reason(status: Status, score: float, th: Threshold, n_evidence: int) -> str:
    if status == "covered":
        return f"最佳证据得分 {score:.2f} ≥ 覆盖阈值 {th.covered:.2f}，共 {n_evidence} 段相关内容。"
    if status == "partial":
        return (
            f"最佳证据得分 {score:.2f} 介于部分覆盖阈值 {th.partial:.2f} 与覆盖阈值 "
            f"{th.covered:.2f} 之间：有所涉及，但论述不充分。"
        )
    return f"最佳得分 {score:.2f} 低于部分覆盖阈值 {th.partial:.2f}：未找到足够证据。"


def _evidence(
    chunks: Sequence[Chunk],
    row: np.ndarray,
    floor: float,
    terms: Sequence[str],
    k: int,
    words_of: dict[str, tuple[str, ...]] | None = None,
) -> tuple[Evidence, ...]:
    import numpy as np

    from .embed.lexical import matched_terms

    order = np.argsort(-row, kind="stable")[:k]
    out = []
    for ci in order:
        if row[ci] < floor:
            break
        c = chunks[int(ci)]
        out.append(
            Evidence(
                chunk_id=c.id,
                text=c.text,
                score=float(row[ci]),
                location=c.location,
                matched_terms=tuple(matched_terms(terms, c.text, words_of)),
            )
        )
    return tuple(out)


def decide(
    chunks: Sequence[Chunk],
    policy_sets: Sequence[PolicySet],
    scores: ChunkScores,
    calibration: Calibration,
    words_of: dict[str, tuple[str, ...]] | None = None,
) -> tuple[SetResult, ...]:
    """Turn the score matrix into per-task results with evidence and sub-measure coverage.
    ``words_of``: the task index's ``term_words``, for highlighting without jieba."""
    results: list[SetResult] = []
    ti = 0
    for s in policy_sets:
        task_results = []
        for t in s.tasks:
            row = scores.task[ti]
            best = float(row.max()) if row.size else float("-inf")
            th = calibration.threshold_for(t)
            status = _status(best, th)
            terms = [*t.terms, *t.aliases]
            ev = _evidence(chunks, row, th.partial, terms, MAX_EVIDENCE, words_of)
            subs = []
            for si, m in enumerate(t.sub_measures):
                srow = scores.sub.get((ti, si))
                if srow is None or srow.size == 0:
                    subs.append(SubMeasureResult(m.id, m.title, float("-inf"), False))
                    continue
                sbest = float(srow.max())
                sev = _evidence(
                    chunks, srow, calibration.sub_measure, [*m.terms, *terms], 1, words_of
                )
                subs.append(
                    SubMeasureResult(m.id, m.title, sbest, sbest >= calibration.sub_measure, sev)
                )
            finite = best if best != float("-inf") else 0.0
            task_results.append(
                TaskResult(
                    id=t.id,
                    title=t.title,
                    score=finite,
                    status=status,
                    evidence=ev,
                    sub_measures=tuple(subs),
                    threshold=th,
                    reason=_reason(status, finite, th, len(ev)),
                )
            )
            ti += 1
        results.append(SetResult(s.id, s.title, tuple(task_results)))
    return tuple(results)
