"""Run `align score PLANS --format json --output FILE` in this process and print, as one JSON
line, where the time went.

The CLI runs unchanged; ``align.pipeline.Scorer`` is swapped for a subclass that only records
itself, so the stage timings are the pipeline's own ``Timings``. The subclass builds the task
index before each document is scored (the base class would do it at the same point), so texts
embedded for the document can be told apart from texts embedded for the tasks and background.

report = CLI time - (setup + read + chunk + embed + score): formatting and writing the report
plus Typer's own work. ``import`` is the time from interpreter start-up to the CLI being ready.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import align.pipeline as pipeline  # noqa: E402

_scorers: list = []
_doc_stats = {"embedded": 0, "cache_hits": 0, "model_s": 0.0}
_preload = "--preload-model" in sys.argv


class _RecordingScorer(pipeline.Scorer):
    def __init__(self, *a, **k):
        t0 = time.perf_counter()
        super().__init__(*a, **k)
        self.bench_setup = time.perf_counter() - t0
        _scorers.append(self)

    def score_document(self, doc):
        # What the base class does first anyway, timed here because Timings.setup counts the
        # model load twice when the index property triggers it (embedder property inside the
        # index's timed block).
        t0 = time.perf_counter()
        _ = self.index
        if _preload and hasattr(self.embedder, "_load"):
            self.embedder._load()  # model load counted as set-up even when the index was cached
        self.bench_setup += time.perf_counter() - t0
        st = self.embedder.stats
        e0, h0, s0 = st.embedded, st.cache_hits, st.seconds
        rep = super().score_document(doc)
        _doc_stats["embedded"] += st.embedded - e0
        _doc_stats["cache_hits"] += st.cache_hits - h0
        _doc_stats["model_s"] += st.seconds - s0
        return rep


pipeline.Scorer = _RecordingScorer  # type: ignore[misc]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--out", required=True)
    ap.add_argument("--preload-model", action="store_true")
    ap.add_argument("plans", nargs="+")
    a = ap.parse_args()
    from align.cli import run as cli_run

    t_import = time.perf_counter() - T_START
    t0 = time.perf_counter()
    code = cli_run(["score", *a.plans, "--model", a.model, "-f", "json", "-o", a.out])
    code = int(code or 0) if isinstance(code, int | None) else 1
    cli = time.perf_counter() - t0
    if code != 0 or not _scorers:
        sys.stderr.write(f"align score exited {code}\n")
        sys.exit(code or 1)
    s = _scorers[0]
    t = s.timings
    staged = s.bench_setup + t.read + t.chunk + t.embed + t.score
    emb = s._embedder
    stats = emb.stats if emb is not None else None
    reports = json.loads(open(a.out, encoding="utf-8").read())
    docs = reports if isinstance(reports, list) else reports.get("reports", [reports])
    chunks = sum(d.get("document", {}).get("chunks", 0) for d in docs if isinstance(d, dict))
    chars = sum(d.get("document", {}).get("chars", 0) for d in docs if isinstance(d, dict))
    print(
        json.dumps(
            {
                "import_s": t_import,
                "cli_s": cli,
                "setup_s": s.bench_setup,
                "setup_s_timings": t.setup,
                "read_s": t.read,
                "chunk_s": t.chunk,
                "embed_s": t.embed,
                "score_s": t.score,
                "report_s": max(0.0, cli - staged),
                "embed_model_s": stats.seconds if stats else 0.0,
                "texts_embedded_total": stats.embedded if stats else 0,
                "texts_embedded_doc": _doc_stats["embedded"],
                # model time (Embedder.stats.seconds) for the document's own texts only
                "embed_model_doc_s": _doc_stats["model_s"],
                "cache_hits_doc": _doc_stats["cache_hits"],
                "backend": emb.info.extra.get("backend", "") if emb is not None else "",
                "documents": len(docs),
                "chunks": chunks,
                "chars": chars,
            }
        ),
        flush=True,
    )
    # leave the way the `align` console script does, so the wall time measured from outside
    # is what a user waits for
    from align.cli import exit_process

    exit_process(0)


if __name__ == "__main__":
    main()
