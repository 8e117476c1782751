"""One batch job: which plans to score, under which key, and where each result goes.

The job is engine-agnostic: an engine (``local`` here, ``ray`` in ``ray_engine``) only turns
plans into reports; this module decides what is already done, writes each plan's HTML page and
its line in ``reports.jsonl`` as soon as the plan finishes, and rewrites the overview at the end.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import __version__
from ..errors import AlignError, ConfigError, InputError, ModelError, PolicyError
from .store import ERROR_SCHEMA, ReportStore, write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import Scorer
    from ..types import PolicySet, Report

REPORTS_DIR = "reports"
# Errors that would hit every plan the same way: stop the batch instead of recording each.
FATAL = (ModelError, ConfigError, PolicyError)


@dataclass(frozen=True)
class Plan:
    """A plan file of the batch. ``file`` (the resolved path) is its identity across runs."""

    path: Path
    file: str
    sha256: str | None = None
    error: str | None = None  # could not even be read from disk

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class JobSettings:
    """Everything besides a plan's bytes that its report depends on."""

    policies: str
    model: str
    calibration: str
    version: str = __version__

    def key(self, sha256: str | None) -> str:
        h = hashlib.sha256()
        for part in (sha256 or "", self.policies, self.model, self.calibration, self.version):
            h.update(part.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()


def policies_digest(policy_sets: Sequence[PolicySet]) -> str:
    """Content of the policy sets (every task field), not where they were loaded from."""
    return hashlib.sha256(
        repr([(s.id, s.title, s.document, s.tasks) for s in policy_sets]).encode("utf-8")
    ).hexdigest()


def job_settings(scorer: Scorer) -> JobSettings:
    """The key's parts from a scorer, without loading the model (fingerprint and calibration
    are known before any weights are read)."""
    cal = scorer.calibration
    return JobSettings(
        policies=policies_digest(scorer.policy_sets),
        model=scorer.embedder.info.fingerprint or scorer.embedder.info.name,
        calibration=hashlib.sha256(repr(cal).encode("utf-8")).hexdigest(),
    )


def hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def collect_plans(paths: Sequence[str | Path]) -> tuple[list[Plan], list[InputError]]:
    """Plans in input order (directories expanded as ``align score`` does), each hashed.
    Paths that are not plans at all (missing, empty folder) come back as errors."""
    from ..read import collect_inputs

    files, errors = collect_inputs(paths)
    plans: list[Plan] = []
    seen: set[str] = set()
    for f in files:
        ident = str(f.resolve())
        if ident in seen:  # the same file named twice (a folder and a file inside it)
            continue
        seen.add(ident)
        try:
            plans.append(Plan(f, ident, hash_file(f)))
        except OSError as e:
            msg = str(InputError(f"无法读取文件：{e.strerror} (cannot read file)", path=str(f)))
            plans.append(Plan(f, ident, None, msg))
    return plans, errors


def html_name(plan: Plan) -> str:
    """A stable, readable file name for the plan's own page: stem plus a short hash of its path."""
    stem = re.sub(r'[\\/:*?"<>|\s]+', "_", plan.path.stem).strip("._")[:60] or "plan"
    return f"{REPORTS_DIR}/{stem}-{hashlib.sha1(plan.file.encode('utf-8')).hexdigest()[:8]}.html"


class BatchProgress(Protocol):
    """What a batch tells whoever shows progress (the CLI's one rich bar, or nothing)."""

    def start(self, total: int, skipped: int) -> None: ...
    def plan_started(self, plan: Plan) -> None: ...
    def chunks(self, done: int, total: int) -> None: ...
    def plan_done(self, plan: Plan, ok: bool) -> None: ...


class NoProgress:
    def start(self, total: int, skipped: int) -> None: ...
    def plan_started(self, plan: Plan) -> None: ...
    def chunks(self, done: int, total: int) -> None: ...
    def plan_done(self, plan: Plan, ok: bool) -> None: ...


OnDone = Callable[[Plan, "Report | AlignError | BaseException", float], None]


class Engine(Protocol):
    """Turns plans into reports; calls ``on_done`` in this process as each plan finishes."""

    def run(self, plans: Sequence[Plan], on_done: OnDone, progress: BatchProgress) -> None: ...


class LocalEngine:
    """One process, one Scorer: the model loads once, plans are scored one after another."""

    def __init__(self, scorer: Scorer, encoding: str | None = None) -> None:
        self.scorer = scorer
        self.encoding = encoding

    def run(self, plans: Sequence[Plan], on_done: OnDone, progress: BatchProgress) -> None:
        _ = self.scorer.index  # a model or policy problem is one error, before any plan
        emb = self.scorer.embedder
        emb.progress_hook = progress.chunks
        try:
            for plan in plans:
                progress.plan_started(plan)
                t0 = time.perf_counter()
                try:
                    result: Any = self.scorer.score_path(plan.path, encoding=self.encoding)
                except FATAL:
                    raise
                except AlignError as e:
                    result = e
                except Exception as e:  # a bug on one odd file must not end a 1,000-plan batch
                    result = e
                on_done(plan, result, time.perf_counter() - t0)
        finally:
            emb.progress_hook = None


@dataclass
class BatchResult:
    outdir: Path
    total: int = 0
    skipped: int = 0
    scored: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # one line each, for stderr
    outputs: list[Path] = field(default_factory=list)


def error_line(err: BaseException) -> str:
    if isinstance(err, AlignError):
        return str(err)
    text = " ".join(str(err).split()) or type(err).__name__
    return f"内部错误，无法评分 (internal error): {type(err).__name__}: {text}"


def plan_record(plan: Plan, key: str, result: Report | BaseException, seconds: float) -> dict[str, Any]:
    """The reports.jsonl line for one finished plan."""
    meta: dict[str, Any] = {"file": plan.file, "key": key, "seconds": round(seconds, 3)}
    if isinstance(result, BaseException):
        return {
            "schema": ERROR_SCHEMA,
            "document": {"path": str(plan.path), "sha256": plan.sha256},
            "error": error_line(result),
            "batch": meta,
        }
    rec = result.to_dict()
    meta["html"] = html_name(plan)
    rec["batch"] = meta
    return rec


def run_batch(
    paths: Sequence[str | Path],
    outdir: Path,
    scorer: Scorer,
    *,
    engine: Engine | None = None,
    fresh: bool = False,
    encoding: str | None = None,
    progress: BatchProgress | None = None,
) -> BatchResult:
    """Score every plan under ``paths`` not yet in ``outdir/reports.jsonl`` under the same key,
    appending each as it finishes, then rewrite the overview (summary.csv/xlsx, index.html)."""
    from ..report.html import HtmlFormatter

    t0 = time.perf_counter()
    progress = progress or NoProgress()
    engine = engine or LocalEngine(scorer, encoding)
    result = BatchResult(outdir)
    plans, input_errors = collect_plans(paths)
    result.errors.extend(str(e) for e in input_errors)
    result.total = len(plans)
    settings = job_settings(scorer)
    keys = {p.file: settings.key(p.sha256) for p in plans}
    page = HtmlFormatter(back_href="../index.html")

    with ReportStore(outdir, fresh=fresh) as store:
        todo = [p for p in plans if not store.done(p.file, keys[p.file])]
        result.skipped = len(plans) - len(todo)
        store.forget(p.file for p in todo)
        unreadable = [p for p in todo if p.error is not None]
        todo = [p for p in todo if p.error is None]
        progress.start(len(plans), result.skipped)

        def on_done(plan: Plan, res: Any, seconds: float) -> None:
            rec = plan_record(plan, keys[plan.file], res, seconds)
            try:
                if not isinstance(res, BaseException):
                    # the page first: a plan in reports.jsonl always has its page
                    write_atomic(outdir / rec["batch"]["html"], page.format([res]))
                store.append(rec)
            except OSError as e:  # full or read-only disk: stop; what is written stays valid
                raise ConfigError(
                    f"无法写入批处理结果：{e.strerror or e} (cannot write to the batch folder)",
                    path=str(outdir),
                ) from None
            if isinstance(res, BaseException):
                result.failed += 1
                result.errors.append(rec["error"])
            else:
                result.scored += 1
            progress.plan_done(plan, not isinstance(res, BaseException))

        for p in unreadable:
            on_done(p, InputError(p.error or ""), 0.0)
        if todo:
            engine.run(todo, on_done, progress)
        records = list(store)
    result.outputs = write_overview(outdir, records)
    result.seconds = time.perf_counter() - t0
    return result


def write_overview(outdir: Path, records: Sequence[dict[str, Any]] | None = None) -> list[Path]:
    """summary.csv, summary.xlsx and index.html from the records (default: reports.jsonl)."""
    from ..report import get_summary_formatter
    from ..report.overview import build_overview
    from .store import REPORTS_FILE, read_records

    if records is None:
        path = outdir / REPORTS_FILE
        if not path.exists():
            raise InputError(f"没有 {REPORTS_FILE}，不是批处理输出目录 (not a batch folder)", path=str(outdir))
        records, _ = read_records(path)
    overview = build_overview(records, outdir)
    written = []
    for name in ("csv", "xlsx", "html"):
        fmt = get_summary_formatter(name)
        target = outdir / fmt.filename
        try:
            write_atomic(target, fmt.render(overview))
        except OSError as e:  # the old file stays as it was
            raise ConfigError(
                f"无法写入 {fmt.filename}：{e.strerror or e} (cannot write)", path=str(target)
            ) from None
        written.append(target)
    return written
