"""Measurement 6: time and peak memory of a cold `align score` at growing plan sizes, and the
fitted exponent b of time ~ chars^b (least squares on log-log; 1.0 is linear).

Each point is a fresh process on a fresh cache that already holds the task and background
vectors, and the model is loaded before the plan is read (so the per-model set-up, the same at
every size, stays out of `doc_s`). `doc_s` is the
plan's own time (read + chunk + embed + score + report); `wall_s` is the whole process.

Two series: the real model (e5-small) and `--model lexical` (everything except the neural model,
so the pipeline's own scaling shows without the model's). The e5 1M-character point is run only
when 10x the 100k point's time is under --max-seconds; otherwise it is skipped and said so.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
from pathlib import Path

from _common import (
    built_model_dir,
    copy_cache,
    emit,
    machine,
    make_plan,
    new_cache_dir,
    r3,
    run_worker,
)

STAGES = ("read_s", "chunk_s", "embed_s", "score_s", "report_s")


def exponent(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den if den else None


def series(model: str, sizes: list[int], tmp: Path, max_seconds: float) -> dict:
    mdir = built_model_dir() if model == "e5-small" else None
    seed_cache = new_cache_dir(mdir, tmp)
    tiny = tmp / f"tiny-{model}.txt"
    tiny.write_text(make_plan(300, seed=999), encoding="utf-8")
    run_worker([tiny], seed_cache, model=model, tmp=tmp)  # task + background vectors only
    points, skipped = [], []
    for n in sizes:
        if points and n > 2 * points[-1]["chars"]:
            est = points[-1]["doc_s"] * n / points[-1]["chars"]
            if est > max_seconds:
                skipped.append({"chars": n, "estimated_doc_s": r3(est)})
                continue
        plan = tmp / f"plan-{model}-{n}.txt"
        plan.write_text(make_plan(n, seed=10 + n), encoding="utf-8")
        r = run_worker(
            [plan], copy_cache(seed_cache, mdir, tmp), model=model, tmp=tmp, preload_model=True
        )
        points.append({
            "chars": r["chars"],
            "chunks": r["chunks"],
            "doc_s": r3(sum(r[k] for k in STAGES)),
            **{k: r3(r[k]) for k in STAGES},
            "wall_s": r3(r["wall_s"]),
            "peak_rss_mb": r3(r["peak_rss_mb"]),
            "texts_embedded_doc": r["texts_embedded_doc"],
        })
    b = exponent([p["chars"] for p in points], [p["doc_s"] for p in points])
    bw = exponent([p["chars"] for p in points], [p["wall_s"] for p in points])
    return {
        "model": model,
        "points": points,
        "skipped": skipped,
        "time_exponent_doc": r3(b) if b is not None else None,
        "time_exponent_wall": r3(bw) if bw is not None else None,
        "peak_rss_mb_max": max((p["peak_rss_mb"] for p in points), default=None),
    }


def measure(quick: bool = False, max_seconds: float = 900.0) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="align-bench-"))
    try:
        e5_sizes = [10_000, 30_000] if quick else [10_000, 100_000, 1_000_000]
        out = {
            "measurement": "scaling",
            "quick": quick,
            "e5": series("e5-small", e5_sizes, tmp, max_seconds),
            "lexical": series("lexical", [10_000, 100_000, 1_000_000], tmp, max_seconds),
            "targets": {"time_exponent": 1.1, "peak_rss_mb_1m": 2048},
            "machine": machine(),
        }
        if quick:
            out["note"] = "quick: e5 series at 10k and 30k only; lexical series to 1M"
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=900.0)
    a = ap.parse_args()
    emit(measure(a.quick, a.max_seconds))
