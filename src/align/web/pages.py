"""The HTML pages of the web app: the upload page (one plan, or a batch) and a batch's progress.

The report pages themselves are ``report.html``'s and the batch overview ``report.overview_html``'s;
what is here is only the app's own chrome around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..report.html import _JS as REPORT_JS
from ..report.html import FONT_STACK
from .limits import mb
from .upload import FILE_FIELD, FILES_FIELD, SET_FIELD

if TYPE_CHECKING:  # pragma: no cover
    from ..types import PolicySet
    from .jobs import BatchJob

PAGE_CSS = """
*{box-sizing:border-box}
body{font-family:__FONT__;max-width:760px;margin:0 auto;padding:32px 24px;color:#1f2328;
 line-height:1.7;font-size:16px}
h1{font-size:1.6em;margin:.2em 0 .6em}
form{border:1px solid #d0d7de;border-radius:8px;padding:20px 24px;background:#f6f8fa}
label.file{display:block;font-weight:600;margin-bottom:.4em}
input[type=file]{font-size:1em;padding:.4em;border:1px dashed #8c959f;border-radius:6px;width:100%;
 background:#fff}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:1.2em 0;padding:.6em 1em;background:#fff}
legend{font-weight:600;padding:0 .3em}
fieldset label{display:block;margin:.25em 0}
.muted{color:#57606a;font-size:.9em}
button{font-size:1.05em;padding:.5em 1.6em;border:0;border-radius:6px;background:#1f6feb;color:#fff;
 cursor:pointer}
button[disabled]{background:#8c959f;cursor:progress}
.error{border:1px solid #cf222e;background:#ffebe9;color:#82071e;border-radius:6px;padding:.7em 1em;
 margin:0 0 1.2em;white-space:pre-wrap;word-break:break-word}
.busy{display:none;margin-left:1em;color:#57606a}
code{background:#eaeef2;border-radius:4px;padding:.1em .35em;font-size:.9em}
"""

FORM_JS = (
    "document.getElementById('upload').addEventListener('submit',function(){"
    "var b=document.getElementById('go');b.disabled=true;b.textContent='正在分析…';"
    "document.getElementById('busy').style.display='inline'});"
)


# The inline scripts the app's pages ship: the CSP allows exactly these, by their hashes.
INLINE_SCRIPTS = (FORM_JS, REPORT_JS)

_ALIASES = (".markdown", ".htm")  # accepted, not worth a mention


def upload_page(
    policy_sets: Sequence[PolicySet],
    suffixes: Sequence[str],
    max_bytes: int,
    error: str | None = None,
    checked: Sequence[str] | None = None,
    base_url: str = "http://127.0.0.1:8000/",
    batch_total: int | None = None,
) -> str:
    """The upload form, with an error banner above it when the last upload failed; with
    ``batch_total`` also the form for several plans or a .zip (``web.batch``)."""
    accept = ",".join(suffixes)
    preferred = [x for x in (".docx", ".pdf", ".txt", ".md", ".html") if x in suffixes]
    shown = preferred + [x for x in suffixes if x not in preferred and x not in _ALIASES]
    boxes = []
    for p in policy_sets:
        on = " checked" if checked is None or p.id in checked else ""
        extra = f"（{len(p.tasks)} 项任务）"
        boxes.append(
            f'<label><input type="checkbox" name="{SET_FIELD}" value="{escape(p.id)}"{on}> '
            f"{escape(p.title)} {escape(extra)} <span class=\"muted\">{escape(p.id)}</span></label>"
        )
    if not boxes:
        boxes.append('<p class="muted">没有可用的政策集。</p>')
    err = f'<div class="error" role="alert">错误：{escape(error)}</div>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>政策对标检查 · 上传规划</title>
<style>{PAGE_CSS.replace("__FONT__", FONT_STACK)}</style>
</head>
<body>
<h1>政策对标检查</h1>
<p>上传一份学校规划或方案，查看它覆盖了哪些政策任务，以及每项任务的证据段落。</p>
{err}
<form id="upload" method="post" action="report" enctype="multipart/form-data">
<label class="file" for="file">规划文件（{escape("、".join(shown))}，不超过 {mb(max_bytes)}）</label>
<input type="file" id="file" name="{FILE_FIELD}" accept="{escape(accept)}" required>
<fieldset>
<legend>对照的政策集</legend>
{"".join(boxes)}
</fieldset>
<button id="go" type="submit">生成报告</button><span id="busy" class="busy">正在分析，请稍候…</span>
</form>
{_batch_form(policy_sets, suffixes, max_bytes, batch_total, checked)}
<p class="muted">文件只在内存中处理，分析完即丢弃，不会保存。
同样的报告也可以 JSON 格式获取：<code>curl -F file=@plan.docx {escape(base_url)}api/report</code></p>
<p class="muted">align {escape(__version__)}</p>
<script>{FORM_JS}</script>
</body>
</html>
"""


def _batch_form(policy_sets: Sequence[PolicySet], suffixes: Sequence[str], max_bytes: int,
                total: int | None, checked: Sequence[str] | None) -> str:
    if total is None:
        return ""
    return batch_form(suffixes, max_bytes, total, policy_sets, checked)


# ---------------------------------------------------------------------------- batch pages

BATCH_CSS = """
body{font-family:__FONT__;max-width:860px;margin:0 auto;padding:32px 24px;color:#1f2328;line-height:1.7}
h1{font-size:1.5em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left;word-break:break-all}
.s-done{color:#1a7f37}.s-failed{color:#cf222e}.s-scoring{color:#9a6700;font-weight:600}
.s-waiting{color:#57606a}.bar{height:12px;border:1px solid #d0d7de;border-radius:4px;overflow:hidden}
.bar span{display:block;height:100%;background:#2da44e}
.error{border:1px solid #cf222e;background:#ffebe9;color:#82071e;border-radius:6px;padding:.7em 1em}
"""
_STATE = {"waiting": "等待中", "scoring": "正在分析…", "done": "✔ 已完成", "failed": "✘ 未能评分"}


def progress_page(job: BatchJob) -> str:
    n, done = len(job.plans), job.done
    rows = "".join(
        f'<tr><td>{i + 1}</td><td>{escape(p.name)}</td><td class="s-{p.state}">{_STATE[p.state]}'
        + (f"：{escape(p.error)}" if p.error else "") + "</td></tr>"
        for i, p in enumerate(job.plans)
    )
    errs = "".join(f'<p class="error">{escape(e)}</p>' for e in job.upload_errors)
    pct = 100 * done / n if n else 100
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>正在分析 {done}/{n} · 政策对标检查</title>
<style>{BATCH_CSS.replace("__FONT__", FONT_STACK)}</style></head><body>
<h1>正在分析 {n} 份规划：已完成 {done} 份</h1>
<div class="bar" role="progressbar" aria-valuenow="{done}" aria-valuemax="{n}"><span style="width:{pct:.0f}%"></span></div>
<p>本页每 2 秒自动刷新；全部完成后显示总览和下载。</p>
{errs}
<table><thead><tr><th>#</th><th>文件</th><th>状态</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"""


def batch_error_page(msg: str) -> str:
    """A batch upload that was refused, with the way back to the form."""
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>错误</title>'
            f"<style>{BATCH_CSS.replace('__FONT__', FONT_STACK)}</style></head><body>"
            f'<p class="error" role="alert">错误：{escape(msg)}</p>'
            '<p><a href="./#batch">← 返回上传页面</a></p></body></html>')


def batch_form(suffixes: Sequence[str], per_file: int, total: int, policy_sets: Sequence[Any],
               checked: Sequence[str] | None = None) -> str:
    """The second form of the upload page: several plans, or a .zip of them."""
    accept = ",".join([*suffixes, ".zip"])
    boxes = "".join(
        f'<label><input type="checkbox" name="{SET_FIELD}" value="{escape(p.id)}"'
        f'{" checked" if checked is None or p.id in checked else ""}> {escape(p.title)}</label>'
        for p in policy_sets
    )
    return f"""
<h2 id="batch">批量分析多份规划</h2>
<form id="batch-upload" method="post" action="batch" enctype="multipart/form-data">
<label class="file" for="files">选择多个规划文件，或一个 .zip 压缩包（每个文件不超过 {mb(per_file)}，合计不超过 {mb(total)}）</label>
<input type="file" id="files" name="{FILES_FIELD}" accept="{escape(accept)}" multiple required>
<fieldset><legend>对照的政策集</legend>{boxes}</fieldset>
<button id="batch-go" type="submit">批量分析</button>
</form>
<p class="muted">完成后给出 规划 × 任务 总览、每份规划的报告，以及 summary.xlsx、reports.jsonl 下载。</p>
"""

