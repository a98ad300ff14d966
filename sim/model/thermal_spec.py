"""A hall's inlet temperature, throttling and trips as docs/model.md §6.3–6.4 state them.

The specification of :mod:`sim.model.thermal`: one tick at a time, in plain floats, straight
from the equations. :class:`sim.model.thermal.HallThermal` is an optimisation of it (§6.5:
vectorised nominal stretches by a blocked scan, halls starting a batch together, an inlined
loop for throttled one-class halls, and its own general step for the rest);
``tests/validation/test_facility.py`` checks that it gives the same inlet and the same
throttle changes as this stepper. The simulator never calls this module.

Per tick ``[t₀, t₁)``, with the supply temperature, the cooling capacity and each class's
heat at full speed under its grant held over it:

1. each class sets its throttle factor from the inlet at ``t₀`` (§6.4): a tripped class
   stays off while the inlet is above its throttle temperature; otherwise a class with heat
   trips if the inlet is at or above its shutdown temperature, and any other takes
   ``f = clip((T_sd − T)/(T_sd − T_thr), 0, 1)``;
2. the inlet relaxes towards ``T_eq = T_supply + load_rise · Q / Q_cap``, ``Q`` the running
   classes' heat × factor (§6.3);
3. a running class whose shutdown temperature the inlet reaches before ``t₁`` trips at that
   instant (the earliest first, the lowest class on a tie); its heat leaves, ``T_eq`` is
   recomputed, and the inlet relaxes on from the shutdown temperature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.model.thermal import MAX_LOAD_FACTOR, ExpSeries, HallLimits, ThrottleChanges


def relax(temp_c: float, target_c: float, elapsed_s: float, tau_s: float) -> float:
    """The inlet ``elapsed_s`` after it was ``temp_c``, relaxing towards ``target_c`` (§6.3).

    ``T(t₀ + Δ) = T_eq + (T₀ − T_eq)·e^{−Δ/τ}``, the solution of ``τ·dT/dt = T_eq − T``.
    """
    return target_c + (temp_c - target_c) * math.exp(-elapsed_s / tau_s)


def load_factor(heat_kw: float, capacity_kw: float) -> float:
    """``Q / Q_cap``: 0 without heat, capped at ``MAX_LOAD_FACTOR`` (also with no capacity)."""
    if heat_kw <= 0:
        return 0.0
    if capacity_kw <= 0:
        return MAX_LOAD_FACTOR
    return min(heat_kw / capacity_kw, MAX_LOAD_FACTOR)


def throttle_factor(temp_c: float, throttle_c: float, shutdown_c: float) -> float:
    """``f = clip((T_sd − T)/(T_sd − T_thr), 0, 1)`` (§6.4)."""
    return min(max((shutdown_c - temp_c) / (shutdown_c - throttle_c), 0.0), 1.0)


def crossing_time(
    start_s: float, temp_c: float, target_c: float, shutdown_c: float, tau_s: float
) -> float:
    """When the inlet, from ``temp_c`` towards ``target_c > shutdown_c ≥ temp_c``, hits it.

    ``t* = t₀ + τ·ln((T₀ − T_eq)/(T_sd − T_eq))`` (§6.4).
    """
    return start_s + tau_s * math.log((temp_c - target_c) / (shutdown_c - target_c))


class PlainHall:
    """One hall's thermal state, stepped tick by tick by the rules above.

    It records the inlet as stretches ``(t₀, T₀, T_eq)`` and every change of a class's
    throttle factor or trip state, as :class:`~sim.model.thermal.HallThermal` does.
    """

    def __init__(self, limits: HallLimits, temp_c: float) -> None:
        self.limits = limits
        self.temp_c = temp_c
        self.throttle_c = [float(x) for x in limits.throttle_c]
        self.shutdown_c = [float(x) for x in limits.shutdown_c]
        self.factors = [1.0] * len(self.throttle_c)
        self.tripped = [False] * len(self.throttle_c)
        self.stretches: list[tuple[float, float, float]] = []
        self.change_log: list[tuple[float, int, float, bool]] = []

    def _set(self, t_s: float, cls: int, factor: float, tripped: bool) -> None:
        """Class ``cls`` runs at ``factor`` from ``t_s`` on; a change is recorded."""
        if (factor, tripped) != (self.factors[cls], self.tripped[cls]):
            self.factors[cls], self.tripped[cls] = factor, tripped
            self.change_log.append((t_s, cls, factor, tripped))

    def step(
        self,
        start_s: float,
        end_s: float,
        supply_c: float,
        capacity_kw: float,
        heat_kw: Sequence[float],
    ) -> None:
        """Advance over one tick ``[start_s, end_s)``; ``heat_kw`` per class at full speed."""
        tau, rise, temp = self.limits.tau_s, self.limits.load_rise_c, self.temp_c
        classes = range(len(self.factors))
        for j in classes:  # 1. throttle factors at the tick
            throttle, shutdown = self.throttle_c[j], self.shutdown_c[j]
            if self.tripped[j] and temp > throttle:
                continue  # latched off until the inlet is back at its throttle temperature
            if heat_kw[j] > 0 and temp >= shutdown:
                self._set(start_s, j, 0.0, True)
            else:
                self._set(start_s, j, throttle_factor(temp, throttle, shutdown), False)
        t0 = start_s
        while True:
            running = [j for j in classes if self.factors[j] > 0 and heat_kw[j] > 0]
            heat = sum(heat_kw[j] * self.factors[j] for j in running)
            target = supply_c + rise * load_factor(heat, capacity_kw)  # 2. relax towards it
            self.stretches.append((t0, temp, target))
            trips = [  # 3. the running classes whose shutdown temperature the inlet reaches
                (crossing_time(t0, temp, target, self.shutdown_c[j], tau), j)
                for j in running
                if target > self.shutdown_c[j] >= temp
            ]
            when, first = min(trips, default=(end_s, -1))
            if when >= end_s:
                break
            self._set(when, first, 0.0, True)
            t0, temp = when, self.shutdown_c[first]
        self.temp_c = relax(temp, target, end_s - t0, tau)

    def advance(
        self,
        ticks_s: np.ndarray,
        end_s: float,
        supply_c: np.ndarray,
        capacity_kw: np.ndarray,
        heat_kw: np.ndarray,
    ) -> None:
        """Step each tick in turn (the last ends at ``end_s``); ``heat_kw`` is ticks × classes.

        The arguments of :meth:`sim.model.thermal.HallThermal.advance`.
        """
        ends = [*ticks_s[1:].tolist(), end_s]
        for k, start in enumerate(ticks_s.tolist()):
            self.step(
                start, ends[k], float(supply_c[k]), float(capacity_kw[k]), heat_kw[k].tolist()
            )

    def series(self) -> ExpSeries:
        """The inlet temperature over every tick stepped so far."""
        if not self.stretches:  # never stepped: the inlet rests where it started
            start = np.array([self.temp_c])
            return ExpSeries(np.zeros(1), start, start, self.limits.tau_s)
        t, starts, targets = (np.array(column) for column in zip(*self.stretches, strict=True))
        return ExpSeries(t, starts, targets, self.limits.tau_s)

    def changes(self) -> ThrottleChanges:
        """Every change of a class's throttle factor or trip state, in time order."""
        log = self.change_log
        t, cls, factor, tripped = zip(*log, strict=True) if log else ((), (), (), ())
        return ThrottleChanges(
            np.array(t, dtype=float),
            np.array(cls, dtype=int),
            np.array(factor, dtype=float),
            np.array(tripped, dtype=bool),
        )
