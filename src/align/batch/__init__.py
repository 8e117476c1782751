"""``align batch``: score a folder of plans as one resumable job with an overview.

``run_batch(paths, outdir, scorer)`` appends each plan's report to ``outdir/reports.jsonl`` as
it finishes, skips plans already there under the same key, and writes ``summary.csv``,
``summary.xlsx`` and ``index.html``; ``write_overview(outdir)`` rewrites those from the file.

job (what to score, under which key; the local engine), ray_engine (the same on Ray), store
(``reports.jsonl``), overview (moved to align.report.overview; a shim for one release).
"""

from __future__ import annotations

from .job import BatchResult, LocalEngine, Plan, run_batch, write_overview

__all__ = ["BatchResult", "LocalEngine", "Plan", "run_batch", "write_overview"]
