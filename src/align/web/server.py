"""How `align serve` runs the app under uvicorn: bounded connections, header and keep-alive timeouts.

A connection that does not finish its request headers within ``header_timeout`` seconds is
closed, and idle keep-alive connections after ``timeout_keep_alive``; above ``limit_concurrency``
open connections uvicorn answers 503.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from .limits import DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE


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
