"""A real uvicorn server for tests: a background thread on a socket bound here (port 0, so the OS
picks a free loopback port and there is no race for it). Shared by the HTTP and browser tests."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class LiveServer:
    def __init__(self, app, config: uvicorn.Config | None = None) -> None:
        """``config``: the uvicorn settings to run with (default: uvicorn's own), e.g.
        ``align.web.server.server_config(app, ...)`` to test the timeouts `align serve` uses."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            config or uvicorn.Config(app, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        for _ in range(400):  # bounded wait for startup
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            time.sleep(0.05)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()
