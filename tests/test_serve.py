"""`align serve` for real: uvicorn on a free loopback port, plans uploaded over HTTP.

Most tests use a real ``Scorer`` with the lexical model (fast, no weights); tests about the
transport (limits, streaming, temp files) use a recording stand-in so they can check exactly
which bytes reached the scorer, and that none did when the upload was refused.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from live_server import LiveServer  # noqa: E402

pytest.importorskip("starlette")
pytest.importorskip("python_multipart")

from align.errors import AlignError  # noqa: E402
from align.types import (  # noqa: E402
    DocumentInfo,
    ModelInfo,
    PolicySet,
    Report,
    SetResult,
    Task,
    TaskResult,
)
from align.web.app import create_app  # noqa: E402
from align.web.upload import UploadTooLarge, read_upload  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAN_TXT = ROOT / "examples" / "plan.txt"
PLAN_DOCX = ROOT / "examples" / "plan.docx"


# ---------------------------------------------------------------------------- live server




def lexical_factory(calls: list[int] | None = None):
    def factory():
        from align.pipeline import Scorer

        if calls is not None:
            calls.append(1)
        return Scorer(model="lexical")

    return factory


@pytest.fixture(scope="module")
def lexical_server():
    calls: list[int] = []
    app = create_app(lexical_factory(calls))
    with LiveServer(app) as srv:
        srv.calls = calls
        srv.app = app
        yield srv


# ---------------------------------------------------------------------------- stand-in scorer


@dataclass
class RecordingScorer:
    """Looks like a Scorer to the app; remembers what it was given."""

    received: list[tuple[bytes, str]] = field(default_factory=list)
    policy_sets: list[PolicySet] = field(
        default_factory=lambda: [
            PolicySet("a", "甲政策", "甲", "部", "", "2024", (Task("a1", "a", "任务一", ""),)),
            PolicySet("b", "乙政策", "乙", "部", "", "2024", (Task("b1", "b", "任务二", ""),)),
        ]
    )

    def score_bytes(self, data: bytes, name: str) -> Report:
        self.received.append((data, name))
        sets = tuple(
            SetResult(p.id, p.title, (TaskResult(p.tasks[0].id, p.tasks[0].title, 0.9, "covered", ()),))
            for p in self.policy_sets
        )
        return Report(
            DocumentInfo(name, "0" * 64, len(data), 0, "txt"),
            ModelInfo("fake"),
            sets,
            matrix=((), ()),
        )


def multipart_body(filename: str, data: bytes, sets=()) -> tuple[bytes, str]:
    boundary = "----alignTestBoundary7MA4YWxkTrZu0gW"
    parts = []
    for s in sets:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="set"\r\n\r\n{s}\r\n'.encode()
        )
    parts.append(
        (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def cli_message(data: bytes, name: str) -> str:
    """What `align score` prints for this file (its AlignError), to compare with the page."""
    from align.pipeline import Scorer

    with pytest.raises(AlignError) as ei:
        Scorer(model="lexical").score_bytes(data, name)
    return str(ei.value)


# ---------------------------------------------------------------------------- the page


def test_form_lists_policy_sets_and_accepts_plan_types(lexical_server):
    r = httpx.get(lexical_server.url + "/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<html lang="zh-CN">' in page
    assert 'enctype="multipart/form-data"' in page
    from align.pipeline import Scorer

    for p in Scorer(model="lexical").policy_sets:
        assert f'name="set" value="{p.id}" checked' in page
    accept = page.split('accept="', 1)[1].split('"', 1)[0].split(",")
    for suffix in (".docx", ".pdf", ".txt"):
        assert suffix in accept
    assert "不超过 50 MB" in page


def test_healthz(lexical_server):
    r = httpx.get(lexical_server.url + "/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"


def test_upload_example_plan_gives_the_html_report(lexical_server):
    data = PLAN_TXT.read_bytes()
    r = httpx.post(
        lexical_server.url + "/report",
        files={"file": ("plan.txt", data, "text/plain")},
        timeout=120,
    )
    assert r.status_code == 200, r.text[:500]
    page = r.text
    assert "政策对标报告 · plan.txt" in page
    assert '<table class="heat">' in page
    from align.pipeline import Scorer

    want = Scorer(model="lexical").score_path(PLAN_TXT)
    statuses = [t.status for s in want.policy_sets for t in s.tasks]
    assert re.findall(r'data-status="(\w+)"', page) == statuses
    assert "covered" in statuses  # the example plan covers most tasks
    for t in (t for s in want.policy_sets for t in s.tasks):
        assert f'id="task-{t.id}"' in page
    assert r.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_json_api_is_the_cli_report(lexical_server):
    from align.pipeline import Scorer

    data = PLAN_DOCX.read_bytes()
    r = httpx.post(
        lexical_server.url + "/api/report",
        files={"file": ("方案.docx", data)},
        timeout=120,
    )
    assert r.status_code == 200, r.text[:500]
    got = r.json()
    want = Scorer(model="lexical").score_path(PLAN_DOCX).to_dict()
    assert got["schema"] == "align-report/1"
    assert got["document"]["path"] == "方案.docx"
    assert got["document"]["sha256"] == want["document"]["sha256"]
    assert got["policy_sets"] == want["policy_sets"]

    schema_path = ROOT / "src" / "align" / "schemas" / "align-report-1.json"
    if schema_path.exists():
        import jsonschema

        jsonschema.validate(got, json.loads(schema_path.read_text(encoding="utf-8")))


def test_raw_body_upload_to_the_api(lexical_server):
    r = httpx.post(
        lexical_server.url + "/api/report",
        params={"filename": "plan.txt"},
        content=PLAN_TXT.read_bytes(),
        headers={"content-type": "application/octet-stream"},
        timeout=120,
    )
    assert r.status_code == 200, r.text[:300]
    assert r.json()["document"]["path"] == "plan.txt"


def test_picking_policy_sets(lexical_server):
    ids = [p["id"] for p in httpx.post(
        lexical_server.url + "/api/report",
        files={"file": ("plan.txt", PLAN_TXT.read_bytes())},
        timeout=120,
    ).json()["policy_sets"]]
    assert ids, "the default policy sets are empty"
    r = httpx.post(
        lexical_server.url + "/api/report",
        files={"file": ("plan.txt", PLAN_TXT.read_bytes())},
        data={"set": [ids[-1]]},
        timeout=120,
    )
    assert [p["id"] for p in r.json()["policy_sets"]] == [ids[-1]]

    r = httpx.post(
        lexical_server.url + "/report",
        files={"file": ("plan.txt", PLAN_TXT.read_bytes())},
        data={"set": ["no-such-set"]},
        timeout=120,
    )
    assert r.status_code == 400
    assert "未知的政策集：no-such-set" in r.text


# ---------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.txt", b""),
        ("binary.txt", bytes(range(256)) * 8),
        ("fake.docx", b"this is not a zip archive at all"),
        ("fake.pdf", b"%PDF-1.4 truncated"),
    ],
)
def test_bad_file_shows_the_cli_message_on_the_page(lexical_server, name, data):
    expected = cli_message(data, name)
    r = httpx.post(lexical_server.url + "/report", files={"file": (name, data)}, timeout=60)
    assert r.status_code == 400
    assert escape(expected) in r.text
    assert 'role="alert"' in r.text
    assert 'type="file"' in r.text  # the form is right there to try again

    j = httpx.post(lexical_server.url + "/api/report", files={"file": (name, data)}, timeout=60)
    assert j.status_code == 400
    assert j.json()["error"] == expected


def test_unsupported_type_and_missing_file(lexical_server):
    for name in ("plan.exe", "plan.wps", "规划"):
        r = httpx.post(lexical_server.url + "/report", files={"file": (name, b"MZ\x90\x00")})
        assert r.status_code == 415
        assert escape(cli_message(b"MZ\x90\x00", name)) in r.text
        assert "不支持的文件类型" in r.text
    r = httpx.post(lexical_server.url + "/report", data={"set": ["x"]})
    assert r.status_code == 400
    assert "请选择要上传的规划文件" in r.text


def test_malformed_multipart_is_a_readable_400(lexical_server):
    r = httpx.post(
        lexical_server.url + "/api/report",
        content=b"--xyz\r\nnot a header line\r\n\r\n",
        headers={"content-type": "multipart/form-data"},
    )
    assert r.status_code == 400
    assert "multipart" in r.json()["error"]


# ---------------------------------------------------------------------------- limits


def test_oversize_by_content_length_is_413_and_never_scored():
    fake = RecordingScorer()
    app = create_app(lambda: fake, max_bytes=1024)
    with LiveServer(app) as srv:
        body, ctype = multipart_body("big.txt", b"x" * (1024 + 64 * 1024 + 10))
        r = httpx.post(srv.url + "/report", content=body, headers={"content-type": ctype})
        assert r.status_code == 413
        assert "文件过大" in r.text and "1 KB" in r.text
        assert '<html lang="zh-CN">' in r.text
        j = httpx.post(srv.url + "/api/report", content=body, headers={"content-type": ctype})
        assert j.status_code == 413
        assert "file too large" in j.json()["error"]
    assert fake.received == []


def test_limit_applies_to_the_file_itself_exactly():
    fake = RecordingScorer()
    app = create_app(lambda: fake, max_bytes=4096)
    with LiveServer(app) as srv:
        ok = os.urandom(4096)
        r = httpx.post(srv.url + "/api/report", files={"file": ("ok.txt", ok)})
        assert r.status_code == 200, r.text
        over = httpx.post(srv.url + "/api/report", files={"file": ("over.txt", ok + b"!")})
        assert over.status_code == 413
    assert fake.received == [(ok, "ok.txt")]


def test_oversize_streamed_without_content_length_is_413():
    fake = RecordingScorer()
    app = create_app(lambda: fake, max_bytes=2048)
    body, ctype = multipart_body("stream.txt", b"y" * 100_000)

    def chunks():
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    with LiveServer(app) as srv:
        r = httpx.post(srv.url + "/report", content=chunks(), headers={"content-type": ctype})
        assert r.status_code == 413
        assert "文件过大" in r.text
    assert fake.received == []


def test_read_upload_stops_reading_a_huge_stream():
    """The limit is enforced while streaming: a body far over it is not read to the end."""
    import asyncio

    from starlette.requests import Request

    limit = 10_000
    sent = 0
    total_chunks = 10_000  # 10 MB in 1 KB pieces, 1000x the limit
    body_start, ctype = multipart_body("x.txt", b"")
    head = body_start.split(b"\r\n\r\n", 2)[0] + b"\r\n\r\n"

    async def receive():
        nonlocal sent
        sent += 1
        if sent == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        return {"type": "http.request", "body": b"z" * 1024, "more_body": sent < total_chunks}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/report",
        "headers": [(b"content-type", ctype.encode())],
        "query_string": b"",
    }
    with pytest.raises(UploadTooLarge):
        asyncio.run(read_upload(Request(scope, receive), limit))
    assert sent * 1024 < 4 * limit + 2 * 1024 * 1024  # drained at most the small budget
    assert sent < total_chunks


def test_uploads_never_touch_the_disk(monkeypatch):
    """Bigger than Starlette's 1 MB spool: still parsed in memory, no temporary file made."""
    import starlette.formparsers

    made: list[str] = []

    def spy(name):
        real = getattr(tempfile, name)

        def wrapper(*a, **k):
            made.append(name)
            return real(*a, **k)

        return wrapper

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, spy(name))
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", spy("SpooledTemporaryFile"))

    fake = RecordingScorer()
    app = create_app(lambda: fake, max_bytes=4 * 1024 * 1024)
    data = os.urandom(3 * 1024 * 1024)
    with LiveServer(app) as srv:
        r = httpx.post(srv.url + "/api/report", files={"file": ("大文件.txt", data)}, timeout=60)
    assert r.status_code == 200, r.text
    assert fake.received == [(data, "大文件.txt")]
    assert made == []


# ---------------------------------------------------------------------------- one model, many users


def test_scorer_is_created_once_and_concurrent_uploads_agree():
    calls: list[int] = []
    app = create_app(lexical_factory(calls), max_active=6)  # all six admitted: no 503 here
    plans = [PLAN_TXT.read_bytes(), PLAN_DOCX.read_bytes()]
    names = ["plan.txt", "plan.docx"]
    with LiveServer(app) as srv:

        def post(i: int):
            r = httpx.post(
                srv.url + "/api/report",
                files={"file": (names[i % 2], plans[i % 2])},
                timeout=300,
            )
            assert r.status_code == 200, r.text[:300]
            return i % 2, r.json()

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(post, range(6)))
        assert httpx.get(srv.url + "/healthz").json()["model_loaded"] is True
    assert len(calls) == 1
    assert app.state.scorers.created == 1
    by_plan: dict[int, list[dict]] = {0: [], 1: []}
    for k, body in results:
        by_plan[k].append(body["policy_sets"])
    for k in (0, 1):
        assert len(by_plan[k]) == 3
        assert all(b == by_plan[k][0] for b in by_plan[k])


def test_host_header_is_checked_when_asked():
    app = create_app(lambda: RecordingScorer(), allowed_hosts=["127.0.0.1", "localhost"])
    with LiveServer(app) as srv:
        assert httpx.get(srv.url + "/healthz").status_code == 200
        bad = httpx.get(srv.url + "/healthz", headers={"host": "evil.example"})
        assert bad.status_code == 400


@pytest.mark.model
def test_default_model_concurrent_uploads_share_one_model_and_cache():
    """The default model, loaded once, with uploads arriving together: every answer equals the
    one given later from a warm embedding cache (new text each run, so the cache is written)."""
    import uuid

    calls: list[int] = []

    def factory():
        from align.pipeline import Scorer

        calls.append(1)
        return Scorer()

    base = PLAN_TXT.read_text(encoding="utf-8")
    plans = [
        (base + f"\n\n五、附则\n\n本方案编号 {uuid.uuid4()}，自印发之日起施行。\n").encode()
        for _ in range(2)
    ]
    app = create_app(factory, max_active=4)  # all four admitted: no 503 here
    with LiveServer(app) as srv:

        def post(i: int) -> dict:
            r = httpx.post(
                srv.url + "/api/report",
                files={"file": (f"plan{i % 2}.txt", plans[i % 2])},
                timeout=900,
            )
            assert r.status_code == 200, r.text[:300]
            return r.json()

        with ThreadPoolExecutor(max_workers=4) as pool:
            together = list(pool.map(post, range(4)))
        later = [post(0), post(1)]
    assert len(calls) == 1
    assert together[0]["model"]["kind"] != "lexical"
    for i, body in enumerate(together):
        assert body["policy_sets"] == later[i % 2]["policy_sets"]
    statuses = {t["status"] for s in later[0]["policy_sets"] for t in s["tasks"]}
    assert "covered" in statuses


def test_align_serve_command_serves_the_page(tmp_path):
    """The README's one command, as a user runs it: `align serve`, then open the page."""
    import subprocess
    import sys

    with socket.socket() as s:  # a free port for the child (it binds it itself)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "align", "serve", "--model", "lexical", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded wait: policies load, then uvicorn binds
            if proc.poll() is not None:
                break
            try:
                health = httpx.get(url + "/healthz", timeout=2).json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("align serve did not come up")
        assert proc.poll() is None, proc.communicate()[1]
        assert health["model_loaded"] is True
        assert "政策对标检查" in httpx.get(url + "/").text
        r = httpx.post(url + "/report", files={"file": ("plan.txt", PLAN_TXT.read_bytes())}, timeout=120)
        assert r.status_code == 200
        assert 'data-status="covered"' in r.text
        # bound to loopback: a request naming another host is refused (DNS rebinding)
        assert httpx.get(url + "/healthz", headers={"host": "evil.example"}).status_code == 400
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert f"http://127.0.0.1:{port}/" in err


def test_align_serve_bad_model_is_a_cli_error(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "align", "serve", "--model", str(tmp_path / "no-such-model")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("错误 error:") == 1
    assert "Traceback" not in proc.stderr
