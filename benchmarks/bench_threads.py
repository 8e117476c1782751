"""ONNX Runtime settings for e5-small, measured rather than guessed: intra-op threads against the
cores, texts per batch (the texts are sorted by length first, as the embedder does, so every batch
is a length bucket), and thread spinning. Prints one JSON document.

Every setting encodes the same texts (the chunks of a generated plan, ``passage: `` prefixed, as
`align score` embeds them) in a fresh session; settings are interleaved over ``--rounds`` rounds
and the median is reported, so a busy minute on the shared machine hits every setting alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import emit, machine, make_plan  # noqa: E402


def plan_texts(chars: int) -> list[str]:
    from align.chunk import DEFAULT_MAX_TOKENS, chunk_document
    from align.read import read_bytes
    from align.scoring import chunk_embed_text, load_calibration

    doc = read_bytes(make_plan(chars, seed=3).encode("utf-8"), "plan.txt")
    cal = load_calibration("e5-small")
    chunks = chunk_document(doc, max_tokens=DEFAULT_MAX_TOKENS)
    return list(dict.fromkeys("passage: " + chunk_embed_text(c, cal.heading_context) for c in chunks))


def encode_all(enc, texts: list[str], batch: int) -> float:
    order = sorted(texts, key=len)
    t0 = time.perf_counter()
    for i in range(0, len(order), batch):
        enc.encode(order[i : i + batch])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chars", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--batches", default="8,16,32")
    a = ap.parse_args()
    import onnxruntime as ort

    from align.embed.e5build import ensure_e5_model
    from align.embed.onnxbuild import ensure_onnx_model
    from align.embed.ort import OnnxEncoder, available_cores

    folder, _ = ensure_onnx_model(ensure_e5_model(progress=False), "fp32", progress=False)
    texts = plan_texts(a.chars)
    threads = [int(x) for x in a.threads.split(",")]
    batches = [int(x) for x in a.batches.split(",")]
    # (threads, batch, spinning); 0 threads: the default count
    configs = [(t, 16, spin) for t in threads for spin in (False, True)]
    configs += [(0, b, False) for b in batches if b != 16]
    times: dict[tuple[int, int, bool], list[float]] = {c: [] for c in configs}
    for _ in range(a.rounds):
        for t, b, spin in configs:
            enc = OnnxEncoder(folder, threads=t or None, spinning=spin)
            enc.encode(texts[:8])  # warm-up
            times[(t, b, spin)].append(encode_all(enc, texts, b))
    default = OnnxEncoder(folder).threads
    rows = []
    for (t, b, spin), ts in times.items():
        med = statistics.median(ts)
        rows.append({"threads": t or default, "batch": b, "spinning": spin,
                     "median_s": round(med, 3), "texts_per_s": round(len(texts) / med, 1),
                     "runs_s": [round(x, 2) for x in ts]})  # fmt: skip
    emit({"measurement": "onnx_threads", "texts": len(texts), "cores": available_cores(),
          "default_threads": default, "onnxruntime": ort.__version__, "rows": rows,
          "machine": machine()})  # fmt: skip


if __name__ == "__main__":
    main()
