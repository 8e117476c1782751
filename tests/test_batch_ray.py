"""`align batch --engine ray` on a local Ray cluster (num_cpus=2, started once for the module):
the same reports as the local engine, the same resume keys, a shared embedding cache that stays
right when two actors write it at once, and one clear line when Ray cannot be reached.

The real lexical model throughout (real term weights, real cache), on real plans.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_batch import make_plans

from align.batch import run_batch
from align.batch.ray_engine import RayEngine
from align.cli import run
from align.errors import ConfigError
from align.pipeline import Scorer

pytest.importorskip("ray", reason="the ray extra is part of align-policy[dev]")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray with 2 CPUs and its own cache dir (the actors inherit it at start)."""
    import ray

    cache = tmp_path_factory.mktemp("ray-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALIGN_CACHE_DIR", str(cache))
        engine = RayEngine(num_cpus=2, model="lexical")
        engine.start()
        try:
            yield cache
        finally:
            engine.close()
            if ray.is_initialized():
                ray.shutdown()


def by_file(outdir: Path) -> dict[str, dict]:
    out = {}
    for line in (outdir / "reports.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        rec["batch"].pop("seconds")
        out[rec["batch"]["file"]] = rec
    return out


def assert_same_reports(a: dict[str, dict], b: dict[str, dict]) -> None:
    assert a.keys() == b.keys()
    for f in a:
        ra, rb = a[f], b[f]
        if ra["schema"] != "align-report/1":
            assert ra == rb
            continue
        ta = [t for s in ra["policy_sets"] for t in s["tasks"]]
        tb = [t for s in rb["policy_sets"] for t in s["tasks"]]
        assert [t["status"] for t in ta] == [t["status"] for t in tb]
        assert [t["score"] for t in ta] == pytest.approx([t["score"] for t in tb], abs=1e-6)
        assert ra == rb  # and everything else: evidence, sub-measures, model, document


def ray_batch(paths, out: Path, actors: int, **kw):
    engine = RayEngine(actors=actors, model="lexical")
    try:
        return run_batch(paths, out, Scorer(model="lexical"), engine=engine, **kw), engine
    finally:
        engine.close()


def test_ray_gives_the_local_engine_reports_and_resumes_its_folder(tmp_path, ray_cluster):
    plans = tmp_path / "plans"
    make_plans(plans, 5, repeat=2)
    (plans / "坏.docx").write_bytes(b"PK\x03\x04 truncated")

    local = tmp_path / "local"
    res = run_batch([plans], local, Scorer(model="lexical", cache=False))
    assert res.scored == 5 and res.failed == 1

    ray_out = tmp_path / "ray"
    res, engine = ray_batch([plans], ray_out, actors=2)
    assert res.scored == 5 and res.failed == 1 and len(engine.actors) == 0  # closed
    assert_same_reports(by_file(local), by_file(ray_out))
    for rec in by_file(ray_out).values():
        if "html" in rec["batch"]:
            assert (ray_out / rec["batch"]["html"]).is_file()

    # the cache two actors filled at once serves a local run the same reports
    warm = tmp_path / "warm"
    run_batch([plans], warm, Scorer(model="lexical"))
    assert_same_reports(by_file(local), by_file(warm))

    # same key on both engines: Ray resumes what the local engine did (only the error is retried)
    res, _ = ray_batch([plans], local, actors=1)
    assert res.skipped == 5 and res.scored == 0 and res.failed == 1
    assert len(by_file(local)) == 6


def test_cli_engine_ray_on_the_running_cluster(tmp_path, ray_cluster, capsys):
    plans = tmp_path / "plans"
    make_plans(plans, 2)
    out = tmp_path / "out"
    code = run(["batch", str(plans), "--out", str(out), "--model", "lexical", "--engine", "ray",
                "--actors", "2"])
    err = capsys.readouterr().err
    assert code in (0, None), err
    assert "评分 2 份" in err and (out / "summary.xlsx").exists()


def test_unreachable_cluster_is_one_line_and_exit_2(tmp_path):
    import os
    import subprocess

    make_plans(tmp_path / "plans", 1)
    env = {**os.environ, "ALIGN_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    r = subprocess.run(
        [sys.executable, "-m", "align", "batch", str(tmp_path / "plans"), "--out",
         str(tmp_path / "o"), "--model", "lexical", "--engine", "ray", "--ray-address",
         "127.0.0.1:1"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Ray" in lines[0] and "127.0.0.1:1" in lines[0]


def test_missing_ray_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=r"align-policy\[ray\]"):
        RayEngine(model="lexical").start()


def test_ray_options_need_the_ray_engine(tmp_path, capsys):
    assert run(["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--actors", "2"]) == 2
    assert "--engine ray" in capsys.readouterr().err
