"""The batch pages as a person uses them, in headless Chromium: several plans uploaded on the web
page, the progress page, the overview (sorted by a click, under the app's CSP), a cell to the
plan's report and back; and `align batch`'s index.html opened from disk. Screenshots go to
``artifacts/``. Skipped, with the reason, only when Debian's chromium is not installed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian chromium is not installed (/usr/bin/chromium); `apt-get install chromium`",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytest.importorskip("uvicorn")

from live_server import LiveServer  # noqa: E402
from test_batch import make_plans  # noqa: E402

from align.cli import run  # noqa: E402
from align.web.app import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
PLAN_DOCX = ROOT / "examples" / "plan.docx"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.usefixtures("cache_dir")


def lexical_scorer():
    from align.pipeline import Scorer

    return Scorer(model="lexical")


@pytest.fixture()
def page():
    profile = tempfile.mkdtemp(prefix="align-chromium-")
    try:
        with sync_api.sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=ARGS,
                viewport={"width": 1300, "height": 900}, locale="zh-CN",
            )
            try:
                pg = ctx.new_page()
                pg.csp_errors = []
                pg.on("console", lambda m: "Content Security Policy" in m.text
                      and pg.csp_errors.append(m.text))
                yield pg
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def first_column_order(pg, col: int) -> list[float]:
    return pg.eval_on_selector_all(
        "table.m tbody tr:not(.failed)",
        f"rows => rows.map(r => parseFloat(r.cells[{col}].getAttribute('data-v')))",
    )


def test_upload_several_plans_and_read_the_overview(page, tmp_path):
    plans = make_plans(tmp_path / "plans", 3)
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(create_app(lexical_scorer)) as srv:
        page.goto(srv.url + "/")
        page.set_input_files("#files", [str(p) for p in plans] + [str(PLAN_DOCX)])
        with page.expect_navigation(timeout=60_000):
            page.click("#batch-go")
        page.wait_for_selector("table.m", timeout=180_000)  # the progress page refreshes itself
        page.screenshot(path=str(ARTIFACTS / "serve-batch-overview.png"), full_page=True)
        assert "批量评分总览（4 份规划）" in page.locator("h1").inner_text()
        assert page.locator("table.m tbody tr").count() == 4
        assert page.locator("svg g").count() > 0

        col = 1 + 3  # plan name, 3 set shares, then the first task
        header = page.locator("table.m thead th").nth(col)
        header.click()
        assert header.get_attribute("aria-sort") == "ascending"
        asc = first_column_order(page, col)
        assert asc == sorted(asc)
        header.click()
        desc = first_column_order(page, col)
        assert desc == sorted(desc, reverse=True)
        assert not page.csp_errors, page.csp_errors

        with page.expect_navigation():
            page.locator("table.m tbody td a").first.click()
        assert page.locator("details.task").count() > 0
        with page.expect_navigation():
            page.click("a.back")
        assert "批量评分总览" in page.title()


def test_cli_index_html_sorts_offline(page, tmp_path, capsys):
    make_plans(tmp_path / "plans", 4)
    out = tmp_path / "out"
    assert run(["batch", str(tmp_path / "plans"), "--out", str(out), "--model", "lexical"]) in (0, None)
    page.goto((out / "index.html").as_uri())
    names = page.eval_on_selector_all("table.m tbody th", "ths => ths.map(t => t.innerText)")
    header = page.locator("table.m thead th").first
    header.click()
    header.click()  # descending by plan name
    after = page.eval_on_selector_all("table.m tbody th", "ths => ths.map(t => t.innerText)")
    assert after == sorted(names, reverse=True) and after != names
    with page.expect_navigation():
        page.locator("table.m tbody th a").first.click()
    assert page.locator("details.task").count() > 0
