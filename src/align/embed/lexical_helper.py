"""Term weights of a plan's new texts, computed in a second process while the model loads.

Re-scoring an edited plan has two start-up costs that do not depend on each other: the model
(importing torch, transformers and sentence-transformers, then the weights: about 4.5 s on one
core) and jieba (its dictionary and the IDF table: about 0.7 s, then cutting the new texts).
Python runs one of them at a time, so the scorer hands the second to a helper process: it cuts
the texts on the other core and writes their weights into the on-disk cache, and the scorer
reads them back like any cached entry once the model has run.

The helper is only an optimisation. It is started only when the model has to load (so there is
time to hide behind), jieba is not loaded here yet, there are two or more cores and a cache to
write to. If it fails or is slow, the scorer computes whatever is still missing itself, with
the same code, so the result never depends on it.

Run as ``python -m align.embed.lexical_helper CACHE_DIR`` with a JSON list of texts on stdin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .cache import EmbeddingCache

# Waiting longer than this for the helper (after the model has run) is not worth it: the scorer
# computes the rest itself.
WAIT_S = 30.0


class Helper:
    """A running helper process; :meth:`wait` never raises."""

    def __init__(self, proc: subprocess.Popen[bytes], payload: bytes):
        self.proc = proc
        # Write in the background: a large payload would otherwise block on the pipe until the
        # helper has started Python and begun reading.
        self._writer = threading.Thread(target=self._write, args=(payload,), daemon=True)
        self._writer.start()

    def _write(self, payload: bytes) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(payload)
            self.proc.stdin.close()
        except OSError:  # the helper died early: the scorer will compute the weights itself
            pass

    def stop(self) -> None:
        """End the helper now (the scoring it was helping has failed)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def wait(self, timeout: float = WAIT_S) -> bool:
        """Wait for the helper; True if it finished and stored everything."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False
        finally:
            self._writer.join(timeout=1.0)
        return code == 0


def start(texts: Sequence[str], store: EmbeddingCache) -> Helper | None:
    """Start computing the term weights of those ``texts`` that are not cached yet, if that is
    worth a process (see the module docstring); None otherwise."""
    from .lexical import jieba_loaded, uncached

    if jieba_loaded() or (os.cpu_count() or 1) < 2 or os.environ.get("ALIGN_NO_HELPER"):
        return None
    if not sys.executable:  # embedded interpreter: no python to start
        return None
    todo = uncached(texts, store)
    if not todo:
        return None
    # the directory holding the align package (src/ in a checkout), so the helper imports this code
    pkg_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "align.embed.lexical_helper", str(store.root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # a cache problem is reported once, by the scorer
            env=env,
        )
    except OSError:
        return None
    return Helper(proc, json.dumps(todo, ensure_ascii=False).encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    from .cache import EmbeddingCache
    from .lexical import passage_weights

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m align.embed.lexical_helper CACHE_DIR < texts.json", file=sys.stderr)
        return 2
    texts = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return 2
    store = EmbeddingCache(Path(args[0]))
    passage_weights(texts, store)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
