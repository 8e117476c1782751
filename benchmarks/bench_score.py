"""Measurements 2-5 on one generated ~100,000-character plan, each run a fresh `align score`
process (see _score_worker.py), e5 model already built:

2. cold: empty embedding cache; stage split read / chunk / embed / score / report (+ setup:
   policies, model load, task index; + import: interpreter and CLI start-up);
3. warm: same plan again, cache full -> ratio to cold;
4. edit: 5% of body paragraphs edited -> ratio to cold and texts embedded;
5. overhead: the plan's share of cold `align score` against a plain SentenceTransformer.encode
   of the same texts with the same model and batch size (_encode_worker.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from _common import (
    BENCH,
    PY,
    built_model_dir,
    edit_plan,
    emit,
    machine,
    make_plan,
    new_cache_dir,
    r3,
    run,
    run_worker,
)

STAGES = ("read_s", "chunk_s", "embed_s", "score_s", "report_s")


def doc_time(r: dict) -> float:
    """Time spent on the document itself (not start-up, not model load / task index)."""
    return sum(r[k] for k in STAGES)


def summary(r: dict) -> dict:
    keys = ("wall_s", "import_s", "setup_s", *STAGES, "embed_model_s", "embed_model_doc_s",
            "peak_rss_mb")
    out = {k: r3(r[k]) for k in keys}
    out["doc_s"] = r3(doc_time(r))
    for k in ("texts_embedded_total", "texts_embedded_doc", "cache_hits_doc", "chunks", "chars"):
        out[k] = r[k]
    return out


def measure(chars: int = 100_000, model: str = "e5-small", keep: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="align-bench-"))
    try:
        mdir = built_model_dir() if model == "e5-small" else None
        plan = tmp / "plan100k.txt"
        plan.write_text(make_plan(chars, seed=1), encoding="utf-8")
        edited, n_edit, n_body = edit_plan(plan.read_text(encoding="utf-8"), 0.05, seed=2)
        plan_e = tmp / "plan100k-edited.txt"
        plan_e.write_text(edited, encoding="utf-8")

        cache = new_cache_dir(mdir, tmp)
        cold = run_worker([plan], cache, model=model, tmp=tmp)
        warm = run_worker([plan], cache, model=model, tmp=tmp)
        edit = run_worker([plan_e], cache, model=model, tmp=tmp)
        out = {
            "measurement": "score",
            "model": model,
            "plan_chars": cold["chars"],
            "chunks": cold["chunks"],
            "cold": summary(cold),
            "warm": summary(warm),
            "edit_5pct": {**summary(edit), "paragraphs_edited": n_edit, "body_paragraphs": n_body},
            "warm_ratio_wall": r3(warm["wall_s"] / cold["wall_s"]),
            "warm_ratio_doc": r3(doc_time(warm) / doc_time(cold)),
            "edit_ratio_wall": r3(edit["wall_s"] / cold["wall_s"]),
            "edit_ratio_doc": r3(doc_time(edit) / doc_time(cold)),
            "edit_texts_embedded": edit["texts_embedded_doc"],
            "targets": {"warm_ratio": 0.10, "edit_ratio": 0.20, "overhead_ratio": 1.15},
        }
        if model == "e5-small":
            r = run([PY, str(BENCH / "_encode_worker.py"), str(plan)],
                    env={"ALIGN_CACHE_DIR": str(cache)})
            if r["returncode"] != 0:
                raise RuntimeError(r["stderr"])
            base = json.loads(r["stdout"].strip().splitlines()[-1])
            out["overhead"] = {
                "plain_encode_s": r3(base["encode_s"]),
                "plain_load_s": r3(base["load_s"]),
                "texts": base["texts"],
                "batch_size": base["batch_size"],
                "align_doc_s": r3(doc_time(cold)),
                "align_embed_model_s": r3(cold["embed_model_s"]),
                # the plan's whole share of `align score` (read..report) / the model's own encode
                "ratio_doc_to_encode": r3(doc_time(cold) / base["encode_s"]),
                # same process, same minutes (robust to other jobs on the machine): the plan's
                # whole share of `align score` / the model time spent on the plan's texts
                "ratio_doc_to_model_in_process": r3(doc_time(cold) / cold["embed_model_doc_s"]),
                # the whole process, start-up, model load and task index included
                "ratio_wall_to_load_plus_encode": r3(
                    cold["wall_s"] / (base["load_s"] + base["encode_s"])
                ),
            }
        out["machine"] = machine()
        return out
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chars", type=int, default=100_000)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    emit(measure(a.chars, a.model))
