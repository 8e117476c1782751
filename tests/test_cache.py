"""The on-disk embedding cache: hits, partial hits, corruption, concurrent processes, CLI.

The embedder tests use the real USE model (pure numpy, loads in a second); cache-only tests use
vectors derived from the key, so every returned vector can be checked exactly.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from align.embed import get_embedder
from align.embed.cache import FILENAME, SCHEMA, EmbeddingCache
from align.embed.usem import USEEmbedder

TEXTS = [
    "深化产教融合，推进校企合作，共建实训基地。",
    "加强“双师型”教师队伍建设，完善教师企业实践制度。",
    "稳步推进1+X证书制度试点，推动书证融通。",
    "健全学生资助体系，做好学生心理健康教育。",
    "建设智慧校园，推动信息技术与教育教学深度融合。",
]
WARNING = "嵌入缓存已损坏，已重建"


def key_vec(key: str, dim: int = 8) -> np.ndarray:
    """A deterministic vector per key, so a wrong vector cannot go unnoticed."""
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


pytestmark = pytest.mark.usefixtures("cache_dir")  # see conftest.py


@pytest.fixture(scope="module")
def reference_vectors() -> np.ndarray:
    """The same texts embedded with no cache at all."""
    return USEEmbedder(cache=None).encode_passages(TEXTS)


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if WARNING in line]


# --------------------------------------------------------------------------- store


def test_put_get_roundtrip_and_info(cache_dir):
    c = EmbeddingCache()
    assert c.path == cache_dir / FILENAME
    items = {f"k{i}": key_vec(f"k{i}") for i in range(10)}
    assert c.put_many("fpA", items, name="model-a") == 10
    c.put_many("fpB", {"k0": key_vec("other", 4)}, name="model-b")
    got = c.get_many("fpA", ["k3", "k1", "nope"])
    assert set(got) == {"k1", "k3"}
    for k, v in got.items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, items[k])
    # the same key under another fingerprint is another model's vector
    np.testing.assert_array_equal(c.get_many("fpB", ["k0"])["k0"], key_vec("other", 4))
    info = c.info()
    assert info["path"] == str(cache_dir / FILENAME) and info["size_bytes"] > 0
    assert info["entries"] == 11
    by_name = {m["name"]: m for m in info["models"]}
    assert by_name["model-a"]["entries"] == 10 and by_name["model-a"]["dim"] == 8
    assert by_name["model-b"]["entries"] == 1 and by_name["model-b"]["dim"] == 4
    assert c.clear() == 11
    assert c.get_many("fpA", ["k1"]) == {}
    assert c.info()["entries"] == 0


def test_many_keys_in_one_lookup():
    c = EmbeddingCache()
    items = {f"k{i}": key_vec(f"k{i}") for i in range(1200)}  # more than one SELECT chunk
    c.put_many("fp", items)
    got = c.get_many("fp", list(items))
    assert len(got) == 1200
    np.testing.assert_array_equal(got["k1199"], items["k1199"])


def test_clear_without_a_file_and_info_does_not_create_one(cache_dir):
    c = EmbeddingCache()
    assert c.info()["exists"] is False
    assert c.clear() == 0
    assert not (cache_dir / FILENAME).exists()


# --------------------------------------------------------------------------- embedder + cache


def test_second_run_embeds_nothing_and_an_edit_embeds_only_that_text(reference_vectors):
    first = get_embedder("use-m3", progress=False)
    v1 = first.encode_passages(TEXTS)
    assert (first.stats.embedded, first.stats.cache_hits) == (5, 0)
    np.testing.assert_allclose(v1, reference_vectors, atol=1e-6)

    again = get_embedder("use-m3", progress=False)  # a new run: fresh object, same file
    v2 = again.encode_passages(TEXTS)
    assert (again.stats.embedded, again.stats.cache_hits) == (0, 5)
    assert again._model is None  # an all-hit run never even loads the model
    np.testing.assert_array_equal(v2, v1)

    edited = list(TEXTS)
    edited[2] = "稳步推进1+X证书制度试点，推动书证融通，扩大试点专业范围。"
    third = get_embedder("use-m3", progress=False)
    v3 = third.encode_passages(edited)
    assert (third.stats.embedded, third.stats.cache_hits) == (1, 4)
    np.testing.assert_array_equal(np.delete(v3, 2, axis=0), np.delete(v1, 2, axis=0))
    np.testing.assert_allclose(v3[2], USEEmbedder().encode_passages([edited[2]])[0], atol=1e-6)


def test_task_embeddings_are_cached_the_same_way():
    tasks = ["校企合作", "教师队伍建设", "1+X证书"]
    a = get_embedder("use-m3", progress=False)
    qa = a.encode_queries(tasks)
    b = get_embedder("use-m3", progress=False)
    qb = b.encode_queries(tasks)
    assert (a.stats.embedded, b.stats.embedded, b.stats.cache_hits) == (3, 0, 3)
    np.testing.assert_array_equal(qa, qb)


def test_duplicates_embed_once_and_order_is_kept(reference_vectors):
    e = get_embedder("use-m3", progress=False)
    order = [3, 0, 3, 4, 1, 0, 2]
    v = e.encode_passages([TEXTS[i] for i in order])
    assert e.stats.embedded == 5
    np.testing.assert_allclose(v, reference_vectors[order], atol=1e-6)


def test_no_cache_neither_reads_nor_writes(cache_dir):
    e = get_embedder("use-m3", cache=False, progress=False)
    assert e.cache is None
    e.encode_passages(TEXTS[:2])
    e.encode_passages(TEXTS[:2])
    assert e.stats.embedded == 4 and e.stats.cache_hits == 0
    assert not (cache_dir / FILENAME).exists()


def test_unusable_cache_dir_warns_once_and_still_embeds(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(blocker / "cache"))
    e = get_embedder("use-m3", progress=False)
    v = e.encode_passages(TEXTS[:2])
    e.encode_passages(TEXTS[:2])
    assert v.shape == (2, 512)
    err = capsys.readouterr().err
    assert err.count("嵌入缓存不可用") == 1, err


# --------------------------------------------------------------------------- corruption


def _fill(reference_vectors) -> Path:
    e = get_embedder("use-m3", progress=False)
    e.encode_passages(TEXTS)
    e.cache.close()
    return e.cache.path


def _rerun(reference_vectors, capsys) -> tuple[object, str]:
    e = get_embedder("use-m3", progress=False)
    v = e.encode_passages(TEXTS)
    np.testing.assert_allclose(v, reference_vectors, atol=1e-6)  # never a wrong vector
    again = get_embedder("use-m3", progress=False)
    again.encode_passages(TEXTS)
    assert again.stats.embedded == 0  # the rebuilt cache works
    return e, capsys.readouterr().err


def test_garbage_file_is_rebuilt_with_one_warning(reference_vectors, capsys, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / FILENAME).write_bytes(b"this is not a database\n" * 500)
    e, err = _rerun(reference_vectors, capsys)
    assert e.stats.embedded == 5
    lines = warnings_in(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("提示 warning: ") and str(cache_dir / FILENAME) in lines[0]


def test_truncated_file_is_rebuilt(reference_vectors, capsys):
    path = _fill(reference_vectors)
    capsys.readouterr()
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * 3000)  # header intact, pages destroyed
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    _, err = _rerun(reference_vectors, capsys)
    assert len(warnings_in(err)) == 1, err


def test_foreign_sqlite_file_is_rebuilt(reference_vectors, capsys, cache_dir):
    cache_dir.mkdir(parents=True)
    con = sqlite3.connect(cache_dir / FILENAME)
    con.execute("CREATE TABLE notes (id INTEGER, body TEXT)")
    con.execute("INSERT INTO notes VALUES (1, 'someone else''s data')")
    con.commit()
    con.close()
    _, err = _rerun(reference_vectors, capsys)
    assert len(warnings_in(err)) == 1, err


def test_wrong_schema_version_is_rebuilt(reference_vectors, capsys):
    path = _fill(reference_vectors)
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = 'align-embeddings/0' WHERE key = 'schema'")
    con.commit()
    con.close()
    capsys.readouterr()
    e, err = _rerun(reference_vectors, capsys)
    assert e.stats.embedded == 5  # nothing trusted from the old file
    assert len(warnings_in(err)) == 1, err
    assert EmbeddingCache().info()["entries"] == 5


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE vectors SET vec = substr(vec, 1, 100)",  # wrong blob length
        "UPDATE vectors SET dim = 256",  # dim disagrees with the blob
        "UPDATE vectors SET dtype = 'float64'",
        # same length, different bytes: only the checksum can tell
        "UPDATE vectors SET vec = zeroblob(2048)",
    ],
)
def test_damaged_rows_are_never_returned(reference_vectors, capsys, damage):
    path = _fill(reference_vectors)
    con = sqlite3.connect(path)
    fp = get_embedder("use-m3").info.fingerprint
    con.execute(f"{damage} WHERE fingerprint = ?", (fp,))
    con.commit()
    con.close()
    capsys.readouterr()
    e, err = _rerun(reference_vectors, capsys)
    assert e.stats.embedded == 5
    assert len(warnings_in(err)) == 1, err


def test_a_damaged_file_that_cannot_be_removed_turns_the_cache_off(
    reference_vectors, capsys, cache_dir, monkeypatch
):
    """Windows keeps a file open by another process undeletable: no crash, no wrong vectors."""
    cache_dir.mkdir(parents=True)
    (cache_dir / FILENAME).write_bytes(b"garbage" * 1000)

    def refuse(self, *a, **k):
        raise PermissionError(f"in use: {self}")

    monkeypatch.setattr(Path, "unlink", refuse)
    e = get_embedder("use-m3", progress=False)
    np.testing.assert_allclose(e.encode_passages(TEXTS), reference_vectors, atol=1e-6)
    e.encode_passages(TEXTS)
    assert e.stats.embedded == 10  # nothing served from the broken file
    err = capsys.readouterr().err
    assert err.count("嵌入缓存不可用") == 1, err


def test_mixed_dimensions_under_one_model_are_detected(capsys):
    c = EmbeddingCache()
    c.put_many("fp", {"a": key_vec("a", 8)})
    c.put_many("fp", {"b": key_vec("b", 4)})
    assert c.get_many("fp", ["a", "b"]) == {}
    assert len(warnings_in(capsys.readouterr().err)) == 1
    c.put_many("fp", {"a": key_vec("a", 8)})
    np.testing.assert_array_equal(c.get_many("fp", ["a"])["a"], key_vec("a", 8))


def test_schema_marker_is_what_we_check():
    c = EmbeddingCache()
    c.put_many("fp", {"a": key_vec("a")})
    con = sqlite3.connect(c.path)
    assert con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == SCHEMA
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


# --------------------------------------------------------------------------- two processes

STRESS = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    from align.embed.cache import EmbeddingCache

    def key_vec(key, dim=8):
        seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)

    me = sys.argv[1]
    c = EmbeddingCache()
    for r in range(60):
        # half the keys are shared with the other process, half are this process's own
        keys = [f"shared-{r}-{i}" for i in range(10)] + [f"{me}-{r}-{i}" for i in range(10)]
        c.put_many("fp", {k: key_vec(k) for k in keys}, name="stress")
        got = c.get_many("fp", keys + [f"shared-{r - 1}-{i}" for i in range(10)])
        for k, v in got.items():
            assert np.array_equal(v, key_vec(k)), k
        assert all(k in got for k in keys)
    print("done", me)
    """
)


def test_two_processes_share_the_cache_safely(cache_dir, tmp_path):
    script = tmp_path / "stress.py"
    script.write_text(STRESS)
    env = dict(os.environ, ALIGN_CACHE_DIR=str(cache_dir))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "warning" not in err, err
    assert sorted(o.strip() for o, _ in outs) == ["done p1", "done p2"]
    c = EmbeddingCache(cache_dir)
    assert c.info()["entries"] == 60 * 10 + 2 * 60 * 10
    got = c.get_many("fp", ["p1-59-9", "p2-0-0", "shared-30-5"])
    for k, v in got.items():
        np.testing.assert_array_equal(v, key_vec(k))


EMBED_RUN = textwrap.dedent(
    """
    import json, sys
    from align.embed import get_embedder
    texts = json.loads(sys.argv[1])
    e = get_embedder("use-m3", progress=False)
    v = e.encode_passages(texts)
    print(json.dumps({"embedded": e.stats.embedded, "hits": e.stats.cache_hits,
                      "vec": v.round(6).tolist()}))
    """
)


def test_two_align_processes_embedding_at_once(cache_dir, tmp_path, reference_vectors):
    import json

    script = tmp_path / "embed_run.py"
    script.write_text(EMBED_RUN)
    env = dict(os.environ, ALIGN_CACHE_DIR=str(cache_dir))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), json.dumps(texts, ensure_ascii=False)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for texts in (TEXTS[:4], TEXTS[1:])
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "warning" not in err, err
        results.append(json.loads(out))
    np.testing.assert_allclose(results[0]["vec"], reference_vectors[:4], atol=1e-5)
    np.testing.assert_allclose(results[1]["vec"], reference_vectors[1:], atol=1e-5)
    # the cache holds the union, and a third run embeds nothing
    after = get_embedder("use-m3", progress=False)
    np.testing.assert_allclose(after.encode_passages(TEXTS), reference_vectors, atol=1e-6)
    assert after.stats.embedded == 0


# --------------------------------------------------------------------------- CLI


def test_cli_cache_info_and_clear(cache_dir):
    from align.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["cache", "info"])
    assert r.exit_code == 0, r.output
    assert "缓存为空" in r.output

    get_embedder("use-m3", progress=False).encode_passages(TEXTS[:3])
    r = runner.invoke(app, ["cache", "info"])
    assert r.exit_code == 0, r.output
    assert str(cache_dir / FILENAME) in r.output.replace("\n", "")
    assert "use-m3" in r.output and "512" in r.output

    r = runner.invoke(app, ["cache", "info", "--json"])
    import json

    data = json.loads(r.stdout)
    assert data["entries"] == 3 and data["models"][0]["name"] == "use-m3"

    r = runner.invoke(app, ["cache", "clear"])
    assert r.exit_code == 0, r.output
    assert "已清除 3 条" in r.output
    assert EmbeddingCache().info()["entries"] == 0
