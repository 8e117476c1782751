"""Run every benchmark and print one JSON document (`make bench`).

    python benchmarks/run_all.py            # full: 1M-character point, 50 separate invocations
    python benchmarks/run_all.py --quick    # skips those (see README.md); a few minutes
    python benchmarks/run_all.py --profile  # also the pyinstrument hotspots (needs pyinstrument)

Numbers only, no pass/fail: each section carries its targets for the reader. Every measurement
runs in fresh processes with a private, temporary embedding cache (the built e5 model is reused
through a symlink), so the user's own cache is never read or changed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import emit, machine  # noqa: E402


def _run(script: str, args: list[str]) -> dict:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True)
    took = round(time.perf_counter() - t0, 1)
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1:] or ["failed"], "bench_seconds": took}
    out = json.loads(p.stdout)
    out["bench_seconds"] = took
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the 1M e5 point and 50 invocations")
    ap.add_argument("--profile", action="store_true", help="add pyinstrument hotspots")
    ap.add_argument("--output", type=Path, help="also write the JSON here")
    a = ap.parse_args()
    q = ["--quick"] if a.quick else []
    t0 = time.perf_counter()
    res: dict = {"quick": a.quick, "machine_start": machine()}
    res["help"] = _run("bench_help.py", [])
    res["score"] = _run("bench_score.py", [])
    res["scaling"] = _run("bench_scaling.py", q)
    res["batch"] = _run(
        "bench_batch.py", ["--what", "invocations", *q, *(["--chars", "1000"] if a.quick else [])]
    )
    res["batch_engines"] = _run("bench_batch.py", ["--what", "engines", *q])
    # issue 18: torch vs ONNX Runtime (cold 100k with stages, edit, encode, start-up, same
    # results), and ONNX Runtime's thread / batch / spinning settings
    res["backends"] = _run("bench_backends.py", q if a.quick else ["--int8"])
    res["onnx_threads"] = _run("bench_threads.py", ["--rounds", "1" if a.quick else "3"])
    if a.profile:
        res["profile"] = _run("profile_score.py", [])
    res["machine_end"] = machine()
    res["total_seconds"] = round(time.perf_counter() - t0, 1)
    if a.output:
        a.output.write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    emit(res)


if __name__ == "__main__":
    main()
