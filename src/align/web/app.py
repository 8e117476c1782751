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
from typing import TYPE_CHECKING, NamedTuple

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
from .scorer import ScorerFactory, ScorerHolder, default_scorer
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
    from ..read import DEFAULT_MAX_BYTES

    limit = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
    admit = cpu_cores() if max_active is None else max(1, int(max_active))
    holder = ScorerHolder(scorer_factory or default_scorer)
    total = max(limit, max_total_bytes or DEFAULT_TOTAL_BYTES)
    plans = PlanRoutes(holder, limit, total, admit, body_timeout)
    middleware = [Middleware(SecurityHeaders, headers=security_headers(*INLINE_SCRIPTS))]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(
        routes=[
            *plans.routes(),
            *batch_routes(
                holder, limit, plans.suffixes, max_total_bytes=total, body_timeout=body_timeout
            ),
        ],
        middleware=middleware,
    )
    app.state.scorers = holder
    app.state.max_bytes = limit
    app.state.max_active = admit
    return app


class Scored(NamedTuple):
    """One upload's outcome: the report, or the error message and HTTP status to answer with."""

    report: Report | None
    error: str | None
    status: int
    set_ids: list[str]
    notices: list[str]


def _refused(error: str, status: int, set_ids: list[str] | None = None) -> Scored:
    return Scored(None, error, status, set_ids or [], [])


def _extra_headers(status: int) -> dict[str, str] | None:
    if status == 503:
        return {"Retry-After": str(BUSY_RETRY_AFTER)}
    if status == 408:
        return {"Connection": "close"}
    return None


class PlanRoutes:
    """The single-plan routes: the upload page, the report as HTML or JSON, the health check;
    and the admission count they share (touched on the event-loop thread only: no lock)."""

    def __init__(
        self, holder: ScorerHolder, limit: int, total: int, admit: int, body_timeout: float | None
    ) -> None:
        from ..read import SUPPORTED_SUFFIXES

        self.holder = holder
        self.limit = limit
        self.total = total  # the batch form's limit, shown on the upload page
        self.admit = admit
        self.body_timeout = body_timeout
        self.suffixes = tuple(sorted(SUPPORTED_SUFFIXES))
        self.active = 0  # uploads admitted and not yet answered

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/report", self.report_page, methods=["POST"]),
            Route("/api/report", self.report_json, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
        ]

    async def index(self, request: Request) -> Response:
        try:
            sets = await run_in_threadpool(self.holder.policy_sets)
        except AlignError as e:  # bad --policy file or model setup: say so on the page
            return HTMLResponse(upload_page([], self.suffixes, self.limit, error=str(e)), 500)
        return HTMLResponse(upload_page(
            sets, self.suffixes, self.limit, base_url=str(request.base_url), batch_total=self.total
        ))

    async def report_page(self, request: Request) -> Response:
        scored = await self.score(request)
        if scored.report is None:
            page = await self.form_error(request, scored)
            page.headers.update(_extra_headers(scored.status) or {})
            return page
        formatter = HtmlFormatter(back_href="./", notices=scored.notices)
        return HTMLResponse(formatter.format([scored.report]))

    async def report_json(self, request: Request) -> Response:
        scored = await self.score(request)
        if scored.report is None:
            return JSONResponse({"error": scored.error, "status": scored.status},
                                status_code=scored.status, headers=_extra_headers(scored.status))
        body = scored.report.to_dict()
        if scored.notices:  # what the CLI prints as 提示 warning: lines
            body["notices"] = scored.notices
        return JSONResponse(body)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "version": __version__, "model_loaded": self.holder.loaded}
        )

    async def form_error(self, request: Request, scored: Scored) -> Response:
        """The upload page again, the error above the form and the user's set choice kept."""
        try:
            sets: list[PolicySet] = await run_in_threadpool(self.holder.policy_sets)
        except AlignError:
            sets = []
        page = upload_page(
            sets, self.suffixes, self.limit, error=scored.error or "",
            checked=scored.set_ids or None, base_url=str(request.base_url),
            batch_total=self.total,
        )
        return HTMLResponse(page, scored.status)

    async def score(self, request: Request) -> Scored:
        """Admission first: when every slot is taken the answer is 503 at once, and the body
        is read only to be dropped."""
        if self.active >= self.admit:
            await drain(timed(request.stream(), self.body_timeout), 4 * self.limit + 1024 * 1024)
            return _refused(BUSY_MESSAGE, 503)
        self.active += 1
        try:
            return await self._score_admitted(request)
        finally:
            self.active -= 1

    async def _score_admitted(self, request: Request) -> Scored:
        try:
            up = await read_upload(request, self.limit, self.body_timeout)
        except UploadTooLarge:
            return _refused(f"文件过大（上限 {mb(self.limit)}）(file too large)", 413)
        except UploadStalled:
            return _refused("上传中断或过慢，请重新上传 (upload stalled)", 408)
        except AlignError as e:
            return _refused(str(e), 400)
        set_ids = [s for s in up.fields.get(SET_FIELD, []) if s]
        try:
            name = check_upload(up, self.suffixes)
            report, notices = await run_in_threadpool(
                self.holder.score_noting, up.data, name, set_ids or None
            )
        except UnsupportedType as e:
            return _refused(str(e), 415, set_ids)
        except (InputError, BadUpload) as e:
            return _refused(str(e), 400, set_ids)
        except AlignError as e:  # model or policy setup: not the user's file
            return _refused(str(e), 500, set_ids)
        return Scored(report, None, 200, set_ids, notices)
