"""The console script's exit: after torch is loaded it skips the interpreter's slow teardown
(os._exit), so it must still run atexit handlers, flush buffered output and keep the exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import atexit, sys, types
if {fake_torch}:
    sys.modules["torch"] = types.ModuleType("torch")  # what a model run leaves behind
from align.cli import exit_process
atexit.register(lambda: print("atexit ran", file=sys.stderr))
sys.stdout.write("report without newline")  # still in the buffer when we exit
exit_process({code!r})
print("never printed")
"""


def _run(code: object, fake_torch: bool) -> subprocess.CompletedProcess[str]:
    src = PROGRAM.format(code=code, fake_torch=fake_torch)
    return subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("fake_torch", [True, False])
@pytest.mark.parametrize(("code", "status"), [(0, 0), (1, 1), (2, 2), (None, 0)])
def test_exit_code_output_and_atexit_survive(code, status, fake_torch):
    r = _run(code, fake_torch)
    assert r.returncode == status
    assert r.stdout == "report without newline"
    assert "atexit ran" in r.stderr


def test_string_exit_is_printed_and_exits_1():
    r = _run("出错了 failed", True)
    assert r.returncode == 1
    assert "出错了 failed" in r.stderr and r.stdout == "report without newline"


def test_full_exit_can_be_forced(monkeypatch):
    # ALIGN_FULL_EXIT keeps the interpreter's normal exit (SystemExit is raised)
    monkeypatch.setenv("ALIGN_FULL_EXIT", "1")
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch") or object())
    from align.cli import exit_process

    with pytest.raises(SystemExit) as e:
        exit_process(2)
    assert e.value.code == 2
