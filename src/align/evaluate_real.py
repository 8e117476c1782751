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
    labels: tuple[str, ...]


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


def load_units(
    root: Path | None = None, *, labels: Path = LABELS_FILE, units_file: Path = UNITS_FILE
) -> list[RealUnit]:
    """Units with their text and labels; raises InputError when a document is missing or a
    unit's text no longer matches its hash."""
    bodies = load_bodies(root)
    lab: dict[str, tuple[str, ...]] = {}
    if labels.exists():
        for line in labels.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                lab[row["id"]] = tuple(row["labels"])
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
        out.append(
            RealUnit(u["id"], u["doc"], u["start"], u["end"], text, u["heading"], lab.get(u["id"], ()))
        )
    return out
