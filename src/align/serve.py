"""`align serve`: a small local web app for people who do not use a terminal.

Upload a plan, tick policy sets, read the HTML report (or get the same report as JSON from
``POST /api/report``). Design choices, and why:

* One ``Scorer`` per process, created on first use and reused: loading the model is the slow
  part, so no request pays for it twice. Scoring runs in a worker thread (the event loop stays
  free for other requests and for ``/healthz``) behind a lock, because a ``Scorer`` keeps lazy
  state (model, task index, timings) that is not thread-safe and the embedding cache must never
  see two half-written entries from this process. With 1-2 CPU cores running two embeddings at
  once would not be faster anyway.
* Uploads never touch the disk: the multipart body is parsed here, as it streams in, into one
  bounded in-memory buffer (Starlette's own form parser spools files over 1 MB to a temporary
  file). The size limit is enforced from ``Content-Length`` before anything is read, and again
  while counting the stream, so an oversized upload is refused without being held in memory.
* Errors are the CLI's own ``AlignError`` messages, shown on the upload page (or as JSON).
* Bounded, so one client cannot hold the server: at most one scoring upload per CPU core is
  admitted (scoring is CPU-bound; the rest are answered 503 with a Chinese "busy, retry" page
  at once rather than queued without bound); a body that stalls for ``body_timeout`` seconds
  is answered 408; a connection that does not finish its request headers within
  ``header_timeout`` seconds is closed, and idle keep-alive connections after
  ``timeout_keep_alive`` (:func:`server_config`).
* Every response (pages, JSON, 404, 413, 503) carries the same security headers; the CSP
  allows exactly the two inline scripts this module and the report ship, by their hashes.
* A multipart body must end with its closing boundary: a body cut in transit is a 400, never
  a plan scored from its first part.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from . import __version__
from .errors import AlignError, InputError
from .report.html import FONT_STACK, HtmlFormatter
from .types import Report

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import Scorer
    from .types import PolicySet

ScorerFactory = Callable[[], "Scorer"]

FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the policy-set checkboxes
MAX_FIELD_BYTES = 16 * 1024  # one non-file form field
FILE_FIELD = "file"
SET_FIELD = "set"

DEFAULT_BODY_TIMEOUT = 30.0  # seconds without a byte of the body: the upload has stalled
DEFAULT_HEADER_TIMEOUT = 30.0  # seconds to finish the request line and headers
DEFAULT_KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open
BUSY_RETRY_AFTER = 10  # seconds, in the 503's Retry-After
BUSY_MESSAGE = "服务器正忙：正在分析其他规划，请稍后重试 (server busy, please retry shortly)"


def _script_hash(js: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode() + "'"


def _csp() -> str:
    """Only the inline scripts we ship may run, named by hash: the report embeds plan text,
    which is escaped, and even if an injected ``<script>`` got through it would not run."""
    from .report.html import _JS as REPORT_JS

    scripts = " ".join(_script_hash(js) for js in (_FORM_JS, REPORT_JS))
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src {scripts}; "
        "img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": _csp(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


class SecurityHeaders:
    """ASGI middleware: the security headers on every response, whoever produced it (routes,
    Starlette's 404/405, the host check's 400), unless the response set its own."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in have]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class UploadTooLarge(Exception):
    """The request body is over the limit; answered with HTTP 413."""


class UploadStalled(Exception):
    """No byte of the body arrived for ``body_timeout`` seconds; answered with HTTP 408."""


class BadUpload(AlignError):
    """A request that is not a usable upload (no file, malformed form, unknown policy set)."""


class UnsupportedType(InputError):
    """A file whose extension no reader handles; answered with HTTP 415."""


# ---------------------------------------------------------------------------- scorer holder


class ScorerHolder:
    """Creates the Scorer once (lazily, thread-safe) and serialises scoring on it."""

    def __init__(self, factory: ScorerFactory) -> None:
        self._factory = factory
        self._scorer: Scorer | None = None
        self._create_lock = threading.Lock()
        self._score_lock = threading.Lock()
        self.created = 0  # how many Scorers this process made (tests assert it stays 1)

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    def get(self) -> Scorer:
        scorer = self._scorer
        if scorer is None:
            with self._create_lock:
                if self._scorer is None:
                    self._scorer = self._factory()
                    self.created += 1
                scorer = self._scorer
        return scorer

    def policy_sets(self) -> list[PolicySet]:
        return list(self.get().policy_sets)

    def score(self, data: bytes, name: str, set_ids: Sequence[str] | None) -> Report:
        return self.score_noting(data, name, set_ids)[0]

    def score_noting(
        self, data: bytes, name: str, set_ids: Sequence[str] | None
    ) -> tuple[Report, list[str]]:
        """The report and the reader's notices about the file (``InputWarning``: bad bytes
        replaced, ...), which the CLI prints on stderr and the page shows above the report."""
        import warnings

        from .errors import InputWarning

        scorer = self.get()
        wanted = check_set_ids(scorer.policy_sets, set_ids)
        with self._score_lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InputWarning)
            report = scorer.score_bytes(data, name)
        notices = [str(w.message) for w in caught if isinstance(w.message, InputWarning)]
        for w in caught:  # anything else is not ours to swallow
            if not isinstance(w.message, InputWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return select_sets(report, wanted), notices


def check_set_ids(policy_sets: Sequence[PolicySet], set_ids: Sequence[str] | None) -> list[str]:
    """The requested ids in order, or every set's id when none was asked for."""
    known = [p.id for p in policy_sets]
    if not set_ids:
        return known
    unknown = [s for s in set_ids if s not in known]
    if unknown:
        raise BadUpload(
            f"未知的政策集：{'、'.join(unknown)}，可选：{'、'.join(known)} (unknown policy set)"
        )
    return list(dict.fromkeys(set_ids))


def select_sets(report: Report, set_ids: Sequence[str]) -> Report:
    """The report restricted to ``set_ids``, with the matching rows of the heat-map matrix."""
    wanted = set(set_ids)
    if all(s.id in wanted for s in report.policy_sets):
        return report
    sets, rows, i = [], [], 0
    for s in report.policy_sets:
        n = len(s.tasks)
        if s.id in wanted:
            sets.append(s)
            rows.extend(report.matrix[i : i + n])
        i += n
    matrix = tuple(rows) if len(report.matrix) == i else ()
    return replace(report, policy_sets=tuple(sets), matrix=matrix)


# ---------------------------------------------------------------------------- upload parsing


@dataclass
class Upload:
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    fields: dict[str, list[str]] = field(default_factory=dict)


async def _drain(stream: AsyncIterator[bytes], budget: int) -> None:
    """Read and discard what the client is still sending (up to ``budget`` bytes), so a browser
    gets to show our 413 page instead of a connection reset."""
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > budget:
                break
    except Exception:  # client went away or stalled: nothing left to answer
        pass


async def _timed(stream: AsyncIterator[bytes], timeout: float | None) -> AsyncIterator[bytes]:
    """``stream``, raising UploadStalled when no chunk arrives for ``timeout`` seconds."""
    import asyncio

    it = stream.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(it.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise UploadStalled from None
        yield chunk


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()


async def read_upload(
    request: Request, max_bytes: int, body_timeout: float | None = DEFAULT_BODY_TIMEOUT
) -> Upload:
    """Parse a multipart upload into memory, refusing anything over ``max_bytes`` of file data,
    a body that stalls for ``body_timeout`` seconds (UploadStalled) and a multipart body without
    its closing boundary (BadUpload: it was cut in transit).

    A non-multipart body is taken as the file itself (``?filename=plan.docx``), so
    ``curl --data-binary @plan.docx`` works against the JSON API.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    body_limit = max_bytes + FORM_OVERHEAD
    drain_budget = 4 * max_bytes + 1024 * 1024
    stream = _timed(request.stream(), body_timeout)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > body_limit:
        await _drain(stream, drain_budget)
        raise UploadTooLarge

    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    up = Upload()

    if ctype != b"multipart/form-data":
        up.filename = _basename(request.query_params.get("filename", "")) or None
        up.fields[SET_FIELD] = request.query_params.getlist(SET_FIELD)
        async for chunk in stream:
            if len(up.data) + len(chunk) > max_bytes:
                await _drain(stream, drain_budget)
                raise UploadTooLarge
            up.data.extend(chunk)
        return up

    boundary = params.get(b"boundary")
    if not boundary:
        raise BadUpload("上传的表单缺少分隔符，无法解析 (malformed multipart upload)")

    state: dict[str, Any] = {"name": b"", "value": b"", "headers": {}, "field": None, "file": False}
    too_large = False
    ended = False

    def on_end() -> None:
        nonlocal ended
        ended = True

    def on_part_begin() -> None:
        state.update(headers={}, field=None, file=False, buf=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["name"].lower()] = state["value"]
        state["name"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        state["field"] = name
        if b"filename" in opts and name == FILE_FIELD and up.filename is None:
            raw = opts[b"filename"]
            try:
                fname = raw.decode("utf-8")
            except UnicodeDecodeError:
                fname = raw.decode("gb18030", "replace")
            up.filename = _basename(fname)
            state["file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal too_large
        piece = data[start:end]
        if state["file"]:
            if len(up.data) + len(piece) > max_bytes:
                too_large = True
                return
            up.data.extend(piece)
        elif state["field"] is not None:
            buf: bytearray = state["buf"]
            if len(buf) + len(piece) > MAX_FIELD_BYTES:
                raise BadUpload("表单字段过长 (form field too long)")
            buf.extend(piece)

    def on_part_end() -> None:
        if not state["file"] and state["field"]:
            value = bytes(state["buf"]).decode("utf-8", "replace")
            up.fields.setdefault(state["field"], []).append(value)
        state["file"] = False

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
                too_large = True
            if not too_large:
                parser.write(chunk)
            if too_large:
                up.data.clear()
                await _drain(stream, drain_budget)
                raise UploadTooLarge
        parser.finalize()
    except (UploadTooLarge, UploadStalled, AlignError):
        raise
    except Exception as e:  # python-multipart parse errors: a broken or truncated form
        raise BadUpload("上传的表单无法解析 (malformed multipart upload)") from e
    if not ended:  # python-multipart's finalize() does not check this itself
        up.data.clear()
        raise BadUpload(
            "上传不完整：表单缺少结束分隔符，文件可能在传输中被截断，请重新上传 "
            "(truncated upload: the multipart body has no closing boundary)"
        )
    return up


def _check_upload(up: Upload, suffixes: Sequence[str]) -> str:
    """The file's name, after the checks that need no model: a file was sent, its type is one
    we read. The rest (empty, binary, encrypted, ...) is the reader's, with the CLI's words."""
    if not up.filename:
        raise BadUpload("请选择要上传的规划文件 (no file uploaded)")
    name = up.filename
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in suffixes:
        # Let the reader word it (with its hints for .doc, .wps, ...): the CLI's exact message.
        from .read import read_bytes

        try:
            read_bytes(b"", name)
        except InputError as e:
            raise UnsupportedType(e.message, path=e.path) from None
        raise UnsupportedType(f"不支持的文件类型 {suffix} (unsupported file type)", path=name)
    return name


# ---------------------------------------------------------------------------- pages


_PAGE_CSS = """
*{box-sizing:border-box}
body{font-family:__FONT__;max-width:760px;margin:0 auto;padding:32px 24px;color:#1f2328;
 line-height:1.7;font-size:16px}
h1{font-size:1.6em;margin:.2em 0 .6em}
form{border:1px solid #d0d7de;border-radius:8px;padding:20px 24px;background:#f6f8fa}
label.file{display:block;font-weight:600;margin-bottom:.4em}
input[type=file]{font-size:1em;padding:.4em;border:1px dashed #8c959f;border-radius:6px;width:100%;
 background:#fff}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:1.2em 0;padding:.6em 1em;background:#fff}
legend{font-weight:600;padding:0 .3em}
fieldset label{display:block;margin:.25em 0}
.muted{color:#57606a;font-size:.9em}
button{font-size:1.05em;padding:.5em 1.6em;border:0;border-radius:6px;background:#1f6feb;color:#fff;
 cursor:pointer}
button[disabled]{background:#8c959f;cursor:progress}
.error{border:1px solid #cf222e;background:#ffebe9;color:#82071e;border-radius:6px;padding:.7em 1em;
 margin:0 0 1.2em;white-space:pre-wrap;word-break:break-word}
.busy{display:none;margin-left:1em;color:#57606a}
code{background:#eaeef2;border-radius:4px;padding:.1em .35em;font-size:.9em}
"""

_FORM_JS = (
    "document.getElementById('upload').addEventListener('submit',function(){"
    "var b=document.getElementById('go');b.disabled=true;b.textContent='正在分析…';"
    "document.getElementById('busy').style.display='inline'});"
)


_ALIASES = (".markdown", ".htm")  # accepted, not worth a mention


def _mb(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{n / 1024:.0f} KB"


def upload_page(
    policy_sets: Sequence[PolicySet],
    suffixes: Sequence[str],
    max_bytes: int,
    error: str | None = None,
    checked: Sequence[str] | None = None,
    base_url: str = "http://127.0.0.1:8000/",
    batch_total: int | None = None,
) -> str:
    """The upload form, with an error banner above it when the last upload failed; with
    ``batch_total`` also the form for several plans or a .zip (``serve_batch``)."""
    accept = ",".join(suffixes)
    preferred = [x for x in (".docx", ".pdf", ".txt", ".md", ".html") if x in suffixes]
    shown = preferred + [x for x in suffixes if x not in preferred and x not in _ALIASES]
    boxes = []
    for p in policy_sets:
        on = " checked" if checked is None or p.id in checked else ""
        extra = f"（{len(p.tasks)} 项任务）"
        boxes.append(
            f'<label><input type="checkbox" name="{SET_FIELD}" value="{escape(p.id)}"{on}> '
            f"{escape(p.title)} {escape(extra)} <span class=\"muted\">{escape(p.id)}</span></label>"
        )
    if not boxes:
        boxes.append('<p class="muted">没有可用的政策集。</p>')
    err = f'<div class="error" role="alert">错误：{escape(error)}</div>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>政策对标检查 · 上传规划</title>
<style>{_PAGE_CSS.replace("__FONT__", FONT_STACK)}</style>
</head>
<body>
<h1>政策对标检查</h1>
<p>上传一份学校规划或方案，查看它覆盖了哪些政策任务，以及每项任务的证据段落。</p>
{err}
<form id="upload" method="post" action="report" enctype="multipart/form-data">
<label class="file" for="file">规划文件（{escape("、".join(shown))}，不超过 {_mb(max_bytes)}）</label>
<input type="file" id="file" name="{FILE_FIELD}" accept="{escape(accept)}" required>
<fieldset>
<legend>对照的政策集</legend>
{"".join(boxes)}
</fieldset>
<button id="go" type="submit">生成报告</button><span id="busy" class="busy">正在分析，请稍候…</span>
</form>
{_batch_form(policy_sets, suffixes, max_bytes, batch_total, checked)}
<p class="muted">文件只在内存中处理，分析完即丢弃，不会保存。
同样的报告也可以 JSON 格式获取：<code>curl -F file=@plan.docx {escape(base_url)}api/report</code></p>
<p class="muted">align {escape(__version__)}</p>
<script>{_FORM_JS}</script>
</body>
</html>
"""


def _batch_form(policy_sets: Sequence[PolicySet], suffixes: Sequence[str], max_bytes: int,
                total: int | None, checked: Sequence[str] | None) -> str:
    if total is None:
        return ""
    from .serve_batch import batch_form

    return batch_form(suffixes, max_bytes, total, policy_sets, checked)


# ---------------------------------------------------------------------------- app


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def create_app(
    scorer_factory: ScorerFactory | None = None,
    max_bytes: int | None = None,
    *,
    allowed_hosts: Sequence[str] | None = None,
    max_active: int | None = None,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    max_total_bytes: int | None = None,
) -> Starlette:
    """The web app. ``scorer_factory`` makes the one Scorer (default: ``Scorer()`` with the
    default model and policy sets); ``max_bytes`` defaults to the CLI's limit
    (``align.read.DEFAULT_MAX_BYTES``); ``allowed_hosts`` restricts the Host header (the CLI
    passes the loopback names when bound to localhost, against DNS rebinding);
    ``max_active`` is how many scoring uploads are admitted at once (default: one per CPU
    core; the next is answered 503); ``body_timeout`` is how long a body may stall (408);
    ``max_total_bytes`` bounds a batch upload of several plans or a .zip (``serve_batch``)."""
    from .read import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES

    limit = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
    suffixes = tuple(sorted(SUPPORTED_SUFFIXES))
    admit = cpu_cores() if max_active is None else max(1, int(max_active))
    active = 0  # uploads admitted and not yet answered (event-loop thread only: no lock)

    if scorer_factory is None:

        def scorer_factory() -> Scorer:
            from .pipeline import Scorer

            return Scorer()

    holder = ScorerHolder(scorer_factory)
    from .serve_batch import DEFAULT_TOTAL_BYTES, batch_routes

    total = max(limit, max_total_bytes or DEFAULT_TOTAL_BYTES)

    def html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
        return HTMLResponse(text, status_code=status, headers=headers)  # + SecurityHeaders

    async def sets_or_empty() -> list[PolicySet]:
        try:
            return await run_in_threadpool(holder.policy_sets)
        except AlignError:
            return []

    async def form_error(
        request: Request, msg: str, status: int, checked: Sequence[str] | None = None
    ) -> Response:
        sets = await sets_or_empty()
        page = upload_page(
            sets, suffixes, limit, error=msg, checked=checked, base_url=str(request.base_url),
            batch_total=total,
        )
        return html(page, status)

    async def index(request: Request) -> Response:
        try:
            sets = await run_in_threadpool(holder.policy_sets)
        except AlignError as e:  # bad --policy file or model setup: say so on the page
            return html(upload_page([], suffixes, limit, error=str(e)), 500)
        return html(
            upload_page(sets, suffixes, limit, base_url=str(request.base_url), batch_total=total)
        )

    async def score_request(request: Request) -> tuple[Report | None, str | None, int, list[str]]:
        """(report, error message, HTTP status, chosen set ids). Admission first: when every
        slot is taken the answer is 503 at once, and the body is read only to be dropped."""
        nonlocal active
        if active >= admit:
            await _drain(_timed(request.stream(), body_timeout), 4 * limit + 1024 * 1024)
            return None, BUSY_MESSAGE, 503, []
        active += 1
        try:
            return await _score_admitted(request)
        finally:
            active -= 1

    async def _score_admitted(
        request: Request,
    ) -> tuple[Report | None, str | None, int, list[str]]:
        try:
            up = await read_upload(request, limit, body_timeout)
        except UploadTooLarge:
            return None, f"文件过大（上限 {_mb(limit)}）(file too large)", 413, []
        except UploadStalled:
            return None, "上传中断或过慢，请重新上传 (upload stalled)", 408, []
        except AlignError as e:
            return None, str(e), 400, []
        set_ids = [s for s in up.fields.get(SET_FIELD, []) if s]
        try:
            name = _check_upload(up, suffixes)
            data = bytes(up.data)
            up.data.clear()
            report, notices = await run_in_threadpool(
                holder.score_noting, data, name, set_ids or None
            )
            request.state.notices = notices
        except UnsupportedType as e:
            return None, str(e), 415, set_ids
        except (InputError, BadUpload) as e:
            return None, str(e), 400, set_ids
        except AlignError as e:  # model or policy setup: not the user's file
            return None, str(e), 500, set_ids
        return report, None, 200, set_ids

    def _extra(status: int) -> dict[str, str] | None:
        if status == 503:
            return {"Retry-After": str(BUSY_RETRY_AFTER)}
        if status == 408:
            return {"Connection": "close"}
        return None

    async def report_page(request: Request) -> Response:
        report, err, status, set_ids = await score_request(request)
        if report is None:
            page = await form_error(request, err or "", status, checked=set_ids or None)
            page.headers.update(_extra(status) or {})
            return page
        notices = getattr(request.state, "notices", [])
        return html(HtmlFormatter(back_href="./", notices=notices).format([report]))

    async def report_json(request: Request) -> Response:
        report, err, status, _ = await score_request(request)
        if report is None:
            return JSONResponse(
                {"error": err, "status": status}, status_code=status, headers=_extra(status)
            )
        body = report.to_dict()
        notices = getattr(request.state, "notices", [])
        if notices:  # what the CLI prints as 提示 warning: lines
            body["notices"] = notices
        return JSONResponse(body)

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "version": __version__, "model_loaded": holder.loaded}
        )

    middleware = [Middleware(SecurityHeaders, headers=security_headers())]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/report", report_page, methods=["POST"]),
            Route("/api/report", report_json, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *batch_routes(
                holder, limit, suffixes, max_total_bytes=total, body_timeout=body_timeout
            ),
        ],
        middleware=middleware,
    )
    app.state.scorers = holder
    app.state.max_bytes = limit
    app.state.max_active = admit
    return app


def header_timeout_protocol(seconds: float) -> type:
    """uvicorn's h11 protocol, closing a connection that has not completed its request line
    and headers ``seconds`` after it opened or after its last response (uvicorn's own
    keep-alive timer stops as soon as any byte arrives, so a client trickling headers would
    otherwise hold the connection forever)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        _align_timer: Any = None

        def _align_arm(self) -> None:
            if self._align_timer is not None:
                self._align_timer.cancel()
            self._align_timer = self.loop.call_later(seconds, self._align_expire)

        def _align_expire(self) -> None:
            self._align_timer = None
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._align_arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._align_arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._align_timer is not None:
                self._align_timer.cancel()
                self._align_timer = None
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


def server_config(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    timeout_keep_alive: int = DEFAULT_KEEP_ALIVE,
    limit_concurrency: int = 64,
) -> Any:
    """The uvicorn configuration `align serve` runs with: h11 with a header timeout, a
    keep-alive timeout, and a cap on open connections (uvicorn answers 503 above it)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        workers=1,
        http=header_timeout_protocol(header_timeout),
        timeout_keep_alive=timeout_keep_alive,
        limit_concurrency=limit_concurrency,
    )


__all__ = [
    "create_app",
    "read_upload",
    "select_sets",
    "server_config",
    "ScorerHolder",
    "upload_page",
]
