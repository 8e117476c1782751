"""Issue 14, the server's part: rows 5, 12 and 13 against a real uvicorn on a loopback port.

Truncated multipart bodies are refused; the CSP allows only the shipped inline scripts (by
hash) and every response carries the security headers; stalled bodies, trickled headers and
idle connections time out; at most ``max_active`` scoring uploads (default: one per core) are
admitted and the next is answered 503 in Chinese instead of queueing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
pytest.importorskip("python_multipart")

from live_server import LiveServer  # noqa: E402
from test_serve import (  # noqa: E402
    PLAN_TXT,
    ROOT,
    RecordingScorer,
    lexical_factory,
    multipart_body,
)

from align.web.app import cpu_cores, create_app  # noqa: E402
from align.web.server import server_config  # noqa: E402


def raw_exchange(port: int, data: bytes, *, wait: float = 20.0) -> bytes:
    """Send ``data`` and read until the server closes or ``wait`` seconds pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                got = s.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                break
            if not got:
                return out + b"<closed>"
            out += got
        return out


# --------------------------------------------------------------------------- row 5


@pytest.mark.parametrize("route", ["/api/report", "/report"])
def test_a_multipart_body_cut_in_transit_is_a_400_and_nothing_is_scored(route):
    scorer = RecordingScorer()
    plan = PLAN_TXT.read_bytes()
    body, ctype = multipart_body("plan.txt", plan)
    cut = body[: body.index(plan) + len(plan) // 6]  # the file's first sixth, no closing boundary
    with LiveServer(create_app(lambda: scorer)) as srv:
        r = httpx.post(srv.url + route, content=cut, headers={"content-type": ctype}, timeout=60)
        whole = httpx.post(srv.url + route, content=body, headers={"content-type": ctype}, timeout=60)
    assert r.status_code == 400
    assert "上传不完整" in r.text and "缺少结束分隔符" in r.text
    assert whole.status_code == 200
    assert [name for _, name in scorer.received] == ["plan.txt"]  # only the whole upload
    assert scorer.received[0][0] == plan


def test_a_body_without_the_final_boundary_only_is_refused_too():
    scorer = RecordingScorer()
    body, ctype = multipart_body("plan.txt", PLAN_TXT.read_bytes())
    cut = body[: body.rindex(b"--\r\n") - 40]  # everything but the closing boundary line
    with LiveServer(create_app(lambda: scorer)) as srv:
        r = httpx.post(srv.url + "/api/report", content=cut, headers={"content-type": ctype})
    assert r.status_code == 400 and "缺少结束分隔符" in r.json()["error"]
    assert scorer.received == []


# --------------------------------------------------------------------------- row 12: headers


def _hash(js: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(js.encode()).digest()).decode() + "'"


def test_the_csp_names_the_inline_scripts_by_hash_and_nothing_else():
    with LiveServer(create_app(lexical_factory())) as srv:
        pages = [httpx.get(srv.url + "/")]
        pages.append(httpx.post(srv.url + "/report", files={"file": ("plan.txt", PLAN_TXT.read_bytes())},
                                timeout=300))
    for page in pages:
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp).group(1).split()
        assert "'unsafe-inline'" not in script_src and "*" not in script_src
        scripts = re.findall(r"<script>(.*?)</script>", page.text, re.S)
        assert scripts, "the page has its inline script"
        for js in scripts:
            assert _hash(js) in script_src


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/no-such-page", 404),
        ("GET", "/api/report", 405),
        ("POST", "/api/report", 400),
    ],
)
def test_every_response_carries_the_security_headers(method, path, status):
    with LiveServer(create_app(lambda: RecordingScorer())) as srv:
        r = httpx.request(method, srv.url + path, timeout=60)
    assert r.status_code == status
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"


def test_the_host_check_answer_carries_them_too():
    app = create_app(lambda: RecordingScorer(), allowed_hosts=["127.0.0.1"])
    with LiveServer(app) as srv:
        r = httpx.get(srv.url + "/", headers={"host": "evil.example"})
    assert r.status_code == 400 and r.headers["x-content-type-options"] == "nosniff"


# --------------------------------------------------------------------------- row 12: timeouts


def test_a_stalled_body_is_answered_408():
    scorer = RecordingScorer()
    app = create_app(lambda: scorer, body_timeout=0.5)
    with LiveServer(app) as srv:
        head = (
            b"POST /api/report?filename=plan.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: 5000\r\n\r\n"
        )
        got = raw_exchange(srv.port, head + "一、总体要求\n".encode())
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert "上传中断或过慢".encode() in got
    assert scorer.received == []


def test_a_connection_trickling_its_headers_is_closed():
    app = create_app(lambda: RecordingScorer())
    config = server_config(app, header_timeout=0.5, log_level="warning")
    with LiveServer(app, config=config) as srv:
        got = raw_exchange(srv.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        assert got == b"<closed>"
        # a complete request on a fresh connection is still served
        assert httpx.get(srv.url + "/healthz").status_code == 200


def test_idle_keep_alive_connections_are_closed():
    app = create_app(lambda: RecordingScorer())
    config = server_config(app, timeout_keep_alive=1, log_level="warning")
    assert server_config(app).timeout_keep_alive == 5  # what `align serve` runs with
    with LiveServer(app, config=config) as srv:
        got = raw_exchange(srv.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"<closed>")


# --------------------------------------------------------------------------- row 13: busy


class GatedScorer(RecordingScorer):
    """Scores only when released, so a test can hold one upload in the scorer."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def score_bytes(self, data: bytes, name: str):
        self.entered.set()
        assert self.release.wait(60), "the test never released the scorer"
        return super().score_bytes(data, name)


def test_uploads_beyond_one_per_core_are_answered_503_in_chinese():
    scorer = GatedScorer()
    app = create_app(lambda: scorer, max_active=1)
    plan = PLAN_TXT.read_bytes()
    with LiveServer(app) as srv, ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(
            httpx.post, srv.url + "/api/report", files={"file": ("a.txt", plan)}, timeout=120
        )
        assert scorer.entered.wait(60)
        busy = httpx.post(srv.url + "/api/report", files={"file": ("b.txt", plan)}, timeout=60)
        page = httpx.post(srv.url + "/report", files={"file": ("c.txt", plan)}, timeout=60)
        assert httpx.get(srv.url + "/healthz").status_code == 200  # the rest stays responsive
        scorer.release.set()
        assert first.result(timeout=120).status_code == 200
        after = httpx.post(srv.url + "/api/report", files={"file": ("d.txt", plan)}, timeout=60)
    assert busy.status_code == 503 and busy.headers["retry-after"].isdigit()
    assert "服务器正忙" in busy.json()["error"] and "请稍后重试" in busy.json()["error"]
    assert page.status_code == 503 and "服务器正忙" in page.text and "<form" in page.text
    assert after.status_code == 200
    assert [name for _, name in scorer.received] == ["a.txt", "d.txt"]


def test_the_default_admits_one_upload_per_core():
    app = create_app(lambda: RecordingScorer())
    assert app.state.max_active == cpu_cores() >= 1


def test_replaced_bytes_are_reported_on_the_page_and_in_the_json():
    raw = PLAN_TXT.read_bytes()
    at = raw.index("。".encode())
    damaged = raw[:at] + b"\xff" + raw[at:]
    with LiveServer(create_app(lexical_factory())) as srv:
        page = httpx.post(srv.url + "/report", files={"file": ("p.txt", damaged)}, timeout=300)
        api = httpx.post(srv.url + "/api/report", files={"file": ("p.txt", damaged)}, timeout=300)
        clean = httpx.post(srv.url + "/api/report", files={"file": ("p.txt", raw)}, timeout=300)
    assert page.status_code == api.status_code == clean.status_code == 200
    note = f"p.txt: 有 1 个字节无法按 utf-8 解码，已替换为 �，首个在第 {at} 字节"
    assert '<p class="notice" role="status">提示：' + note in page.text
    assert api.json()["notices"][0].startswith(note)
    assert "notices" not in clean.json()
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "src" / "align" / "schemas" / "align-report-1.json").read_text("utf-8"))
    jsonschema.validate(api.json(), schema)
