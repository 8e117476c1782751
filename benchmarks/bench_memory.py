"""Why peak memory grows with plan size under e5: encode N chunks batch by batch and report RSS
after model load, peak, and current, optionally calling glibc ``malloc_trim(0)`` after each
batch (--trim). Run it again under ``MALLOC_ARENA_MAX=2`` to compare allocators. Not part of
run_all (about a minute per variant); prints JSON.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from _common import emit, machine, make_plan, r3


def _cur_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--trim", action="store_true")
    a = ap.parse_args()
    from align.chunk import chunk_document
    from align.embed.base import BATCH_SIZE
    from align.embed.e5build import ensure_e5_model
    from align.embed.st import E5_PASSAGE, load_st_model
    from align.read import read_bytes

    doc = read_bytes(make_plan(a.texts * 150, seed=5).encode("utf-8"), "plan.txt")
    texts = sorted((E5_PASSAGE + c.text for c in chunk_document(doc)), key=len)[: a.texts]
    t0 = time.perf_counter()
    model = load_st_model(ensure_e5_model(progress=False))
    load_s = time.perf_counter() - t0
    after_load = _cur_mb()
    trim = None
    if a.trim:
        import ctypes

        trim = ctypes.CDLL("libc.so.6").malloc_trim
    t0 = time.perf_counter()
    for i in range(0, len(texts), BATCH_SIZE):
        model.encode(texts[i : i + BATCH_SIZE], batch_size=BATCH_SIZE, prompt="",
                     show_progress_bar=False)
        if trim is not None:
            trim(0)
    emit({
        "measurement": "memory",
        "texts": len(texts),
        "trim": a.trim,
        "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX"),
        "load_s": r3(load_s),
        "encode_s": r3(time.perf_counter() - t0),
        "rss_after_load_mb": r3(after_load),
        "peak_rss_mb": r3(_peak_mb()),
        "rss_end_mb": r3(_cur_mb()),
        "machine": machine(),
    })


if __name__ == "__main__":
    main()
