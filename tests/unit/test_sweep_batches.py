"""Runs sent in batches (Dask's): how many per submission, and that batching changes nothing.

A Dask task costs ≈15–20 ms of CPU, so a sweep on Dask sends several short runs per task
(``sim.sweep.run.Batches``). The sizes are checked here; then a real pool of two local
processes runs the same tasks one per submission and in batches, and every run's outcome
(and what the journal would be told) must be the same.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import replace
from typing import Any

from helpers import SCENARIOS

from sim.scenario import load_scenario
from sim.sweep.executors import local_pool
from sim.sweep.outcome import FAILED, OK, RunOutcome, RunTask
from sim.sweep.run import IN_FLIGHT_PER_WORKER, MAX_BATCH, Batches, execute


class Counting(Executor):
    """A real executor whose submissions are counted."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.submissions = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submissions += 1
        return self.inner.submit(fn, *args, **kwargs)


def ok(wall_time_s: float) -> RunOutcome:
    return RunOutcome(OK, "", {}, wall_time_s)


def test_one_run_per_submission_until_a_run_has_finished_or_without_a_target() -> None:
    assert Batches(1.0, 2).size(1_000) == 1
    unbatched = Batches(0.0, 2)
    unbatched.finished(ok(0.01))
    assert unbatched.size(1_000) == 1


def test_a_batch_holds_about_the_target_of_work() -> None:
    batches = Batches(1.0, 2)
    for wall_s in (0.1, 0.3):  # mean 0.2 s: five runs make a second
        batches.finished(ok(wall_s))
    assert batches.size(1_000) == 5
    slow = Batches(1.0, 2)
    slow.finished(ok(4.0))  # longer than the target alone: one at a time
    assert slow.size(1_000) == 1


def test_failures_do_not_count_and_the_size_is_capped() -> None:
    batches = Batches(1.0, 2)
    batches.finished(ok(0.5))
    batches.finished(RunOutcome(FAILED, "lost", {}, 0.0))  # a lost batch's runs take no time
    assert batches.size(1_000) == 2
    fast = Batches(1.0, 2)
    fast.finished(ok(1e-4))
    assert fast.size(10_000) == MAX_BATCH
    # near the end, no more than an even share of what is left, so every worker gets some
    assert fast.size(3 * IN_FLIGHT_PER_WORKER * 2) == 3
    assert fast.size(5) == 1


def test_batched_runs_give_the_outcomes_of_single_ones() -> None:
    scenario = load_scenario(SCENARIOS / "quick.yaml", ["end_utc=2024-03-02T00:00:00Z"])
    tasks = [(i, RunTask(scenario, seed, ("btc_mined", "energy_cost_usd"))) for i, seed in
             enumerate(range(40, 64))]  # fmt: skip
    results = {}
    for batch_s in (0.0, 5.0):
        told: list[int] = []
        with local_pool(2) as pool:
            counting = Counting(pool.executor)
            outcomes = execute(
                tasks,
                replace(pool, executor=counting, batch_s=batch_s),
                record=lambda i, _, told=told: told.append(i),
            )
        assert sorted(told) == list(range(len(tasks)))  # every run reported once
        # one submission per run, or fewer in batches
        assert (counting.submissions == len(tasks)) == (batch_s == 0.0)
        assert all(o.status == OK for o in outcomes.values())
        results[batch_s] = {i: o.kpis for i, o in outcomes.items()}
    assert results[5.0] == results[0.0]
