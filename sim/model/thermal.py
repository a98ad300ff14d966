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
are advanced in vectorised stretches of the linear recurrence; only ticks near the limits
step in Python. The specification these paths are tested against is the plain stepper of
:mod:`sim.model.thermal_spec`, one tick at a time.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
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
    """One hall's thermal constants and the limits of each hardware class in it.

    A class is the hardware that shares limits: a hall's ASIC groups, or its GPU groups.
    """

    tau_s: float
    load_rise_c: float
    throttle_c: np.ndarray  # (C,) per class in the hall
    shutdown_c: np.ndarray  # (C,)


@dataclass(frozen=True)
class ThrottleChanges:
    """From ``t_s[i]`` on, class ``cls[i]`` runs at ``factor[i]`` (0 and ``tripped`` on a trip)."""

    t_s: np.ndarray
    cls: np.ndarray
    factor: np.ndarray
    tripped: np.ndarray


class TickBatch:
    """A batch of control ticks, shared by every hall advanced over it.

    ``ticks_s`` are the start times and ``durations_s`` the lengths; the ticks are regular
    (of the first tick's length) except a few (in practice the last one, cut by the
    horizon). The plain-float copies serve the Python steps.
    """

    def __init__(self, ticks_s: np.ndarray, end_s: float) -> None:
        self.ticks_s = ticks_s
        self.durations_s = np.diff(np.append(ticks_s, end_s))
        self.step_s = float(self.durations_s[0]) if ticks_s.size else 0.0
        self.size = int(ticks_s.size)
        # ticks of another length than the first, then the size (a sentinel)
        self._irregular = np.flatnonzero(self.durations_s != self.step_s).tolist() + [self.size]

    def regular_until(self, k: int) -> int:
        """The first tick at or after ``k`` of another length than the first (or the size)."""
        return self._irregular[bisect_left(self._irregular, k)]

    @cached_property
    def lists(self) -> tuple[list[float], list[float]]:
        """Start times and durations as plain floats."""
        return self.ticks_s.tolist(), self.durations_s.tolist()


class HallThermal:
    """The thermal state of one hall, advanced tick batch by tick batch."""

    def __init__(self, limits: HallLimits, temp_c: float) -> None:
        self.limits = limits
        self.temp_c = temp_c
        classes = limits.throttle_c.size
        self.factors = [1.0] * classes
        self.tripped = [False] * classes
        self._slowed: set[int] = set()  # classes throttled or tripped
        self._throttle = [float(x) for x in limits.throttle_c]
        self._shutdown = [float(x) for x in limits.shutdown_c]
        # the lowest throttle and shutdown temperatures: nothing happens below both
        self.lowest_limits = (
            min(self._throttle, default=math.inf),
            min(self._shutdown, default=math.inf),
        )
        # segments of the inlet temperature (start time, start value, target): numpy chunks
        # from the vectorised paths, and plain floats from the Python steps until flushed
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._seg_t: list[float] = []
        self._seg_start: list[float] = []
        self._seg_target: list[float] = []
        # throttle factor changes, in time order
        self._ch_t: list[float] = []
        self._ch_class: list[int] = []
        self._ch_factor: list[float] = []
        self._ch_tripped: list[bool] = []
        self._decays: dict[float, float] = {}

    def decay(self, step_s: float) -> float:
        """``a = e^(−Δ/τ)``: how much of a gap to its target the inlet keeps over a tick."""
        a = self._decays.get(step_s)
        if a is None:
            a = self._decays[step_s] = math.exp(-step_s / self.limits.tau_s)
        return a

    @property
    def nominal(self) -> bool:
        """Every class at full speed."""
        return not self._slowed

    def advance(
        self,
        ticks_s: np.ndarray,
        end_s: float,
        supply_c: np.ndarray,
        capacity_kw: np.ndarray,
        heat_kw: np.ndarray,
    ) -> None:
        """Advance over ticks ``ticks_s`` (the last one ends at ``end_s``).

        ``supply_c`` and ``capacity_kw`` hold over each tick; ``heat_kw`` (ticks × classes)
        is each class's heat at full speed under its grant.
        """
        targets = full_targets(supply_c, capacity_kw, heat_kw.sum(axis=1), self.limits.load_rise_c)
        self.advance_batch(TickBatch(ticks_s, end_s), supply_c, capacity_kw, heat_kw, targets)

    def advance_batch(
        self,
        batch: TickBatch,
        supply_c: np.ndarray,
        capacity_kw: np.ndarray,
        heat_kw: np.ndarray,
        targets_c: np.ndarray,
        stretched_to: int | None = None,
    ) -> None:
        """:meth:`advance` with the full targets given.

        The facility computes :func:`full_targets` for every hall at once and takes the
        nominal halls' stretches from the batch start together (:func:`advance_nominal`);
        ``stretched_to`` is then where this hall's stopped (its tick needs a Python step).
        """
        n = batch.size
        k = stretched_to or 0
        stretched = stretched_to is not None
        heat: list[list[float]] | None = None  # per class: plain floats for the Python steps
        while k < n:
            if self.nominal and not stretched:
                k = advance_nominal([self], k, batch, targets_c[None, :])[0]
                if k >= n:
                    break
            stretched = False
            if heat is None:
                heat = heat_kw.T.tolist()
                ticks, steps = batch.lists
                supplies, capacities = supply_c.tolist(), capacity_kw.tolist()
            if len(heat) == 1:
                k, restored = self._throttled(k, ticks, steps, supplies, capacities, heat[0])
                if k >= n:
                    break
                if restored:
                    continue  # cooled down: the nominal path takes this tick
            self._step(ticks[k], steps[k], supplies[k], capacities[k], [q[k] for q in heat])
            k += 1

    def _set(self, t_s: float, j: int, factor: float, tripped: bool) -> None:
        if factor != self.factors[j] or tripped != self.tripped[j]:
            self.factors[j], self.tripped[j] = factor, tripped
            if factor == 1.0 and not tripped:
                self._slowed.discard(j)
            else:
                self._slowed.add(j)
            self._ch_t.append(t_s)
            self._ch_class.append(j)
            self._ch_factor.append(factor)
            self._ch_tripped.append(tripped)

    def _throttled(
        self,
        k: int,
        ticks: list[float],
        steps: list[float],
        supplies: list[float],
        capacities: list[float],
        heats: list[float],
    ) -> tuple[int, bool]:
        """Steps of a one-class hall inside its throttle band.

        Returns the first tick it did not take, and whether that tick found the hall cooled
        to full speed again (then the nominal path takes it).

        The same arithmetic as :meth:`_step`, inlined for the common case (the inlet between
        the throttle and shutdown temperatures and no trip within the tick, with or without
        heat granted), which is most of the ticks a hot hall spends in Python.
        """
        thr, sd = self._throttle[0], self._shutdown[0]
        tau, rise, temp = self.limits.tau_s, self.limits.load_rise_c, self.temp_c
        factors, slowed = self.factors, self._slowed
        ch_t, ch_class, ch_factor = self._ch_t, self._ch_class, self._ch_factor
        ch_tripped = self._ch_tripped
        seg_t, seg_start, seg_target = self._seg_t, self._seg_start, self._seg_target
        band, exp, log = sd - thr, math.exp, math.log
        n = len(ticks)
        if self.tripped[0]:  # stays so until cooled: the general step handles it
            return k, False
        while k < n and thr < temp < sd:
            heat, t_s = heats[k], ticks[k]
            end = t_s + steps[k]
            factor = (sd - temp) / band  # in [0, 1] inside the band: throttle_factor's clip is moot
            if heat > 0:
                capacity = capacities[k]
                load = (
                    min(heat * factor / capacity, MAX_LOAD_FACTOR)
                    if capacity > 0
                    else MAX_LOAD_FACTOR
                )
                target = supplies[k] + rise * load
                if target > sd and t_s + tau * log((target - temp) / (target - sd)) < end:
                    break  # trips inside the tick: the general step handles it
            else:
                target = supplies[k] + rise * 0.0
            if factor != factors[0]:  # self._set, inlined (the class is not tripped)
                factors[0] = factor
                if factor == 1.0:
                    slowed.discard(0)
                else:
                    slowed.add(0)
                ch_t.append(t_s)
                ch_class.append(0)
                ch_factor.append(factor)
                ch_tripped.append(False)
            seg_t.append(t_s)
            seg_start.append(temp)
            seg_target.append(target)
            temp = target + (temp - target) * exp(-(end - t_s) / tau)
            k += 1
        self.temp_c = temp
        if k < n and temp <= thr and factors[0] != 1.0:
            # cooled down: back at full speed from this tick, which the nominal path takes
            self._set(ticks[k], 0, 1.0, False)
            return k, True
        return k, False

    def _step(
        self, t_s: float, duration_s: float, supply_c: float, capacity_kw: float, heat: list[float]
    ) -> None:
        """One tick in Python: throttle at its start, then trips at exact crossing times."""
        tau, temp = self.limits.tau_s, self.temp_c
        classes = range(len(self.factors))
        for j in classes:
            thr, sd = self._throttle[j], self._shutdown[j]
            if self.tripped[j] and temp > thr:
                continue  # stays off until cooled to its throttle temperature
            if heat[j] > 0 and temp >= sd:
                self._set(t_s, j, 0.0, True)
            else:
                self._set(t_s, j, throttle_factor(temp, thr, sd), False)
        start, end = t_s, t_s + duration_s
        while True:
            running = [j for j in classes if self.factors[j] > 0 and heat[j] > 0]
            q = sum(heat[j] * self.factors[j] for j in running)
            target = supply_c + self.limits.load_rise_c * _load_factor_scalar(q, capacity_kw)
            self._seg_t.append(start)
            self._seg_start.append(temp)
            self._seg_target.append(target)
            crossing, first = end, -1
            for j in running:
                sd = self._shutdown[j]
                if target > sd >= temp:  # at sd already: trips now (a shared limit)
                    when = start + tau * math.log((target - temp) / (target - sd))
                    if when < crossing:
                        crossing, first = when, j
            if first < 0:
                break
            self._set(crossing, first, 0.0, True)
            start, temp = crossing, self._shutdown[first]
        self.temp_c = target + (temp - target) * math.exp(-(end - start) / tau)

    def _flush(self) -> None:
        """Move the Python steps' segments into a numpy chunk."""
        if self._seg_t:
            self._chunks.append(
                (np.array(self._seg_t), np.array(self._seg_start), np.array(self._seg_target))
            )
            self._seg_t, self._seg_start, self._seg_target = [], [], []

    def _chunk(self, t_s: np.ndarray, starts: np.ndarray, targets: np.ndarray) -> None:
        """Record segments computed in numpy, after any pending Python ones."""
        self._flush()
        self._chunks.append((t_s, starts, targets))

    def changes(self, since: int = 0) -> ThrottleChanges:
        """The throttle factor changes from the ``since``-th on."""
        return ThrottleChanges(
            np.array(self._ch_t[since:], dtype=float),
            np.array(self._ch_class[since:], dtype=int),
            np.array(self._ch_factor[since:], dtype=float),
            np.array(self._ch_tripped[since:], dtype=bool),
        )

    @property
    def change_count(self) -> int:
        """Throttle factor changes so far."""
        return len(self._ch_t)

    def series(self) -> ExpSeries:
        """The inlet temperature over everything advanced so far."""
        self._flush()
        if not self._chunks:  # never advanced: the inlet rests where it started
            start = np.array([self.temp_c])
            return ExpSeries(np.zeros(1), start, start, self.limits.tau_s)
        t, starts, targets = (np.concatenate(parts) for parts in zip(*self._chunks, strict=True))
        return ExpSeries(t, starts, targets, self.limits.tau_s)


def advance_nominal(
    halls: list[HallThermal], k: int, batch: TickBatch, targets_c: np.ndarray
) -> list[int]:
    """Advance nominal halls from tick ``k`` in one vectorised stretch each.

    ``targets_c`` (halls × ticks) holds each hall's targets at full speed. The rest of the
    batch's regular ticks is relaxed at once (a few array operations, however long and for
    however many halls) and each hall's stretch is cut at its first tick where something
    could happen: the inlet above its lowest throttle temperature or a target at its lowest
    shutdown temperature. Returns the first tick each hall did not take.
    """
    x = targets_c[:, k : batch.regular_until(k)]
    m = x.shape[1]
    if not m:
        return [k] * len(halls)
    start = np.array([hall.temp_c for hall in halls])
    end_temps = _relax(tuple(hall.decay(batch.step_s) for hall in halls), start, x)
    limits = np.array([hall.lowest_limits for hall in halls])  # (halls, 2)
    unsafe = x >= limits[:, 1:]
    unsafe[:, 0] |= start > limits[:, 0]  # tick j starts where tick j − 1 ended
    unsafe[:, 1:] |= end_temps[:, :-1] > limits[:, :1]
    stops = unsafe.argmax(axis=1).tolist()
    out = []
    for i, (hall, stop) in enumerate(zip(halls, stops, strict=True)):
        if not unsafe[i, stop]:
            stop = m  # nothing unsafe: the whole stretch
        if stop:
            starts = np.concatenate((start[i : i + 1], end_temps[i, : stop - 1]))
            hall._chunk(batch.ticks_s[k : k + stop], starts, x[i, :stop])
            hall.temp_c = float(end_temps[i, stop - 1])
        out.append(k + stop)
    return out


# The relaxation runs in blocks of BLOCK ticks, their ends chained SPAN blocks at a time.
BLOCK = 32
SPAN = 64


@lru_cache(maxsize=64)
def _scan_weights(decay: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Weights of T_{i+1} = a·T_i + (1 − a)·x_i within and between blocks, one ``a`` per hall.

    Returns, stacked over the halls: the transposed in-block weights of x
    (``(1 − a)·a^(i−j)``, lower triangular), the in-block weights of the start
    ``a^(i+1)``, and the same two for chaining block ends (``a^BLOCK`` in place of ``a``,
    and weight 1 on each block's own end).
    """

    def lower(base: np.ndarray, size: int) -> np.ndarray:
        lags = np.arange(size)[:, None] - np.arange(size)[None, :]
        return np.where(lags >= 0, base[:, None, None] ** np.maximum(lags, 0), 0.0)

    a = np.array(decay)
    span_base = a**BLOCK
    return (
        np.ascontiguousarray(((1.0 - a)[:, None, None] * lower(a, BLOCK)).transpose(0, 2, 1)),
        a[:, None] ** np.arange(1, BLOCK + 1),
        lower(span_base, SPAN),
        span_base[:, None] ** np.arange(1, SPAN + 1),
    )


def _relax(decay: tuple[float, ...], start: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Temperatures at the end of each tick (halls × ticks), relaxing towards ``targets``.

    Each hall starts at its ``start`` and decays by its own ``decay`` ``a`` per tick. A
    blocked scan of the linear recurrence: each block's response from rest is one matrix
    product, the block ends are chained by a second, and each block then adds its start's
    decay. Every weight is a power of ``a`` ≤ 1, so nothing overflows for any time constant.
    Runs longer than SPAN blocks continue from where the first SPAN blocks ended.
    """
    halls, n = targets.shape
    if n > BLOCK * SPAN:
        head = _relax(decay, start, targets[:, : BLOCK * SPAN])
        tail = _relax(decay, head[:, -1], targets[:, BLOCK * SPAN :])
        return np.concatenate((head, tail), axis=1)
    in_block, start_decay, chain, chain_decay = _scan_weights(decay)
    blocks = -(-n // BLOCK)
    padded = np.zeros((halls, blocks * BLOCK))
    padded[:, :n] = targets
    local = padded.reshape(halls, blocks, BLOCK) @ in_block  # (halls, blocks, BLOCK)
    ends = (chain[:, :blocks, :blocks] @ local[:, :, -1:])[:, :, 0]
    ends += chain_decay[:, :blocks] * start[:, None]
    block_starts = np.concatenate((start[:, None], ends[:, :-1]), axis=1)
    local += block_starts[:, :, None] * start_decay[:, None, :]
    return local.reshape(halls, -1)[:, :n]


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


def full_targets(
    supply_c: np.ndarray,
    capacity_kw: np.ndarray,
    heat_kw: np.ndarray,
    load_rise_c: np.ndarray | float,
) -> np.ndarray:
    """Equilibrium inlet temperature with every class at full speed (broadcasting)."""
    return supply_c + load_rise_c * _load_factor(heat_kw, capacity_kw)


def _load_factor(heat_kw: np.ndarray | float, capacity_kw: np.ndarray | float) -> np.ndarray:
    """Heat over cooling capacity (0 with no heat, capped at MAX_LOAD_FACTOR)."""
    heat, cap = np.asarray(heat_kw, dtype=float), np.asarray(capacity_kw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cap > 0, heat / np.where(cap > 0, cap, 1.0), MAX_LOAD_FACTOR)
    return np.where(heat > 0, np.minimum(ratio, MAX_LOAD_FACTOR), 0.0)
