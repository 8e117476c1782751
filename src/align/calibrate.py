"""Fit a model's scoring parameters (the learned head and its thresholds) from labelled passages.

One format for everybody: a labels file has one JSON object a line,
``{"text": str, "labels": {task_id: "core"|"partial"}}`` (``{}``: a passage about no task), and
optionally ``"doc"`` (passages with the same doc form one document, scored as a plan would be),
``"heading"`` (the heading the passage sits under) and ``"weight"``. ``align calibrate`` fits an
education department's own checker from it; ``scripts/calibrate.py`` fits the shipped one from
real institutions' plans with the same code.

What is fitted, in order (all on the labelled passages, nothing by hand):

1. the head: an L2-regularised logistic regression of "passage is evidence for task" on the four
   standardised signals (shared across tasks), a per-task bias (pulled towards 0, so a task with
   few labels keeps the shared behaviour), and a per-task weight vector on the passage embedding
   for tasks with at least ``MIN_POSITIVES_FOR_VECTOR`` labelled passages;
2. the partial threshold: the document confidence that maximises coverage F1 (covered or partial
   vs "some passage is labelled"), ties broken towards the middle of the best interval, measured
   on out-of-fold probabilities (each document scored by a head fitted without it);
3. the covered threshold: the lowest confidence at which documents with enough supporting
   passages are right at least ``PRECISION_COVERED`` of the time, never below partial, and per
   task above the best confidence that a document labelled with nothing, or named unrelated,
   reaches on a task it is not labelled with (plus a margin).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .types import Chunk, Location

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .pipeline import Scorer
    from .scoring.calibration import Calibration

LABEL_VALUES = ("core", "partial")
PARTIAL_WEIGHT = 1.0  # a 'partial' label is still evidence; it is not down-weighted
LAMBDA_COEF = 1e-3
LAMBDA_BIAS = 1e-3
LAMBDA_VECTOR = 2e-5
MIN_POSITIVES_FOR_VECTOR = 8
PRECISION_COVERED = 0.9
UNRELATED_MARGIN = 5.0  # confidence points above the best score of a document about nothing
TOP_K = 3
COVERED_MIN_PASSAGES = 2
# The model reads a chunk's own text, not its heading as well: measured on real plans, a head fitted
# on passages with their headings ranks passages read without them (a reviewer's excerpt, a
# passage scored as a file) worse: with the set-relative features, out-of-fold MAP on the
# calibration split 0.558 with headings, 0.572 without. The heading is often in the chunk's text
# anyway (a numbered item starts with its title).
HEADING_CONTEXT = False


@dataclass(frozen=True)
class LabelledPassage:
    text: str
    labels: dict[str, str]
    doc: str | None = None
    heading: str = ""
    weight: float = 1.0


def load_labels(path: str | Path, task_ids: Sequence[str]) -> list[LabelledPassage]:
    """Read a labels file; one bad line is an InputError naming the file and the line."""
    p = Path(path)
    known = set(task_ids)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InputError(f"无法读取标注文件 (cannot read labels file: {e.strerror or e})", path=str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("标注文件不是 UTF-8 文本 (labels file is not UTF-8)", path=str(p)) from None
    out: list[LabelledPassage] = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue

        def bad(msg: str, no: int = no) -> InputError:
            return InputError(msg, path=str(p), line=no)

        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise bad(f"不是合法的 JSON：{e.msg} (invalid JSON)") from None
        if not isinstance(row, dict):
            raise bad("每行应为一个 JSON 对象 (each line must be a JSON object)")
        t = row.get("text")
        if not isinstance(t, str) or not t.strip():
            raise bad("缺少非空的 text 字段 (missing non-empty \"text\")")
        labels = row.get("labels", {})
        if isinstance(labels, list):  # the written dev set's shape: a list of task ids
            labels = {k: "core" for k in labels}
        if not isinstance(labels, dict):
            raise bad("labels 应为 {任务编号: \"core\"|\"partial\"} (labels must be an object)")
        for k, v in labels.items():
            if k not in known:
                raise bad(f"未知的任务编号 {k!r} (unknown task id)")
            if v not in LABEL_VALUES:
                raise bad(f"任务 {k} 的标注应为 core 或 partial，而不是 {v!r} (label must be core|partial)")
        w = row.get("weight", 1.0)
        if not isinstance(w, (int, float)) or isinstance(w, bool) or w <= 0:
            raise bad("weight 应为正数 (weight must be a positive number)")
        doc = row.get("doc")
        if doc is not None and not isinstance(doc, str):
            raise bad("doc 应为字符串 (doc must be a string)")
        heading = row.get("heading", "")
        if not isinstance(heading, str):
            raise bad("heading 应为字符串 (heading must be a string)")
        out.append(LabelledPassage(t, dict(labels), doc, heading, float(w)))
    if not out:
        raise InputError("标注文件中没有标注 (no labelled passages)", path=str(p))
    if not any(lp.labels for lp in out):
        raise InputError("标注文件中没有任何任务标注，无法校准 (no passage is labelled with a task)", path=str(p))
    return out


def passage_chunks(passages: Sequence[LabelledPassage]) -> list[Chunk]:
    return [
        Chunk(
            id=f"p{i:05d}",
            text=lp.text,
            location=Location(0, len(lp.text)),
            heading_path=(lp.heading.split(" > ")[-1],) if lp.heading else (),
        )
        for i, lp in enumerate(passages)
    ]


@dataclass
class Dataset:
    """Everything the fit needs, computed once from the model: per passage and task the four
    signals, the passages' vectors, gold and weights."""

    task_ids: list[str]
    features: np.ndarray  # (n_tasks, n_passages, 4)
    vectors: np.ndarray | None  # (n_passages, dim)
    gold: np.ndarray  # (n_tasks, n_passages) bool
    weights: np.ndarray  # (n_passages,)
    docs: list[str]  # document key per passage (a passage without doc is its own document)
    negative_terms: np.ndarray  # (n_tasks, n_passages) bool: the scorer's negative-term rule


def build_dataset(scorer: Scorer, passages: Sequence[LabelledPassage], base: Calibration) -> Dataset:
    import numpy as np

    from .embed.lexical import passage_weights
    from .scoring.combine import chunk_features
    from .scoring.views import chunk_embed_text

    tasks = list(scorer.index.tasks)
    chunks = passage_chunks(passages)
    texts = [chunk_embed_text(c, base.heading_context) for c in chunks]
    vec = None
    if scorer.embedder.dense:
        vec = scorer.embedder.encode_passages(texts)
    lex = passage_weights(texts, scorer.store)
    feats, _z, vec = chunk_features(
        chunks, scorer.index, scorer.embedder, base, vectors=vec, lex_weights=lex
    )
    gold = np.array([[t.id in lp.labels for lp in passages] for t in tasks], dtype=bool)
    neg = np.array(
        [
            [
                bool(t.negative_terms)
                and any(n in lp.text for n in t.negative_terms)
                and not any(term in lp.text for term in t.terms)
                for lp in passages
            ]
            for t in tasks
        ],
        dtype=bool,
    )
    return Dataset(
        task_ids=[t.id for t in tasks],
        features=feats,
        vectors=vec,
        gold=gold,
        weights=np.array([lp.weight for lp in passages], dtype=np.float64),
        docs=[lp.doc if lp.doc is not None else f"#{i}" for i, lp in enumerate(passages)],
        negative_terms=neg,
    )


def fit_head(
    ds: Dataset,
    rows: np.ndarray | None = None,
    *,
    use_vectors: bool = True,
    lam_bias: float = LAMBDA_BIAS,
    lam_vector: float = LAMBDA_VECTOR,
    min_pos_vector: int = MIN_POSITIVES_FOR_VECTOR,
) -> Any:
    """The head, fitted on passages ``rows`` (default all) by L-BFGS on the penalised
    log-likelihood (scipy; numpy gradients)."""
    import numpy as np
    from scipy.optimize import minimize

    from .scoring.head import FEATURES, Head

    idx = np.arange(ds.gold.shape[1]) if rows is None else np.asarray(rows)
    X = ds.features[:, idx, :]  # (T, U, F)
    Y = ds.gold[:, idx].astype(np.float64)
    # each task's loss is a weighted mean over passages, so the priors below weigh the same
    # against every task's evidence, however many tasks a policy set has
    W = ds.weights[idx][None, :] * np.ones_like(Y)
    W = W / ds.weights[idx].sum()
    T, _U, F = X.shape
    dense = ds.vectors is not None and use_vectors
    E = ds.vectors[idx] if dense else None  # (U, D)
    D = E.shape[1] if E is not None else 0
    vec_mask = (ds.gold[:, idx].sum(axis=1) >= min_pos_vector) if dense else np.zeros(T, bool)
    neg = ds.negative_terms[:, idx].astype(np.float64)
    n_par = F + 1 + T + T * D

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        coef, b0 = theta[:F], theta[F]
        bias = theta[F + 1 : F + 1 + T]
        vecs = theta[F + 1 + T :].reshape(T, D) * vec_mask[:, None] if D else np.zeros((T, 0))
        return coef, float(b0), bias, vecs

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b0, bias, vecs = unpack(theta)
        z = X @ coef + b0 + bias[:, None] - neg  # the scorer's negative-term penalty (1.0)
        if D:
            z = z + vecs @ E.T
        p = 1.0 / (1.0 + np.exp(-z))
        ll = np.logaddexp(0.0, z) - Y * z
        val = float((W * ll).sum())
        val += 0.5 * (LAMBDA_COEF * coef @ coef + lam_bias * bias @ bias)
        r = W * (p - Y)  # (T, U)
        g = np.empty(n_par)
        g[:F] = np.einsum("tu,tuf->f", r, X) + LAMBDA_COEF * coef
        g[F] = r.sum()
        g[F + 1 : F + 1 + T] = r.sum(axis=1) + lam_bias * bias
        if D:
            val += 0.5 * lam_vector * float((vecs**2).sum())
            gv = (r @ E + lam_vector * vecs) * vec_mask[:, None]
            g[F + 1 + T :] = gv.ravel()
        return val, g

    theta0 = np.zeros(n_par)
    theta0[:F] = 0.5
    theta0[F] = -3.0
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    coef, b0, bias, vecs = unpack(res.x)
    # a signal the model does not have (dense, for the lexical model) gets no weight at all
    coef = np.where(np.abs(X).reshape(-1, F).max(axis=0) > 0, coef, 0.0)
    return Head(
        coef=tuple(float(c) for c in coef),
        intercept=b0,
        task_bias={tid: float(b) for tid, b in zip(ds.task_ids, bias, strict=True)},
        task_vectors={
            tid: tuple(float(x) for x in vecs[ti]) for ti, tid in enumerate(ds.task_ids) if vec_mask[ti]
        },
        features=FEATURES,
    )


def passage_probs(ds: Dataset, head: Any, rows: np.ndarray | None = None) -> np.ndarray:
    """(n_tasks, n_rows) probabilities, as the scorer computes them."""
    import numpy as np

    from .scoring.head import sigmoid

    idx = np.arange(ds.gold.shape[1]) if rows is None else np.asarray(rows)
    vec = ds.vectors[idx] if ds.vectors is not None else None
    lg = head.logits(ds.features[:, idx, :].copy(), ds.task_ids, vec) - ds.negative_terms[:, idx]
    return sigmoid(lg)


def doc_groups(ds: Dataset, rows: np.ndarray | None = None) -> dict[str, list[int]]:
    import numpy as np

    idx = np.arange(ds.gold.shape[1]) if rows is None else np.asarray(rows)
    out: dict[str, list[int]] = {}
    for j, i in enumerate(idx):
        out.setdefault(ds.docs[int(i)], []).append(j)
    return out


def doc_level(
    ds: Dataset, probs: np.ndarray, rows: np.ndarray | None = None, top_k: int = TOP_K
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per document: confidence (0-100) and gold per task, plus each document's passage
    confidences (for support counts)."""
    import numpy as np

    from .scoring.decide import document_confidence

    idx = np.arange(ds.gold.shape[1]) if rows is None else np.asarray(rows)
    groups = doc_groups(ds, idx)
    names = sorted(groups)
    conf = np.zeros((len(names), len(ds.task_ids)))
    gold = np.zeros_like(conf, dtype=bool)
    per_doc = []
    for di, name in enumerate(names):
        cols = groups[name]
        p = probs[:, cols]
        per_doc.append(p * 100)
        for ti in range(len(ds.task_ids)):
            conf[di, ti] = 100 * document_confidence(p[ti], top_k)
        gold[di] = ds.gold[:, idx[cols]].any(axis=1)
    empty = np.array([not ds.gold[:, idx[groups[n]]].any() for n in names])
    return names, conf, gold, empty, per_doc


def best_f1_threshold(scores: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    import numpy as np

    cands = np.unique(scores)
    best_f, best_lo, best_hi = -1.0, 0.0, 0.0
    for i, t in enumerate(cands):
        pred = scores >= t
        tp = int((pred & gold).sum())
        fp = int((pred & ~gold).sum())
        fn = int((~pred & gold).sum())
        f = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        lo = cands[i - 1] if i else max(t - 1.0, 0.0)
        if f > best_f + 1e-12:
            best_f, best_lo, best_hi = f, float(lo), float(t)
    return (best_lo + best_hi) / 2, best_f


def out_of_fold_probs(ds: Dataset, folds: int = 5, **kw: Any) -> np.ndarray | None:
    """Each passage's probability from a head fitted without its document (documents dealt
    round-robin into ``folds`` groups): thresholds chosen on in-sample probabilities would
    believe a head that has memorised its training passages. None with fewer than 3 documents."""
    import numpy as np

    names = sorted(set(ds.docs))
    if len(names) < 3:
        return None
    k = min(folds, len(names))
    fold_of = {name: i % k for i, name in enumerate(names)}
    f = np.array([fold_of[d] for d in ds.docs])
    out = np.zeros(ds.gold.shape)
    for i in range(k):
        test, train = np.where(f == i)[0], np.where(f != i)[0]
        if not ds.gold[:, train].any():
            return None
        out[:, test] = passage_probs(ds, fit_head(ds, train, **kw), test)
    return out


def fit_thresholds(
    ds: Dataset,
    head: Any,
    base: Calibration,
    rows: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    unrelated: frozenset[str] = frozenset(),
) -> tuple[Calibration, dict[str, Any]]:
    """Thresholds from document confidences; ``probs`` (passages in ``rows`` order), when
    given, replaces the head's own in-sample probabilities (see :func:`out_of_fold_probs`)."""
    import numpy as np

    from .types import Threshold

    if probs is None:
        probs = passage_probs(ds, head, rows)
    names, conf, gold, empty, per_doc = doc_level(ds, probs, rows, base.top_k)
    partial, f1 = best_f1_threshold(conf.ravel(), gold.ravel())
    partial = float(min(max(partial, 1.0), 99.0))
    support = np.array([[int((pd[ti] >= partial).sum()) for ti in range(len(ds.task_ids))] for pd in per_doc])
    eligible = support >= base.covered_min_passages
    covered = partial
    cands = np.unique(conf[eligible & (conf >= partial)])
    for c in cands:  # lowest confidence from which "covered" is right often enough
        sel = eligible & (conf >= c)
        if sel.sum() and gold[sel].mean() >= PRECISION_COVERED:
            covered = float(c)
            break
    else:
        covered = float(cands.max()) if cands.size else partial
    covered = float(min(max(covered, partial), 99.5))
    tasks: dict[str, Threshold] = {}
    unrelated_max: dict[str, float] = {}
    # documents about none of the tasks, and those named unrelated (a rural-revitalisation plan
    # that legitimately touches 乡村学校 is still no plan for the other tasks)
    empty = empty | np.array([n in unrelated for n in names])
    if empty.any():
        for ti, tid in enumerate(ds.task_ids):
            neg = empty & ~gold[:, ti]
            if not neg.any():
                continue
            m = float(conf[neg, ti].max())
            unrelated_max[tid] = round(m, 2)
            floor = min(m + UNRELATED_MARGIN, 100.0)  # 100: never covered (p < 1 always)
            if floor > covered:
                tasks[tid] = Threshold(round(floor, 3), round(partial, 3))
    cal = replace(base, head=head, covered=round(covered, 3), partial=round(partial, 3), tasks=tasks)
    info = {
        "doc_f1": round(f1, 4),
        "documents": len(names),
        "unrelated_documents": int(empty.sum()),
        "unrelated_max": unrelated_max,
    }
    return cal, info


def fit(
    scorer: Scorer,
    passages: Sequence[LabelledPassage],
    *,
    key: str | None = None,
    use_vectors: bool = True,
    unrelated: frozenset[str] = frozenset(),
) -> tuple[Calibration, dict[str, Any]]:
    """Fit a calibration for ``scorer``'s model from labelled passages. ``unrelated``: documents
    (``doc`` keys) that are no plan: no task they are not labelled with may reach ``covered``."""
    base = starting_calibration(key or scorer.embedder.key)
    ds = build_dataset(scorer, passages, base)
    head = fit_head(ds, use_vectors=use_vectors)
    oof = out_of_fold_probs(ds, use_vectors=use_vectors)
    cal, info = fit_thresholds(ds, head, base, probs=oof, unrelated=unrelated)
    info["thresholds_from"] = "out-of-fold" if oof is not None else "in-sample"
    # what the head does, per task, on its own training passages: a reproduction check compares
    # behaviour, not 8,000 weakly identified vector weights
    probs = passage_probs(ds, cal.head)
    info["mean_probability"] = {tid: round(float(probs[ti].mean()), 4) for ti, tid in enumerate(ds.task_ids)}
    info.update(
        passages=len(passages),
        labelled=int(ds.gold.any(axis=0).sum()),
        positives={tid: int(ds.gold[ti].sum()) for ti, tid in enumerate(ds.task_ids)},
        vector_tasks=sorted(head.task_vectors),
    )
    return cal, info


def starting_calibration(key: str) -> Calibration:
    """The calibration the signals are computed with before fitting: only its structural
    settings matter (heading context, negative-term penalty, aggregation); the head is a
    placeholder that keeps the dense signal on."""
    from .scoring.calibration import Calibration
    from .scoring.head import FEATURES, Head

    return Calibration(
        key=key,
        head=Head(coef=(1.0,) * len(FEATURES), intercept=0.0),
        covered=90.0,
        partial=50.0,
        top_k=TOP_K,
        covered_min_passages=COVERED_MIN_PASSAGES,
        heading_context=HEADING_CONTEXT,
    )


def write_calibration(cal: Calibration, info: dict[str, Any], path: Path, **meta: Any) -> None:
    """Write atomically (``fileio.write_atomic``) so a failed write leaves the old file."""
    from .fileio import write_atomic

    data = {**cal.to_dict(), **meta, "fit": info}
    write_atomic(path, (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
