"""Several plans in one upload on the web page: files or a .zip, scored as a batch, answered
with the same overview page and downloads as ``align batch`` (summary.xlsx, summary.csv,
reports.jsonl), and a progress page per plan while the batch runs.

Kept apart from ``serve.py`` (one upload, one report) so the two evolve separately; it reuses
that module's stream guards (stall timeout, drain) and its Scorer holder, so a batch and a
single upload never score at the same time on the one model.

* Uploads are still never stored: files are held in memory while they wait their turn, each
  one dropped as soon as it is scored. What stays (in memory, for ``JOB_TTL`` seconds, at most
  ``MAX_JOBS`` batches) is the result: reports and pages, under an unguessable job id.
* Limits apply per file (the single-upload limit, also to every member of a .zip once
  unpacked) and in total (``max_total_bytes``, over the body and over the unpacked members),
  with a cap on the number of files; a zip whose members claim one size and unpack to more is
  cut off at the limit, never unpacked past it.
* One batch runs at a time (a second is answered 503 with a Chinese "busy" page).
"""

from __future__ import annotations

import io
import secrets
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .errors import AlignError, InputError
from .report.html import FONT_STACK, HtmlFormatter
from .serve import (
    FORM_OVERHEAD,
    MAX_FIELD_BYTES,
    SET_FIELD,
    BadUpload,
    ScorerHolder,
    UploadStalled,
    UploadTooLarge,
    _basename,
    _drain,
    _mb,
    _timed,
    check_set_ids,
    security_headers,
)

if TYPE_CHECKING:  # pragma: no cover
    from .batch.overview import Overview

FILES_FIELD = "files"
MAX_FILES = 500
JOB_TTL = 3600.0  # seconds a finished batch's results stay available
MAX_JOBS = 8
DEFAULT_TOTAL_BYTES = 200 * 1024 * 1024


# ---------------------------------------------------------------------------- upload


@dataclass
class MultiUpload:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)


async def read_files(
    request: Request, per_file: int, total: int, body_timeout: float | None
) -> MultiUpload:
    """Every file part of a multipart body (any field name), in memory, within the limits."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    body_limit = total + FORM_OVERHEAD
    drain_budget = 2 * total + 1024 * 1024
    stream = _timed(request.stream(), body_timeout)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > body_limit:
        await _drain(stream, drain_budget)
        raise UploadTooLarge
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise BadUpload("请用表单上传文件 (expected a multipart/form-data upload)")

    up = MultiUpload()
    st: dict[str, Any] = {"hname": b"", "hvalue": b"", "headers": {}, "file": None, "buf": None}
    problem: list[Exception] = []
    ended = False

    def on_part_begin() -> None:
        st.update(headers={}, file=None, buf=bytearray(), field=None)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        st["hname"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        st["hvalue"] += data[start:end]

    def on_header_end() -> None:
        st["headers"][st["hname"].lower()] = st["hvalue"]
        st["hname"], st["hvalue"] = b"", b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(st["headers"].get(b"content-disposition", b""))
        st["field"] = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts:
            raw = opts[b"filename"]
            try:
                st["file"] = _basename(raw.decode("utf-8"))
            except UnicodeDecodeError:
                st["file"] = _basename(raw.decode("gb18030", "replace"))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        buf: bytearray = st["buf"]
        n = end - start
        if st["file"] is not None:
            if len(buf) + n > per_file and not st["file"].lower().endswith(".zip"):
                problem.append(
                    BadUpload(f"{st['file']}: 文件过大（每个文件上限 {_mb(per_file)}）(file too large)")
                )
                return
        elif len(buf) + n > MAX_FIELD_BYTES:
            problem.append(BadUpload("表单字段过长 (form field too long)"))
            return
        buf.extend(data[start:end])

    def on_part_end() -> None:
        if st["file"] is not None:
            if st["file"]:  # an empty file input sends a part with filename=""
                up.files.append((st["file"], bytes(st["buf"])))
                if len(up.files) > MAX_FILES:
                    problem.append(BadUpload(f"一次最多上传 {MAX_FILES} 个文件 (too many files)"))
        elif st["field"]:
            up.fields.setdefault(st["field"], []).append(bytes(st["buf"]).decode("utf-8", "replace"))
        st["buf"] = bytearray()

    def on_end() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > body_limit:
                up.files.clear()
                await _drain(stream, drain_budget)
                raise UploadTooLarge
            parser.write(chunk)
            if problem:
                up.files.clear()
                await _drain(stream, drain_budget)
                raise problem[0]
        parser.finalize()
    except (UploadTooLarge, UploadStalled, AlignError):
        raise
    except Exception as e:
        raise BadUpload("上传的表单无法解析 (malformed multipart upload)") from e
    if not ended:
        raise BadUpload(
            "上传不完整：表单缺少结束分隔符，请重新上传 (truncated upload: no closing boundary)"
        )
    return up


def _zip_name(info: zipfile.ZipInfo) -> str:
    """Member names from Windows zips are GBK without the UTF-8 flag; zipfile reads them as
    cp437. Recover the Chinese name when that is what they are."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gb18030")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def expand_files(
    files: Sequence[tuple[str, bytes]], per_file: int, total: int, suffixes: Sequence[str]
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(plans, errors): .zip uploads unpacked to their plan files (folders kept in the name,
    hidden and macOS metadata entries skipped, nested zips not opened), every file within the
    per-file limit and all of them within the total. A bad zip is one error; a member over the
    limit is one error; the other plans still go in."""
    plans: list[tuple[str, bytes]] = []
    errors: list[str] = []
    used = 0

    def add(name: str, data: bytes) -> None:
        nonlocal used
        if used + len(data) > total:  # unpacked zips add up past what the body was
            raise UploadTooLarge
        used += len(data)
        plans.append((name, data))

    for name, data in files:
        if not name.lower().endswith(".zip"):
            add(name, data)
            continue
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            members = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            errors.append(str(InputError("不是有效的 zip 压缩包 (not a valid zip file)", path=name)))
            continue
        found = 0
        for info in members:
            inner = _zip_name(info)
            parts = inner.replace("\\", "/").split("/")
            base = parts[-1]
            if info.is_dir() or not base or any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            if base.startswith("~$") or "." + base.rsplit(".", 1)[-1].lower() not in suffixes:
                continue
            shown = f"{name}/{inner}"
            if info.flag_bits & 0x1:
                errors.append(str(InputError("压缩包内文件已加密 (encrypted zip member)", path=shown)))
                continue
            if info.file_size > per_file:
                errors.append(str(InputError(f"文件过大（每个文件上限 {_mb(per_file)}）(file too large)", path=shown)))
                continue
            try:
                with zf.open(info) as f:
                    body = f.read(per_file + 1)  # never more than the limit, whatever it claims
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
                errors.append(str(InputError(f"无法解压：{e} (cannot unpack)", path=shown)))
                continue
            if len(body) > per_file:
                errors.append(str(InputError(f"文件过大（每个文件上限 {_mb(per_file)}）(file too large)", path=shown)))
                continue
            add(inner, body)
            found += 1
            if len(plans) > MAX_FILES:
                raise BadUpload(f"一次最多上传 {MAX_FILES} 个文件 (too many files)")
        if not found and not any(e.startswith(name) for e in errors):
            errors.append(str(InputError("压缩包中没有可读的规划文件 (no plan files in the zip)", path=name)))
    return plans, errors


# ---------------------------------------------------------------------------- jobs


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

        from .batch.overview import build_overview
        from .report import get_summary_formatter

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
    from .batch.store import ERROR_SCHEMA

    return {"schema": ERROR_SCHEMA, "document": {"path": name, "sha256": None}, "error": error,
            "batch": {"file": name}}


def _with_upload_errors(ov: Overview, errors: Sequence[str]) -> str:
    from .report import get_summary_formatter

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


# ---------------------------------------------------------------------------- pages

_CSS = """
body{font-family:__FONT__;max-width:860px;margin:0 auto;padding:32px 24px;color:#1f2328;line-height:1.7}
h1{font-size:1.5em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left;word-break:break-all}
.s-done{color:#1a7f37}.s-failed{color:#cf222e}.s-scoring{color:#9a6700;font-weight:600}
.s-waiting{color:#57606a}.bar{height:12px;border:1px solid #d0d7de;border-radius:4px;overflow:hidden}
.bar span{display:block;height:100%;background:#2da44e}
.error{border:1px solid #cf222e;background:#ffebe9;color:#82071e;border-radius:6px;padding:.7em 1em}
"""
_STATE = {"waiting": "等待中", "scoring": "正在分析…", "done": "✔ 已完成", "failed": "✘ 未能评分"}


def progress_page(job: BatchJob) -> str:
    n, done = len(job.plans), job.done
    rows = "".join(
        f'<tr><td>{i + 1}</td><td>{escape(p.name)}</td><td class="s-{p.state}">{_STATE[p.state]}'
        + (f"：{escape(p.error)}" if p.error else "") + "</td></tr>"
        for i, p in enumerate(job.plans)
    )
    errs = "".join(f'<p class="error">{escape(e)}</p>' for e in job.upload_errors)
    pct = 100 * done / n if n else 100
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>正在分析 {done}/{n} · 政策对标检查</title>
<style>{_CSS.replace("__FONT__", FONT_STACK)}</style></head><body>
<h1>正在分析 {n} 份规划：已完成 {done} 份</h1>
<div class="bar" role="progressbar" aria-valuenow="{done}" aria-valuemax="{n}"><span style="width:{pct:.0f}%"></span></div>
<p>本页每 2 秒自动刷新；全部完成后显示总览和下载。</p>
{errs}
<table><thead><tr><th>#</th><th>文件</th><th>状态</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"""


def batch_form(suffixes: Sequence[str], per_file: int, total: int, policy_sets: Sequence[Any],
               checked: Sequence[str] | None = None) -> str:
    """The second form of the upload page: several plans, or a .zip of them."""
    accept = ",".join([*suffixes, ".zip"])
    boxes = "".join(
        f'<label><input type="checkbox" name="{SET_FIELD}" value="{escape(p.id)}"'
        f'{" checked" if checked is None or p.id in checked else ""}> {escape(p.title)}</label>'
        for p in policy_sets
    )
    return f"""
<h2 id="batch">批量分析多份规划</h2>
<form id="batch-upload" method="post" action="batch" enctype="multipart/form-data">
<label class="file" for="files">选择多个规划文件，或一个 .zip 压缩包（每个文件不超过 {_mb(per_file)}，合计不超过 {_mb(total)}）</label>
<input type="file" id="files" name="{FILES_FIELD}" accept="{escape(accept)}" multiple required>
<fieldset><legend>对照的政策集</legend>{boxes}</fieldset>
<button id="batch-go" type="submit">批量分析</button>
</form>
<p class="muted">完成后给出 规划 × 任务 总览、每份规划的报告，以及 summary.xlsx、reports.jsonl 下载。</p>
"""


def _csp_with(js: str) -> dict[str, str]:
    """The app's security headers, with this page's own inline script allowed by its hash."""
    from .serve import _script_hash

    headers = security_headers()
    headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
        "script-src ", f"script-src {_script_hash(js)} ", 1
    )
    return headers


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
    from .report.overview_html import _JS as OVERVIEW_JS

    total = max(per_file, max_total_bytes or DEFAULT_TOTAL_BYTES)
    store = jobs or JobStore()
    overview_headers = _csp_with(OVERVIEW_JS)

    async def start(request: Request, api: bool) -> Response:
        from starlette.concurrency import run_in_threadpool

        def fail(msg: str, status: int) -> Response:
            if api:
                return JSONResponse({"error": msg, "status": status}, status_code=status)
            body = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>错误</title>'
                    f"<style>{_CSS.replace('__FONT__', FONT_STACK)}</style></head><body>"
                    f'<p class="error" role="alert">错误：{escape(msg)}</p>'
                    '<p><a href="./#batch">← 返回上传页面</a></p></body></html>')
            return HTMLResponse(body, status_code=status,
                                headers={"Retry-After": "10"} if status == 503 else None)

        if store.running():
            await _drain(_timed(request.stream(), body_timeout), 2 * total)
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
            return fail(f"上传过大（每个文件上限 {_mb(per_file)}，合计上限 {_mb(total)}）(upload too large)", 413)
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
