"""Baseline for the pipeline-overhead measurement: a plain ``SentenceTransformer.encode`` of
exactly the texts `align score` embeds for a plan (same chunks, heading context and ``passage: ``
prefix, de-duplicated as align does), same model folder, same batch size. Prints one JSON line.

``--backend onnx`` / ``onnx-int8``: the same texts through the bare ONNX Runtime encoder
(tokenizer + session, sorted by length into batches of the same size, as sentence-transformers
does), and ``load_s`` is its start-up (importing onnxruntime, the tokenizer, the session).

The model gets one untimed warm-up batch first, as it does inside `align score` (where the task
index is embedded before the plan).
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("--backend", default="torch", choices=("torch", "onnx", "onnx-int8"))
    a = ap.parse_args()
    from align.chunk import DEFAULT_MAX_TOKENS, chunk_document
    from align.embed.base import BATCH_SIZE
    from align.embed.e5build import ensure_e5_model
    from align.embed.st import E5_PASSAGE, load_st_model
    from align.read import read_document
    from align.scoring import chunk_embed_text, load_background, load_calibration

    doc = read_document(a.plan)
    chunks = chunk_document(doc, max_tokens=DEFAULT_MAX_TOKENS)
    cal = load_calibration("e5-small")
    texts = list(dict.fromkeys(E5_PASSAGE + chunk_embed_text(c, cal.heading_context) for c in chunks))
    warm = [E5_PASSAGE + b.text for b in load_background()[:BATCH_SIZE]]
    e5 = ensure_e5_model(progress=False)
    if a.backend != "torch":
        from align.embed.onnxbuild import VARIANTS, ensure_onnx_model
        from align.embed.ort import OnnxEncoder

        folder, _ = ensure_onnx_model(e5, VARIANTS[a.backend], progress=False)
        t0 = time.perf_counter()
        enc = OnnxEncoder(folder)
        load_s = time.perf_counter() - t0
        enc.encode(warm)
        order = sorted(texts, key=len)
        t0 = time.perf_counter()
        parts = [enc.encode(order[i : i + BATCH_SIZE]) for i in range(0, len(order), BATCH_SIZE)]
        encode_s = time.perf_counter() - t0
        print(json.dumps({"load_s": load_s, "encode_s": encode_s, "texts": len(texts),
                          "dim": int(parts[0].shape[1]), "batch_size": BATCH_SIZE,
                          "backend": a.backend}))  # fmt: skip
        return
    t0 = time.perf_counter()
    model = load_st_model(e5)
    load_s = time.perf_counter() - t0
    model.encode(warm, batch_size=BATCH_SIZE, prompt="", show_progress_bar=False)
    t0 = time.perf_counter()
    vecs = model.encode(
        texts,
        batch_size=BATCH_SIZE,
        prompt="",
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    encode_s = time.perf_counter() - t0
    print(json.dumps({"load_s": load_s, "encode_s": encode_s, "texts": len(texts),
                      "dim": int(vecs.shape[1]), "batch_size": BATCH_SIZE, "backend": "torch"}))


if __name__ == "__main__":
    main()
