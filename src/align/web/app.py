"""The app factory: the single-plan routes (upload page, HTML and JSON report, health), the batch
routes beside them, and the middleware every response passes through.

* One ``Scorer`` per process, created on first use and reused: loading the model is the slow
  part, so no request pays for it twice. Scoring runs in a worker thread (the event loop stays
  free for other requests and for ``/healthz``) behind a lock, because a ``Scorer`` keeps lazy
  state (model, task index, timings) that is not thread-safe and the embedding cache must never
  see two half-written entries from this process. With 1-2 CPU cores running two embeddings at
  once would not be faster anyway.
* Errors are the CLI's own ``AlignError`` messages, shown on the upload page (or as JSON).
* Bounded, so one client cannot hold the server: at most one scoring upload per CPU core is
  admitted (scoring is CPU-bound; the rest are answered 503 with a Chinese "busy, retry" page
  at once rather than queued without bound); a body that stalls for ``body_timeout`` seconds
  is answered 408.
* Every response (pages, JSON, 404, 413, 503) carries the same security headers; the CSP
  allows exactly the two inline scripts this app and the report ship, by their hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..errors import AlignError, InputError
from ..report.html import HtmlFormatter
from ..types import Report
from .batch import batch_routes
from .limits import BUSY_RETRY_AFTER, DEFAULT_BODY_TIMEOUT, DEFAULT_TOTAL_BYTES, mb
from .pages import INLINE_SCRIPTS, upload_page
from .scorer import ScorerFactory, ScorerHolder
from .security import SecurityHeaders, security_headers
from .upload import (
    SET_FIELD,
    BadUpload,
    UnsupportedType,
    UploadStalled,
    UploadTooLarge,
    check_upload,
    drain,
    read_upload,
    timed,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import Scorer
    from ..types import PolicySet

BUSY_MESSAGE = "服务器正忙：正在分析其他规划，请稍后重试 (server busy, please retry shortly)"


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
    ``max_total_bytes`` bounds a batch upload of several plans or a .zip (``web.batch``)."""
    from ..read import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES

    limit = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
    suffixes = tuple(sorted(SUPPORTED_SUFFIXES))
    admit = cpu_cores() if max_active is None else max(1, int(max_active))
    active = 0  # uploads admitted and not yet answered (event-loop thread only: no lock)

    if scorer_factory is None:

        def scorer_factory() -> Scorer:
            from ..pipeline import Scorer

            return Scorer()

    holder = ScorerHolder(scorer_factory)

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
            await drain(timed(request.stream(), body_timeout), 4 * limit + 1024 * 1024)
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
            return None, f"文件过大（上限 {mb(limit)}）(file too large)", 413, []
        except UploadStalled:
            return None, "上传中断或过慢，请重新上传 (upload stalled)", 408, []
        except AlignError as e:
            return None, str(e), 400, []
        set_ids = [s for s in up.fields.get(SET_FIELD, []) if s]
        try:
            name = check_upload(up, suffixes)
            report, notices = await run_in_threadpool(
                holder.score_noting, up.data, name, set_ids or None
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

    middleware = [Middleware(SecurityHeaders, headers=security_headers(*INLINE_SCRIPTS))]
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
