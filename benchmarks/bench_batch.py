"""Measurement 7: N small plans scored by one `align score DIR` against N separate `align score
FILE` invocations (the real CLI, JSON output to a file). One process loads policies and the
model once; N processes pay for start-up and model loading N times.

Both sides start from their own copy of a cache that holds only the task and background vectors,
so each embeds the same plan texts. --quick runs 3 separate invocations and scales their mean
to N (marked "extrapolated").
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from _common import (
    ALIGN,
    built_model_dir,
    copy_cache,
    emit,
    machine,
    make_plan,
    new_cache_dir,
    r3,
    run,
    run_worker,
)


def measure(n: int = 50, chars: int = 2000, quick: bool = False, model: str = "e5-small") -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="align-bench-"))
    try:
        mdir = built_model_dir() if model == "e5-small" else None
        seed_cache = new_cache_dir(mdir, tmp)
        tiny = tmp / "tiny.txt"
        tiny.write_text(make_plan(300, seed=999), encoding="utf-8")
        run_worker([tiny], seed_cache, model=model, tmp=tmp)
        plans = tmp / "plans"
        plans.mkdir()
        files = []
        for i in range(n):
            f = plans / f"plan{i:02d}.txt"
            f.write_text(make_plan(chars, seed=100 + i), encoding="utf-8")
            files.append(f)

        def align(args: list, cache: Path) -> dict:
            r = run([ALIGN, "score", *map(str, args), "--model", model, "-f", "json",
                     "-o", str(tmp / "out.json")], env={"ALIGN_CACHE_DIR": str(cache)})
            if r["returncode"] != 0:
                raise RuntimeError(r["stderr"])
            return r

        one = align([plans], copy_cache(seed_cache, mdir, tmp))
        sep_cache = copy_cache(seed_cache, mdir, tmp)
        k = 3 if quick else n
        sep = [align([f], sep_cache) for f in files[:k]]
        mean = statistics.mean(r["wall_s"] for r in sep)
        total = mean * n if quick else sum(r["wall_s"] for r in sep)
        return {
            "measurement": "batch",
            "model": model,
            "plans": n,
            "chars_per_plan": chars,
            "one_call_s": r3(one["wall_s"]),
            "one_call_peak_rss_mb": r3(one["peak_rss_mb"]),
            "separate_runs_measured": k,
            "separate_mean_s": r3(mean),
            "separate_total_s": r3(total),
            "separate_total_extrapolated": quick,
            "one_call_vs_one_invocation": r3(one["wall_s"] / mean),
            "separate_over_one_call": r3(total / one["wall_s"]),
            "machine": machine(),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plans", type=int, default=50)
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    emit(measure(a.plans, a.chars, a.quick, a.model))
