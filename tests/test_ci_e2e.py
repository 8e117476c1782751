"""End to end, as a team's CI would run it: a temporary git repository with the example plan,
a baseline, then drafts committed on top.

* a draft that removes the 校企合作/产教融合 section fails `align check --baseline` (exit 1)
  and names the tasks it regressed;
* an unrelated edit (two figures changed elsewhere) passes (exit 0);
* the steps of examples/github-workflow.yml, run as bash with the environment GitHub gives them,
  pick the changed plans, build the baseline from the base commit and fail the draft;
* the repository's .pre-commit-hooks.yaml, installed by pre-commit itself, blocks the draft.

These use the real default model and subprocesses of the installed `align` command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plan.txt"
BIN = Path(sys.executable).parent
ALIGN = str(BIN / "align") if (BIN / "align").exists() else (shutil.which("align") or "align")
# the tasks the 校企合作 section is evidence for (one per policy set that has such a task)
XIAOQI_TASKS = {"tzpy-04", "sc-04"}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    out = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, env=env,
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def align(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    base_env.pop("CI", None)  # the [ci] table must not switch on because the suite runs in CI
    return subprocess.run([ALIGN, *args], cwd=cwd, env={**base_env, **(env or {})},
                          capture_output=True, text=True, timeout=900)


def _xiaoqi_span(lines: list[str]) -> tuple[int, int]:
    start = next(i for i, ln in enumerate(lines) if ln.startswith("（三）") and "校企合作" in ln)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("（四）"))
    return start, end


def without_xiaoqi_section(text: str) -> str:
    """Drop the （三）深化产教融合、校企合作 … section, up to the next （四） heading."""
    lines = text.splitlines(keepends=True)
    start, end = _xiaoqi_span(lines)
    out = "".join(lines[:start] + lines[end:])
    assert "校企合作长效机制" not in out and "现代产业学院" in text
    return out


def xiaoqi_section(text: str) -> str:
    lines = text.splitlines(keepends=True)
    start, end = _xiaoqi_span(lines)
    return "".join(lines[start:end])


def unrelated_edit(text: str) -> str:
    """Figures changed far from any 校企合作 passage, as a routine revision would."""
    out = text.replace("占地面积820亩", "占地面积830亩").replace("不少于1500万元", "不少于1600万元")
    assert out != text
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> dict[str, object]:
    """A plans repo with the example plan committed on main and a baseline recorded for it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    d = tmp_path_factory.mktemp("plans-repo")
    git(d, "init", "-q", "-b", "main")
    (d / "plans").mkdir()
    shutil.copy(EXAMPLE, d / "plans" / "plan.txt")
    # one confidence point of 100: strict, yet above what rewording a figure moves a task that
    # sits at noise level (tzpy-10 at 6 moves 0.08 when 1500万元 becomes 1600万元)
    (d / "align.toml").write_text('baseline = "align-baseline.json"\nregression_margin = 1.0\n',
                                  encoding="utf-8")
    r = align(d, "baseline", "plans/plan.txt", "--output", "align-baseline.json")
    assert r.returncode == 0, r.stderr
    base = json.loads((d / "align-baseline.json").read_text(encoding="utf-8"))
    assert base["schema"] == "align-baseline/1"
    tasks = base["documents"]["plans/plan.txt"]["tasks"]
    git(d, "add", "-A")
    git(d, "commit", "-q", "-m", "plan and baseline")
    return {"dir": d, "base_sha": git(d, "rev-parse", "HEAD"), "tasks": tasks}


def _branch(repo: dict[str, object], name: str, text: str) -> Path:
    d: Path = repo["dir"]  # type: ignore[assignment]
    git(d, "checkout", "-q", "-B", name, str(repo["base_sha"]))
    (d / "plans" / "plan.txt").write_text(text, encoding="utf-8")
    git(d, "commit", "-q", "-am", name)
    return d


def test_baseline_records_the_xiaoqi_tasks_as_covered(repo):
    tasks = repo["tasks"]
    for tid in XIAOQI_TASKS:
        assert tasks[tid]["status"] == "covered", (tid, tasks[tid])


def test_draft_without_xiaoqi_section_fails_and_names_regressed_tasks(repo):
    d = _branch(repo, "draft-no-xiaoqi", without_xiaoqi_section(EXAMPLE.read_text(encoding="utf-8")))
    r = align(d, "check", "plans/plan.txt", "--baseline", "align-baseline.json")
    assert r.returncode == 1, (r.stdout, r.stderr)
    j = align(d, "check", "plans/plan.txt", "--format", "json")  # baseline from align.toml
    assert j.returncode == 1, j.stderr
    result = json.loads(j.stdout)
    assert result["mode"] == "baseline"
    regressed = {v["task_id"] for v in result["violations"]
                 if v["rule"] in ("regressed", "score-drop", "evidence-lost") and v["level"] == "error"}
    assert XIAOQI_TASKS <= regressed, regressed
    for tid in regressed:  # every regressed task is named in the human output, with why
        assert re.search(rf"\[{re.escape(tid)}\] ", r.stdout), tid
    assert "未通过" in r.stdout
    # each finding says what weakened: the status, the score or the supporting passages
    for v in result["violations"]:
        if v["task_id"] in regressed:
            assert v["before_status"] is not None
            if v["rule"] == "evidence-lost":
                assert "不再支撑的段落" in v["message_zh"]


def test_unrelated_edit_passes(repo):
    d = _branch(repo, "draft-unrelated", unrelated_edit(EXAMPLE.read_text(encoding="utf-8")))
    r = align(d, "check", "plans/plan.txt", "--baseline", "align-baseline.json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "通过 PASSED" in r.stdout


def test_diff_names_the_disappeared_evidence(repo):
    d = _branch(repo, "draft-no-xiaoqi", without_xiaoqi_section(EXAMPLE.read_text(encoding="utf-8")))
    r = align(d, "diff", "main:plans/plan.txt", "plans/plan.txt", "--format", "json")
    assert r.returncode == 0, r.stderr
    diff = json.loads(r.stdout)
    by = {t["id"]: t for t in diff["tasks"]}
    t = by["tzpy-04"]
    assert t["support"]["after"] < t["support"]["before"]
    removed = "".join(xiaoqi_section(EXAMPLE.read_text(encoding="utf-8")).split())
    assert any("".join(e["text"].split())[-30:] in removed for e in t["disappeared"])


# --------------------------------------------------------------------------- the workflow


def _workflow_steps() -> dict[str, dict]:
    import yaml

    wf = yaml.safe_load((ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8"))
    steps = next(iter(wf["jobs"].values()))["steps"]
    return {s["id"] if "id" in s else s.get("name", ""): s for s in steps}


def test_workflow_is_well_formed():
    steps = _workflow_steps()
    for sid in ("changed", "baseline", "align check"):
        assert sid in steps and "run" in steps[sid]
    assert "--format github" in steps["align check"]["run"]


def test_workflow_steps_run_against_the_repo(repo, tmp_path):
    d = _branch(repo, "draft-no-xiaoqi", without_xiaoqi_section(EXAMPLE.read_text(encoding="utf-8")))
    # noise the changed-files filter must drop: a README and a non-plan file in plans/
    (d / "README.md").write_text("说明\n", encoding="utf-8")
    (d / "plans" / "预算.xlsx").write_bytes(b"PK\x03\x04")
    git(d, "add", "-A")
    git(d, "commit", "-q", "-m", "noise")
    steps = _workflow_steps()
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    summary = tmp_path / "summary.md"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        RUNNER_TEMP=str(runner_temp),
        GITHUB_STEP_SUMMARY=str(summary),
        BASE_SHA=str(repo["base_sha"]),
        PLANS_DIR="plans",
    )
    outputs: dict[str, str] = {}

    def run_step(sid: str) -> subprocess.CompletedProcess[str]:
        out_file = tmp_path / f"out-{sid.replace(' ', '_')}"
        out_file.write_text("", encoding="utf-8")
        step_env = {**env, "GITHUB_OUTPUT": str(out_file), "BASELINE": outputs.get("file", "")}
        r = subprocess.run(["bash", "-e", "-c", steps[sid]["run"]], cwd=d, env=step_env,
                           capture_output=True, text=True, timeout=900)
        for ln in out_file.read_text(encoding="utf-8").splitlines():
            k, _, v = ln.partition("=")
            outputs[k] = v
        return r

    r = run_step("changed")
    assert r.returncode == 0, r.stderr
    assert outputs["count"] == "1"
    assert (runner_temp / "changed-plans.txt").read_text(encoding="utf-8").split() == ["plans/plan.txt"]
    r = run_step("baseline")
    assert r.returncode == 0, r.stderr
    assert Path(outputs["file"]).is_file()
    r = run_step("align check")
    assert r.returncode == 1, (r.stdout, r.stderr)
    errors = [ln for ln in r.stdout.splitlines() if ln.startswith("::error ")]
    assert errors and len(errors) <= 10
    assert all("file=plans/plan.txt" in ln for ln in errors)
    assert any("tzpy-04" in ln for ln in errors)
    text = summary.read_text(encoding="utf-8")
    assert "政策对标检查" in text and "tzpy-04" in text
    subprocess.run(["git", "worktree", "remove", "--force", str(runner_temp / "base")], cwd=d,
                   capture_output=True)


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hook_blocks_the_draft(repo, tmp_path):
    """pre-commit installs the hook from this repository (try-repo) and runs it.

    The hook environment gets the package itself but not its dependencies (PIP_NO_DEPS), which
    are taken from the test's own environment through PYTHONPATH: installing torch again into
    pre-commit's virtualenv would download gigabytes and prove nothing about the hook.
    """
    pre_commit = BIN / "pre-commit"
    if not pre_commit.exists():
        pre_commit = Path(shutil.which("pre-commit") or "/nonexistent")
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed")
    if git(ROOT, "status", "--porcelain", "--", ".pre-commit-hooks.yaml"):
        pytest.skip(".pre-commit-hooks.yaml has uncommitted changes")
    import sysconfig

    d: Path = repo["dir"]  # type: ignore[assignment]
    git(d, "checkout", "-q", "-B", "hook-ok", str(repo["base_sha"]))
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("GITHUB_")}
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        PIP_NO_DEPS="1",
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pre_commit), "try-repo", str(ROOT), "align-check", "--files", "plans/plan.txt",
             "README.md", "--verbose"],
            cwd=d, env=env, capture_output=True, text=True, timeout=1800,
        )

    # the hook runs the lexical model (its virtualenv has no torch): a baseline from that model
    r = align(d, "baseline", "plans/plan.txt", "--model", "lexical", "--output", "align-baseline.json")
    assert r.returncode == 0, r.stderr
    # README.md is outside plans/: the hook's files pattern must leave it out
    (d / "README.md").write_text("说明\n", encoding="utf-8")
    ok = hook()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout  # README.md reached align, it would have failed (no baseline)

    (d / "plans" / "plan.txt").write_text(without_xiaoqi_section(EXAMPLE.read_text(encoding="utf-8")),
                                          encoding="utf-8")
    bad = hook()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "tzpy-04" in bad.stdout
    assert "model-changed" not in bad.stdout  # the baseline and the hook used the same model
    git(d, "checkout", "-q", "--", ".")
