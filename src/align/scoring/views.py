"""What the model reads: a task's views and lexical queries, and a chunk's text.

Each task is read in several *views*: its main text (title + description) and each
sub-measure. Views are embedded as queries (``query: `` for e5), chunks as passages; the lexical
signal looks for each view's bag of words. Plain text in, plain text out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..chunk import unwrap
from ..types import Chunk, Task


def task_main_text(task: Task) -> str:
    return f"{task.title}。{task.description}".strip()


def sub_measure_text(task: Task, i: int) -> str:
    m = task.sub_measures[i]
    return f"{task.title}：{m.title}。{m.description}".strip("。 ") + "。"


def lexical_query(task: Task) -> str:
    """The bag of words the lexical signal looks for: title, aliases and key terms (terms twice:
    they are the words a reviewer would search for)."""
    return " ".join([task.title, *task.aliases, *task.terms, *task.terms])


def sub_lexical_query(task: Task, i: int) -> str:
    m = task.sub_measures[i]
    return " ".join([m.title, *m.terms, *m.terms])


def chunk_embed_text(chunk: Chunk, heading_context: bool) -> str:
    """What the model sees for a chunk: its text with page-width line wraps removed, and the
    innermost heading, which gives a short paragraph its topic."""
    text = unwrap(chunk.text)
    if heading_context and chunk.heading_path:
        head = chunk.heading_path[-1]
        if head and not text.startswith(head):
            return f"{head}：{text}"
    return text


@dataclass
class View:
    """One way of reading a task: its main text (``sub_index`` None) or one sub-measure."""

    task_index: int
    sub_index: int | None  # None for the task's main view
    text: str


def views(tasks: Sequence[Task]) -> list[View]:
    """Every task's views, the main one first, in report order."""
    out: list[View] = []
    for ti, t in enumerate(tasks):
        out.append(View(ti, None, task_main_text(t)))
        for si in range(len(t.sub_measures)):
            out.append(View(ti, si, sub_measure_text(t, si)))
    return out


def lexical_queries(tasks: Sequence[Task]) -> list[str]:
    """One bag of words per view, in the order of :func:`views`."""
    out: list[str] = []
    for t in tasks:
        out.append(lexical_query(t))
        out.extend(sub_lexical_query(t, si) for si in range(len(t.sub_measures)))
    return out
