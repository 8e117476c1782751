"""`align explain`: one task's passages ranked by confidence, with the thresholds they face.

The ranking reads only the report (its task x chunk matrix and chunks); the CLI scores the plan
and hands the report here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..types import Chunk, Report, Task, TaskResult
from ._common import STATUS_STYLE, status_text, visible

NO_FLOOR = 101.0  # a task without thresholds: no passage is marked as evidence


@dataclass(frozen=True)
class Passage:
    rank: int  # 1-based
    chunk: Chunk
    score: float  # the passage's confidence for the task (0-100)
    evidence: bool  # reaches the task's evidence cut-off


def rank_passages(report: Report, result: TaskResult, top: int) -> list[Passage]:
    """The ``top`` passages of the plan for the task, best first (ties in chunk order)."""
    row = report.task_row(result.id)
    floor = result.threshold.evidence_floor if result.threshold else NO_FLOOR
    ranked = sorted(range(len(row)), key=lambda i: -row[i])[:top]
    return [Passage(n, report.chunks[i], row[i], row[i] >= floor)
            for n, i in enumerate(ranked, 1)]


def render_explain(
    report: Report,
    task: Task,
    console: Any,
    *,
    top: int,
    words_of: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Print the task's status, thresholds, ranked passages (key terms highlighted) and
    sub-measures on a rich ``console``. ``words_of``: the task index's words per key term, so
    highlighting needs no word cutter (:func:`align.scoring.lexical.matched_terms`)."""
    from rich.table import Table
    from rich.text import Text

    from ..scoring.lexical import matched_terms

    result = report.task(task.id)
    console.print(Text.assemble((f"{task.id} {task.title}", "bold"), f"  （{report.document.path}）"))
    console.print(Text(status_text(result.status), style=STATUS_STYLE[result.status]), result.reason)
    th = result.threshold
    if th:
        console.print(f"阈值 thresholds（置信度 0-100）：覆盖 covered ≥ {th.covered:.0f}，"
                      f"部分覆盖 partial ≥ {th.partial:.0f}，单段证据 evidence ≥ {th.evidence_floor:.0f}"
                      f"（校准 {report.model.calibration}，模型 {report.model.name}）")
    terms = [*task.terms, *task.aliases]
    table = Table(show_lines=True)
    table.add_column("#", no_wrap=True)
    table.add_column("置信度", no_wrap=True)
    table.add_column("位置", max_width=18, overflow="fold")
    table.add_column("段落（命中词高亮）", ratio=1, overflow="fold")
    for p in rank_passages(report, result, top):
        text = Text(visible(p.chunk.text))  # control characters from the plan shown, not sent
        for term in matched_terms(terms, p.chunk.text, words_of):
            text.highlight_words([term], style="bold reverse")
        mark = "✔" if p.evidence else " "
        table.add_row(f"{p.rank}{mark}", f"{p.score:.0f}", Text(visible(p.chunk.location.label())), text)
    console.print(table)
    if result.sub_measures:
        console.print("[bold]具体举措 sub-measures[/bold]")
        for m in result.sub_measures:
            flag = "✔ 有证据" if m.evidenced else "✘ 无证据"
            where = f"（{m.evidence[0].location.label()}）" if m.evidence else ""
            console.print(f"  {flag}  {m.title}  置信度 {m.score:.0f}{where}")
