"""A batch of plans being scored: each plan's state, the results once done, and the jobs of
this process (kept in memory for ``JOB_TTL`` seconds, at most ``MAX_JOBS``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from ..errors import AlignError
from ..report.html import HtmlFormatter
from .limits import JOB_TTL, MAX_JOBS
from .scorer import ScorerHolder

if TYPE_CHECKING:  # pragma: no cover
    from ..report.overview import Overview


@dataclass
class PlanState:
    name: str
    data: bytes | None  # dropped once scored
    state: str = "waiting"  # waiting | scoring | done | failed
    error: str | None = None
    record: dict[str, Any] | None = None
    page: str | None = None


@dataclass
class BatchJob:
    id: str
    plans: list[PlanState]
    set_ids: list[str] | None
    upload_errors: list[str]
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # summary.xlsx, summary.csv, reports.jsonl
    index_html: str = ""

    @property
    def done(self) -> int:
        return sum(p.state in ("done", "failed") for p in self.plans)

    def run(self, holder: ScorerHolder) -> None:
        page = HtmlFormatter(back_href="../", back_label="← 返回总览")
        for i, p in enumerate(self.plans):
            p.state = "scoring"
            data, p.data = p.data or b"", None
            try:
                report = holder.score(data, p.name, self.set_ids)
            except AlignError as e:
                p.state, p.error = "failed", str(e)
                p.record = _error_record(p.name, str(e))
                continue
            except Exception as e:  # one odd file must not end the batch
                p.state, p.error = "failed", f"内部错误，无法评分 (internal error): {type(e).__name__}"
                p.record = _error_record(p.name, p.error)
                continue
            p.page = page.format([report])
            rec = report.to_dict()
            rec["batch"] = {"file": f"{i:04d}/{p.name}", "html": f"report/{i}"}
            p.record = rec
            p.state = "done"
        self._finish()

    def _finish(self) -> None:
        import json

        from ..report import get_summary_formatter
        from ..report.overview import build_overview

        records = [p.record for p in self.plans if p.record is not None]
        ov = build_overview(records)
        self.files["reports.jsonl"] = "".join(
            json.dumps(r, ensure_ascii=False) + "\n" for r in records
        ).encode("utf-8")
        for name in ("csv", "xlsx"):
            fmt = get_summary_formatter(name)
            self.files[fmt.filename] = fmt.render(ov)
        self.index_html = _with_upload_errors(ov, self.upload_errors)
        self.finished = time.monotonic()


def _error_record(name: str, error: str) -> dict[str, Any]:
    from ..batch.store import ERROR_SCHEMA

    return {"schema": ERROR_SCHEMA, "document": {"path": name, "sha256": None}, "error": error,
            "batch": {"file": name}}


def _with_upload_errors(ov: Overview, errors: Sequence[str]) -> str:
    from ..report import get_summary_formatter

    html = get_summary_formatter("html").render(ov).decode("utf-8")
    back = '<p><a href="../../">← 上传其他文件</a></p>'
    extra = ""
    if errors:
        extra = "<h2>未能读取的上传文件</h2><ul class=\"errors\">" + "".join(
            f"<li>{escape(e)}</li>" for e in errors) + "</ul>"
    return html.replace("<body>\n", "<body>\n" + back, 1).replace("<script>", extra + "<script>", 1)


class JobStore:
    """Batches of this process, by id; finished ones expire after ``JOB_TTL`` seconds."""

    def __init__(self) -> None:
        self._jobs: dict[str, BatchJob] = {}
        self._lock = threading.Lock()

    def running(self) -> bool:
        with self._lock:
            return any(j.finished is None for j in self._jobs.values())

    def add(self, job: BatchJob) -> None:
        with self._lock:
            now = time.monotonic()
            for k, j in list(self._jobs.items()):
                if j.finished is not None and now - j.finished > JOB_TTL:
                    del self._jobs[k]
            done = sorted((j for j in self._jobs.values() if j.finished is not None),
                          key=lambda j: j.finished or 0.0)
            while len(self._jobs) >= MAX_JOBS and done:
                del self._jobs[done.pop(0).id]
            self._jobs[job.id] = job

    def get(self, job_id: str) -> BatchJob | None:
        with self._lock:
            return self._jobs.get(job_id)
