"""Re-scoring: the task index and the lexical term weights in the on-disk cache, and the
helper process that cuts new texts with jieba while the model loads.

A re-scored plan should pay only for what changed: the task index (task views, background
statistics, the null of every task) is stored once per exact set of inputs, and every text's
term weights are stored like its vectors, so an unchanged plan is scored without jieba's
dictionary and without the model. These tests use the lexical model (no torch), which runs the
same index and lexical code as the default model.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from align.embed.cache import EmbeddingCache
from align.embed.lexical import (
    CACHE_KIND,
    LexicalEmbedder,
    lexical_identity,
    passage_weights,
    term_words,
)
from align.pipeline import Scorer
from align.policies import load_policies
from align.scoring import index as score_index
from align.scoring.calibration import load_calibration
from align.scoring.lexical import matched_terms

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plan.txt"
TEXTS = ["深化产教融合，推进校企合作，共建实训基地。", "加强“双师型”教师队伍建设。"]


pytestmark = pytest.mark.usefixtures("cache_dir")  # see conftest.py


@pytest.fixture(scope="module")
def sets():
    return load_policies()


@pytest.fixture(scope="module")
def built(sets):
    emb = LexicalEmbedder()
    cal = load_calibration(emb.key)
    return score_index.build_task_index(sets, emb, cal), emb, cal


def _summary(report) -> list[tuple]:
    return [
        (t.id, t.status, round(t.score, 6), tuple((e.text, e.matched_terms) for e in t.evidence))
        for s in report.policy_sets
        for t in s.tasks
    ]


def test_index_survives_a_round_trip(built):
    index, _, _ = built
    back = score_index.TaskIndex.from_bytes(index.to_bytes(), index.tasks)
    assert [v.text for v in back.views] == [v.text for v in index.views]
    assert back.lex.vocab == index.lex.vocab
    np.testing.assert_array_equal(back.lex.matrix, index.lex.matrix)
    for name in ("dense_mu", "dense_sd", "lex_mu", "lex_sd"):
        np.testing.assert_array_equal(getattr(back, name), getattr(index, name))
    assert back.dense_q is None and index.dense_q is None  # lexical model: no vectors
    assert back.term_words == index.term_words
    assert back.term_words["校企合作"] == term_words("校企合作")


def test_a_stored_index_for_other_tasks_is_refused(built, sets):
    index, _, _ = built
    with pytest.raises(ValueError, match="other tasks"):
        score_index.TaskIndex.from_bytes(index.to_bytes(), list(sets[0].tasks))
    with pytest.raises(ValueError, match="unreadable"):
        score_index.TaskIndex.from_bytes(b"not an npz", index.tasks)
    # a readable .npz with the right task ids but missing or mis-shaped parts is refused too
    import io

    good = np.load(io.BytesIO(index.to_bytes()))
    for drop, reshape in (("lex_sd", None), (None, "dense_mu")):
        arrays = {k: good[k] for k in good.files if k != drop}
        if reshape:
            arrays[reshape] = arrays[reshape][:3]
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        with pytest.raises(ValueError, match="unreadable"):
            score_index.TaskIndex.from_bytes(buf.getvalue(), index.tasks)


def test_a_damaged_stored_index_is_rebuilt_not_fatal(cache_dir):
    first = Scorer(model="lexical").score_path(EXAMPLE)
    store = EmbeddingCache()
    scorer = Scorer(model="lexical")
    key = score_index.task_index_key(scorer.policy_sets, scorer.embedder, scorer.calibration)
    store.put_blobs(score_index.INDEX_KIND, {key: b"PK\x03\x04 truncated"})
    assert _summary(scorer.score_path(EXAMPLE)) == _summary(first)
    assert score_index.TaskIndex.from_bytes(store.get_blobs(score_index.INDEX_KIND, [key])[key],
                                        scorer.index.tasks)  # rewritten  # fmt: skip


def test_key_follows_every_input(built, sets):
    _, emb, cal = built
    key = score_index.task_index_key(sets, emb, cal)
    assert key == score_index.task_index_key(load_policies(), emb, cal)  # deterministic
    t0 = sets[0].tasks[0]
    edited = [dataclasses.replace(sets[0], tasks=(dataclasses.replace(t0, terms=(*t0.terms, "新词")),
                                                  *sets[0].tasks[1:])), *sets[1:]]  # fmt: skip
    assert score_index.task_index_key(edited, emb, cal) != key
    assert score_index.task_index_key(sets, emb, dataclasses.replace(cal, heading_context=not cal.heading_context)) != key
    assert score_index.task_index_key(sets[:1], emb, cal) != key


def test_second_run_loads_the_index_and_scores_identically(monkeypatch, cache_dir):
    first = Scorer(model="lexical").score_path(EXAMPLE)
    stored = EmbeddingCache().info()["other"]
    kinds = {o["kind"] for o in stored}
    assert {score_index.INDEX_KIND, CACHE_KIND} <= kinds
    assert all(k in (score_index.INDEX_KIND, CACHE_KIND) or k.startswith("assess/") for k in kinds)

    def must_not_build(*a, **k):
        raise AssertionError("the stored task index was not used")

    monkeypatch.setattr(score_index, "build_task_index", must_not_build)
    second = Scorer(model="lexical").score_path(EXAMPLE)
    assert _summary(second) == _summary(first)
    monkeypatch.undo()
    uncached = Scorer(model="lexical", cache=False).score_path(EXAMPLE)
    assert _summary(uncached) == _summary(first)


def test_no_cache_stores_no_index_and_no_weights(cache_dir):
    Scorer(model="lexical", cache=False).score_path(EXAMPLE)
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_unchanged_plan_is_rescored_without_jieba_or_model(cache_dir):
    # a fresh process each time: module state (jieba's dictionary, the IDF table) is per process
    code = textwrap.dedent(
        f"""
        import sys
        from align.embed import lexical
        from align.pipeline import Scorer
        Scorer(model=sys.argv[1]).score_path({str(EXAMPLE)!r})
        print(lexical._ready, lexical._idf is not None, "torch" in sys.modules)
        """
    )

    def run(model: str) -> str:
        out = subprocess.run([sys.executable, "-c", code, model], capture_output=True,
                             text=True, check=True, timeout=300)  # fmt: skip
        return out.stdout.split()

    assert run("lexical") == ["True", "True", "False"]  # first run: jieba and IDF loaded
    assert run("lexical") == ["False", "False", "False"]  # second: neither


def test_term_weights_from_the_cache_equal_fresh_ones():
    store = EmbeddingCache()
    fresh = passage_weights(TEXTS)
    assert passage_weights(TEXTS, store) == fresh  # computed and stored
    assert passage_weights(TEXTS, store) == fresh  # read back
    assert store.info()["other"] == [
        {"kind": CACHE_KIND, "entries": 2, "bytes": store.info()["other"][0]["bytes"]}
    ]


def test_a_foreign_weights_entry_is_recomputed():
    # valid checksum, but not our JSON: recomputed rather than trusted or crashing
    store = EmbeddingCache()
    passage_weights(TEXTS, store)
    import hashlib

    key = hashlib.sha256(f"{lexical_identity()}\0{TEXTS[0]}".encode()).hexdigest()
    store.put_blobs(CACHE_KIND, {key: b"\xff not json"})
    assert passage_weights(TEXTS, store) == passage_weights(TEXTS)


def test_matched_terms_with_precomputed_words_needs_no_cutting(monkeypatch):
    from align.embed import lexical

    words = {"校企合作": ("校企", "合作"), "现代学徒制": ("现代", "学徒制")}

    def no_jieba(*a, **k):
        raise AssertionError("cut with jieba although the words were given")

    monkeypatch.setattr(lexical, "_plain_cut", no_jieba)
    text = "学校与企业深度合作，校企深度合作共建实训基地。"
    assert matched_terms(["校企合作", "现代学徒制"], text, words) == ["校企合作"]


def test_cache_info_lists_index_and_weights(cache_dir):
    from typer.testing import CliRunner

    from align.cli import app

    Scorer(model="lexical").score_path(EXAMPLE)
    r = CliRunner().invoke(app, ["cache", "info"])
    assert r.exit_code == 0, r.output
    assert "任务索引 task indexes: 1 条" in r.output
    assert "词项权重 lexical term weights" in r.output
    data = json.loads(CliRunner().invoke(app, ["cache", "info", "--json"]).stdout)
    kinds = {o["kind"] for o in data["other"]}
    assert {"task-index", "lexical"} <= kinds
    assert all(k in ("task-index", "lexical") or k.startswith("assess/") for k in kinds)
    r = CliRunner().invoke(app, ["cache", "clear"])
    assert EmbeddingCache().info()["other"] == []


# --------------------------------------------------------------------------- lexical helper


def test_helper_stores_exactly_what_the_scorer_would_compute(tmp_path, monkeypatch):
    from align.embed import lexical, lexical_helper

    monkeypatch.setattr(lexical, "_ready", False)  # as in a fresh process
    store = EmbeddingCache(tmp_path / "helper-cache")
    texts = [*TEXTS, "推进1+X证书制度试点，建设学分银行。", TEXTS[0]]
    helper = lexical_helper.start(texts, store)
    assert helper is not None
    assert helper.wait() is True
    from align.embed.lexical import uncached

    assert uncached(texts, store) == []  # all stored by the other process
    assert passage_weights(texts, store) == passage_weights(texts)


def test_helper_is_not_started_when_it_cannot_help(tmp_path, monkeypatch):
    from align.embed import lexical, lexical_helper

    store = EmbeddingCache(tmp_path / "c")
    passage_weights(TEXTS, store)
    monkeypatch.setattr(lexical, "_ready", False)  # as in a fresh process
    assert lexical_helper.start(TEXTS, store) is None  # nothing left to compute
    new = ["新的段落：建设智慧校园。"]
    monkeypatch.setenv("ALIGN_NO_HELPER", "1")
    assert lexical_helper.start(new, store) is None
    monkeypatch.delenv("ALIGN_NO_HELPER")
    monkeypatch.setattr(lexical_helper.os, "cpu_count", lambda: 1)
    assert lexical_helper.start(new, store) is None  # one core: nothing to overlap with
    monkeypatch.setattr(lexical_helper.os, "cpu_count", lambda: 2)
    helper = lexical_helper.start(new, store)  # the control: it would start otherwise
    assert helper is not None and helper.wait()
    monkeypatch.setattr(lexical, "_ready", True)
    new = ["另一个新段落。"]
    assert lexical_helper.start(new, store) is None  # jieba is loaded here already: cheap


def _use_scorer(monkeypatch, model_loads: bool) -> Scorer:
    scorer = Scorer(model="use-m3")
    monkeypatch.setattr(scorer.embedder, "will_load_model", lambda texts: model_loads)
    return scorer


def test_scorer_uses_the_helper_while_the_model_loads(monkeypatch):
    from align.embed import lexical, lexical_helper

    started = []
    real_start = lexical_helper.start

    def spy(texts, store):
        h = real_start(texts, store)
        started.append(h)
        return h

    monkeypatch.setattr(lexical_helper, "start", spy)
    monkeypatch.setattr(lexical, "_ready", False)  # as in a fresh process
    scorer = _use_scorer(monkeypatch, model_loads=True)
    _ = scorer.index  # a stored index is the re-score case; building it loads jieba here
    monkeypatch.setattr(lexical, "_ready", False)
    report = scorer.score_path(EXAMPLE)
    assert len(started) == 1 and started[0] is not None
    assert _summary(report) == _summary(Scorer(model="use-m3", cache=False).score_path(EXAMPLE))


def test_a_failing_helper_changes_nothing(monkeypatch):
    from align.embed import lexical, lexical_helper

    def broken(texts, store):
        proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"],
                                stdin=subprocess.PIPE)  # fmt: skip
        return lexical_helper.Helper(proc, b"[]")

    monkeypatch.setattr(lexical_helper, "start", broken)
    scorer = _use_scorer(monkeypatch, model_loads=True)
    monkeypatch.setattr(lexical, "_ready", False)
    report = scorer.score_path(EXAMPLE)
    assert _summary(report) == _summary(Scorer(model="use-m3", cache=False).score_path(EXAMPLE))


def test_no_helper_when_the_model_is_loaded_or_cached(monkeypatch):
    from align.embed import lexical_helper

    def must_not_start(texts, store):
        raise AssertionError("helper started with no model load to hide behind")

    monkeypatch.setattr(lexical_helper, "start", must_not_start)
    _use_scorer(monkeypatch, model_loads=False).score_path(EXAMPLE)


def test_helper_is_stopped_when_the_model_fails(monkeypatch):
    from align.embed import lexical, lexical_helper
    from align.errors import ModelError

    helpers = []

    def slow(texts, store):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                stdin=subprocess.PIPE)  # fmt: skip
        helpers.append(lexical_helper.Helper(proc, b"[]"))
        return helpers[-1]

    monkeypatch.setattr(lexical_helper, "start", slow)
    scorer = _use_scorer(monkeypatch, model_loads=True)
    _ = scorer.index

    def fail(texts):
        raise ModelError("模型加载失败 (cannot load model: test)")

    monkeypatch.setattr(scorer.embedder, "encode_passages", fail)
    monkeypatch.setattr(lexical, "_ready", False)
    with pytest.raises(ModelError):
        scorer.score_path(EXAMPLE)
    assert helpers and helpers[0].proc.poll() is not None  # killed and reaped, not left running


def test_old_import_paths_still_work():
    # align.scoring and align.judge were single modules; their names stay for one release
    import align
    from align import judge, scoring
    from align.scoring import decide, head

    assert scoring.TaskIndex is score_index.TaskIndex
    assert scoring.load_calibration is load_calibration
    assert judge.decide is decide.decide and judge.Head is head.Head
    assert callable(align.score)  # the package is not align.score: that is the function
