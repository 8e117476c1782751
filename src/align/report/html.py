"""One self-contained HTML page for people who do not use a terminal.

The page must open from an e-mail attachment or a USB stick, offline, on any machine: so every
style is inline, there are no external fonts, scripts or images, and everything reads without
colour (status symbols and Chinese labels carry the meaning; colour only helps). Collapsing uses
``<details>``, which needs no script; one tiny inline script opens them all before printing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import PurePath

from .._text import truncate
from ..types import STATUSES, Evidence, Report, SetResult, TaskResult, Threshold
from ._common import STATUS_SYMBOL, STATUS_ZH, assess_detail, assess_text

NO_SECTION = "（无标题部分）"
FONT_STACK = (
    '"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",'
    '"WenQuanYi Micro Hei",sans-serif'
)

_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:__FONT__;margin:0 auto;max-width:1100px;padding:24px 28px 48px;color:#1f2328;
 background:#fff;line-height:1.65;font-size:15px}
h1{font-size:1.6em;margin:.2em 0 .3em}
h2{font-size:1.3em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid #d0d7de}
h3{font-size:1.1em;margin:1.3em 0 .4em}
.meta{color:#57606a;font-size:.9em;margin:0 0 1em}
.meta dt{display:inline;font-weight:600}.meta dd{display:inline;margin:0 1.2em 0 .3em}
.doc{margin-bottom:2.5em}
.back{display:inline-block;margin-bottom:1em}
.notice{border:1px solid #d4a72c;background:#fff8c5;border-radius:6px;padding:.5em .9em;word-break:break-word}
table{border-collapse:collapse}
.summary td,.summary th{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
.summary th{background:#f6f8fa;white-space:nowrap}
.summary td:first-child{min-width:14em}
.summary td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:flex;height:10px;width:220px;border:1px solid #d0d7de;border-radius:3px;overflow:hidden}
.bar span{display:block;height:100%}
.st{white-space:nowrap;font-weight:600;border-radius:4px;padding:0 .4em}
.st-covered{color:#1a7f37;background:#dafbe1}
.st-partial{color:#9a6700;background:#fff8c5}
.st-missing{color:#cf222e;background:#ffebe9}
.as{font-size:.85em;border-radius:4px;padding:0 .35em;margin-left:.4em;border:1px solid #d0d7de}
.as-assessable{color:#1a7f37}.as-partly{color:#9a6700}.as-vague{color:#cf222e}
.commit{margin:.3em 0 .5em;font-size:.92em}
.bar .st-covered{background:#2da44e}.bar .st-partial{background:#d4a72c}
.bar .st-missing{background:#e5534b}
.heat-wrap{overflow-x:auto;max-width:100%}
.heat{font-size:.82em}
.heat th,.heat td{border:1px solid #d8dee4;padding:2px 4px}
.heat thead th{vertical-align:bottom;font-weight:600;min-width:3.2em;max-width:6.5em;
 word-break:break-all;line-height:1.3;background:#f6f8fa}
.heat tbody th{text-align:left;font-weight:normal;max-width:20em;min-width:12em}
.heat td{text-align:center;font-variant-numeric:tabular-nums;min-width:3.2em}
.heat td.top{font-weight:700;outline:2px solid #0a3069;outline-offset:-2px}
.heat td.none{color:#8c959f}
.legend{font-size:.85em;color:#57606a;margin:.4em 0 1em}
.legend i{display:inline-block;width:1.4em;height:.9em;vertical-align:middle;border:1px solid #d8dee4;
 margin:0 .2em 0 .8em}
.task{border:1px solid #d0d7de;border-radius:6px;margin:.8em 0;padding:.5em .9em;break-inside:avoid-page}
.task>summary{cursor:pointer;list-style-position:outside;margin-left:1em}
.task .tid{color:#57606a;font-size:.85em;margin-right:.3em}
.task .score{color:#57606a;font-size:.85em;margin-left:.5em;font-variant-numeric:tabular-nums}
.reason{margin:.3em 0 .5em;color:#424a53}
.ev{margin:.4em 0;padding:.3em .7em;border-left:3px solid #8c959f;background:#f6f8fa}
.ev .loc{font-size:.85em;color:#57606a}
.ev blockquote{margin:.2em 0;white-space:pre-wrap;word-break:break-word}
mark{background:#ffe58f;color:inherit;padding:0 .1em;border-radius:2px}
.sub{margin:.2em 0 .2em 1.2em;padding:0}
.sub li{margin:.2em 0}
.nosub{color:#cf222e}
.muted{color:#57606a}
.toc li{margin:.15em 0}
@page{size:A4;margin:15mm 12mm}
@media print{
 body{max-width:none;padding:0;font-size:10.5pt}
 a.back,.noprint{display:none}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .heat-wrap{overflow:visible}
 .heat{font-size:7.5pt}
 .heat td,.heat thead th{min-width:2.6em}.heat tbody th{min-width:8em;max-width:14em}
 h2{break-after:avoid-page}h3{break-after:avoid-page}
 .doc+.doc{break-before:page}
 .task>summary{list-style:none;margin-left:0}
}
""".replace("__FONT__", FONT_STACK)

# Opens every <details> before printing so the paper copy has all the evidence.
_JS = (
    "addEventListener('beforeprint',function(){"
    "document.querySelectorAll('details').forEach(function(d){d.open=true})});"
)


def assess_badge(t: TaskResult) -> str:
    """可考核 badge: symbol and words, as the status badge."""
    if t.assessable is None:
        return ""
    v = t.assessable.verdict
    return f'<span class="as as-{escape(v)}">{escape(assess_text(t))}</span>'


def status_badge(status: str) -> str:
    """``✔ 已覆盖`` in a span: the symbol and the label both say it, colour only helps."""
    sym = STATUS_SYMBOL.get(status, "?")
    label = STATUS_ZH.get(status, status)
    return f'<span class="st st-{escape(status)}">{sym} {escape(label)}</span>'


def highlight(text: str, terms: Iterable[str]) -> str:
    """Escape ``text`` and wrap every occurrence of the matched terms in ``<mark>``.

    Longer terms win where terms overlap (职业教育 over 教育), and the text is escaped piece by
    piece so a term can never produce or break markup.
    """
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def _fmt(score: float) -> str:
    return f"{score:.0f}"


class HtmlFormatter:
    """``align score --format html``: one offline page, a section per document."""

    name = "html"

    def __init__(
        self,
        back_href: str | None = None,
        title: str | None = None,
        back_label: str = "← 上传另一份文件",
        notices: Sequence[str] = (),
    ) -> None:
        # back_href: link shown above the report (the web app points it at its upload form,
        # a batch at its overview page, with its own label).
        self.back_href = back_href
        self.back_label = back_label
        self.title = title
        # notices: what the reader had to say about the input (bad bytes replaced, ...), shown
        # above the report as the CLI shows them on stderr.
        self.notices = tuple(notices)

    # ------------------------------------------------------------------ page
    def format(self, reports: Sequence[Report]) -> str:
        reports = list(reports)
        names = [_doc_name(r) for r in reports]
        title = self.title or (
            f"政策对标报告 · {names[0]}" if len(reports) == 1 else f"政策对标报告（{len(reports)} 份文件）"
        )
        parts = page_start(title, _CSS)
        if self.back_href is not None:
            parts.append(f'<a class="back" href="{escape(self.back_href)}">{escape(self.back_label)}</a>')
        parts.append(f"<h1>{escape(title)}</h1>")
        for note in self.notices:
            parts.append(f'<p class="notice" role="status">提示：{escape(note)}</p>')
        if not reports:
            parts.append('<p class="muted">没有报告。(no reports)</p>')
        if len(reports) > 1:
            parts.append('<nav class="noprint"><ol class="toc">')
            for i, name in enumerate(names):
                parts.append(f'<li><a href="#doc-{i + 1}">{escape(name)}</a></li>')
            parts.append("</ol></nav>")
        for i, report in enumerate(reports):
            parts.append(self._document(report, i + 1, multi=len(reports) > 1))
        parts.append(
            '<p class="legend">状态说明：'
            f"{status_badge('covered')} 规划中有明确证据；"
            f"{status_badge('partial')} 有相关内容但不充分；"
            f"{status_badge('missing')} 未找到证据。"
            "自动判断仅供参考，请以原文为准。</p>"
        )
        parts.append(f"<script>{_JS}</script>")
        parts.append("</body>")
        parts.append("</html>")
        return "\n".join(parts) + "\n"

    # ------------------------------------------------------------------ one document
    def _document(self, r: Report, n: int, *, multi: bool) -> str:
        d = r.document
        out = [f'<section class="doc" id="doc-{n}">']
        if multi:
            out.append(f"<h2>{n}. {escape(_doc_name(r))}</h2>")
        meta = [
            ("文件", d.path),
            ("格式", d.format or "—"),
            ("字数", str(d.chars)),
            ("片段", str(d.chunks)),
            ("模型", r.model.name + (f" {r.model.version}" if r.model.version else "")),
        ]
        if r.model.calibration:
            meta.append(("校准", r.model.calibration))
        if r.align_version:
            meta.append(("align", r.align_version))
        meta.append(("SHA-256", d.sha256[:12]))
        out.append(
            '<dl class="meta">'
            + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in meta)
            + "</dl>"
        )
        out.append(self._summary(r.policy_sets))
        out.append(self._heatmap(r))
        for s in r.policy_sets:
            out.append(self._set_detail(s))
        out.append("</section>")
        return "\n".join(out)

    def _summary(self, sets: Sequence[SetResult]) -> str:
        out = [
            "<h2>总览 Summary</h2>",
            '<table class="summary"><thead><tr><th>政策集</th>',
            *(f"<th>{status_badge(s)}</th>" for s in STATUSES),
            "<th>任务数</th><th>分布</th></tr></thead><tbody>",
        ]
        for s in sets:
            summ = s.summary
            total = len(s.tasks) or 1
            bar = "".join(
                f'<span class="st-{st}" style="width:{100 * summ[st] / total:.1f}%"></span>'
                for st in STATUSES
            )
            out.append(
                f'<tr><td><a href="#set-{escape(s.id)}">{escape(s.title)}</a>'
                f' <span class="muted">({escape(s.id)})</span></td>'
                + "".join(f'<td class="n">{summ[st]}</td>' for st in STATUSES)
                + f'<td class="n">{len(s.tasks)}</td>'
                + f'<td><div class="bar" aria-hidden="true">{bar}</div></td></tr>'
            )
        out.append("</tbody></table>")
        if not sets:
            out.append('<p class="muted">没有选择政策集。</p>')
        return "\n".join(out)

    # ------------------------------------------------------------------ heat map
    def _heatmap(self, r: Report) -> str:
        head = "<h2>任务 × 规划章节 热力图</h2>"
        rows = r.task_rows()
        if not r.chunks or not rows:
            return head + '<p class="muted">本报告没有逐片段得分，无法绘制热力图。</p>'

        sections: list[str] = []
        index: dict[str, int] = {}
        col_of: list[int] = []
        for c in r.chunks:
            name = (c.heading_path[0].strip() if c.heading_path else "") or NO_SECTION
            if name not in index:
                index[name] = len(sections)
                sections.append(name)
            col_of.append(index[name])

        cells: list[list[float | None]] = []
        for _t, row in rows:
            best: list[float | None] = [None] * len(sections)
            for j, v in enumerate(row):
                k = col_of[j]
                cur = best[k]
                if cur is None or v > cur:
                    best[k] = v
            cells.append(best)

        flat = [v for row in cells for v in row if v is not None]
        lo, hi = (min(flat), max(flat)) if flat else (0.0, 1.0)

        out = [head, '<div class="heat-wrap"><table class="heat"><thead><tr><th>任务 \\ 章节</th>']
        for name in sections:
            short = truncate(name, 14)
            out.append(f'<th scope="col" title="{escape(name)}">{escape(short)}</th>')
        out.append("</tr></thead><tbody>")
        for (t, _row), row in zip(rows, cells, strict=True):
            out.append(
                f'<tr><th scope="row"><a href="#task-{escape(t.id)}">'
                f'{STATUS_SYMBOL.get(t.status, "?")} {escape(truncate(t.title, 24))}</a></th>'
            )
            top = max((v for v in row if v is not None), default=None)
            for name, v in zip(sections, row, strict=True):
                if v is None:
                    out.append('<td class="none">·</td>')
                    continue
                alpha = _intensity(v, t.threshold, lo, hi)
                fg = "#fff" if alpha > 0.55 else "#1f2328"
                cls = ' class="top"' if v == top and _reaches(v, t.threshold) else ""
                out.append(
                    f'<td{cls} style="background:rgba(9,105,218,{alpha:.2f});color:{fg}"'
                    f' title="{escape(t.title)} · {escape(name)}: {_fmt(v)}">{_fmt(v)}</td>'
                )
            out.append("</tr>")
        out.append("</tbody></table></div>")
        out.append(
            '<p class="legend">每格为该任务在该章节中最强片段的置信度（0-100）；颜色越深越相关，'
            "加框的格子是该任务达到阈值的最佳章节。"
            '<i style="background:rgba(9,105,218,.08)"></i>弱'
            '<i style="background:rgba(9,105,218,.45)"></i>部分'
            '<i style="background:rgba(9,105,218,.85)"></i>强</p>'
        )
        return "\n".join(out)

    # ------------------------------------------------------------------ task details
    def _set_detail(self, s: SetResult) -> str:
        summ = s.summary
        counts = "，".join(f"{STATUS_ZH[st]} {summ[st]}" for st in STATUSES)
        out = [
            f'<h2 id="set-{escape(s.id)}">{escape(s.title)}</h2>',
            f'<p class="muted">{escape(s.id)} · 共 {len(s.tasks)} 项任务：{escape(counts)}</p>',
        ]
        for t in s.tasks:
            out.append(self._task(t))
        return "\n".join(out)

    def _task(self, t: TaskResult) -> str:
        out = [
            f'<details class="task" id="task-{escape(t.id)}" data-status="{escape(t.status)}" open>',
            f"<summary>{status_badge(t.status)} "
            f'<span class="tid">{escape(t.id)}</span><strong>{escape(t.title)}</strong>'
            f'<span class="score">置信度 {_fmt(t.score)}{_threshold_text(t.threshold)}</span>'
            f"{assess_badge(t)}"
            "</summary>",
        ]
        if t.reason:
            out.append(f'<p class="reason">{escape(t.reason)}</p>')
        if t.assessable is not None and t.evidence:
            out.append(f'<p class="commit"><strong>可考核：</strong>{escape(assess_detail(t))}</p>')
        if t.evidence:
            out.append(f"<h3>证据（{len(t.evidence)} 处）</h3>")
            out.extend(_evidence(e) for e in t.evidence)
        else:
            out.append('<p class="muted">规划中未找到证据段落。</p>')
        if t.sub_measures:
            with_ev = [m for m in t.sub_measures if m.evidenced]
            without = [m for m in t.sub_measures if not m.evidenced]
            out.append(f"<h3>子措施（{len(with_ev)}/{len(t.sub_measures)} 有证据）</h3>")
            if with_ev:
                out.append('<ul class="sub">')
                for m in with_ev:
                    where = "；".join(
                        e.location.label() or e.chunk_id for e in m.evidence
                    )
                    out.append(
                        f"<li>{STATUS_SYMBOL['covered']} {escape(m.title)}"
                        f' <span class="muted">({_fmt(m.score)}'
                        + (f" · {escape(where)}" if where else "")
                        + ")</span></li>"
                    )
                out.append("</ul>")
            if without:
                out.append('<p class="nosub"><strong>无证据的子措施：</strong></p><ul class="sub">')
                for m in without:
                    out.append(
                        f"<li>{STATUS_SYMBOL['missing']} {escape(m.title)}"
                        f' <span class="muted">({_fmt(m.score)})</span></li>'
                    )
                out.append("</ul>")
        out.append("</details>")
        return "\n".join(out)


# ---------------------------------------------------------------------- helpers


def _evidence(e: Evidence) -> str:
    label = e.location.label() or e.chunk_id
    terms = (
        f" · 命中词：{escape('、'.join(e.matched_terms))}" if e.matched_terms else ""
    )
    return (
        '<div class="ev">'
        f'<div class="loc">位置：{escape(label)} · 置信度 {_fmt(e.score)}{terms}</div>'
        f"<blockquote>{highlight(e.text, e.matched_terms)}</blockquote>"
        "</div>"
    )


def _threshold_text(th: Threshold | None) -> str:
    if th is None:
        return ""
    return f"（阈值：覆盖 ≥ {_fmt(th.covered)}，部分 ≥ {_fmt(th.partial)}）"


def _reaches(v: float, th: Threshold | None) -> bool:
    """Whether a passage's confidence makes it evidence for the task."""
    return th is None or v >= (th.evidence if th.evidence is not None else th.partial)


def _intensity(v: float, th: Threshold | None, lo: float, hi: float) -> float:
    """Cell shade in [0.04, 0.9]: the passage's confidence (0-100), the same scale for every
    task, so a dark cell means the same thing everywhere."""
    return 0.04 + 0.86 * max(0.0, min(100.0, v)) / 100.0


def page_start(title: str, css: str) -> list[str]:
    """The lines of a self-contained page up to and including ``<body>``."""
    return [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="align">',
        f"<title>{escape(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
    ]


def _doc_name(r: Report) -> str:
    p = r.document.path
    return PurePath(p.replace("\\", "/")).name or p or "（未命名文件）"


__all__ = ["HtmlFormatter", "highlight", "status_badge", "STATUS_ZH", "STATUS_SYMBOL"]
