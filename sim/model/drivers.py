"""Drivers: the inputs the site's control loop decides on, and how far ahead each is known.

Control grants power in batches of ticks, with one vectorised policy call per batch, so it
must know every input over the whole batch. Each driver says how far it knows its values
(``horizon_s``), when its values change so that control must decide exactly then, on its
tick grid or off it (``change_times``, up to ``announced_until_s``), and triggers ``grown``
when either reaches further. Control decides up to the earliest horizon; batches stay long
when nothing interrupts them, and a driver that acts only when a SimPy process of its own
reaches a moment (a repair crew done, a hall shut down) keeps its horizon at that moment,
so control stops there, waits, and decides again at ``env.now``.

Values are read by the control loop from its own series and from :class:`Loads`
(availability); a driver's job is only to say how far those are settled.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.model.network import BitcoinNetwork

NO_TIMES = np.zeros(0)


class Driver:
    """An input known for the whole run, read at control's ticks (a price path, the ambient).

    Subclasses that learn their future as the run goes override the horizons and trigger
    ``grown``.
    """

    def __init__(self, env: simpy.Environment, name: str) -> None:
        self.name = name
        self._grown = env.event()  # never triggered: nothing more to learn

    @property
    def grown(self) -> simpy.Event:
        """Triggered when a horizon reaches further (a fresh event each time)."""
        return self._grown

    def horizon_s(self) -> float:
        """Control may decide any time before this."""
        return math.inf

    def announced_until_s(self) -> float:
        """Every change before this is in :meth:`change_times`."""
        return math.inf

    def change_times(self, start_s: float, end_s: float) -> np.ndarray:
        """Times in ``[start_s, end_s)`` at which control must decide, increasing."""
        return NO_TIMES


class ScheduledChanges(Driver):
    """An input known for the whole run that changes at ``times_s``, between ticks or on them.

    Control decides at each of those instants (a grid outage's start and end).
    """

    def __init__(self, env: simpy.Environment, name: str, times_s: np.ndarray) -> None:
        super().__init__(env, name)
        self.times_s = np.asarray(times_s, dtype=float)

    def change_times(self, start_s: float, end_s: float) -> np.ndarray:
        """The instants in ``[start_s, end_s)``."""
        first, last = np.searchsorted(self.times_s, [start_s, end_s])
        return self.times_s[first:last]


class NetworkDriver(Driver):
    """The chain's value per hash: known up to the blocks the network has drawn.

    The policy samples it at control's ticks (it changes at every block), so it announces
    no change times of its own.
    """

    def __init__(self, env: simpy.Environment, network: BitcoinNetwork) -> None:
        super().__init__(env, "bitcoin network")
        self.network = network

    @property
    def grown(self) -> simpy.Event:
        """Triggered when the network has drawn its next blocks."""
        return self.network.progress

    def horizon_s(self) -> float:
        """The end of the chain drawn so far."""
        return self.network.drawn_until_s
