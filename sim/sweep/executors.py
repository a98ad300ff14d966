"""Where a sweep's runs execute: local worker processes, or a Dask distributed cluster.

Both are :class:`concurrent.futures.Executor` objects (Dask's through
``Client.get_executor``), so :func:`sim.sweep.run.execute` drives them the same way, and a
run's result does not depend on which one ran it.

- Local: a :class:`~concurrent.futures.ProcessPoolExecutor` (``forkserver`` where
  available, else ``spawn``: no worker inherits the parent's state).
- ``--dask ADDRESS``: a client of the scheduler at ADDRESS (``tcp://host:port``); its
  workers must be able to import this version of ``sim``. ``--dask local``: a
  ``LocalCluster`` of single-threaded worker processes on this machine. Runs travel with
  their scenario (input data included), so the workers need no shared filesystem.
  Dask's defaults suit many short tasks, not long CPU-bound ones: the LocalCluster is
  started without them (:func:`_local_worker_config`) and its workers keep the memory they
  free as local ones do; docs/sweeps.md says what to set on a cluster of one's own.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sim.errors import Issue, ScenarioError
from sim.sweep.outcome import keep_freed_memory, settle_imports, worker_init

LOCAL_DASK = "local"
CONNECT_TIMEOUT_S = 10
# Seconds of runs one Dask task should hold: a task costs the scheduler and the worker
# ≈15–20 ms of CPU, ≈10 % of a short run's; batched to ≈1 s, under 2 %
DASK_BATCH_S = 1.0
# what a worker imports to run a run: imported once by the forkserver, before any fork
WORKER_MODULES = ["sim.runner", "sim.sweep.outcome"]


@dataclass
class Pool:
    """An executor, how many runs it runs at once, and how to stop it at once."""

    executor: Executor
    workers: int
    where: str  # "processes" or the Dask scheduler's address
    # seconds of runs to send per submission (sim.sweep.run.Batches); 0: one run each
    batch_s: float = 0.0

    def stop_now(self) -> None:
        """Cancel what has not started and stop what is running (Ctrl-C, SIGTERM)."""
        if isinstance(self.executor, ProcessPoolExecutor):
            # ProcessPoolExecutor has no public way to stop its workers before Python 3.14
            for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                process.terminate()
            self.executor.shutdown(wait=False, cancel_futures=True)
        else:  # Dask's executor cancels its tasks on shutdown(wait=False)
            self.executor.shutdown(wait=False)


def _has_forkserver() -> bool:
    return "forkserver" in multiprocessing.get_all_start_methods()


def _context() -> Any:
    """``forkserver`` (its server imports the model once; workers fork from it), else spawn."""
    if not _has_forkserver():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)  # once per server, at its start
    return context


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[Pool]:
    """``workers`` local processes."""
    executor = ProcessPoolExecutor(workers, mp_context=_context(), initializer=worker_init)
    try:
        yield Pool(executor, workers, "processes")
    finally:
        executor.shutdown(wait=True)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ScenarioError(
            "command line",
            [
                Issue(
                    "--dask",
                    "needs Dask distributed, which is not installed: pip install "
                    "'dcsim[sweep]' (or pip install 'dask[distributed]')",
                )
            ],
        ) from exc
    return distributed


def _local_worker_config() -> Any:
    """Dask config for our LocalCluster: workers set up to run long CPU-bound tasks.

    Measured on 2 cores (docs/performance.md, 2026-12-02 Dask subsection):

    - no ``MALLOC_TRIM_THRESHOLD_``: the nanny's value turns off glibc's adaptive mmap
      threshold, so every large numpy array is mapped and unmapped afresh (a baseline run
      1.6 s in such a worker, 0.6 s in a plain process);
    - no statistical profiler: it samples the running thread's stack every 10 ms (a
      baseline run 0.42 s with it, 0.38 s without);
    - the event loops' housekeeping (the 20 ms tick, the 100 ms memory monitors, the
      500 ms system monitor) less often: an idle cluster of 2 took 0.13 CPU s a second
      with the defaults (6 % of 2 cores, in the parent and in each worker, where it takes
      the GIL from the running task), 0.02 with these;
    - worker processes forked from a forkserver rather than spawned
      (:func:`_preload_dask_forkserver`).
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    config: dict[str, Any] = {
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.worker.profile.enabled": False,
        # only measures how long the event loop was blocked; warns after 3 s
        "distributed.admin.tick.interval": "1s",
        # a worker's pause (80 %) and its nanny's restart (95 % of memory) still act
        "distributed.worker.memory.monitor-interval": "1s",
        # CPU, memory, network and disk figures for the dashboard
        "distributed.admin.system-monitor.interval": "5s",
        "distributed.admin.system-monitor.disk": False,
    }
    if _has_forkserver():
        config["distributed.worker.multiprocessing-method"] = "forkserver"
    return dask.config.set(config)


def _preload_dask_forkserver(distributed: Any) -> None:
    """Have the forkserver that starts our LocalCluster's workers import Dask and the model.

    Spawned, each worker imported Dask, numpy and pandas, and the model at its first run,
    and finalised a whole interpreter at its exit: the cluster took 9–14 s from start to
    close around an empty call on the loaded 2 cores, 3–4 s forked from a server that had
    imported all of it once. Dask sets its own preload list the first time it asks for the
    context; ours is set after it. A forkserver already running (a local sweep earlier in
    this process) keeps its own list: the workers then import Dask after the fork.
    """
    if not _has_forkserver():
        return
    distributed.utils.get_mp_context()  # under the forkserver config: Dask's list, once
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["distributed", *WORKER_MODULES])


@contextlib.contextmanager
def dask_pool(address: str, workers: int) -> Iterator[Pool]:
    """A client of the Dask scheduler at ``address``, or of a LocalCluster of ``workers``.

    Raises
    ------
    ScenarioError
        Dask is not installed, or no scheduler answers at ``address``.
    """
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if address == LOCAL_DASK:
            stack.enter_context(_local_worker_config())
            _preload_dask_forkserver(distributed)
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    # its HTTP server (health, and the dashboard if bokeh is installed)
                    # on a free local port: the default 8787 may be taken
                    dashboard_address="127.0.0.1:0",
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
            # our own workers, set up as local ones (a user's cluster is left as it is)
            client.run(keep_freed_memory)
            client.run(settle_imports)
        else:
            try:
                client = stack.enter_context(
                    distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
                )
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise ScenarioError(
                    "command line",
                    [
                        Issue(
                            "--dask",
                            f"cannot connect to a Dask scheduler at {address!r} "
                            f"({type(exc).__name__}: {exc}); give tcp://HOST:PORT of a "
                            "running scheduler, or 'local'",
                        )
                    ],
                ) from exc
        threads = sum(client.nthreads().values())
        executor = client.get_executor(pure=False)  # every batch of runs is its own task
        try:
            yield Pool(executor, max(threads, 1), client.scheduler.address, DASK_BATCH_S)
        finally:
            executor.shutdown(wait=False)
