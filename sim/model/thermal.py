"""Hall thermal state: a lumped first-order inlet temperature with throttling and trips.

Between control ticks a hall's inputs are constant, so its inlet temperature relaxes
exponentially towards an equilibrium (docs/model.md §6):

    τ dT/dt = T_eq − T,   T_eq = T_supply + load_rise · Q / Q_cap,

with Q the heat of the hardware running in it. Hardware sets its throttle factor at each tick
from the inlet then, f = clip((T_shutdown − T)/(T_shutdown − T_throttle), 0, 1) (a sampled
controller, like miner firmware stepping its clocks), and trips the instant the inlet
reaches its shutdown temperature, restarting at the first tick with the inlet at or below
its throttle temperature. Temperatures are exact: each stretch is stored as
(start, T0, T_eq) and integrated in closed form. Ticks on which nothing can throttle or trip
are advanced in vectorised windows of the linear recurrence; only ticks near the limits
step in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np


@dataclass(frozen=True)
class ExpSeries:
    """Piecewise exponential relaxation towards a target, exact at any time.

    On ``[times_s[i], times_s[i+1])`` the value is
    ``targets[i] + (starts[i] − targets[i]) · exp(−(t − times_s[i]) / tau_s)``.
    """

    times_s: np.ndarray
    starts: np.ndarray
    targets: np.ndarray
    tau_s: float

    def at(self, t_s: np.ndarray | float) -> np.ndarray:
        """Value at each time."""
        t = np.asarray(t_s, dtype=float)
        i = np.searchsorted(self.times_s, t, side="right") - 1
        decay = np.exp(-(t - self.times_s[i]) / self.tau_s)
        return self.targets[i] + (self.starts[i] - self.targets[i]) * decay

    def _partial(self, i: np.ndarray, elapsed_s: np.ndarray) -> np.ndarray:
        gap = self.starts[i] - self.targets[i]
        return self.targets[i] * elapsed_s - gap * self.tau_s * np.expm1(-elapsed_s / self.tau_s)

    @cached_property
    def _cumulative(self) -> np.ndarray:
        pieces = self._partial(np.arange(self.times_s.size - 1), np.diff(self.times_s))
        return np.concatenate(([0.0], np.cumsum(pieces)))

    def integrate(self, edges_s: np.ndarray) -> np.ndarray:
        """Exact integral over each bin ``[edges_s[i], edges_s[i+1])`` (°C·s)."""
        t = np.asarray(edges_s, dtype=float)
        i = np.searchsorted(self.times_s, t, side="right") - 1
        return np.diff(self._cumulative[i] + self._partial(i, t - self.times_s[i]))

    def mean(self, edges_s: np.ndarray) -> np.ndarray:
        """Time-weighted mean over each bin."""
        return self.integrate(edges_s) / np.diff(edges_s)


def throttle_factor(temp_c: float, throttle_c: float, shutdown_c: float) -> float:
    """Fraction of full speed at inlet ``temp_c``: 1 up to throttle, linear to 0 at shutdown."""
    return min(max((shutdown_c - temp_c) / (shutdown_c - throttle_c), 0.0), 1.0)


@dataclass(frozen=True)
class HallLimits:
    """One hall's thermal constants and the limits of each hardware group in it."""

    tau_s: float
    load_rise_c: float
    throttle_c: np.ndarray  # (J,) per group in the hall
    shutdown_c: np.ndarray  # (J,)


@dataclass
class ThrottleChange:
    """From ``t_s`` on, group ``group`` (index within the hall) runs at ``factor``."""

    t_s: float
    group: int
    factor: float
    tripped: bool


@dataclass
class HallThermal:
    """The thermal state of one hall, advanced tick batch by tick batch."""

    limits: HallLimits
    temp_c: float
    factors: list[float] = field(default_factory=list)
    tripped: list[bool] = field(default_factory=list)
    seg_t: list[np.ndarray] = field(default_factory=list)
    seg_start: list[np.ndarray] = field(default_factory=list)
    seg_target: list[np.ndarray] = field(default_factory=list)
    changes: list[ThrottleChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        groups = self.limits.throttle_c.size
        self.factors = [1.0] * groups
        self.tripped = [False] * groups
        self._throttle_min = float(self.limits.throttle_c.min(initial=math.inf))
        self._shutdown_min = float(self.limits.shutdown_c.min(initial=math.inf))

    def _nominal(self) -> bool:
        return not any(self.tripped) and all(f == 1.0 for f in self.factors)

    def advance(
        self,
        ticks_s: np.ndarray,
        end_s: float,
        supply_c: np.ndarray,
        capacity_kw: np.ndarray,
        heat_kw: np.ndarray,
    ) -> None:
        """Advance over ticks ``ticks_s`` (the last one ends at ``end_s``).

        ``supply_c`` and ``capacity_kw`` hold over each tick; ``heat_kw`` (ticks × groups) is
        each group's heat at full speed under its grant.
        """
        n = ticks_s.size
        if n == 0:
            return
        durations = np.diff(np.append(ticks_s, end_s))
        full_heat = heat_kw.sum(axis=1)
        rise = self.limits.load_rise_c * _load_factor(full_heat, capacity_kw)
        full_target = supply_c + rise
        k = 0
        while k < n:
            if self._nominal():
                k = self._fast(k, ticks_s, durations, full_target)
                if k >= n:
                    break
            self._step(
                float(ticks_s[k]),
                float(durations[k]),
                float(supply_c[k]),
                float(capacity_kw[k]),
                heat_kw[k],
            )
            k += 1

    def _fast(self, k: int, ticks_s: np.ndarray, durations: np.ndarray, targets: np.ndarray) -> int:
        """Advance nominal ticks from ``k`` in windows; returns the first tick it left.

        Windows grow from 16 to 256 ticks, so a stretch that leaves early costs little.
        """
        step, window, n = durations[k], 16, ticks_s.size
        a = math.exp(-step / self.limits.tau_s)
        while k < n:
            stop_at = min(k + window, n)
            x = targets[k:stop_at]
            end_temps = _relax(a, self.temp_c, x)
            starts = np.concatenate(([self.temp_c], end_temps[:-1]))
            unsafe = (
                (starts > self._throttle_min)
                | (x >= self._shutdown_min)
                | (durations[k:stop_at] != step)
            )
            stop = int(np.argmax(unsafe)) if unsafe.any() else x.size
            if stop:
                self.seg_t.append(ticks_s[k : k + stop])
                self.seg_start.append(starts[:stop])
                self.seg_target.append(x[:stop])
                self.temp_c = float(starts[stop]) if stop < x.size else float(end_temps[-1])
            k += stop
            if stop < x.size:
                return k
            window = min(window * 4, MAX_WINDOW)
        return k

    def _set(self, t_s: float, j: int, factor: float, tripped: bool) -> None:
        if factor != self.factors[j] or tripped != self.tripped[j]:
            self.factors[j], self.tripped[j] = factor, tripped
            self.changes.append(ThrottleChange(t_s, j, factor, tripped))

    def _step(
        self, t_s: float, duration_s: float, supply_c: float, capacity_kw: float, heat: np.ndarray
    ) -> None:
        """One tick in Python: throttle at its start, then trips at exact crossing times."""
        lim, temp = self.limits, self.temp_c
        for j in range(len(self.factors)):
            thr, sd = float(lim.throttle_c[j]), float(lim.shutdown_c[j])
            if self.tripped[j] and temp > thr:
                continue  # stays off until cooled to its throttle temperature
            if heat[j] > 0 and temp >= sd:
                self._set(t_s, j, 0.0, True)
            else:
                self._set(t_s, j, throttle_factor(temp, thr, sd), False)
        start, end = t_s, t_s + duration_s
        while True:
            running = [j for j in range(len(self.factors)) if self.factors[j] > 0 and heat[j] > 0]
            q = sum(heat[j] * self.factors[j] for j in running)
            target = supply_c + lim.load_rise_c * _load_factor_scalar(q, capacity_kw)
            self._segment(start, temp, target)
            crossing, first = end, -1
            for j in running:
                sd = float(lim.shutdown_c[j])
                if target > sd >= temp:  # at sd already: trips now (a shared limit)
                    when = start + lim.tau_s * math.log((target - temp) / (target - sd))
                    if when < crossing:
                        crossing, first = when, j
            if first < 0:
                break
            self._set(crossing, first, 0.0, True)
            start, temp = crossing, float(lim.shutdown_c[first])
        self.temp_c = target + (temp - target) * math.exp(-(end - start) / lim.tau_s)

    def _segment(self, t_s: float, start_c: float, target_c: float) -> None:
        self.seg_t.append(np.array([t_s]))
        self.seg_start.append(np.array([start_c]))
        self.seg_target.append(np.array([target_c]))

    def series(self) -> ExpSeries:
        """The inlet temperature over everything advanced so far."""
        return ExpSeries(
            np.concatenate(self.seg_t),
            np.concatenate(self.seg_start),
            np.concatenate(self.seg_target),
            self.limits.tau_s,
        )


MAX_WINDOW = 256


@lru_cache(maxsize=16)
def _relaxation_matrix(a: float) -> tuple[np.ndarray, np.ndarray]:
    """For T_{i+1} = a·T_i + (1 − a)·x_i: the weights of x (lower triangular) and of T_0."""
    lags = np.arange(MAX_WINDOW)[:, None] - np.arange(MAX_WINDOW)[None, :]
    weights = np.where(lags >= 0, (1.0 - a) * a ** np.maximum(lags, 0), 0.0)
    return weights, a ** np.arange(1, MAX_WINDOW + 1)


def _relax(a: float, start: float, targets: np.ndarray) -> np.ndarray:
    """Temperatures at the end of each tick, relaxing from ``start`` towards ``targets``."""
    n = targets.size
    weights, powers = _relaxation_matrix(a)
    return weights[:n, :n] @ targets + powers[:n] * start


# Heat on a cooling with no capacity left: the load factor is capped so temperatures stay
# finite (the hardware trips within seconds); policies never grant such heat.
MAX_LOAD_FACTOR = 1_000.0


def _load_factor_scalar(heat_kw: float, capacity_kw: float) -> float:
    """:func:`_load_factor` of one tick, in plain floats (the slow path's inner loop)."""
    if heat_kw <= 0:
        return 0.0
    if capacity_kw <= 0:
        return MAX_LOAD_FACTOR
    return min(heat_kw / capacity_kw, MAX_LOAD_FACTOR)


def _load_factor(heat_kw: np.ndarray | float, capacity_kw: np.ndarray | float) -> np.ndarray:
    """Heat over cooling capacity (0 with no heat, capped at MAX_LOAD_FACTOR)."""
    heat, cap = np.asarray(heat_kw, dtype=float), np.asarray(capacity_kw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cap > 0, heat / np.where(cap > 0, cap, 1.0), MAX_LOAD_FACTOR)
    return np.where(heat > 0, np.minimum(ratio, MAX_LOAD_FACTOR), 0.0)
