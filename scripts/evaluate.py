#!/usr/bin/env python3
"""Print the scorer's quality, real institutions' text first (README "Quality").

    python scripts/evaluate.py [--model e5-small --model use-m3 ...] [--json]

For each model: the real-text validation split (documents never used for calibration), the
real calibration split, other institutions' documents when their texts are available
(ALIGN_EXTRA_REALPLANS), and last the written dev set. Passages are scored one by one, each as a
file (as a held-out set is scored through `align score DIR -f jsonl`); documents are scored whole.
Coverage counts a task as addressed when its status is covered or partial, against "some unit
of the document is labelled with it"; unrelated documents must have nothing covered that their
labels do not give them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from align.evaluate import evaluate  # noqa: E402
from align.evaluate_real import UNITS_FILE, evaluate_real, real_sets  # noqa: E402
from align.pipeline import Scorer  # noqa: E402

HEAD = f"{'model':<10}{'text':<26}{'passages':>9}{'AUC':>7}{'MAP':>7}{'top1':>7}{'P':>7}{'R':>7}{'F1':>7}  unrelated covered"


def row(model: str, name: str, m: dict) -> str:
    c = m["coverage"]
    bad = m.get("unrelated_covered")
    bad_s = "none" if not bad else "; ".join(f"{k[:3]}: {','.join(v)}" for k, v in bad.items())
    return (f"{model:<10}{name:<26}{m['passages']:>9}{m['mean_auc']:>7.3f}{m['mean_ap']:>7.3f}"
            f"{m['top1']:>7.3f}{c['precision']:>7.3f}{c['recall']:>7.3f}{c['f1']:>7.3f}  {bad_s}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--json", action="store_true", help="print the full result as JSON")
    ap.add_argument("--per-task", action="store_true", help="per-task AP on the real validation split")
    args = ap.parse_args()
    models = args.model or ["e5-small", "use-m3", "lexical"]
    out: dict = {}
    lines = [HEAD]
    for model in models:
        scorer = Scorer(model=model)
        res: dict = {}
        for rs in real_sets():
            extra = rs.units != UNITS_FILE
            splits = ("other-institutions",) if extra else ("validation", "calibration")
            res.update(evaluate_real(scorer, rs=rs, splits=splits))
        written = evaluate(scorer)
        out[model] = {"real": res, "written": written}
        for split, label in (("validation", "real validation"), ("calibration", "real calibration"),
                             ("other-institutions", "real, other institutions")):
            if split in res:
                lines.append(row(model, label, res[split]))
        for split in ("validation", "calibration"):
            w = written[split]
            unrelated = {k: v["covered_not_allowed"] for k, v in written["unrelated"].items()
                         if v["covered_not_allowed"]}
            lines.append(row(model, f"written {split}", {
                "passages": w["n_passages"], "mean_auc": w["mean_auc"], "mean_ap": w["mean_ap"],
                "top1": w["top1"], "coverage": w["coverage"], "unrelated_covered": unrelated,
            }))
        if args.per_task and "validation" in res:
            for tid, v in res["validation"]["per_task"].items():
                lines.append(f"    {tid:<9} positives {v['positives']:>3}  AUC {v['auc']:.3f}  AP {v['ap']:.3f}")
        print("\n".join(lines[-5:]) if len(lines) > 1 else "", file=sys.stderr)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1, default=float))
        return 0
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
