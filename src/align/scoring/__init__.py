"""Score plan chunks against policy tasks, and judge what that means for the document.

The steps, in the order a score is made (each module imports only those above it)::

    views.py        what the model reads: a task's views (main text, each sub-measure), its
                    lexical queries, and a chunk's text with its heading
    lexical.py      the lexical signal: TF-IDF cosine of a task view's words and a passage's
                    term weights (the weights themselves: ``embed/lexical.py``), matched terms
    head.py         the learned layer: four standardised signals -> log-odds of evidence
    calibration.py  a model's fitted head and thresholds, and the files they come from
    background.py   the plan passages each task view is standardised against
    index.py        the task index: views, queries and null statistics, its .npz format and
                    its cache key
    combine.py      a chunk against every task: standardised signals, the head's probability
    decide.py       the document's judgement: confidence, status, evidence, sub-measures

**Where a threshold comes from**: ``calibration.py``, ``Calibration.threshold_for`` — the policy
file's ``threshold`` for the task, else the calibration file's per-task one, else its defaults;
the file is ``--calibration FILE`` or the shipped ``src/align/calibration/<model>.json``.

The names below are what ``align.scoring`` held when it was one module, re-exported for one
release (import them from their modules); ``align.judge`` is the same for ``head`` and ``decide``.
The package is not called ``score``: ``align.score`` is the public scoring function.
"""

from .background import BACKGROUND_FILE, BackgroundPassage, load_background
from .calibration import (
    CALIBRATION_DIR,
    CALIBRATION_FORMAT,
    Calibration,
    calibration_path,
    load_calibration,
    read_calibration,
)
from .combine import ChunkScores, chunk_features, score_chunks
from .index import (
    INDEX_KIND,
    INDEX_SCHEME,
    TaskIndex,
    build_task_index,
    load_task_index,
    task_index_key,
)
from .views import (
    chunk_embed_text,
    lexical_query,
    sub_lexical_query,
    sub_measure_text,
    task_main_text,
)

__all__ = [
    "BACKGROUND_FILE", "CALIBRATION_DIR", "CALIBRATION_FORMAT", "INDEX_KIND", "INDEX_SCHEME",
    "BackgroundPassage", "Calibration", "ChunkScores", "TaskIndex", "build_task_index",
    "calibration_path", "chunk_embed_text", "chunk_features", "lexical_query", "load_background",
    "load_calibration", "load_task_index", "read_calibration", "score_chunks", "sub_lexical_query",
    "sub_measure_text", "task_index_key", "task_main_text",
]
