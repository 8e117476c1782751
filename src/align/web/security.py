"""The security headers every response carries, and the middleware that adds them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any


def script_hash(js: str) -> str:
    """``js`` as a CSP source: ``'sha256-...'``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode() + "'"


def security_headers(*scripts: str) -> dict[str, str]:
    """Only the inline ``scripts`` we ship may run, named by hash: the report embeds plan text,
    which is escaped, and even if an injected ``<script>`` got through it would not run."""
    allowed = " ".join(script_hash(js) for js in scripts)
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; script-src {allowed}; "
            "img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
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
