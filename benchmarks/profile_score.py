"""Profile `align score` of a generated plan with pyinstrument (cold: empty cache; warm: cache
full) and print, as JSON, the hotspots outside model inference: self time per function, with
everything under torch / transformers / sentence-transformers / tokenizers counted as
"model inference" and left out, plus cumulative time of align's own functions.

Needs `pip install pyinstrument`. Writes the full HTML profiles next to --out-dir if given.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from _common import BENCH, PY, built_model_dir, emit, machine, make_plan, new_cache_dir, r3, run

MODEL_PARTS = ("/torch/", "/transformers/", "/sentence_transformers/", "/tokenizers/")


def _child(plan: str, out: str, html: str | None, model: str) -> None:
    from pyinstrument import Profiler

    sys.path.insert(0, str(BENCH))
    from align.cli import run as cli_run

    prof = Profiler(interval=0.001)
    prof.start()
    cli_run(["score", plan, "--model", model, "-f", "json", "-o", out + ".report"])
    prof.stop()
    if html:
        Path(html).write_text(prof.output_html(), encoding="utf-8")
    root = prof.last_session.root_frame()
    total = root.time if root else 0.0
    self_t: dict[str, float] = defaultdict(float)
    model_t = 0.0
    align_cum: dict[str, float] = defaultdict(float)

    def walk(f, in_model: bool, align_seen: frozenset, parent_key: str) -> None:
        nonlocal model_t
        path = f.file_path or ""
        in_model = in_model or any(p in path for p in MODEL_PARTS)
        # pyinstrument keeps a function's own time in a synthetic "[self]" child: charge it to
        # the parent function; a frame's exclusive time is its time minus its children's.
        key = parent_key if f.is_synthetic else f"{f.function} ({f.file_path_short}:{f.line_no})"
        excl = f.time - sum(c.time for c in f.children)
        if in_model:
            model_t += excl
        else:
            self_t[key] += excl
        if "/align/" in path and not f.is_synthetic and key not in align_seen:
            align_cum[key] += f.time
            align_seen = align_seen | {key}
        for c in f.children:
            walk(c, in_model, align_seen, key)

    if root:
        walk(root, False, frozenset(), "<root>")
    top = sorted(self_t.items(), key=lambda kv: -kv[1])[:15]
    top_align = sorted(align_cum.items(), key=lambda kv: -kv[1])[:15]
    print(json.dumps({
        "total_s": total,
        "model_inference_s": model_t,
        "outside_model_s": total - model_t,
        "top_self_outside_model": [[k, v] for k, v in top],
        "top_align_cumulative": [[k, v] for k, v in top_align],
    }, ensure_ascii=False))


def measure(chars: int, model: str, out_dir: Path | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="align-prof-"))
    try:
        mdir = built_model_dir() if model == "e5-small" else None
        plan = tmp / "plan.txt"
        plan.write_text(make_plan(chars, seed=1), encoding="utf-8")
        cache = new_cache_dir(mdir, tmp)
        res = {"measurement": "profile", "model": model, "chars": chars}
        for phase in ("cold", "warm"):
            html = str(out_dir / f"profile-{phase}.html") if out_dir else ""
            r = run([PY, __file__, "--child", str(plan), str(tmp / phase), html, model],
                    env={"ALIGN_CACHE_DIR": str(cache)})
            if r["returncode"] != 0:
                raise RuntimeError(r["stderr"])
            d = json.loads(r["stdout"].strip().splitlines()[-1])
            res[phase] = {
                "total_s": r3(d["total_s"]),
                "model_inference_s": r3(d["model_inference_s"]),
                "outside_model_s": r3(d["outside_model_s"]),
                "top_self_outside_model": [[k, r3(v)] for k, v in d["top_self_outside_model"]],
                "top_align_cumulative": [[k, r3(v)] for k, v in d["top_align_cumulative"]],
            }
        res["machine"] = machine()
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4] or None, sys.argv[5])
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chars", type=int, default=100_000)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--out-dir", type=Path)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.out_dir:
        a.out_dir.mkdir(parents=True, exist_ok=True)
    emit(measure(a.chars, a.model, a.out_dir))
