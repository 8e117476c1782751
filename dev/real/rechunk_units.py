"""Re-cut the real documents with the current chunker and carry the labels over (run when the
reader or chunker changes how a document is cut; kept for reproduction).

Documents whose cut is unchanged keep their unit ids and labels exactly. In a document cut
differently, every new unit gets the labels of the old units it overlaps (the union; "core" wins
over "partial"), and the units are numbered anew. The 可考核 labels of ``dev/assess/labels.jsonl``
move the same way: a new unit takes the targets, time nodes and owners of the old units it
overlaps, but only when every one of them was labelled and lies inside it (otherwise part of its
text would have no labels, or its labels may belong to the other half; the row is dropped). Where
the new cut splits an old labelled unit in two, both halves inherit its task labels: the script
lists them, and they are reviewed by hand (``show_units.py``) and corrected in ``labels.jsonl``.
The repo keeps positions and hashes only, as ``build_units.py`` does; the texts stay in
``../shared/realplans/``.

    python dev/real/rechunk_units.py [REALPLANS_DIR]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from align.chunk import chunk_document
from align.evaluate_real import LABELS_FILE, REALPLANS_DIR, UNITS_FILE, load_bodies
from align.read import read_bytes

ASSESS_FILE = Path(__file__).resolve().parents[1] / "assess" / "labels.jsonl"
ASSESS_KINDS = ("targets", "deadlines", "owners")


def _rows(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _merge(labels: list[dict[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for lab in labels:
        for task, level in lab.items():
            if out.get(task) != "core":
                out[task] = level
    return dict(sorted(out.items()))


def _merge_assess(rows: list[dict]) -> dict:
    out: dict = {k: [x for r in rows for x in r.get(k, [])] for k in ASSESS_KINDS}
    splits = {r.get("split") for r in rows}
    if len(splits) == 1 and None not in splits:
        out["split"] = splits.pop()
    return out


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else REALPLANS_DIR
    bodies = load_bodies(root)
    old_units = _rows(UNITS_FILE)
    old_labels = {r["id"]: r["labels"] for r in _rows(LABELS_FILE)}
    by_doc: dict[str, list[dict]] = {}
    for u in old_units:
        by_doc.setdefault(u["doc"], []).append(u)
    assess_rows = _rows(ASSESS_FILE)
    assess = {r["id"]: r for r in assess_rows}
    moved: dict[str, list[dict]] = {}  # old unit id -> the new assess rows that replace it
    units, labels, changed, review = [], [], [], []
    for name, olds in by_doc.items():
        body = bodies[name]
        doc = read_bytes(body.encode("utf-8"), name)
        assert doc.text == body, name
        spans = [(c.location.start, c.location.end) for c in chunk_document(doc)]
        if spans == [(u["start"], u["end"]) for u in olds]:
            units.extend(olds)
            labels.extend({"id": u["id"], "labels": old_labels.get(u["id"], {})} for u in olds)
            continue
        changed.append(f"{name[:3]} {len(olds)} -> {len(spans)}")
        for i, (s, e) in enumerate(spans, 1):
            uid = f"{name[:3]}-u{i:03d}"
            text = body[s:e]
            units.append(
                {
                    "id": uid,
                    "doc": name,
                    "start": s,
                    "end": e,
                    "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
                }
            )
            over = [u for u in olds if u["start"] < e and s < u["end"]]
            merged = _merge([old_labels.get(u["id"], {}) for u in over])
            labels.append({"id": uid, "labels": merged})
            inside = all(s <= u["start"] and u["end"] <= e for u in over)
            if merged and not inside:
                review.append(uid)
            if over and inside and all(u["id"] in assess for u in over):
                row = {"id": uid, **_merge_assess([assess[u["id"]] for u in over])}
                moved.setdefault(over[0]["id"], []).append(row)
            for u in over:
                moved.setdefault(u["id"], [])
    new_assess = []
    for r in assess_rows:
        new_assess.extend(moved.get(r["id"], [r]) if r["id"] in moved else [r])
    for path, rows in ((UNITS_FILE, units), (LABELS_FILE, labels), (ASSESS_FILE, new_assess)):
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(old_units)} -> {len(units)} units; cut differently: {', '.join(changed) or 'none'}")
    print(f"可考核 labels: {len(assess_rows)} -> {len(new_assess)} passages")
    if review:
        print(f"review by hand (an old unit was cut in two, its labels went to both): {' '.join(review)}")


if __name__ == "__main__":
    main()
