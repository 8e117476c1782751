#!/usr/bin/env python3
"""Print ranking and coverage metrics of the scorer on the labelled dev set.

    python scripts/evaluate.py [--model e5-small] [--json]

Passages are scored one by one (as a held-out set is scored through `align score --format jsonl`);
documents are assembled from their passages with headings and scored whole.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from align.evaluate import evaluate  # noqa: E402
from align.pipeline import Scorer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = ap.parse_args()
    scorer = Scorer(model=args.model, progress=True)
    res = evaluate(scorer)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=2, default=float))
        return 0
    print(f"model: {res['model']}  calibration: {res['calibration_file']}")
    print(f"{'split':<12}{'passages':>9}{'meanAUC':>9}{'meanAP':>8}{'top1':>7}{'covP':>7}{'covR':>7}{'covF1':>7}")
    for split in ("calibration", "validation", "all"):
        m = res.get(split)
        if not m:
            continue
        c = m["coverage"]
        print(f"{split:<12}{m['n_passages']:>9}{m['mean_auc']:>9.3f}{m['mean_ap']:>8.3f}{m['top1']:>7.3f}"
              f"{c['precision']:>7.3f}{c['recall']:>7.3f}{c['f1']:>7.3f}")
    print("\nper task (all passages):")
    print(f"{'task':<10}{'pos':>5}{'AUC':>7}{'AP':>7}")
    for tid, v in res["all"]["per_task"].items():
        print(f"{tid:<10}{v['positives']:>5}{v['auc']:>7.3f}{v['ap']:>7.3f}")
    print("\nunrelated documents (covered must be empty):")
    for name, v in res["unrelated"].items():
        print(f"  {name}: covered={v['covered']} not-allowed={v['covered_not_allowed']} partial={v['partial']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
