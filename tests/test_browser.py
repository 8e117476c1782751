"""The web page as a person uses it: headless Chromium opens the form, uploads the example plan,
and reads the report. Screenshots go to ``artifacts/`` (gitignored) for a human to look at.

Uses Debian's ``chromium`` through Playwright's ``executable_path`` (``playwright install`` is
never needed). Skipped, with the reason, only when that browser is not installed.
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
uvicorn = pytest.importorskip("uvicorn")

from live_server import LiveServer  # noqa: E402

from align.web.app import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
PLAN_DOCX = ROOT / "examples" / "plan.docx"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]




def lexical_scorer():
    from align.pipeline import Scorer

    return Scorer(model="lexical")


@pytest.fixture()
def browser():
    profile = tempfile.mkdtemp(prefix="align-chromium-")
    try:
        with sync_api.sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1200, "height": 900},
                locale="zh-CN",
            )
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_upload_example_plan_and_read_the_report(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(create_app(lexical_scorer)) as srv:
        page = browser.new_page()
        page.goto(srv.url + "/")
        assert page.locator("h1").inner_text() == "政策对标检查"
        boxes = page.locator('input[name="set"]')
        assert boxes.count() >= 1
        assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
        page.screenshot(path=str(ARTIFACTS / "serve-form.png"), full_page=True)

        page.set_input_files("#file", str(PLAN_DOCX))
        with page.expect_navigation(timeout=180_000):
            page.click("#go")
        page.wait_for_selector("details.task", timeout=60_000)

        assert page.title() == "政策对标报告 · plan.docx"
        body = page.locator("body").inner_text()
        for text in ("总览", "热力图", "✔ 已覆盖", "证据"):
            assert text in body, text
        statuses = page.eval_on_selector_all(
            "details.task", "els => els.map(e => e.dataset.status)"
        )
        from align.pipeline import Scorer

        want = Scorer(model="lexical").score_path(PLAN_DOCX)
        assert statuses == [t.status for s in want.policy_sets for t in s.tasks]
        assert "covered" in statuses  # the example plan covers most tasks
        # evidence carries a location label and highlighted terms; the heat map has cells
        assert page.locator(".ev .loc").first.inner_text().startswith("位置：")
        assert page.locator("mark").count() > 0
        assert page.locator("table.heat td").count() > 0
        # every task's status reads without colour: symbol and Chinese label in its badge
        badges = page.eval_on_selector_all(
            "details.task > summary .st", "els => els.map(e => e.textContent)"
        )
        assert badges and set(badges) <= {"✔ 已覆盖", "◐ 部分覆盖", "✘ 未覆盖"}
        page.screenshot(path=str(ARTIFACTS / "serve-report.png"), full_page=True)
        page.screenshot(path=str(ARTIFACTS / "serve-report-top.png"))  # what a person sees first
        page.locator("details.task").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "serve-report-task.png"))

        page.click("a.back")
        page.wait_for_selector("#file")
    assert (ARTIFACTS / "serve-report.png").stat().st_size > 10_000


def test_bad_file_message_on_the_page(browser, tmp_path):
    empty = tmp_path / "空文件.txt"
    empty.write_bytes(b"")
    with LiveServer(create_app(lexical_scorer)) as srv:
        page = browser.new_page()
        page.goto(srv.url + "/")
        page.set_input_files("#file", str(empty))
        with page.expect_navigation():
            page.click("#go")
        alert = page.locator('[role="alert"]')
        assert "空文件.txt" in alert.inner_text()
        assert "(empty file)" in alert.inner_text()
        page.screenshot(path=str(ARTIFACTS / "serve-error.png"), full_page=True)


def test_oversize_upload_shows_a_readable_413_page(browser):
    with LiveServer(create_app(lexical_scorer, max_bytes=8 * 1024)) as srv:
        page = browser.new_page()
        page.goto(srv.url + "/")
        page.set_input_files("#file", str(PLAN_DOCX))  # tens of KB: over the 8 KB limit
        with page.expect_navigation() as nav:
            page.click("#go")
        assert nav.value.status == 413
        assert "文件过大" in page.locator('[role="alert"]').inner_text()
        assert page.locator("#file").count() == 1
