"""The shipped calibration (head and thresholds) is reproduced by the calibration script from the
real-text dev set (``../shared/realplans``, labels in ``dev/real``) and the written one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from align.evaluate_real import REALPLANS_DIR

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not REALPLANS_DIR.is_dir(), reason=f"real plan texts not found at {REALPLANS_DIR}"
)


def _check(model: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "calibrate.py"), "--model", model, "--check"],
        capture_output=True, text=True, cwd=REPO,
    )


def test_lexical_calibration_is_reproduced() -> None:
    r = _check("lexical")
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    assert "reproduces" in r.stdout


@pytest.mark.model
def test_e5_calibration_is_reproduced() -> None:
    r = _check("e5-small")
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]


def test_background_is_not_left_modified_by_check() -> None:
    bg = REPO / "src" / "align" / "calibration" / "background.jsonl"
    before = bg.read_bytes()
    _check("lexical")
    assert bg.read_bytes() == before
