"""The learned layer: a chunk's standardised signals -> the log-odds that it is evidence.

A small logistic layer learned from labelled passages of real institutions' plans
(``calibration/<model>.json``, written by ``align calibrate``). It is shared across tasks (one
weight per signal) with a per-task bias, and, where a task has enough labelled passages, a
per-task weight vector on the chunk's embedding: how plans phrase a task is learned from how
plans phrase it, not from our description alone. Only numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

LOGIT_CLIP = 12.0
# The signals, in the column order of combine.chunk_features: dense/lexical x main/sub view.
# the four signals, then each one relative to the other tasks of the same policy set
# (``combine.set_relative``): how much more this task fits the passage than its siblings do
SIGNALS = ("dense_main", "dense_sub", "lex_main", "lex_sub")
FEATURES = SIGNALS + tuple(f"{s}_vs_set" for s in SIGNALS)


@dataclass(frozen=True)
class Head:
    """The learned layer: logit(p) = features . coef + intercept + task_bias[t]
    (+ vector . task_vectors[t] for tasks that have one)."""

    coef: tuple[float, ...]
    intercept: float
    task_bias: dict[str, float] = field(default_factory=dict)
    task_vectors: dict[str, tuple[float, ...]] = field(default_factory=dict)
    features: tuple[str, ...] = FEATURES

    @property
    def uses_dense(self) -> bool:
        dense = [c for f, c in zip(self.features, self.coef, strict=True) if f.startswith("dense")]
        return any(abs(c) > 0 for c in dense) or bool(self.task_vectors)

    def logits(
        self, features: np.ndarray, task_ids: Sequence[str], vectors: np.ndarray | None
    ) -> np.ndarray:
        """(n_tasks, n_chunks) log-odds from (n_tasks, n_chunks, n_features) features."""
        import numpy as np

        out = features @ np.asarray(self.coef, dtype=np.float64) + self.intercept
        for ti, tid in enumerate(task_ids):
            out[ti] += self.task_bias.get(tid, 0.0)
            w = self.task_vectors.get(tid)
            if w is not None and vectors is not None and vectors.shape[1] == len(w):
                out[ti] += vectors @ np.asarray(w, dtype=np.float64)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "coef": [round(c, 6) for c in self.coef],
            "intercept": round(self.intercept, 6),
            "task_bias": {k: round(v, 6) for k, v in self.task_bias.items()},
            "task_vectors": {k: [round(x, 6) for x in v] for k, v in self.task_vectors.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Head:
        feats = tuple(d.get("features", FEATURES))
        coef = tuple(float(x) for x in d["coef"])
        if len(coef) != len(feats) or set(feats) - set(FEATURES):
            raise ValueError("head features and coefficients do not match")
        return cls(
            coef=coef,
            intercept=float(d["intercept"]),
            task_bias={str(k): float(v) for k, v in d.get("task_bias", {}).items()},
            task_vectors={
                str(k): tuple(float(x) for x in v) for k, v in d.get("task_vectors", {}).items()
            },
            features=feats,
        )


def sigmoid(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.clip(x, -LOGIT_CLIP * 3, LOGIT_CLIP * 3)))


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return max(-LOGIT_CLIP, min(LOGIT_CLIP, math.log(p / (1 - p))))
