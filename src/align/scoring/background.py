"""The background: plan passages a task's signals are standardised against.

A raw similarity says little on its own (multilingual-e5 puts almost any two Chinese education
texts between 0.85 and 0.92, and a broad task sits high against any school text), so each task
view's similarity is measured against its similarities to these passages, leaving out the ones
labelled with that task (``calibration/background.jsonl``; see ``index.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .calibration import CALIBRATION_DIR

BACKGROUND_FILE = CALIBRATION_DIR / "background.jsonl"


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
