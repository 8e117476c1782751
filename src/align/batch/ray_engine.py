"""``align batch --engine ray``: the local engine's pipeline spread over a Ray cluster.

* Reading (docx/pdf parsing, decoding) runs as Ray tasks, one per plan, scheduled ahead so
  the next plan is read while the current one is embedded.
* Each actor holds one ``Scorer`` (the model, the task index and its calibration, loaded once
  per actor) and turns a read document into a report: chunking, embedding and scoring stay
  the local engine's own code, so reports are identical; scoring is a small share of a plan's
  time next to embedding and would only add a round trip of vectors if split off.
* Reports come back to the driver, which writes the plan's page and its reports.jsonl line as in
  the local engine (same resume keys, same folder). Each actor checks on start that it scores
  under the driver's key (same align version, policies, model, calibration), so a cluster node
  with other code or weights cannot slip different reports into the batch.
* The embedding cache is one SQLite file per machine in WAL mode with a busy timeout; actors
  on one machine share it like separate ``align`` processes do.

Plain actors rather than Ray Data ``map_batches``: plans differ in size by 5x, a plan is the
natural unit (its chunks must stay together to be scored), and a dataset pipeline would add
its own start-up and serialisation for no gain in batching (each plan is already embedded in
batches inside its actor).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AlignError, ConfigError
from .job import FATAL, BatchProgress, JobSettings, OnDone, Plan, job_settings

LOCAL_OBJECT_STORE = 256 * 1024 * 1024  # reports of a few MB each; keeps /dev/shm use small


@dataclass(frozen=True)
class ScorerConfig:
    """What an actor needs to build the same Scorer as the driver's (plain, picklable)."""

    model: str | None
    policy_files: tuple[str, ...]
    set_ids: tuple[str, ...] | None
    cache: bool
    max_bytes: int | None
    encoding: str | None


def _import_ray() -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: no usage report, no prompt
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--engine ray 需要 Ray：pip install 'align-policy[ray]' (Ray is not installed)"
        ) from None
    return ray


def _first_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return (text[:300] + "…") if len(text) > 300 else (text or type(err).__name__)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Ray waits for an unreachable head node for minutes, printing a warning every few
    seconds; one TCP connection first turns that into one clear line."""
    import socket

    target = address.split("://", 1)[-1].rsplit("/", 1)[0]
    if address in ("auto", "local") or ":" not in target:
        return
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or _first_line(e)
        raise ConfigError(
            f"无法连接 Ray 集群 {address}：{reason} (cannot reach the Ray cluster)"
        ) from None


def read_plan(path: str, encoding: str | None, max_bytes: int | None) -> tuple[Any, float]:
    """(Document or the reader's error, seconds): a Ray task."""
    from ..read import read_document

    t0 = time.perf_counter()
    try:
        kw = {} if max_bytes is None else {"max_bytes": max_bytes}
        doc: Any = read_document(path, encoding=encoding, **kw)
    except Exception as e:  # an AlignError, or a parser bug on one odd file
        doc = e
    return doc, time.perf_counter() - t0


class PlanScorer:
    """A Ray actor: one Scorer, built once, scoring read documents one at a time."""

    def __init__(self, config: ScorerConfig, threads: int) -> None:
        from ..pipeline import Scorer

        self.scorer = Scorer(
            policy_files=config.policy_files,
            set_ids=config.set_ids,
            model=config.model,
            cache=config.cache,
            progress=False,
            max_bytes=config.max_bytes,
        )
        self.error: AlignError | None = None
        try:
            _ = self.scorer.index  # the model loads here, once per actor
        except AlignError as e:
            self.error = e
        if "torch" in sys.modules:  # the CPUs Ray gave this actor, not the whole machine's
            import torch

            torch.set_num_threads(max(1, threads))

    def settings(self) -> JobSettings | AlignError:
        return self.error if self.error is not None else job_settings(self.scorer)

    def score(self, read: tuple[Any, float]) -> tuple[Any, float]:
        doc, seconds = read
        if isinstance(doc, BaseException):
            return doc, seconds
        t0 = time.perf_counter()
        try:
            report: Any = self.scorer.score_document(doc)
        except Exception as e:
            report = e
        return report, seconds + time.perf_counter() - t0

    def peak_rss_mb(self) -> float:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class RayEngine:
    """Plans over a pool of ``PlanScorer`` actors on a local or existing Ray cluster."""

    def __init__(
        self,
        *,
        address: str | None = None,
        actors: int | None = None,
        num_cpus: int | None = None,
        model: str | None = None,
        policy_files: Sequence[str | Path] = (),
        set_ids: Sequence[str] | None = None,
        cache: bool = True,
        max_bytes: int | None = None,
        encoding: str | None = None,
    ) -> None:
        self.address = address
        self.n_actors = actors
        self.num_cpus = num_cpus
        self.config = ScorerConfig(
            model=model,
            policy_files=tuple(str(p) for p in policy_files),
            set_ids=tuple(set_ids) if set_ids else None,
            cache=cache,
            max_bytes=max_bytes,
            encoding=encoding,
        )
        self._ray: Any = None
        self._started = False
        self.actors: list[Any] = []
        self.startup_seconds = 0.0  # Ray itself, then the actors' model loading
        self.actor_seconds = 0.0

    # ------------------------------------------------------------------ cluster
    def start(self) -> Any:
        if self._ray is not None:
            return self._ray
        ray = _import_ray()
        t0 = time.perf_counter()
        if not ray.is_initialized():
            import logging

            kw: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,
            }
            if self.address:
                check_reachable(self.address)
                kw["address"] = self.address
            else:
                kw["num_cpus"] = self.num_cpus or os.cpu_count() or 1
                kw["object_store_memory"] = LOCAL_OBJECT_STORE
                env = {k: os.environ[k] for k in ("ALIGN_CACHE_DIR", "PYTHONPATH") if k in os.environ}
                if env:
                    kw["runtime_env"] = {"env_vars": env}
            try:
                ray.init(**kw)
            except Exception as e:
                where = self.address or "本机 local"
                raise ConfigError(f"无法启动或连接 Ray（{where}）：{_first_line(e)} (Ray could not start)") from None
            self._started = True
        self._ray = ray
        self.startup_seconds = time.perf_counter() - t0
        return ray

    def _make_actors(self, expected: JobSettings) -> None:
        ray = self._ray
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        n = self.n_actors or cpus
        per_actor = max(1, cpus // n)
        t0 = time.perf_counter()
        actor_cls = ray.remote(num_cpus=per_actor, max_restarts=1)(PlanScorer)
        self.actors = [actor_cls.remote(self.config, per_actor) for _ in range(n)]
        try:
            found = ray.get([a.settings.remote() for a in self.actors])
        except Exception as e:
            raise ConfigError(f"Ray 上的评分进程无法启动：{_first_line(e)} (Ray actors failed)") from None
        self.actor_seconds = time.perf_counter() - t0
        for s in found:
            if isinstance(s, AlignError):
                raise s
            if s != expected:
                raise ConfigError(
                    "Ray 节点上的 align 版本、政策集、模型或校准与本机不同，报告会不一致 "
                    "(a Ray worker scores under another align version, policy, model or calibration)"
                )

    def close(self) -> None:
        if self._ray is not None:
            for a in self.actors:
                try:
                    self._ray.kill(a)
                except Exception:
                    pass
            self.actors = []
            if self._started:
                self._ray.shutdown()
            self._ray = None
            self._started = False

    def peak_rss_mb(self) -> list[float]:
        return self._ray.get([a.peak_rss_mb.remote() for a in self.actors])

    # ------------------------------------------------------------------ the batch
    def run(self, plans: Sequence[Plan], on_done: OnDone, progress: BatchProgress) -> None:
        from ..pipeline import Scorer

        ray = self.start()
        cfg = self.config
        driver = Scorer(policy_files=cfg.policy_files, set_ids=cfg.set_ids, model=cfg.model,
                        cache=cfg.cache, max_bytes=cfg.max_bytes)
        if not self.actors:
            self._make_actors(job_settings(driver))
        reader = ray.remote(num_cpus=0)(read_plan)  # short, I/O-bound: beside the busy actors
        queue = list(reversed(plans))
        pending: dict[Any, tuple[Plan, int]] = {}

        def submit(i: int) -> None:
            plan = queue.pop()
            doc = reader.remote(str(plan.path), cfg.encoding, cfg.max_bytes)
            pending[self.actors[i].score.remote(doc)] = (plan, i)
            # no per-plan chunk line here: several plans are in flight on other processes

        for _ in range(2):  # two in flight per actor: the next plan is read while one is scored
            for i in range(len(self.actors)):
                if queue:
                    submit(i)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            plan, i = pending.pop(done[0])
            try:
                result, seconds = ray.get(done[0])
            except Exception as e:  # the actor died (out of memory, node lost): record, go on
                result, seconds = AlignError(f"Ray 评分进程失败：{_first_line(e)} (Ray worker failed)",
                                             path=str(plan.path)), 0.0
            if isinstance(result, FATAL):
                raise result
            on_done(plan, result, seconds)
            if queue:
                submit(i)
