"""Shared helpers for the benchmarks: synthetic plans, an isolated cache, timed child processes.

Why child processes: every number here is what a user's `align` process costs (interpreter start,
imports, model load), and peak memory must belong to one run only (``os.wait4`` gives the child's
own ``ru_maxrss``, where ``RUSAGE_CHILDREN`` would keep the maximum over every earlier child).

Why a private cache: the embedding cache must start empty (cold) or be filled on purpose (warm),
never inherit the developer's vectors. ``ALIGN_CACHE_DIR`` moves both the embedding cache and the
built e5 model folder (``<dir>/models/<name>``), so the temporary dir gets a symlink to the
already-built model folder: the model is reused, the vectors are not.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
PLAN_TXT = ROOT / "examples" / "plan.txt"
PASSAGES = ROOT / "dev" / "passages.jsonl"
PY = sys.executable
ALIGN = str(Path(PY).with_name("align"))

_SENT = re.compile(r"[^。！？；]+[。！？；]")
_CN = "一二三四五六七八九十"


# --------------------------------------------------------------------------- plans


def _pools() -> tuple[list[str], list[str]]:
    """Sentences and heading titles from the repo's own Chinese text."""
    paras: list[str] = []
    heads: set[str] = set()
    for line in PLAN_TXT.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if not s:
            continue
        if len(s) <= 30 and not s.endswith("。"):
            heads.add(re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]\s*", "", s))
        else:
            paras.append(s)
    with PASSAGES.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                paras.append(d["text"])
                for h in d.get("heading_path") or ():
                    heads.add(re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]\s*", "", h))
    sents = [m.group(0).strip() for p in paras for m in _SENT.finditer(p)]
    sents = sorted({s for s in sents if len(s) >= 8})
    heads_l = sorted(h for h in heads if 2 <= len(h) <= 24)
    return sents, heads_l


_POOLS: tuple[list[str], list[str]] | None = None


def pools() -> tuple[list[str], list[str]]:
    global _POOLS
    if _POOLS is None:
        _POOLS = _pools()
    return _POOLS


def _vary_numbers(s: str, rng: random.Random) -> str:
    return re.sub(r"\d+", lambda m: str(rng.randint(1, 10 ** len(m.group(0)) - 1)), s)


def _paragraph(rng: random.Random) -> str:
    """2-6 sentences drawn from the whole pool, numbers re-drawn: practically never repeats, so
    cache hits between (or inside) generated plans are not faked."""
    sents, _ = pools()
    k = rng.randint(2, 6)
    return "".join(_vary_numbers(rng.choice(sents), rng) for _ in range(k))


def make_plan(chars: int, seed: int) -> str:
    """A plan of about ``chars`` characters: title, 第N章 chapters, （一） sections, paragraphs."""
    rng = random.Random(seed)
    _, heads = pools()
    out = [f"某职业技术学院高质量发展建设方案（样本{seed}）", ""]
    n = len(out[0])
    chap = sec = 0
    while n < chars:
        if sec % 4 == 0:
            chap += 1
            sec = 0
            h = f"第{chap}章 {rng.choice(heads)}"
            out += [h, ""]
            n += len(h)
        sec += 1
        h = f"（{_CN[(sec - 1) % 10]}）{rng.choice(heads)}"
        out += [h, ""]
        n += len(h)
        for _ in range(rng.randint(2, 5)):
            p = _paragraph(rng)
            out += [p, ""]
            n += len(p)
    return "\n".join(out) + "\n"


def edit_plan(text: str, fraction: float, seed: int) -> tuple[str, int, int]:
    """Edit ``fraction`` of the body paragraphs (a sentence appended, numbers re-drawn).
    Returns (new text, paragraphs edited, body paragraphs)."""
    rng = random.Random(seed)
    lines = text.split("\n")
    body = [i for i, s in enumerate(lines) if len(s) > 40]
    pick = rng.sample(body, max(1, round(len(body) * fraction)))
    sents, _ = pools()
    for i in pick:
        lines[i] = _vary_numbers(lines[i], rng) + _vary_numbers(rng.choice(sents), rng)
    return "\n".join(lines), len(pick), len(body)


# --------------------------------------------------------------------------- cache dirs


def built_model_dir() -> Path:
    """The e5 folder the user's environment already has (built now if it is missing)."""
    code = (
        "from align.embed.e5build import ensure_e5_model; "
        "print(ensure_e5_model(progress=False))"
    )
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def new_cache_dir(model_dir: Path | None, base: Path) -> Path:
    """An empty ALIGN_CACHE_DIR whose ``models/`` holds a symlink to the built e5 folder."""
    d = Path(tempfile.mkdtemp(prefix="cache-", dir=base))
    if model_dir is not None:
        (d / "models").mkdir()
        (d / "models" / model_dir.name).symlink_to(model_dir, target_is_directory=True)
    return d


def copy_cache(src: Path, model_dir: Path | None, base: Path) -> Path:
    """A new cache dir holding a copy of ``src``'s vectors (SQLite main file + WAL)."""
    d = new_cache_dir(model_dir, base)
    for p in src.glob("embeddings.sqlite*"):
        if not p.name.endswith(".lock"):
            shutil.copy2(p, d / p.name)
    return d


# --------------------------------------------------------------------------- processes


def run(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> dict:
    """Run a child; wall seconds, its own peak RSS (MB), exit code, stdout, stderr tail."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=full_env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return {
        "wall_s": wall,
        "peak_rss_mb": ru.ru_maxrss / 1024,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "returncode": p.returncode,
        "stdout": stdout,
        "stderr": stderr[-2000:],
    }


def run_worker(
    plans: Sequence[Path],
    cache_dir: Path,
    *,
    model: str = "e5-small",
    tmp: Path,
    preload_model: bool = False,
    backend: str | None = None,
) -> dict:
    """`align score PLANS -f json -o FILE` in a child process, with stage timings (see
    _score_worker.py). ``backend`` sets ALIGN_BACKEND (torch | onnx | onnx-int8; None: the
    environment's, else auto). Raises when the run fails."""
    out_file = Path(tempfile.mkstemp(prefix="report-", suffix=".json", dir=tmp)[1])
    r = run(
        [PY, str(BENCH / "_score_worker.py"), "--model", model, "--out", str(out_file),
         *(["--preload-model"] if preload_model else []), *map(str, plans)],
        env={"ALIGN_CACHE_DIR": str(cache_dir), **({"ALIGN_BACKEND": backend} if backend else {})},
    )
    if r["returncode"] != 0:
        raise RuntimeError(f"score worker failed ({r['returncode']}): {r['stderr']}")
    res = json.loads(r["stdout"].strip().splitlines()[-1])
    res["wall_s"] = r["wall_s"]
    res["peak_rss_mb"] = r["peak_rss_mb"]
    res["cpu_s"] = r["cpu_s"]
    res["report_file"] = str(out_file)
    return res


def machine() -> dict:
    """Load and cores, so numbers taken on a busy shared machine can be read as such."""
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = (float("nan"),) * 3
    return {"cpus": os.cpu_count(), "loadavg_1_5_15": [round(x, 2) for x in load]}


def emit(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def r3(x: float) -> float:
    return round(float(x), 3)
