"""The batch routes: several plans in one upload, files or a .zip, scored as a batch and
answered with the same overview page and downloads as ``align batch`` (summary.xlsx,
summary.csv, reports.jsonl), and a progress page per plan while the batch runs.

* Uploads are still never stored: files are held in memory while they wait their turn, each
  one dropped as soon as it is scored. What stays (in memory, for ``JOB_TTL`` seconds, at most
  ``MAX_JOBS`` batches) is the result: reports and pages, under an unguessable job id.
* Limits apply per file (the single-upload limit, also to every member of a .zip once
  unpacked) and in total (``max_total_bytes``, over the body and over the unpacked members),
  with a cap on the number of files; a zip whose members claim one size and unpack to more is
  cut off at the limit, never unpacked past it.
* One batch runs at a time (a second is answered 503 with a Chinese "busy" page). Batches share
  the app's Scorer holder, so a batch and a single upload never score at the same time on the
  one model.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import AlignError
from .jobs import BatchJob, JobStore, PlanState
from .limits import BUSY_RETRY_AFTER, DEFAULT_TOTAL_BYTES, mb
from .pages import INLINE_SCRIPTS, batch_error_page, progress_page
from .scorer import ScorerHolder, check_set_ids
from .security import security_headers
from .unpack import expand_files
from .upload import SET_FIELD, BadUpload, UploadStalled, UploadTooLarge, drain, read_files, timed

MISSING = "没有这个批次，或结果已过期 (no such batch, or its results expired)"
BATCH_BUSY = "服务器正忙：正在分析另一批规划，请稍后重试 (server busy, please retry shortly)"
DOWNLOAD_TYPES = {
    "summary.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "summary.csv": "text/csv; charset=utf-8",
    "reports.jsonl": "application/x-ndjson; charset=utf-8",
}


def batch_routes(
    holder: ScorerHolder,
    per_file: int,
    suffixes: Sequence[str],
    *,
    max_total_bytes: int | None = None,
    body_timeout: float | None = None,
    jobs: JobStore | None = None,
) -> list[Route]:
    """The routes of the batch upload, for ``create_app`` to mount beside its own."""
    total = max(per_file, max_total_bytes or DEFAULT_TOTAL_BYTES)
    routes = BatchRoutes(holder, per_file, total, suffixes, body_timeout, jobs or JobStore())
    return [
        Route("/batch", routes.page_post, methods=["POST"]),
        Route("/api/batch", routes.api_post, methods=["POST"]),
        Route("/batch/{job}/", routes.job_page, methods=["GET"]),
        Route("/batch/{job}/report/{n:int}", routes.job_report, methods=["GET"]),
        Route("/batch/{job}/{name:str}", routes.job_file, methods=["GET"]),
        Route("/api/batch/{job}/", routes.job_status, methods=["GET"]),
    ]


class BatchRoutes:
    """The handlers of the batch routes, over one job store and the app's Scorer holder."""

    def __init__(self, holder: ScorerHolder, per_file: int, total: int, suffixes: Sequence[str],
                 body_timeout: float | None, store: JobStore) -> None:
        from ..report.overview_html import _JS as OVERVIEW_JS

        self.holder = holder
        self.per_file = per_file
        self.total = total
        self.suffixes = suffixes
        self.body_timeout = body_timeout
        self.store = store
        self.overview_headers = security_headers(OVERVIEW_JS, *INLINE_SCRIPTS)

    async def page_post(self, request: Request) -> Response:
        return await self.start(request, api=False)

    async def api_post(self, request: Request) -> Response:
        return await self.start(request, api=True)

    async def start(self, request: Request, api: bool) -> Response:
        """Read the upload, start its job in a thread, answer with where to follow it."""
        if self.store.running():
            await drain(timed(request.stream(), self.body_timeout), 2 * self.total)
            return _fail(BATCH_BUSY, 503, api)
        try:
            plans, errors, wanted = await self._read(request)
        except UploadTooLarge:
            limits = f"每个文件上限 {mb(self.per_file)}，合计上限 {mb(self.total)}"
            return _fail(f"上传过大（{limits}）(upload too large)", 413, api)
        except UploadStalled:
            return _fail("上传中断或过慢，请重新上传 (upload stalled)", 408, api)
        except AlignError as e:
            return _fail(str(e), 400, api)
        if not plans:
            return _fail("；".join(errors) or "没有可读的规划文件 (no plan files)", 400, api)
        job = BatchJob(secrets.token_urlsafe(16), [PlanState(n, d) for n, d in plans], wanted, errors)
        self.store.add(job)
        threading.Thread(target=job.run, args=(self.holder,), name=f"align-batch-{job.id[:6]}",
                         daemon=True).start()
        url = f"batch/{job.id}/"
        if api:
            return JSONResponse({"id": job.id, "status": f"api/{url}", "page": url,
                                 "plans": len(plans), "errors": errors}, status_code=202)
        return RedirectResponse(url, status_code=303)

    async def _read(
        self, request: Request
    ) -> tuple[list[tuple[str, bytes]], list[str], list[str] | None]:
        """(plans, errors of the files that are not, the chosen set ids or None for all)."""
        from starlette.concurrency import run_in_threadpool

        up = await read_files(request, self.per_file, self.total, self.body_timeout)
        set_ids = [s for s in up.fields.get(SET_FIELD, []) if s]
        sets = await run_in_threadpool(self.holder.policy_sets)
        wanted = check_set_ids(sets, set_ids) if set_ids else None
        if not up.files:
            raise BadUpload("请选择要上传的规划文件 (no file uploaded)")
        plans, errors = expand_files(up.files, self.per_file, self.total, self.suffixes)
        up.files.clear()
        return plans, errors, wanted

    def _job(self, request: Request) -> BatchJob | None:
        return self.store.get(request.path_params["job"])

    async def job_page(self, request: Request) -> Response:
        job = self._job(request)
        if job is None:
            return HTMLResponse(f"<p>{MISSING}</p>", status_code=404)
        if job.finished is None:
            return HTMLResponse(progress_page(job))
        return HTMLResponse(job.index_html, headers=self.overview_headers)

    async def job_report(self, request: Request) -> Response:
        job = self._job(request)
        i = request.path_params["n"]
        if job is None or not 0 <= i < len(job.plans) or job.plans[i].page is None:
            return HTMLResponse(f"<p>{MISSING}</p>", status_code=404)
        return HTMLResponse(job.plans[i].page or "")

    async def job_file(self, request: Request) -> Response:
        job = self._job(request)
        name = request.path_params["name"]
        if job is None or job.finished is None or name not in job.files:
            return JSONResponse({"error": MISSING}, status_code=404)
        return Response(job.files[name], media_type=DOWNLOAD_TYPES[name],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def job_status(self, request: Request) -> Response:
        job = self._job(request)
        if job is None:
            return JSONResponse({"error": MISSING}, status_code=404)
        return JSONResponse({
            "id": job.id,
            "finished": job.finished is not None,
            "total": len(job.plans),
            "done": job.done,
            "plans": [{"name": p.name, "state": p.state, "error": p.error} for p in job.plans],
            "errors": job.upload_errors,
        })


def _fail(msg: str, status: int, api: bool) -> Response:
    """A batch upload refused: JSON for the API, else a page that leads back to the form."""
    if api:
        return JSONResponse({"error": msg, "status": status}, status_code=status)
    return HTMLResponse(batch_error_page(msg), status_code=status,
                        headers={"Retry-After": str(BUSY_RETRY_AFTER)} if status == 503 else None)
