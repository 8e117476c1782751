"""The task index: everything about the tasks that does not depend on the document.

Per task view: its query vector (dense models), its lexical query, and the mean and spread of
its similarities to the background passages not about the task (its null distribution, which
standardises a chunk's raw similarity in ``combine.py``). Computed once per exact set of inputs
and kept in the on-disk cache as one .npz (:meth:`TaskIndex.to_bytes`), keyed by
:func:`task_index_key`, so a warm run needs neither jieba nor the model for the tasks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..types import PolicySet, Task
from .background import BACKGROUND_FILE, load_background
from .calibration import Calibration
from .views import View, lexical_queries
from .views import views as view_list

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..embed.base import Embedder
    from ..embed.cache import EmbeddingCache
    from .lexical import LexicalQueries


@dataclass
class TaskIndex:
    """Everything about the tasks that does not depend on the document, computed once (and kept
    in the on-disk cache, see :func:`load_task_index`)."""

    tasks: list[Task]
    views: list[View]
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

        from .lexical import LexicalQueries

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arr = {k: z[k] for k in z.files if k != "meta"}
        except Exception as e:  # noqa: BLE001 - zipfile, numpy and json each raise their own
            raise ValueError(f"unreadable task index: {e!r}") from e
        views = view_list(tasks)
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


def build_task_index(
    policy_sets: Sequence[PolicySet],
    embedder: Embedder,
    calibration: Calibration,
    store: EmbeddingCache | None = None,
) -> TaskIndex:
    import numpy as np

    from ..embed.lexical import passage_weights, term_words
    from .lexical import build_queries, similarity

    tasks = [t for s in policy_sets for t in s.tasks]
    views = view_list(tasks)
    lex_q = build_queries(lexical_queries(tasks))

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
    the code that computes it (the modules below, by content)."""
    import hashlib

    from .. import __version__
    from ..embed import lexical as weights
    from ..embed.base import file_digest
    from . import background, lexical, views

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
        *(code(m.__file__) for m in (views, background, lexical, weights)),
        embedder.info.fingerprint,
        weights.lexical_identity(),
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
