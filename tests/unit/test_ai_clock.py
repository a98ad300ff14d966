"""The AI clock: its events keep SimPy's order and never run past an event of SimPy's."""

from __future__ import annotations

from typing import Any

import simpy

from sim.model.ai_clock import AiClock

Log = list[tuple[str, float, float]]  # (an event's value, the clock's now, SimPy's now)


def _logged_clock(*times_s: float) -> tuple[simpy.Environment, AiClock, Log, Any]:
    """A clock, its log, a callback that logs, and events "ai@<t>" due at ``times_s``."""
    env = simpy.Environment()
    clock = AiClock(env)
    log: Log = []

    def record(value: str, _seq: int) -> None:
        log.append((value, clock.now, env.now))

    for t in times_s:
        clock.after(t, f"ai@{t:g}", record)
    return env, clock, log, record


def test_events_run_in_time_then_creation_order_at_their_own_times() -> None:
    env, clock, log, record = _logged_clock()
    for value, delay in [("c", 2.5), ("a", 1.0), ("b", 2.5), ("d", 0.1 + 0.2)]:
        clock.after(delay, value, record)
    env.run()
    assert [(v, t) for v, t, _ in log] == [("d", 0.1 + 0.2), ("a", 1.0), ("c", 2.5), ("b", 2.5)]
    assert clock.processed == 4


def test_a_command_finds_every_earlier_event_done_and_those_due_now_done_first() -> None:
    # AI events at 1, 2 and 3 s; a SimPy callback (a command) at 2 s: it must see 1 and 2
    # processed (2 as simultaneous with it), never 3
    env, clock, log, _ = _logged_clock(1.0, 2.0, 3.0)
    seen: list[list[str]] = []

    def command(_: simpy.Event) -> None:
        clock.catch_up()
        seen.append([value for value, _, _ in log])
        assert clock.now == env.now == 2.0

    env.timeout(2.0).callbacks.append(command)
    env.run()
    assert seen == [["ai@1", "ai@2"]]
    assert [v for v, _, _ in log] == ["ai@1", "ai@2", "ai@3"]
    # the loop ran ahead of SimPy's clock only up to SimPy's next event
    assert all(simpy_now <= ai_now for _, ai_now, simpy_now in log)


def test_events_created_by_a_command_are_processed_at_their_time() -> None:
    env, clock, log, record = _logged_clock()
    clock.after(10.0, "late", record)

    def command(_: simpy.Event) -> None:
        clock.catch_up()
        clock.after(1.5, "made by the command", record)  # before the pending 10 s one

    env.timeout(3.0).callbacks.append(command)
    env.run()
    assert [(v, t) for v, t, _ in log] == [("made by the command", 4.5), ("late", 10.0)]


def test_end_of_instant_runs_after_every_event_of_the_instant() -> None:
    # in the loop: after the clock's events due then (even one made by an earlier one);
    # at a command's instant: after every SimPy event due then, as a SimPy event
    env = simpy.Environment()
    clock = AiClock(env)
    order: list[str] = []

    def first(_: Any, __: int) -> None:
        order.append("first")
        clock.end_of_instant(lambda: order.append(f"pass@{clock.now:g}"))
        clock.after(0.0, "zero-delay", lambda v, _: order.append(v))

    clock.after(1.0, None, first)
    clock.after(1.0, "second", lambda v, _: order.append(v))

    def command(_: simpy.Event) -> None:
        clock.catch_up()
        clock.end_of_instant(lambda: order.append(f"command pass@{env.now:g}"))

    env.timeout(5.0).callbacks.append(command)
    env.timeout(5.0).callbacks.append(lambda _: order.append("other SimPy event@5"))
    env.run()
    assert order == [
        "first",
        "second",
        "zero-delay",
        "pass@1",
        "other SimPy event@5",
        "command pass@5",
    ]


def test_events_at_a_run_until_wait_as_simpy_leaves_its_own_and_close_drops_the_rest() -> None:
    env, clock, log, record = _logged_clock(4.0, 5.0, 6.0)
    env.run(until=5.0)
    assert [v for v, _, _ in log] == ["ai@4"]
    env.run(until=7.0)
    assert [v for v, _, _ in log] == ["ai@4", "ai@5", "ai@6"]
    clock.after(1.0, "dropped", record)
    clock.close()  # the run is over: what is left is dropped, and its driver stale
    env.run()
    assert [v for v, _, _ in log] == ["ai@4", "ai@5", "ai@6"]
    assert clock.processed == 3


def test_an_event_that_catches_up_itself_does_not_run_the_next_one_first() -> None:
    # AiHosting's arrivals call GpuCluster.submit, which catches the clock up: at a
    # command's instant that must not process the next event due then inside this one
    env, clock, log, record = _logged_clock()

    def arrival(value: str, seq: int) -> None:
        clock.catch_up()
        record(value, seq)

    clock.after(2.0, "first", arrival)
    clock.after(2.0, "second", arrival)
    env.timeout(2.0).callbacks.append(lambda _: clock.catch_up())
    env.run()
    assert [v for v, _, _ in log] == ["first", "second"]
