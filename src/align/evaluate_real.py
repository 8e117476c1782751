"""Real institutions' text as a dev set, without keeping their text in the repository.

The documents live in ``../shared/realplans/`` (third-party, never copied here). The repo keeps
``dev/real/units.jsonl`` (each unit's document, character offsets into the document body and a
hash of its text) and ``dev/real/labels.jsonl`` (the tasks each unit gives evidence for). This
module rebuilds the units from the documents and checks every hash, so a changed document is
noticed instead of silently mislabelled.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_DIR = REPO_ROOT / "dev" / "real"
UNITS_FILE = REAL_DIR / "units.jsonl"
LABELS_FILE = REAL_DIR / "labels.jsonl"
DOCS_FILE = REAL_DIR / "documents.json"
REALPLANS_DIR = Path(os.environ.get("ALIGN_REALPLANS", REPO_ROOT.parent / "shared" / "realplans"))
# Documents of other institutions found with the search tool, kept outside the repository until
# they are added to shared/realplans (their sources: dev/real/extra/documents.json).
EXTRA_DIR = REAL_DIR / "extra"
EXTRA_REALPLANS_DIR = Path(os.environ["ALIGN_EXTRA_REALPLANS"]) if os.environ.get("ALIGN_EXTRA_REALPLANS") else None


@dataclass(frozen=True)
class RealSet:
    """One set of real documents: where their texts are, and the repo files that hold units,
    labels and per-document metadata."""

    root: Path
    units: Path = UNITS_FILE
    labels: Path = LABELS_FILE
    docs: Path = DOCS_FILE


def real_sets() -> list[RealSet]:
    """The shared set, and the other institutions' set when its texts are available."""
    out = [RealSet(REALPLANS_DIR)]
    if EXTRA_REALPLANS_DIR is not None and EXTRA_REALPLANS_DIR.is_dir():
        out.append(RealSet(EXTRA_REALPLANS_DIR, EXTRA_DIR / "units.jsonl", EXTRA_DIR / "labels.jsonl",
                           EXTRA_DIR / "documents.json"))
    return out

_HEADER_PREFIXES = ("来源:", "来源：", "机构:", "机构：")


def document_body(raw: str) -> str:
    """The document without the provenance lines ``shared/realplans`` puts on top."""
    lines = raw.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(_HEADER_PREFIXES):
        i += 1
    return "\n".join(lines[i:])


@dataclass(frozen=True)
class RealUnit:
    id: str
    doc: str
    start: int
    end: int
    text: str
    heading: str
    labels: dict[str, str]  # task id -> "core" | "partial"
    split: str = ""
    institution: str = ""
    unrelated: bool = False


def realplans_missing_message(root: Path) -> str:
    return (
        f"找不到真实规划文本目录 {root}（设置 ALIGN_REALPLANS 指向 shared/realplans）"
        "(real plan texts not found)"
    )


def load_bodies(root: Path | None = None) -> dict[str, str]:
    root = root or REALPLANS_DIR
    if not root.is_dir():
        raise InputError(realplans_missing_message(root), path=str(root))
    return {
        f.name: document_body(f.read_text(encoding="utf-8")) for f in sorted(root.glob("*.txt"))
    }


def _headings(bodies: dict[str, str]) -> dict[tuple[str, int, int], str]:
    """Each chunk's heading path, recomputed from the documents (headings are the documents' own
    words, so the repo does not store them): (document, start, end) -> heading."""
    from .chunk import chunk_document
    from .read import read_bytes

    out: dict[tuple[str, int, int], str] = {}
    for name, body in bodies.items():
        if not body.strip():
            continue
        for c in chunk_document(read_bytes(body.encode("utf-8"), name)):
            out[(name, c.location.start, c.location.end)] = c.location.heading or ""
    return out


def load_units(
    root: Path | None = None,
    *,
    labels: Path = LABELS_FILE,
    units_file: Path = UNITS_FILE,
    docs_file: Path = DOCS_FILE,
) -> list[RealUnit]:
    """Units with their text and labels; raises InputError when a document is missing or a
    unit's text no longer matches its hash."""
    bodies = load_bodies(root)
    lab: dict[str, dict[str, str]] = {}
    if labels.exists():
        for line in labels.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                lab[row["id"]] = dict(row["labels"])
    meta = json.loads(docs_file.read_text(encoding="utf-8")) if docs_file.exists() else {}
    headings = _headings(bodies)
    out: list[RealUnit] = []
    for line in units_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        u = json.loads(line)
        body = bodies.get(u["doc"])
        if body is None:
            raise InputError(f"缺少文档 {u['doc']} (document missing)", path=str(root))
        text = body[u["start"] : u["end"]]
        if hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] != u["sha256"]:
            raise InputError(f"单元 {u['id']} 的文本与哈希不符 (unit text changed)", path=u["doc"])
        m = meta.get(u["doc"], {})
        out.append(
            RealUnit(
                u["id"], u["doc"], u["start"], u["end"], text,
                headings.get((u["doc"], u["start"], u["end"]), ""), lab.get(u["id"], {}),
                m.get("split", ""), m.get("institution", ""), bool(m.get("unrelated", False)),
            )  # fmt: skip
        )
    return out


def load_documents(root: Path | None = None, rs: RealSet | None = None) -> dict[str, dict]:
    """Per document: its body text, metadata (split, institution, unrelated) and gold (task ->
    number of labelled units)."""
    rs = rs or RealSet(root or REALPLANS_DIR)
    bodies = load_bodies(rs.root)
    meta = json.loads(rs.docs.read_text(encoding="utf-8"))
    units = load_units(rs.root, labels=rs.labels, units_file=rs.units, docs_file=rs.docs)
    out: dict[str, dict] = {}
    for name, m in meta.items():
        gold: dict[str, int] = {}
        for u in units:
            if u.doc == name:
                for t in u.labels:
                    gold[t] = gold.get(t, 0) + 1
        out[name] = {**m, "text": bodies[name], "gold": gold}
    return out


def labelled_passages(units: list[RealUnit], weight: float = 1.0) -> list:
    """Units as ``align calibrate`` passages (document and heading kept)."""
    from .calibrate import LabelledPassage

    return [LabelledPassage(u.text, dict(u.labels), u.doc, u.heading, weight) for u in units]


# --------------------------------------------------------------------------- metrics


def _task_scores(report) -> dict[str, tuple[float, str]]:
    return {t.id: (t.score, t.status) for s in report.policy_sets for t in s.tasks}


def evaluate_real(
    scorer, root: Path | None = None, splits=("calibration", "validation"), rs: RealSet | None = None
) -> dict:
    """Passage metrics (each unit scored alone, as a file) and document metrics (each document
    scored whole) per split, through the public scoring path only."""
    import numpy as np

    from .evaluate import passage_metrics, prf
    from .read import read_bytes

    rs = rs or RealSet(root or REALPLANS_DIR)
    units = load_units(rs.root, labels=rs.labels, units_file=rs.units, docs_file=rs.docs)
    docs = load_documents(rs=rs)
    task_ids = [t.id for s in scorer.policy_sets for t in s.tasks]
    result: dict = {}
    for split in splits:
        us = [u for u in units if u.split == split]
        scores = np.zeros((len(task_ids), len(us)))
        for j, u in enumerate(us):
            rep = scorer.score_document(read_bytes(u.text.encode("utf-8"), f"{u.id}.txt"))
            ts = _task_scores(rep)
            scores[:, j] = [ts[t][0] for t in task_ids]
        ranking = passage_metrics(task_ids, scores, us)  # the written set's measures, same code
        tp = fp = fn = 0
        wrong_covered: dict[str, list[str]] = {}
        doc_rows = {}
        for name, d in docs.items():
            if d["split"] != split:
                continue
            rep = scorer.score_document(read_bytes(d["text"].encode("utf-8"), name))
            ts = _task_scores(rep)
            doc_rows[name] = {t: ts[t] for t in task_ids}
            for t in task_ids:
                pred = ts[t][1] in ("covered", "partial")
                gold = t in d["gold"]
                tp += pred and gold
                fp += pred and not gold
                fn += (not pred) and gold
                if d["unrelated"] and ts[t][1] == "covered" and not gold:
                    wrong_covered.setdefault(name, []).append(t)
        result[split] = {
            "passages": len(us),
            "mean_auc": ranking["mean_auc"],
            "mean_ap": ranking["mean_ap"],
            "top1": ranking["top1"],
            "per_task": ranking["per_task"],
            "coverage": prf(int(tp), int(fp), int(fn)),
            "documents": doc_rows,
            "unrelated_covered": wrong_covered,
        }
    return result
