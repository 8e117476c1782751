"""A model's calibration: the learned head and the status thresholds, and the files they live in.

Where a task's thresholds come from, first match wins (:meth:`Calibration.threshold_for`):

1. the policy file's own ``threshold`` for the task;
2. the calibration file's ``thresholds.tasks.<task id>``;
3. the calibration file's ``thresholds.covered`` / ``partial`` / ``evidence``.

The calibration file is ``--calibration FILE`` when given, else the shipped
``src/align/calibration/<model>.json`` (``custom.json`` for a model with none). Every number in
it is fitted by ``align calibrate`` / ``scripts/calibrate.py``, never hand-tuned in the code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..types import Task, Threshold
from .head import Head

CALIBRATION_DIR = Path(__file__).parent.parent / "calibration"
CALIBRATION_FORMAT = "align-calibration/2"


@dataclass(frozen=True)
class Calibration:
    """Per-model scoring parameters, fitted from labelled passages by ``align calibrate`` (the
    shipped ones by ``scripts/calibrate.py`` from real plans); never hand-tuned here.

    ``head`` turns a chunk's standardised signals into a probability of being evidence (see
    ``head.py``); thresholds are on the 0-100 confidence scale."""

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
