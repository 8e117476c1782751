"""Several plans in one upload on `align serve`: files or a .zip, progress per plan, the same
overview page and downloads as `align batch`, and the limits per file and in total.

A real uvicorn server and a real Scorer with the lexical model; real plans (examples/).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from live_server import LiveServer  # noqa: E402

from align.web.app import create_app  # noqa: E402
from align.web.unpack import expand_files  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAN_TXT = ROOT / "examples" / "plan.txt"
PLAN_DOCX = ROOT / "examples" / "plan.docx"
SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html")
pytestmark = pytest.mark.usefixtures("cache_dir")


def lexical():
    from align.pipeline import Scorer

    return Scorer(model="lexical")


@pytest.fixture
def server():
    app = create_app(lexical, max_bytes=200_000, max_total_bytes=600_000)
    with LiveServer(app) as srv:
        yield srv


def wait_done(client: httpx.Client, job: str) -> dict:
    for _ in range(600):
        st = client.get(f"/api/batch/{job}/").json()
        if st["finished"]:
            return st
        time.sleep(0.1)
    raise AssertionError("batch did not finish")


def second_plan() -> bytes:
    text = PLAN_TXT.read_text(encoding="utf-8")
    return text[: len(text) // 2].encode("utf-8")


def test_several_files_give_the_overview_and_downloads(server):
    from bs4 import BeautifulSoup
    from openpyxl import load_workbook

    with httpx.Client(base_url=server.url, timeout=60) as c:
        page = c.get("/").text
        assert 'action="batch"' in page and "multiple" in page and ".zip" in page
        files = [
            ("files", ("第一份.txt", PLAN_TXT.read_bytes(), "text/plain")),
            ("files", ("第二份.txt", second_plan(), "text/plain")),
            ("files", ("plan.docx", PLAN_DOCX.read_bytes(), "application/octet-stream")),
            ("files", ("空.txt", b"", "text/plain")),
        ]
        r = c.post("/batch", files=files, data={"set": "tzpy-2020"}, follow_redirects=False)
        assert r.status_code == 303
        url = r.headers["location"]
        job = url.strip("/").split("/")[-1]
        first = c.get("/" + url)
        assert first.status_code == 200
        assert "正在分析" in first.text or "批量评分总览" in first.text
        st = wait_done(c, job)
        assert st["total"] == 4 and st["done"] == 4
        states = {p["name"]: p["state"] for p in st["plans"]}
        assert states == {"第一份.txt": "done", "第二份.txt": "done", "plan.docx": "done",
                          "空.txt": "failed"}
        assert "文件为空" in next(p["error"] for p in st["plans"] if p["name"] == "空.txt")

        ov = c.get("/" + url)
        assert ov.status_code == 200 and "批量评分总览（4 份规划）" in ov.text
        soup = BeautifulSoup(ov.text, "html.parser")
        rows = soup.select("table.m tbody tr")
        assert len(rows) == 4 and len(soup.select("table.m tbody tr.failed")) == 1
        link = next(tr.th.a["href"] for tr in rows if tr.th.a)
        rep = c.get("/" + url + link)
        assert rep.status_code == 200 and 'id="task-tzpy-01"' in rep.text
        assert "sichuan" not in rep.text  # only the ticked set

        jsonl = c.get("/" + url + "reports.jsonl")
        recs = [json.loads(x) for x in jsonl.text.splitlines()]
        assert len(recs) == 4
        assert {s["id"] for r in recs if "policy_sets" in r for s in r["policy_sets"]} == {"tzpy-2020"}
        xlsx = c.get("/" + url + "summary.xlsx")
        assert xlsx.headers["content-disposition"].startswith("attachment")
        wb = load_workbook(io.BytesIO(xlsx.content))
        ws = wb["规划 plans"]
        assert ws.max_row == 5 and {ws.cell(row=i, column=1).value for i in range(2, 6)} == {
            "第一份.txt", "第二份.txt", "plan.docx", "空.txt"}
        csv = c.get("/" + url + "summary.csv")
        assert csv.content.startswith(b"\xef\xbb\xbf")
        # the overview page's sort script is allowed by the page's own CSP
        assert "script-src 'sha256-" in ov.headers["content-security-policy"]
        assert c.get("/batch/nope/").status_code == 404


def test_zip_of_plans_is_unpacked(server):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("各校/甲校.txt", PLAN_TXT.read_bytes())
        z.writestr("各校/乙校.docx", PLAN_DOCX.read_bytes())
        z.writestr("__MACOSX/各校/._甲校.txt", b"\x00junk")
        z.writestr("说明.xls", b"not a plan")
    with httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/api/batch", files=[("files", ("plans.zip", buf.getvalue(), "application/zip"))])
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["plans"] == 2
        st = wait_done(c, body["id"])
        assert sorted(p["name"] for p in st["plans"]) == ["各校/乙校.docx", "各校/甲校.txt"]
        assert all(p["state"] == "done" for p in st["plans"])


def test_limits_per_file_and_in_total(server):
    big = b"x" * 200_001
    with httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/api/batch", files=[("files", ("a.txt", PLAN_TXT.read_bytes(), "text/plain")),
                                        ("files", ("大.txt", big, "text/plain"))])
        assert r.status_code == 400 and "大.txt" in r.json()["error"] and "每个文件" in r.json()["error"]
        many = [("files", (f"p{i}.txt", PLAN_TXT.read_bytes() * 8, "text/plain")) for i in range(6)]
        r = c.post("/api/batch", files=many)
        assert r.status_code == 413 and "合计" in r.json()["error"]
        # the same limits on what a zip unpacks to
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("ok.txt", PLAN_TXT.read_bytes())
            z.writestr("huge.txt", b"\xe4\xb8\x80" * 100_000)  # 300 KB unpacked, tiny packed
        r = c.post("/api/batch", files=[("files", ("p.zip", buf.getvalue(), "application/zip"))])
        assert r.status_code == 202
        assert any("huge.txt" in e and "每个文件" in e for e in r.json()["errors"])
        assert r.json()["plans"] == 1
        wait_done(c, r.json()["id"])
        r = c.post("/api/batch", files=[("files", ("bad.zip", b"PK not really", "application/zip"))])
        assert r.status_code == 400 and "zip" in r.json()["error"]


class GbkName(zipfile.ZipInfo):
    """What a Windows zip tool writes: the GBK bytes of the name, without the UTF-8 flag."""

    def _encodeFilenameFlags(self):  # noqa: N802  (zipfile's own hook)
        return self.filename.encode("gb18030"), self.flag_bits & ~0x800


def test_zip_member_names_from_windows_are_chinese_and_bombs_stop_at_the_limit():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(GbkName("各校/规划.txt"), PLAN_TXT.read_bytes())
        z.writestr("炸弹.txt", b"\xe4\xb8\x80" * 1_000_000)  # 3 MB unpacked
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        assert z.namelist()[0] != "各校/规划.txt"  # zipfile alone gets it wrong
    plans, errors = expand_files([("x.zip", buf.getvalue())], per_file=100_000, total=10**7,
                                 suffixes=SUFFIXES)
    assert [n for n, _ in plans] == ["各校/规划.txt"]
    assert plans[0][1] == PLAN_TXT.read_bytes()
    assert len(errors) == 1 and "炸弹.txt" in errors[0] and "每个文件" in errors[0]


# ---------------------------------------------------------------------------- one reader, two forms


def _read(form: str, parts: list[tuple[str, str | None, bytes]], *, end: bool = True):
    """The single-plan (``read_upload``) or batch (``read_files``) reader on a body made of
    ``parts`` (field name, filename or None, data), fed in small pieces."""
    import asyncio

    from starlette.requests import Request

    from align.web.upload import read_files, read_upload

    b = "b0undary"
    body = b"".join(
        f'--{b}\r\nContent-Disposition: form-data; name="{name}"'.encode()
        + (f'; filename="{fn}"'.encode() if fn is not None else b"") + b"\r\n\r\n" + data + b"\r\n"
        for name, fn, data in parts
    ) + (f"--{b}--\r\n".encode() if end else b"")
    pieces = iter([body[i : i + 100] for i in range(0, len(body), 100)])

    async def receive():
        piece = next(pieces, None)
        return {"type": "http.request", "body": piece or b"", "more_body": piece is not None}

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", f"multipart/form-data; boundary={b}".encode())]}
    read = read_upload(Request(scope, receive), 1000) if form == "plan" else \
        read_files(Request(scope, receive), 1000, 50_000, None)
    return asyncio.run(read)


def test_one_multipart_reader_with_each_forms_rules():
    from align.errors import AlignError
    from align.web.upload import UploadTooLarge

    two = [("file", "a.txt", b"one"), ("set", None, b"s1"), ("file", "b.txt", b"two"),
           ("files", "", b"")]
    up = _read("plan", two)  # the first `file` part is the plan; the rest are fields
    assert (up.filename, up.data, up.fields) == ("a.txt", b"one", {"set": ["s1"], "file": ["two"],
                                                                     "files": [""]})
    form = _read("batch", two)  # every named file part is a plan; an empty file input is none
    assert (form.files, form.fields) == ([("a.txt", b"one"), ("b.txt", b"two")], {"set": ["s1"]})

    big = [("file", "big.txt", b"x" * 1001)]
    with pytest.raises(UploadTooLarge):  # 413 for the one plan
        _read("plan", big)
    with pytest.raises(AlignError, match="big.txt: 文件过大"):  # 400 naming it in a batch
        _read("batch", big)
    assert _read("batch", [("files", "plans.zip", b"z" * 5000)]).files == [("plans.zip", b"z" * 5000)]
    with pytest.raises(AlignError, match="表单字段过长"):
        _read("batch", [("set", None, b"s" * 20_000)])
    for form in ("plan", "batch"):
        with pytest.raises(AlignError, match="缺少结束分隔符"):
            _read(form, [("file", "a.txt", b"cut")], end=False)


def test_the_old_import_paths_still_work():
    """`align.serve` and `align.serve_batch` moved to `align.web`; kept for one release."""
    import align.serve
    import align.serve_batch
    from align.web import app, unpack

    assert align.serve.create_app is app.create_app
    assert align.serve_batch.expand_files is unpack.expand_files
    for name in align.serve.__all__ + align.serve_batch.__all__:
        assert hasattr(align.serve, name) or hasattr(align.serve_batch, name)
