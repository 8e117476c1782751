"""Batches of plans.

``--what engines`` (default), measurement 8: `align batch` on N plans of ~C characters with the
local engine, Ray with 1 actor and Ray with 2 actors (a local Ray with 2 CPUs), each cold (plan
texts not in the cache) and then resumed (the same command again: nothing left to do). Prints
plans per minute, each Ray run as a ratio to the local engine of the same run, the resumed
run as a share of the cold one, Ray's fixed start-up (Ray itself, then the actors' model
loading), each actor's peak memory, and whether every engine gave the same reports.
Default 4 plans of 20,000 characters (about 8 minutes on 2 busy cores: each engine scores
them cold); ``--plans 100`` is the issue's full run (hours on 2 shared cores). With few plans
Ray's fixed start-up weighs heavily, so each row also gives the rate without it, which is what
a long batch approaches.

``--what invocations``, measurement 7: N small plans scored by one `align score DIR` against N
separate `align score FILE` invocations (the real CLI, JSON output to a file). One process loads
policies and the model once; N processes pay for start-up and model loading N times.

Every run starts from its own copy of a cache that holds only the task and background vectors,
so each embeds the same plan texts. --quick runs 3 separate invocations and scales their mean
to N (marked "extrapolated"), and 2 plans for the engines.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
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

WORKER = Path(__file__).resolve().parent / "_batch_worker.py"


def _reports(outdir: Path) -> dict[str, dict]:
    out = {}
    for line in (outdir / "reports.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        rec["batch"].pop("seconds", None)
        out[rec["batch"]["file"]] = rec
    return out


def _max_score_diff(a: dict[str, dict], b: dict[str, dict]) -> float | None:
    """Largest task-score difference, or None when statuses or anything else differ."""
    if a.keys() != b.keys():
        return None
    worst = 0.0
    for f in a:
        ta = [t for s in a[f].get("policy_sets", []) for t in s["tasks"]]
        tb = [t for s in b[f].get("policy_sets", []) for t in s["tasks"]]
        if [t["status"] for t in ta] != [t["status"] for t in tb]:
            return None
        worst = max([worst, *(abs(x["score"] - y["score"]) for x, y in zip(ta, tb, strict=True))])
    return worst


ENGINES = {
    "local": (),
    "ray_1_actor": ("--engine", "ray", "--actors", "1"),
    "ray_2_actors": ("--engine", "ray", "--actors", "2"),
}


def measure_engines(
    n: int = 4, chars: int = 20000, model: str = "e5-small", engines: tuple[str, ...] = tuple(ENGINES)
) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="align-bench-"))
    try:
        mdir = built_model_dir() if model == "e5-small" else None
        seed_cache = new_cache_dir(mdir, tmp)
        tiny = tmp / "tiny.txt"
        tiny.write_text(make_plan(300, seed=999), encoding="utf-8")
        run_worker([tiny], seed_cache, model=model, tmp=tmp)  # task index and model, not plans
        plans = tmp / "plans"
        plans.mkdir()
        for i in range(n):
            (plans / f"plan{i:03d}.txt").write_text(make_plan(chars, seed=500 + i), encoding="utf-8")

        def batch(name: str, cache: Path, *extra: str) -> dict:
            r = run([sys.executable, str(WORKER), str(plans), "--out", str(tmp / name),
                     "--model", model, *extra], env={"ALIGN_CACHE_DIR": str(cache)})
            if r["returncode"] != 0:
                raise RuntimeError(r["stderr"])
            res = json.loads(r["stdout"].strip().splitlines()[-1])
            res["wall_s"], res["driver_peak_rss_mb"] = r["wall_s"], r["peak_rss_mb"]
            return res

        rows: dict[str, dict] = {}
        for name in engines:  # in this order (to check that the order does not decide)
            extra = ENGINES[name]
            cache = copy_cache(seed_cache, mdir, tmp)
            cold = batch(name, cache, *extra)
            resumed = batch(name, cache, *extra)
            assert cold["scored"] == n and resumed["skipped"] == n, (cold, resumed)
            row = {
                "cold_s": r3(cold["wall_s"]),
                "plans_per_min": r3(60 * n / cold["wall_s"]),
                "resumed_s": r3(resumed["wall_s"]),
                "resumed_share_of_cold": r3(resumed["wall_s"] / cold["wall_s"]),
                "driver_peak_rss_mb": r3(cold["driver_peak_rss_mb"]),
            }
            fixed = cold.get("ray_start_s", 0.0) + cold.get("actors_start_s", 0.0)
            if "ray_start_s" in cold:
                row["ray_start_s"] = r3(cold["ray_start_s"])
                row["actors_start_s"] = r3(cold["actors_start_s"])
                row["actor_peak_rss_mb"] = [r3(x) for x in cold["actor_peak_rss_mb"]]
            # what a long batch approaches: the run without the engine's fixed start-up
            row["plans_per_min_without_startup"] = r3(60 * n / (cold["wall_s"] - fixed))
            rows[name] = row
        base = rows["local"]["plans_per_min"]
        steady = rows["local"]["plans_per_min_without_startup"]
        ray_rows = [k for k in rows if k != "local"]
        for name in ray_rows:
            rows[name]["vs_local"] = r3(rows[name]["plans_per_min"] / base)
            rows[name]["vs_local_without_startup"] = r3(
                rows[name]["plans_per_min_without_startup"] / steady
            )
        local = _reports(tmp / "local")
        same = {k: _max_score_diff(local, _reports(tmp / k)) for k in ray_rows}
        return {
            "measurement": "batch-engines",
            "model": model,
            "plans": n,
            "chars_per_plan": chars,
            "engines": rows,
            "max_score_diff_vs_local": same,  # None would mean the reports differ
            "machine": machine(),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--what", choices=("engines", "invocations"), default="engines")
    ap.add_argument("--plans", type=int, default=None,
                    help="engines: 4 (2 with --quick; 100 for the full run); invocations: 50")
    ap.add_argument("--chars", type=int, default=None, help="engines: 20000; invocations: 2000")
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help="engines: which rows, in this order (local is always measured)")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.what == "engines":
        order = tuple(e for e in a.engines.split(",") if e)
        if "local" not in order:
            order = ("local", *order)
        emit(measure_engines(a.plans or (2 if a.quick else 4), a.chars or 20000, a.model, order))
    else:
        emit(measure(a.plans or 50, a.chars or 2000, a.quick, a.model))
