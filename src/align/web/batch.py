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
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import AlignError
from ..report.html import FONT_STACK
from .jobs import BatchJob, JobStore, PlanState
from .limits import DEFAULT_TOTAL_BYTES, mb
from .pages import BATCH_CSS, INLINE_SCRIPTS, progress_page
from .scorer import ScorerHolder, check_set_ids
from .security import security_headers
from .unpack import expand_files
from .upload import SET_FIELD, BadUpload, UploadStalled, UploadTooLarge, drain, read_files, timed


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
    from ..report.overview_html import _JS as OVERVIEW_JS

    total = max(per_file, max_total_bytes or DEFAULT_TOTAL_BYTES)
    store = jobs or JobStore()
    overview_headers = security_headers(OVERVIEW_JS, *INLINE_SCRIPTS)

    async def start(request: Request, api: bool) -> Response:
        from starlette.concurrency import run_in_threadpool

        def fail(msg: str, status: int) -> Response:
            if api:
                return JSONResponse({"error": msg, "status": status}, status_code=status)
            body = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>错误</title>'
                    f"<style>{BATCH_CSS.replace('__FONT__', FONT_STACK)}</style></head><body>"
                    f'<p class="error" role="alert">错误：{escape(msg)}</p>'
                    '<p><a href="./#batch">← 返回上传页面</a></p></body></html>')
            return HTMLResponse(body, status_code=status,
                                headers={"Retry-After": "10"} if status == 503 else None)

        if store.running():
            await drain(timed(request.stream(), body_timeout), 2 * total)
            return fail("服务器正忙：正在分析另一批规划，请稍后重试 (server busy, please retry shortly)", 503)
        try:
            up = await read_files(request, per_file, total, body_timeout)
            set_ids = [s for s in up.fields.get(SET_FIELD, []) if s]
            sets = await run_in_threadpool(holder.policy_sets)
            wanted = check_set_ids(sets, set_ids) if set_ids else None
            if not up.files:
                raise BadUpload("请选择要上传的规划文件 (no file uploaded)")
            plans, errors = expand_files(up.files, per_file, total, suffixes)
            up.files.clear()
        except UploadTooLarge:
            return fail(f"上传过大（每个文件上限 {mb(per_file)}，合计上限 {mb(total)}）(upload too large)", 413)
        except UploadStalled:
            return fail("上传中断或过慢，请重新上传 (upload stalled)", 408)
        except AlignError as e:
            return fail(str(e), 400)
        if not plans:
            return fail("；".join(errors) or "没有可读的规划文件 (no plan files)", 400)
        job = BatchJob(secrets.token_urlsafe(16), [PlanState(n, d) for n, d in plans], wanted, errors)
        store.add(job)
        threading.Thread(target=job.run, args=(holder,), name=f"align-batch-{job.id[:6]}",
                         daemon=True).start()
        url = f"batch/{job.id}/"
        if api:
            return JSONResponse({"id": job.id, "status": f"api/{url}", "page": url,
                                 "plans": len(plans), "errors": errors}, status_code=202)
        return RedirectResponse(url, status_code=303)

    async def page_post(request: Request) -> Response:
        return await start(request, api=False)

    async def api_post(request: Request) -> Response:
        return await start(request, api=True)

    def _job(request: Request) -> BatchJob | None:
        return store.get(request.path_params["job"])

    missing = "没有这个批次，或结果已过期 (no such batch, or its results expired)"

    async def job_page(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return HTMLResponse(f"<p>{missing}</p>", status_code=404)
        if job.finished is None:
            return HTMLResponse(progress_page(job))
        return HTMLResponse(job.index_html, headers=overview_headers)

    async def job_report(request: Request) -> Response:
        job = _job(request)
        i = request.path_params["n"]
        if job is None or not 0 <= i < len(job.plans) or job.plans[i].page is None:
            return HTMLResponse(f"<p>{missing}</p>", status_code=404)
        return HTMLResponse(job.plans[i].page or "")

    types = {
        "summary.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "summary.csv": "text/csv; charset=utf-8",
        "reports.jsonl": "application/x-ndjson; charset=utf-8",
    }

    async def job_file(request: Request) -> Response:
        job = _job(request)
        name = request.path_params["name"]
        if job is None or job.finished is None or name not in job.files:
            return JSONResponse({"error": missing}, status_code=404)
        return Response(job.files[name], media_type=types[name],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def job_status(request: Request) -> Response:
        job = _job(request)
        if job is None:
            return JSONResponse({"error": missing}, status_code=404)
        return JSONResponse({
            "id": job.id,
            "finished": job.finished is not None,
            "total": len(job.plans),
            "done": job.done,
            "plans": [{"name": p.name, "state": p.state, "error": p.error} for p in job.plans],
            "errors": job.upload_errors,
        })

    return [
        Route("/batch", page_post, methods=["POST"]),
        Route("/api/batch", api_post, methods=["POST"]),
        Route("/batch/{job}/", job_page, methods=["GET"]),
        Route("/batch/{job}/report/{n:int}", job_report, methods=["GET"]),
        Route("/batch/{job}/{name:str}", job_file, methods=["GET"]),
        Route("/api/batch/{job}/", job_status, methods=["GET"]),
    ]
