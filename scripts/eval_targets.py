"""Precision and recall of align's 可考核 extraction (targets, time nodes, owners) on the
labelled passages of ``dev/assess/labels.jsonl``.

Passages are real text kept outside the repository: units of ``shared/realplans`` (ids of
``dev/real/units.jsonl``) and chunks of the project's seed text (``shared/seed``), each checked
against its stored hash. The labels are values, never copied paragraphs: a target is
``[value, unit]``, a time node its ISO date or period (or the relative word: 每学期), an owner
the department's name.

Rows without a split are "dev": their labels were drafted from the extractor's output and then
corrected by hand, and the rules were tuned on them, so they flatter it. Rows with
``"split": "test"`` were labelled by hand from the text alone before the extractor was run on
them; their numbers are the honest ones.

    python scripts/eval_targets.py              # the P/R table
    python scripts/eval_targets.py --errors     # and every miss / false hit
    python scripts/eval_targets.py --show ID..  # a passage with what the extractor finds
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path

from align.assess import extract, plan_time
from align.evaluate_real import REALPLANS_DIR, load_bodies, load_units

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "dev" / "assess" / "labels.jsonl"
SEED = Path(
    os.environ.get("ALIGN_SEED", REALPLANS_DIR.parent / "seed" / "000_ec1205a029dd3c90.txt")
)
KINDS = ("targets", "deadlines", "owners")


def seed_passages() -> dict[str, str]:
    """The seed text's chunks as align cuts it: ``S-c0001`` ..."""
    from align.chunk import chunk_document
    from align.read import read_bytes

    doc = read_bytes(SEED.read_bytes(), SEED.name)
    return {f"S-{c.id}": c.text for c in chunk_document(doc)}


def load_passages(rows: list[dict]) -> dict[str, tuple[str, object]]:
    """id -> (text, the plan's own time) for every labelled passage; hashes are checked."""
    bodies = load_bodies(REALPLANS_DIR)
    units = {u.id: u for u in load_units(REALPLANS_DIR)}
    seed = seed_passages() if any(r["id"].startswith("S-") for r in rows) else {}
    times = {name: plan_time(body) for name, body in bodies.items()}
    out: dict[str, tuple[str, object]] = {}
    for r in rows:
        pid = r["id"]
        if pid.startswith("S-"):
            text = seed[pid]
            if hashlib.sha256(text.encode()).hexdigest()[:16] != r["sha256"]:
                sys.exit(f"seed passage {pid} changed (hash mismatch)")
            out[pid] = (text, None)
        else:
            u = units[pid]
            out[pid] = (u.text, times[u.doc])
    return out


def predicted(text: str, plan: object) -> dict[str, list]:
    c = extract(text, plan)  # type: ignore[arg-type]
    return {
        "targets": [[t.value, t.unit] for t in c.targets],
        "deadlines": [d.date if d.date else d.text for d in c.deadlines],
        "owners": [o.name for o in c.owners],
    }


def _key(kind: str, item: object) -> str:
    return json.dumps(item, ensure_ascii=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--errors", action="store_true", help="print misses and false hits")
    ap.add_argument("--show", nargs="*", help="print passages with the extractor's output")
    ap.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = ap.parse_args()

    rows = [json.loads(x) for x in LABELS.read_text(encoding="utf-8").splitlines() if x.strip()]
    passages = load_passages(rows)
    if args.show is not None:
        for r in rows:
            if not args.show or r["id"] in args.show or any(r["id"].startswith(p) for p in args.show):
                text, plan = passages[r["id"]]
                print(f"### {r['id']}\n{text}\n  -> {json.dumps(predicted(text, plan), ensure_ascii=False)}\n")
        return

    splits = {"all": rows}
    for r in rows:
        splits.setdefault(r.get("split", "dev"), []).append(r)
    report: dict[str, dict] = {}
    for name in ("dev", "test", "test2", "all"):
        if name in splits:
            report[name] = score(splits[name], passages, errors=args.errors and name == "all")
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    for name, m in report.items():
        print(f"[{name}] {m['passages']} passages, {m['empty']} with nothing to find")
        print(f"  {'kind':<10} {'gold':>5} {'found':>6} {'precision':>10} {'recall':>7}")
        for kind in KINDS:
            k = m[kind]
            print(f"  {kind:<10} {k['gold']:>5} {k['found']:>6} {k['precision']:>10.3f}"
                  f" {k['recall']:>7.3f}")


def score(rows: list[dict], passages: dict, *, errors: bool = False) -> dict:
    """Micro precision / recall per kind over ``rows``; an item matches an equal gold item."""
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    empty = 0
    for r in rows:
        text, plan = passages[r["id"]]
        pred = predicted(text, plan)
        if not any(r.get(k) for k in KINDS):
            empty += 1
        for kind in KINDS:
            gold = Counter(_key(kind, x) for x in r.get(kind, []))
            got = Counter(_key(kind, x) for x in pred[kind])
            hit = gold & got
            tp[kind] += sum(hit.values())
            fp[kind] += sum((got - hit).values())
            fn[kind] += sum((gold - hit).values())
            if errors and (got - hit or gold - hit):
                print(f"{r['id']} {kind}: missed {list((gold - hit).elements())} "
                      f"false {list((got - hit).elements())}")
    out: dict = {"passages": len(rows), "empty": empty}
    for kind in KINDS:
        p = tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 1.0
        rc = tp[kind] / (tp[kind] + fn[kind]) if tp[kind] + fn[kind] else 1.0
        out[kind] = {"gold": tp[kind] + fn[kind], "found": tp[kind] + fp[kind],
                     "precision": round(p, 3), "recall": round(rc, 3)}
    return out


if __name__ == "__main__":
    main()
