"""可考核: does a plan commit to targets, time nodes and owners for the tasks it claims?

``extract(text, plan)`` reads one passage and returns its ``Commitments`` (targets, deadlines,
owners); ``assess_task(result, by_chunk)`` gives a task's verdict from the commitments of its
supporting passages (``TaskResult.evidence`` as scoring chose it); ``annotate(report, doc)``
adds the verdict to every task of a report. Plain frozen dataclasses in and out
(``align.types``); jieba and cn2an load only when a passage has a number or an owner word.

targets (numbers with what they count), deadlines (time nodes and the plan's own year),
owners (responsible units), _text (number and clause helpers the three share); this module
joins them into a verdict.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..types import (
    Assessable,
    Chunk,
    Commitments,
    Deadline,
    Owner,
    Report,
    SetResult,
    Target,
    TaskResult,
)
from ..vocab import VERDICT_SYMBOL, VERDICT_ZH  # noqa: F401  (VERDICT_SYMBOL: kept for one release)
from .deadlines import PlanTime, extract_deadlines, plan_time
from .owners import extract_owners
from .targets import extract_targets

__all__ = [
    "PlanTime",
    "plan_time",
    "extract",
    "extract_chunks",
    "assess_task",
    "annotate",
    "annotate_sets",
    "VERDICT_LABEL",
]

# the verdict words live in align.vocab; the old names are kept for one release
VERDICT_LABEL = VERDICT_ZH


def extract(text: str, plan: PlanTime | None = None) -> Commitments:
    """Targets, time nodes and owners of one passage; offsets are into ``text``."""
    deadlines = extract_deadlines(text, plan)
    targets = [
        t
        for t in extract_targets(text)
        if not any(d.start <= t.start and t.end <= d.end for d in deadlines)
    ]
    return Commitments(tuple(targets), tuple(deadlines), tuple(extract_owners(text)))


def _tag(c: Commitments, chunk_id: str) -> Commitments:
    return Commitments(
        tuple(dataclasses.replace(t, chunk_id=chunk_id) for t in c.targets),
        tuple(dataclasses.replace(d, chunk_id=chunk_id) for d in c.deadlines),
        tuple(dataclasses.replace(o, chunk_id=chunk_id) for o in c.owners),
    )


@lru_cache(maxsize=1)
def extractor_id() -> str:
    """Changes whenever the extraction rules do: a hash of this package's source."""
    h = hashlib.sha256(b"jieba-0.42.1")
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def _cache_key(text: str, plan: PlanTime | None) -> str:
    p = plan or PlanTime()
    return hashlib.sha256(f"{p.year}|{p.period}|{text}".encode()).hexdigest()


def _to_json(c: Commitments) -> bytes:
    return json.dumps(dataclasses.asdict(c), ensure_ascii=False).encode("utf-8")


def _from_json(blob: bytes) -> Commitments:
    d: dict[str, Any] = json.loads(blob.decode("utf-8"))
    return Commitments(
        tuple(Target(**t) for t in d["targets"]),
        tuple(Deadline(**x) for x in d["deadlines"]),
        tuple(Owner(**o) for o in d["owners"]),
    )


def extract_chunks(
    chunks: Iterable[Chunk], plan: PlanTime | None = None, store: Any = None
) -> dict[str, Commitments]:
    """Commitments per chunk id. With ``store`` (the embedding cache) a passage already read
    by the same rules is not read again, so a warm re-score loads neither jieba nor cn2an."""
    chunks = list(chunks)
    kind = f"assess/{extractor_id()}"
    keys = {c.id: _cache_key(c.text, plan) for c in chunks}
    cached: dict[str, bytes] = {}
    if store is not None:  # the cache guards itself: a damaged one only costs the extraction
        cached = store.get_blobs(kind, keys.values())
    out: dict[str, Commitments] = {}
    new: dict[str, bytes] = {}
    for c in chunks:
        blob = cached.get(keys[c.id])
        found = None
        if blob is not None:
            try:
                found = _from_json(blob)
            except (ValueError, KeyError, TypeError):
                found = None
        if found is None:
            found = extract(c.text, plan)
            new[keys[c.id]] = _to_json(found)
        out[c.id] = _tag(found, c.id)
    if store is not None and new:
        store.put_blobs(kind, new)
    return out


def verdict_of(targets: int, deadlines: int) -> str:
    if targets and deadlines:
        return "assessable"
    if targets or deadlines:
        return "partly"
    return "vague"


def assess_task(result: TaskResult, by_chunk: Mapping[str, Commitments]) -> Assessable:
    """The verdict on a task's supporting passages, with what they commit to."""
    targets: list[Target] = []
    deadlines: list[Deadline] = []
    owners: list[str] = []
    seen_chunks: set[str] = set()
    for ev in result.evidence:
        if ev.chunk_id in seen_chunks:
            continue
        seen_chunks.add(ev.chunk_id)
        c = by_chunk.get(ev.chunk_id)
        if c is None:
            continue
        targets.extend(c.targets)
        deadlines.extend(c.deadlines)
        for o in c.owners:
            if o.name not in owners:
                owners.append(o.name)
    return Assessable(
        verdict=verdict_of(len(targets), len(deadlines)),  # type: ignore[arg-type]
        targets=tuple(targets),
        deadlines=tuple(deadlines),
        owners=tuple(owners),
    )


def annotate_sets(
    sets: Iterable[SetResult],
    chunks: Iterable[Chunk],
    plan: PlanTime | None = None,
    store: Any = None,
) -> tuple[SetResult, ...]:
    """Every task with its ``assessable`` verdict; only evidence passages are read."""
    sets = tuple(sets)
    wanted = {e.chunk_id for s in sets for t in s.tasks for e in t.evidence}
    by_chunk = extract_chunks((c for c in chunks if c.id in wanted), plan, store)
    return tuple(
        dataclasses.replace(
            s,
            tasks=tuple(
                dataclasses.replace(t, assessable=assess_task(t, by_chunk)) for t in s.tasks
            ),
        )
        for s in sets
    )


def annotate(report: Report, text: str | None = None) -> Report:
    """``report`` with every task's verdict; ``text`` (the document) gives the plan's year."""
    plan = plan_time(text) if text else None
    if plan is None and report.chunks:
        plan = plan_time("\n".join(c.text for c in report.chunks[:3]))
    return dataclasses.replace(
        report, policy_sets=annotate_sets(report.policy_sets, report.chunks, plan)
    )


def owner_names(owners: Iterable[Owner]) -> list[str]:
    out: list[str] = []
    for o in owners:
        if o.name not in out:
            out.append(o.name)
    return out
