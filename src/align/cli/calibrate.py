"""`align calibrate`: fit the checker to a reviewer's own labelled passages."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app
from ._common import ModelOption, NoCacheOption, PolicyOption, SetOption, handle_errors


@app.command()
@handle_errors
def calibrate(
    labels: Path = typer.Argument(
        ...,
        help=(
            "标注文件：每行一个 JSON 对象 {\"text\": 段落, \"labels\": {任务编号: \"core\"|\"partial\"}}，"
            "不涉及任何任务的段落写 {}；可选 \"doc\"（同一文档的段落）与 \"heading\"。"
            " Labels file: one JSON object a line."
        ),
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="写出的校准文件。The calibration file to write (JSON)."
    ),
    model: str = ModelOption,
    policy: list[Path] = PolicyOption,
    sets: list[str] = SetOption,
    no_vectors: bool = typer.Option(
        False,
        "--no-vectors",
        help="不学习每项任务的向量权重（标注很少时更稳）。Do not fit per-task embedding weights.",
    ),
    no_cache: bool = NoCacheOption,
) -> None:
    """用自己的标注校准评分器。Fit thresholds and the scoring head from your labelled passages.

    之后用 `align score ... --calibration 输出文件` 评分；报告会记录所用的校准文件。
    Then score with `align score ... --calibration FILE`; reports record which file was used.
    """
    import sys

    from ..calibrate import fit, load_labels, starting_calibration, write_calibration
    from ..pipeline import make_scorer

    scorer = make_scorer(policy, sets, model, no_cache, progress=False)
    task_ids = [t.id for s in scorer.policy_sets for t in s.tasks]
    passages = load_labels(labels, task_ids)  # a bad file fails before the model loads
    scorer._calibration = starting_calibration(scorer.embedder.key)
    cal, info = fit(scorer, passages, use_vectors=not no_vectors)
    try:
        write_calibration(
            cal, info, output, model_name=scorer.embedder.info.name,
            written_by="align calibrate", labels=str(labels),
        )  # fmt: skip
    except OSError as e:
        from ..errors import OutputError
        from ..fileio import os_reason

        raise OutputError(os_reason(e, output, writing=True), path=str(output)) from None
    pos = sum(1 for v in info["positives"].values() if v)
    sys.stderr.write(
        f"已写入 {output}：{info['passages']} 段标注（{info['labelled']} 段涉及任务，"
        f"{pos} 项任务有正例），部分覆盖阈值 {cal.partial:.0f}，覆盖阈值 {cal.covered:.0f}。"
        f" wrote {output}\n"
    )
