"""Child process for bench_batch.py: one `align batch` run through the library (the same code
the CLI runs), printing what the CLI does not: Ray's start-up, the actors' model loading and
each actor's peak memory. Last stdout line: JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("plans", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--engine", default="local", choices=("local", "ray"))
    ap.add_argument("--actors", type=int, default=None)
    ap.add_argument("--cpus", type=int, default=2)
    a = ap.parse_args()

    t0 = time.perf_counter()
    from align.batch import run_batch
    from align.pipeline import Scorer

    scorer = Scorer(model=a.model)
    engine = None
    if a.engine == "ray":
        from align.batch.ray_engine import RayEngine

        engine = RayEngine(actors=a.actors, num_cpus=a.cpus, model=a.model)
    out: dict = {}
    try:
        res = run_batch([a.plans], a.out, scorer, engine=engine)
        out.update(scored=res.scored, skipped=res.skipped, failed=res.failed,
                   batch_s=res.seconds)
        if engine is not None and engine.actors:
            out.update(ray_start_s=engine.startup_seconds, actors_start_s=engine.actor_seconds,
                       actor_peak_rss_mb=engine.peak_rss_mb())
    finally:
        if engine is not None:
            engine.close()
    out["in_process_s"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
