"""``index.html``: the batch's one offline page. A bar chart of how many plans cover each task
(inline SVG), the plans x tasks matrix (sortable by a click on any header, coloured by status,
every cell linking to that task in the plan's own report page), and the failed plans with why.

Like the single-plan page it must open from a USB stick: inline styles and script, no external
asset; symbols and Chinese labels carry the meaning, colour only helps.
"""

from __future__ import annotations

from html import escape

from ..types import STATUSES
from ..vocab import STATUS_RANK
from ._common import STATUS_SYMBOL, STATUS_ZH, counts_text
from .html import FONT_STACK, page_start
from .overview import Overview, PlanRow

_COLOURS = {"covered": "#2da44e", "partial": "#d4a72c", "missing": "#e5534b"}

_CSS = """
*{box-sizing:border-box}
body{font-family:__FONT__;margin:0 auto;max-width:1400px;padding:24px 28px 48px;color:#1f2328;
 line-height:1.6;font-size:15px}
h1{font-size:1.6em;margin:.2em 0 .3em}
h2{font-size:1.25em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid #d0d7de}
.meta{color:#57606a}.meta b{color:#1f2328}
.dl a{margin-right:1.2em}
.wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse}
.m th,.m td{border:1px solid #d8dee4;padding:2px 5px}
.m thead th{background:#f6f8fa;cursor:pointer;vertical-align:bottom;font-size:.85em;
 position:sticky;top:0;user-select:none}
.m thead th.t{min-width:3.4em;max-width:6em;word-break:break-all;line-height:1.25}
.m thead th[aria-sort=ascending]::after{content:" ▲"}.m thead th[aria-sort=descending]::after{content:" ▼"}
.m tbody th{text-align:left;font-weight:normal;min-width:14em;max-width:24em;word-break:break-all}
.m td{text-align:center;font-variant-numeric:tabular-nums;white-space:nowrap}
.m td a{display:block;color:inherit;text-decoration:none;font-weight:600}
.c-covered{background:#dafbe1;color:#1a7f37}.c-partial{background:#fff8c5;color:#9a6700}
.c-missing{background:#ffebe9;color:#cf222e}
.m td.err{text-align:left;color:#82071e;background:#fff5f5;white-space:normal}
.tasks td,.tasks th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
.tasks td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend{font-size:.9em;color:#57606a}
.legend span{display:inline-block;padding:0 .4em;border-radius:3px;margin:0 .2em 0 .8em;font-weight:600}
.errors li{color:#82071e;word-break:break-word}
.muted{color:#57606a}
@media print{.dl{display:none}.m thead th{position:static}}
"""

_JS = """
document.querySelectorAll('table.m thead th').forEach(function(th,i){
 th.addEventListener('click',function(){
  var tb=th.closest('table').tBodies[0],rows=Array.prototype.slice.call(tb.rows);
  var asc=th.getAttribute('aria-sort')!=='ascending';
  th.closest('tr').querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  function key(r){var c=r.cells[i];if(!c)return '';var v=c.getAttribute('data-v');
   return v===null?c.textContent.trim():parseFloat(v)}
  rows.sort(function(a,b){var fa=a.classList.contains('failed'),fb=b.classList.contains('failed');
   if(fa!==fb)return fa?1:-1;var x=key(a),y=key(b);
   var d=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y),'zh');
   return asc?d:-d});
  rows.forEach(function(r){tb.appendChild(r)});
 });
});
"""


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


class OverviewHtml:
    name = "html"
    filename = "index.html"

    def render(self, ov: Overview) -> bytes:
        n, ok, bad = len(ov.plans), len(ov.scored), len(ov.failed)
        models = sorted({p.model for p in ov.scored if p.model})
        parts = [
            *page_start(f"批量评分总览（{n} 份规划）", _CSS.replace("__FONT__", FONT_STACK)),
            f"<h1>批量评分总览（{n} 份规划）</h1>",
            f'<p class="meta">已评分 <b>{ok}</b> 份，失败 <b>{bad}</b> 份；'
            f"政策集 {escape('、'.join(s.title for s in ov.sets) or '—')}；"
            f"模型 {escape('、'.join(models) or '—')}</p>",
            '<p class="dl">下载：<a href="summary.xlsx">summary.xlsx（Excel）</a>'
            '<a href="summary.csv">summary.csv</a><a href="reports.jsonl">reports.jsonl（JSON）</a></p>',
        ]
        if not ov.plans:
            parts.append('<p class="muted">还没有评分结果。(no plans scored yet)</p>')
        if ov.tasks:
            parts.append("<h2>各任务覆盖情况（占已评分规划的比例）</h2>")
            parts.append(self._chart(ov))
        parts.append(self._matrix(ov))
        if ov.tasks:
            parts.append(self._task_table(ov))
        if ov.failed:
            parts.append(f"<h2>未能评分的规划（{bad} 份）</h2><ul class=\"errors\">")
            parts.extend(f"<li>{escape(p.error or '')}</li>" for p in ov.failed)
            parts.append("</ul>")
        parts.append(
            '<p class="legend">状态：'
            + "".join(
                f'<span class="c-{s}">{STATUS_SYMBOL[s]} {STATUS_ZH[s]}</span>' for s in STATUSES
            )
            + "。点击表头排序；点击单元格查看该规划对这项任务的证据。自动判断仅供参考，请以原文为准。</p>"
        )
        parts.append(f"<script>{_JS}</script>")
        parts.append("</body></html>")
        return ("\n".join(parts) + "\n").encode("utf-8")

    # ------------------------------------------------------------------ chart
    def _chart(self, ov: Overview) -> str:
        label_w, bar_w, pct_w, row_h = 90, 520, 210, 24
        width = label_w + bar_w + pct_w
        height = row_h * len(ov.tasks) + 8
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-size="13" aria-label="各任务覆盖比例">'
        ]
        for i, t in enumerate(ov.tasks):
            y = 4 + i * row_h
            sh = ov.task_shares(t.id)
            out.append(f"<g><title>{escape(t.id)} {escape(t.title)}：" + "，".join(
                f"{STATUS_ZH[s]} {_pct(sh[s])}" for s in STATUSES) + "</title>")
            out.append(f'<text x="0" y="{y + 16}">{escape(t.id)}</text>')
            x = float(label_w)
            for s in STATUSES:
                w = bar_w * sh[s]
                if w > 0:
                    out.append(
                        f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
                        f'fill="{_COLOURS[s]}"/>'
                    )
                x += w
            if not ov.scored:
                out.append(
                    f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" '
                    'fill="none" stroke="#d0d7de"/>'
                )
            txt = " ".join(f"{STATUS_SYMBOL[s]}{_pct(sh[s])}" for s in STATUSES)
            out.append(f'<text x="{label_w + bar_w + 8}" y="{y + 16}">{txt}</text></g>')
        out.append("</svg>")
        return "\n".join(out)

    # ------------------------------------------------------------------ matrix
    def _matrix(self, ov: Overview) -> str:
        out = ['<h2>规划 × 任务</h2><div class="wrap"><table class="m"><thead><tr>',
               "<th>规划</th>"]
        out.extend(f'<th title="{escape(s.title)}">{escape(s.id)}<br>覆盖率</th>' for s in ov.sets)
        out.extend(
            f'<th class="t" title="{escape(t.title)}">{escape(t.id)}</th>' for t in ov.tasks
        )
        out.append("</tr></thead><tbody>")
        for p in ov.plans:
            out.append(self._row(ov, p))
        out.append("</tbody></table></div>")
        return "\n".join(out)

    def _row(self, ov: Overview, p: PlanRow) -> str:
        name = escape(p.name)
        label = f'<a href="{escape(p.html)}">{name}</a>' if p.html else name
        head = f'<th title="{escape(p.path)}">{label}</th>'
        if p.error is not None:
            span = len(ov.sets) + len(ov.tasks)
            cell = f'<td class="err" colspan="{max(span, 1)}">✘ 未能评分：{escape(p.error)}</td>'
            return f'<tr class="failed">{head}{cell}</tr>'
        cells = []
        for s in ov.sets:
            share = p.set_share(s)
            c = p.set_counts(s)
            tip = counts_text(c)
            cells.append(
                f'<td data-v="{share if share is not None else -1}" title="{tip}">'
                f"{_pct(share) if share is not None else '—'}</td>"
            )
        for t in ov.tasks:
            st = p.status.get(t.id)
            if st not in STATUS_RANK:
                cells.append('<td data-v="-1" class="muted">—</td>')
                continue
            score = p.score.get(t.id, 0.0)
            tip = f"{p.name} · {t.id} {t.title}：{STATUS_ZH[st]}，得分 {score:.2f}"
            sym = STATUS_SYMBOL[st]
            body = f'<a href="{escape(p.html)}#task-{escape(t.id)}">{sym}</a>' if p.html else sym
            cells.append(
                f'<td class="c-{st}" data-v="{STATUS_RANK[st] * 1e6 + score:.4f}" '
                f'title="{escape(tip)}">{body}</td>'
            )
        return f"<tr>{head}{''.join(cells)}</tr>"

    def _task_table(self, ov: Overview) -> str:
        out = [
            "<h2>任务一览</h2>",
            '<table class="tasks"><thead><tr><th>任务</th><th>政策集</th><th>标题</th>',
            *(f"<th>{STATUS_SYMBOL[s]} {STATUS_ZH[s]}</th>" for s in STATUSES),
            "</tr></thead><tbody>",
        ]
        for t in ov.tasks:
            c, sh = ov.task_counts(t.id), ov.task_shares(t.id)
            out.append(
                f"<tr><td>{escape(t.id)}</td><td>{escape(t.set_id)}</td><td>{escape(t.title)}</td>"
                + "".join(f'<td class="n">{c[s]}（{_pct(sh[s])}）</td>' for s in STATUSES)
                + "</tr>"
            )
        out.append("</tbody></table>")
        return "\n".join(out)
