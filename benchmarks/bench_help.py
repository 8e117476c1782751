"""Measurement 1: `align --help` wall time against `python -c pass` (median of N runs)."""

from __future__ import annotations

import argparse
import statistics

from _common import ALIGN, PY, emit, machine, r3, run


def measure(repeat: int = 7) -> dict:
    def med(cmd: list[str]) -> tuple[float, float]:
        run(cmd)  # one untimed run: page cache, .pyc files
        rs = [run(cmd) for _ in range(repeat)]
        return (statistics.median(r["wall_s"] for r in rs),
                statistics.median(r["cpu_s"] for r in rs))

    base, base_cpu = med([PY, "-c", "pass"])
    helpt, help_cpu = med([ALIGN, "--help"])
    return {
        "measurement": "help",
        "repeat": repeat,
        "python_pass_s": r3(base),
        "align_help_s": r3(helpt),
        "ratio_to_python_pass": r3(helpt / base),
        # CPU time is less sensitive than wall time to other jobs on a shared machine
        "python_pass_cpu_s": r3(base_cpu),
        "align_help_cpu_s": r3(help_cpu),
        "target_s": 0.3,
        "meets_target": helpt < 0.3,
        "machine": machine(),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    emit(measure(ap.parse_args().repeat))
