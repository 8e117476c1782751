"""Plain data that flows through the pipeline: read -> chunk -> embed -> score -> report.

Every step takes and returns these frozen dataclasses, so each step can be tested, cached and
replaced on its own. Nothing here imports a heavy library.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["covered", "partial", "missing"]
STATUSES: tuple[Status, ...] = ("covered", "partial", "missing")

REPORT_SCHEMA = "align-report/1"
ERROR_SCHEMA = "align-batch-error/1"  # a reports.jsonl line for a plan that could not be scored
# compatible revisions of schema 1: 1.1 adds each task's "assessable" (可考核) object
REPORT_SCHEMA_VERSION = "1.1"


# --------------------------------------------------------------------------- read


@dataclass(frozen=True)
class Block:
    """One structural unit of a document as its reader found it: a heading, a paragraph or a
    table cell row. ``start``/``end`` are offsets into ``Document.text`` so a chunk can always be
    traced back to the exact characters it came from."""

    text: str
    start: int
    end: int
    kind: Literal["heading", "paragraph", "table"] = "paragraph"
    level: int | None = None  # heading level when the source says so (docx style, markdown #)
    page: int | None = None  # 1-based, PDF only
    line: int | None = None  # 1-based line of the block's first character (text-like formats)


@dataclass(frozen=True)
class Document:
    path: str
    text: str  # the decoded text; blocks point into it
    blocks: tuple[Block, ...]
    format: str  # "txt" | "md" | "docx" | "pdf" | "html"
    sha256: str  # of the raw bytes on disk
    encoding: str | None = None  # detected or forced text encoding, text formats only


# --------------------------------------------------------------------------- chunk


@dataclass(frozen=True)
class Location:
    start: int  # character offsets into Document.text
    end: int
    page: int | None = None
    heading: str | None = None  # heading path, outermost first, joined with " > "
    line: int | None = None
    paragraph: int | None = None  # 0-based index of the block the chunk starts in

    def label(self) -> str:
        """Short Chinese location label for humans: 第3页 · 二、… · 第12行."""
        parts: list[str] = []
        if self.page is not None:
            parts.append(f"第{self.page}页")
        if self.heading:
            parts.append(self.heading.split(" > ")[-1])
        if self.line is not None:
            parts.append(f"第{self.line}行")
        elif self.paragraph is not None:
            parts.append(f"第{self.paragraph + 1}段")
        return " · ".join(parts)


@dataclass(frozen=True)
class Chunk:
    id: str  # stable within a document: "c0001", ...
    text: str
    location: Location
    heading_path: tuple[str, ...] = ()


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class SubMeasure:
    id: str
    title: str  # official wording where the source gives one
    description: str = ""  # matching text (ours)
    terms: tuple[str, ...] = ()
    official: bool = True  # False when the sub-measure is our own structuring, not the source's


@dataclass(frozen=True)
class Threshold:
    """Cut-offs on the 0-100 confidence scale: a task is covered if its confidence is >= covered
    (and enough passages support it), partial if >= partial; a passage supports a task if its own
    confidence is >= evidence (None: the partial cut-off)."""

    covered: float
    partial: float
    evidence: float | None = None

    @property
    def evidence_floor(self) -> float:
        """The cut-off a single passage must reach to count as evidence."""
        return self.evidence if self.evidence is not None else self.partial


@dataclass(frozen=True)
class Task:
    id: str
    set_id: str
    title: str  # official title, verbatim
    description: str  # text written for matching (ours, not the policy's)
    official_text: str = ""  # verbatim source wording, when the source has more than the title
    sub_measures: tuple[SubMeasure, ...] = ()
    aliases: tuple[str, ...] = ()  # other ways plans phrase the task
    terms: tuple[str, ...] = ()  # key terms that are evidence
    negative_terms: tuple[str, ...] = ()  # look related but are not evidence
    threshold: Threshold | None = None  # per-task override from the policy file
    broad: bool = False  # matches almost any education text (立德树人, 治理): stricter thresholds


@dataclass(frozen=True)
class PolicySet:
    id: str
    title: str
    document: str  # full official document name
    issuer: str
    number: str  # 文号, may be ""
    date: str  # ISO date or year
    tasks: tuple[Task, ...]
    source: str = ""  # where the text was taken from
    path: str = ""  # file it was loaded from
    # the plan must mention one of these somewhere for any task of the set to be "covered"
    # (vocational policies: 职业, 高职, 校企 ...); without them a task is at most "partial"
    context_terms: tuple[str, ...] = ()


# --------------------------------------------------------------------------- score / report


@dataclass(frozen=True)
class Evidence:
    chunk_id: str
    text: str
    score: float
    location: Location
    matched_terms: tuple[str, ...] = ()
    raw_score: float | None = None  # log-odds behind ``score`` (a 0-100 confidence)


@dataclass(frozen=True)
class Target:
    """A quantified commitment: a number with what it counts (``新增双师型教师30名以上``)."""

    text: str  # the span as written: comparator, number and unit
    value: int | float | str  # the number; "1:18" for a ratio
    unit: str  # measure word or unit as written: 名, %, 万元, 个百分点, 比
    comparator: str = ""  # as written: 以上, 不少于, 达到, 由…增加到, 余 ...
    measured: str = ""  # the thing counted (noun phrase), "" when not found
    start: int = 0  # offsets into the chunk text
    end: int = 0
    upper: int | float | None = None  # high end of a range (7-9个)
    from_value: int | float | None = None  # 由2个增加到6个: 2
    chunk_id: str = ""


@dataclass(frozen=True)
class Deadline:
    """A time node: a date, a period, a recurrence (每学期) or a relative time (年底前)."""

    text: str
    date: str | None  # ISO date or period (2025, 2023-06, 2021/2025), None when relative
    kind: Literal["date", "period", "recurring", "relative"] = "date"
    start: int = 0
    end: int = 0
    chunk_id: str = ""


@dataclass(frozen=True)
class Owner:
    """A unit made responsible: 牵头 (lead), 配合 (support) or 负责 / 责任 (responsible)."""

    name: str
    role: str = ""  # 牵头 | 负责 | 配合 | 责任 | "" (a table column of departments)
    start: int = 0
    end: int = 0
    chunk_id: str = ""


@dataclass(frozen=True)
class Commitments:
    """What one passage commits to."""

    targets: tuple[Target, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    owners: tuple[Owner, ...] = ()


AssessVerdict = Literal["assessable", "partly", "vague"]


@dataclass(frozen=True)
class Assessable:
    """可考核: a target and a time node among the task's supporting passages (assessable), one
    of the two (partly) or neither (vague)."""

    verdict: AssessVerdict
    targets: tuple[Target, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    owners: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubMeasureResult:
    id: str
    title: str
    score: float
    evidenced: bool
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class TaskResult:
    id: str
    title: str
    score: float
    status: Status
    evidence: tuple[Evidence, ...]
    sub_measures: tuple[SubMeasureResult, ...] = ()
    threshold: Threshold | None = None
    reason: str = ""  # one Chinese sentence: why this status
    raw_score: float | None = None  # log-odds behind ``score`` (a 0-100 confidence)
    support: int = 0  # passages whose own confidence reaches the evidence cut-off
    assessable: Assessable | None = None  # 可考核 verdict on the evidence (align.assess)


@dataclass(frozen=True)
class SetResult:
    id: str
    title: str
    tasks: tuple[TaskResult, ...]

    @property
    def summary(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for t in self.tasks:
            out[t.status] += 1
        return out


@dataclass(frozen=True)
class DocumentInfo:
    path: str
    sha256: str
    chars: int
    chunks: int
    format: str = ""
    encoding: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str = ""
    kind: str = ""  # "sentence-transformers" | "use-m3" | "lexical"
    fingerprint: str = ""
    calibration: str = ""  # which calibration file supplied the thresholds
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    document: DocumentInfo
    model: ModelInfo
    policy_sets: tuple[SetResult, ...]
    chunks: tuple[Chunk, ...] = ()  # kept for heat maps / section views; not serialised by default
    # per-chunk task scores, tasks in report order (sets, then tasks) x chunks; for heat maps
    matrix: tuple[tuple[float, ...], ...] = ()
    align_version: str = ""
    schema: str = REPORT_SCHEMA

    def task(self, task_id: str) -> TaskResult:
        for s in self.policy_sets:
            for t in s.tasks:
                if t.id == task_id:
                    return t
        raise KeyError(task_id)

    def task_rows(self) -> list[tuple[TaskResult, tuple[float, ...]]]:
        """Each task (report order) with its per-chunk scores, one per chunk in ``chunks``
        order: the matrix with its rows named. Empty when the report has no matrix or it does
        not match the tasks and chunks (an old report, sets selected without their rows)."""
        tasks = [t for s in self.policy_sets for t in s.tasks]
        if (
            not self.matrix
            or len(self.matrix) != len(tasks)
            or any(len(row) != len(self.chunks) for row in self.matrix)
        ):
            return []
        return list(zip(tasks, self.matrix, strict=True))

    def task_row(self, task_id: str) -> tuple[float, ...]:
        """One task's per-chunk scores (``chunks`` order); () when the report has no matrix."""
        return next((row for t, row in self.task_rows() if t.id == task_id), ())

    def to_dict(self) -> dict[str, Any]:
        """The ``align-report/1`` JSON object (see ``schemas/align-report-1.json``)."""
        return {
            "schema": self.schema,
            "schema_version": REPORT_SCHEMA_VERSION,
            "align_version": self.align_version,
            "document": asdict(self.document),
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "kind": self.model.kind,
                "fingerprint": self.model.fingerprint,
                "calibration": self.model.calibration,
                **self.model.extra,
            },
            "policy_sets": [
                {"id": s.id, "title": s.title, "summary": s.summary,
                 "tasks": [task_dict(t) for t in s.tasks]}
                for s in self.policy_sets
            ],
        }


# --------------------------------------------------------------------------- JSON shapes
# One writer per type, so a report, a diff and `align chunks` spell a location the same way.


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def location_dict(loc: Location) -> dict[str, Any]:
    return {
        "page": loc.page,
        "heading": loc.heading,
        "line": loc.line,
        "paragraph": loc.paragraph,
        "start": loc.start,
        "end": loc.end,
    }


def evidence_dict(e: Evidence) -> dict[str, Any]:
    return {
        "chunk": e.chunk_id,
        "text": e.text,
        "score": round(e.score, 4),
        "raw_score": _round(e.raw_score),
        "location": location_dict(e.location),
        "matched_terms": list(e.matched_terms),
    }


def target_dict(x: Target) -> dict[str, Any]:
    """A target's JSON fields (offsets and chunk left to the caller: they depend on what the
    offsets are into)."""
    return {
        "text": x.text,
        "value": x.value,
        "unit": x.unit,
        "comparator": x.comparator,
        "measured": x.measured,
        "upper": x.upper,
        "from": x.from_value,
    }


def assessable_dict(a: Assessable) -> dict[str, Any]:
    return {
        "verdict": a.verdict,
        "targets": [{**target_dict(x), "chunk_id": x.chunk_id} for x in a.targets],
        "deadlines": [
            {"text": d.text, "date": d.date, "kind": d.kind, "chunk_id": d.chunk_id}
            for d in a.deadlines
        ],
        "owners": list(a.owners),
    }


def task_dict(t: TaskResult) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "score": round(t.score, 4),
        "raw_score": _round(t.raw_score),
        "support": t.support,
        "status": t.status,
        "reason": t.reason,
        "threshold": asdict(t.threshold) if t.threshold else None,
        "evidence": [evidence_dict(e) for e in t.evidence],
        **({"assessable": assessable_dict(t.assessable)} if t.assessable else {}),
        "sub_measures": [
            {
                "id": m.id,
                "title": m.title,
                "score": round(m.score, 4),
                "evidenced": m.evidenced,
                "evidence": [evidence_dict(e) for e in m.evidence],
            }
            for m in t.sub_measures
        ],
    }
