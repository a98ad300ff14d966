"""The AI side's own event queue: job arrivals, completions and abandonments off SimPy's heap.

A hybrid run has ≈400,000 such events against a few thousand of the rest of the site, and
each cost a SimPy event (an object, a heap entry, ``step`` and its callback dispatch). Here
they are ``(time, seq, callback, value)`` tuples in a heap of their own, processed in a tight
loop. The order is SimPy's: by time, then by creation (``seq`` counts as SimPy's event ids
do), so every job sees the times and ties it saw as SimPy events.

SimPy stays the master clock. GPU clusters are sinks of the rest of the site: node caps,
clock speeds and node failures reach them as SimPy callbacks ("commands"), and nothing else
reads their state during the run. So one SimPy event, the *driver*, fires at the time of the
earliest AI event, after every other event due then (it has the end-of-instant priority), and
processes every AI event before SimPy's next event: no command can come in between. AI events
at the time of a command are processed when the command comes (``catch_up``), before it, as
simultaneous changes: their scheduling passes wait for the end of that instant, through a
SimPy end-of-instant event as before. Within the loop an instant ends when the next AI event
is later; the passes deferred to it run then.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import Any

import simpy
from simpy.events import EventPriority

# SimPy orders the events of one time by priority (URGENT 0, NORMAL 1), then by creation;
# this one comes after all of them, including those they create at the same time
AFTER_ALL_CHANGES = EventPriority(2)

Callback = Callable[[Any, int], None]  # called with the event's value and its sequence number


class EndOfInstant(simpy.Event):
    """An event, already triggered, that SimPy processes after every other event due then.

    ``delay`` from now: 0 for the end of this instant, more for the clock's driver.
    """

    def __init__(
        self,
        env: simpy.Environment,
        callback: Callable[[simpy.Event], None],
        delay: float = 0.0,
    ) -> None:
        # what Event.__init__ and succeed() set, inlined as simpy.Timeout does
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, AFTER_ALL_CHANGES, delay)


class AiClock:
    """The AI events of one run, in their own heap, driven by one SimPy event at a time.

    Parameters
    ----------
    env
        The run's SimPy environment.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.now = env.now  # the time of the AI event being processed, or of the command
        self.processed = 0  # AI events processed (the manifest adds them to SimPy's)
        self._heap: list[tuple[float, int, Callback, Any]] = []
        self._seq = count()
        self._looping = False  # processing events before SimPy's next one (_run_before)
        self._catching_up = False  # processing the events due at a command's instant
        self._deferred: list[Callable[[], None]] = []  # passes due at the end of this instant
        self._driver: simpy.Event | None = None
        self._driver_s = math.inf  # when the pending driver is meant to fire

    def after(self, delay: float, value: Any, callback: Callback) -> int:
        """Call ``callback(value, seq)`` at ``now + delay`` (``delay >= 0``); returns ``seq``.

        The time is computed as SimPy computes a timeout's, so it is the same float.
        """
        t_s = self.now + delay
        seq = next(self._seq)
        heappush(self._heap, (t_s, seq, callback, value))
        if t_s < self._driver_s and not self._looping:
            self._wake(t_s)
        return seq

    def alone(self) -> bool:
        """True if nothing else can change a cluster at this instant (so a pass may run now)."""
        heap = self._heap
        return self._looping and (not heap or heap[0][0] > self.now)

    def end_of_instant(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once every change due now is applied."""
        if self._looping:
            self._deferred.append(callback)
        else:
            EndOfInstant(self.env, lambda _: self._command(callback))

    def catch_up(self) -> None:
        """Bring the AI events up to SimPy's now, from a SimPy callback (a command).

        Those before now are processed as in the loop; those due now as changes simultaneous
        with the command, so their passes wait for the end of the instant.
        """
        if self._looping or self._catching_up:
            return  # called by an event being processed: the others due now come after it
        now = self.env.now
        heap = self._heap
        if heap and heap[0][0] < now:
            self._run_before(now)
        self.now = now
        self._catching_up = True
        try:
            while heap and heap[0][0] <= now:
                _, seq, callback, value = heappop(heap)
                self.processed += 1
                callback(value, seq)
        finally:
            self._catching_up = False

    def close(self) -> None:
        """The run is over: drop the events due after it (and the job records they carry)."""
        self._heap.clear()
        self._driver, self._driver_s = None, math.inf

    def _command(self, callback: Callable[[], None]) -> None:
        self.catch_up()
        callback()

    def _wake(self, t_s: float) -> None:
        """Make the driver fire at ``t_s`` (or at SimPy's now, if that is later)."""
        self._driver_s = t_s
        self._driver = EndOfInstant(self.env, self._drive, max(t_s - self.env.now, 0.0))

    def _drive(self, event: simpy.Event) -> None:
        if event is not self._driver:
            return  # stale: an earlier AI event made a new driver
        self._driver, self._driver_s = None, math.inf
        env = self.env
        limit = env.peek()
        if limit > env.now:
            self._run_before(limit)
        else:  # other events are due now after this one: ours are simultaneous with them
            self.catch_up()
        heap = self._heap
        if heap:
            self._wake(heap[0][0])

    def _run_before(self, limit_s: float) -> None:
        """Process every AI event before ``limit_s``, each instant's deferred passes at its end."""
        heap, deferred = self._heap, self._deferred
        processed = 0
        self._looping = True
        try:
            while heap and heap[0][0] < limit_s:
                t_s, seq, callback, value = heappop(heap)
                self.now = t_s
                processed += 1
                callback(value, seq)
                if deferred and (not heap or heap[0][0] > t_s):
                    # the instant is over: its passes, which may add events due now
                    due = deferred[:]
                    deferred.clear()
                    for run_pass in due:
                        run_pass()
        finally:
            self._looping = False
            self.processed += processed
