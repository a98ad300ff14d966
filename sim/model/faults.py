"""Faults drawn for the whole run: grid outages, and hardware failures with their repairs.

Neither depends on what the site does (a unit fails whether it is granted or not; the grid
fails whatever the site draws), so each history is drawn before the run, on its own named
streams, and reaches the site as step series and windows that are known in advance:

- **Grid outages** are a Poisson process at ``rate_per_year`` with independent durations;
  an outage that starts during another extends it. The site draws nothing from the grid
  during one: every load's availability is 0 there, and control decides at both ends.
- **Hardware failures.** Each installed unit of a group fails at ``annual_failure_rate``
  per year (exponential times to failure) while it works; a failed unit waits for a
  technician of the site's repair crew (a SimPy ``Resource`` with one slot per technician,
  first come first served) and is back once its repair time is over. The group's failure
  process is the superposition of its working units' (rate = working units × rate per
  unit), so the cost grows with the number of failures, not of units. The crew and its
  queue run in a SimPy environment of their own, to the horizon, before the site's run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import simpy

from sim.errors import SimulationError
from sim.rng import RandomStreams
from sim.scenario.faults import (
    CoolingFailuresSpec,
    CurtailmentOrderSpec,
    FaultDurationSpec,
    GridOutagesSpec,
    MaintenanceWindowSpec,
    RepairCrewSpec,
    SparesSpec,
)
from sim.steps import StepSeries
from sim.units import SECONDS_PER_YEAR, unix_seconds


def duration_sampler(
    spec: FaultDurationSpec, rng: np.random.Generator
) -> Callable[[int], np.ndarray]:
    """A function drawing ``n`` durations (s) of ``spec`` from ``rng``."""
    if spec.distribution == "constant":
        return lambda n: np.full(n, spec.mean_s)
    if spec.distribution == "exponential":
        return lambda n: rng.exponential(spec.mean_s, n)
    mu = np.log(spec.mean_s) - spec.sigma**2 / 2.0  # so that the mean is mean_s
    return lambda n: rng.lognormal(mu, spec.sigma, n)


@dataclass(frozen=True)
class Outages:
    """Grid outages as disjoint windows ``[start_s[i], end_s[i])``, in time order."""

    start_s: np.ndarray
    end_s: np.ndarray

    @property
    def count(self) -> int:
        """Number of outages (overlapping ones merged)."""
        return int(self.start_s.size)

    def down(self) -> StepSeries:
        """1 while the grid is out, else 0."""
        times = np.concatenate(([0.0], np.ravel(np.column_stack((self.start_s, self.end_s)))))
        values = np.concatenate(([0.0], np.tile([1.0, 0.0], self.count)))
        keep = np.append(times[1:] != times[:-1], True)  # an outage at t = 0 replaces the 0
        return StepSeries(times[keep], values[keep])


NO_OUTAGES = Outages(np.zeros(0), np.zeros(0))


def union(*windows: Outages) -> Outages:
    """The windows covered by any of ``windows``, merged, in time order."""
    starts = np.concatenate([w.start_s for w in windows])
    ends = np.concatenate([w.end_s for w in windows])
    order = np.argsort(starts, kind="stable")
    merged_start: list[float] = []
    merged_end: list[float] = []
    for start, end in zip(starts[order].tolist(), ends[order].tolist(), strict=True):
        if merged_end and start <= merged_end[-1]:
            merged_end[-1] = max(merged_end[-1], end)
        else:
            merged_start.append(start)
            merged_end.append(end)
    return Outages(np.array(merged_start), np.array(merged_end))


def draw_outages(spec: GridOutagesSpec, horizon_s: float, rng: np.random.Generator) -> Outages:
    """The grid outages of a run (stream ``grid_outages``)."""
    return draw_windows(spec.rate_per_year, spec.duration, horizon_s, rng)


def draw_windows(
    rate_per_year: float, duration: FaultDurationSpec, horizon_s: float, rng: np.random.Generator
) -> Outages:
    """Poisson fault windows: outages of the grid, or failures of a hall's cooling.

    The number is Poisson(rate × years) and the starts uniform over the horizon (a Poisson
    process given its count); windows are cut at the horizon and overlapping ones merged.
    """
    count = rng.poisson(rate_per_year * horizon_s / SECONDS_PER_YEAR)
    starts = np.sort(rng.uniform(0.0, horizon_s, count))
    ends = np.minimum(starts + duration_sampler(duration, rng)(count), horizon_s)
    return union(Outages(starts, ends))


@dataclass(frozen=True)
class FailureHistory:
    """Units out of service per group over the run, and every failure and repair."""

    out: list[StepSeries]  # per group: units failed and not yet repaired
    failed_s: np.ndarray  # each failure's time …
    group: np.ndarray  # … its group …
    repaired_s: np.ndarray  # … and when the unit was back (inf if not by the horizon)


def no_failures(groups: int) -> FailureHistory:
    """No group ever fails."""
    never = StepSeries.constant(0.0)
    return FailureHistory([never] * groups, np.zeros(0), np.zeros(0, dtype=int), np.zeros(0))


class _Draws:
    """Variates of one stream drawn a block at a time (one numpy call per block, same order)."""

    def __init__(self, draw: Callable[[int], np.ndarray], block: int = 1_024) -> None:
        self._draw = draw
        self._block = block
        self._values: list[float] = []

    def next(self) -> float:
        """The next variate."""
        if not self._values:
            self._values = self._draw(self._block).tolist()[::-1]
        return self._values.pop()


class _Crew:
    """The failure and repair processes of every group, in an environment of their own.

    Failures are drawn by thinning: candidates arrive at the rate of every installed unit,
    ``Λ = Σ units × rate``, and one is a failure of group g with probability
    ``working_g × rate_g / Λ`` (one uniform decides both), which is exact for a rate that
    changes only at failures and repairs and never needs a draw to be taken back.

    A group with a Weibull shape ``k ≠ 1`` ages instead: its units are all of age ``a₀`` at
    the start (``age_s``, 0 = new), so with ``m`` of them still on their first life at age
    ``a`` the next of them fails at the age ``b`` that solves ``m·(H(b) − H(a)) = E``,
    ``H(x) = (x/η)^k``, ``E ~ Exp(1)``: one draw per failure. A repaired unit starts a new
    life, drawn when it is back (``η·E^(1/k)``). The scale ``η = MTTF / Γ(1 + 1/k)`` keeps
    the mean life at 1 / ``annual_failure_rate``.
    """

    def __init__(
        self,
        units: np.ndarray,
        rate_per_s: np.ndarray,
        crew: RepairCrewSpec,
        failures_rng: np.random.Generator,
        repairs_rng: np.random.Generator,
        spares: list[SparesSpec | None],
        lead_rng: np.random.Generator | None,
        weibull_shape: list[float],
        aging_rng: np.random.Generator | None,
        age_s: list[float],
    ) -> None:
        self.env = simpy.Environment()
        self.units = units.tolist()
        self.shape = weibull_shape
        self.age_s = age_s
        # the thinned superposition is for exponential lives; Weibull groups age on their own
        self.rate_per_s = [
            r if k == 1.0 else 0.0 for r, k in zip(rate_per_s.tolist(), weibull_shape, strict=True)
        ]
        self.scale_s = [
            1.0 / r / math.gamma(1.0 + 1.0 / k) if r > 0 else math.inf
            for r, k in zip(rate_per_s.tolist(), weibull_shape, strict=True)
        ]
        self.lives = _Draws(aging_rng.standard_exponential) if aging_rng is not None else None
        self.out = [0] * len(self.units)
        self.technicians = simpy.Resource(self.env, capacity=crew.technicians)
        self.gaps = _Draws(failures_rng.standard_exponential)
        self.picks = _Draws(failures_rng.random)
        self.repair_time = _Draws(duration_sampler(crew.repair_time, repairs_rng))
        # each group's spare parts (None: always at hand) and their reorder lead times
        self.stock = [
            simpy.Container(self.env, init=s.stock) if s is not None else None for s in spares
        ]
        self.lead_time = [
            _Draws(duration_sampler(s.lead_time, lead_rng))
            if s is not None and lead_rng is not None
            else None
            for s in spares
        ]
        # (time, group, units out after) at every change, and each failure's record
        self.changes: list[tuple[float, int, int]] = []
        self.failures: list[list[float]] = []  # [failed_s, group, repaired_s]

    def start(self) -> None:
        """Start the failure processes: the thinned one, and one per aging group."""
        if any(n * r > 0 for n, r in zip(self.units, self.rate_per_s, strict=True)):
            self.env.process(self.failures_process())
        for group, (n, k, scale) in enumerate(
            zip(self.units, self.shape, self.scale_s, strict=True)
        ):
            if k != 1.0 and n > 0 and scale < math.inf:
                self.env.process(self._first_lives(group))

    def failures_process(self) -> Generator[simpy.Event, None, None]:
        """Candidate failures at the rate of every installed unit, thinned to the working."""
        ceiling = sum(n * r for n, r in zip(self.units, self.rate_per_s, strict=True))
        while True:
            yield self.env.timeout(self.gaps.next() / ceiling)
            pick = self.picks.next() * ceiling
            for group, (n, rate) in enumerate(zip(self.units, self.rate_per_s, strict=True)):
                pick -= (n - self.out[group]) * rate
                if pick < 0.0:
                    self._fail(group)
                    break

    def _first_lives(self, group: int) -> Generator[simpy.Event, None, None]:
        """The units of an aging group on their first life, failing one by one."""
        k, scale, born = self.shape[group], self.scale_s[group], self.age_s[group]
        hazard = (born / scale) ** k  # H(age) of the units still on their first life
        for left in range(self.units[group], 0, -1):
            hazard += self._life() / left
            # the age at which the next fails, less the age at the start: the run's time
            yield self.env.timeout(max(scale * hazard ** (1.0 / k) - born - self.env.now, 0.0))
            self._fail(group)

    def _next_life(self, group: int) -> Generator[simpy.Event, None, None]:
        """A repaired unit of an aging group: new again, it fails after a fresh life."""
        yield self.env.timeout(self.scale_s[group] * self._life() ** (1.0 / self.shape[group]))
        self._fail(group)

    def _life(self) -> float:
        """An Exp(1) draw of the aging stream (stream ``failure_lives``)."""
        if self.lives is None:
            raise SimulationError("failures", self.env.now, "an aging group needs its stream")
        return self.lives.next()

    def _fail(self, group: int) -> None:
        self.out[group] += 1
        self.changes.append((self.env.now, group, self.out[group]))
        record = [self.env.now, float(group), np.inf]
        self.failures.append(record)
        stock, lead = self.stock[group], self.lead_time[group]
        if stock is not None and lead is not None:  # one for one: a part is ordered now
            self.env.process(self._reorder(stock, lead.next()))
        self.env.process(self._repair(group, record))

    def _repair(self, group: int, record: list[float]) -> Generator[simpy.Event, None, None]:
        stock = self.stock[group]
        if stock is not None:
            yield stock.get(1)  # a part from the shelf, or the first one to arrive
        with self.technicians.request() as technician:
            yield technician
            yield self.env.timeout(self.repair_time.next())
        self.out[group] -= 1
        self.changes.append((self.env.now, group, self.out[group]))
        record[2] = self.env.now
        if self.shape[group] != 1.0:
            self.env.process(self._next_life(group))

    def _reorder(self, stock: simpy.Container, lead_s: float) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(lead_s)
        yield stock.put(1)


@dataclass(frozen=True)
class SiteFaults:
    """Every fault of a run, drawn before it."""

    outages: Outages
    failures: FailureHistory  # groups: the ASIC groups, then the GPU groups
    cooling: list[Outages]  # per hall: failures of its cooling plant
    cooling_lost: list[float]  # per hall: the share of its capacity a failure takes
    maintenance: list[Outages] = field(default_factory=list)  # per hall, planned
    orders: Outages = NO_OUTAGES  # utility curtailment orders …
    order_share: np.ndarray = field(default_factory=lambda: np.zeros(0))  # … grid share each

    def capacity_factor(self, hall: int) -> StepSeries:
        """The share of a hall's heat-rejection capacity working over the run."""
        down = self.cooling[hall].down()
        return StepSeries(down.times_s, 1.0 - self.cooling_lost[hall] * down.values)

    def instants(self) -> np.ndarray:
        """Every start and end of a fault or planned window: control decides there.

        Not the unit failures and repairs: a failing unit stops at once without a decision
        (its load's availability falls), and a repaired one waits for the next tick. Deciding
        at each repair as well cost the 5-year hybrid with faults ≈25 % more (every instant
        off the tick grid splits the thermal model's vectorised stretches).
        """
        windows = [self.outages, *self.cooling, *self.maintenance, self.orders]
        return np.unique(np.concatenate([np.concatenate((w.start_s, w.end_s)) for w in windows]))

    def event_rows(
        self, names: list[str], halls: list[str]
    ) -> list[tuple[float, str, str, float, str, str]]:
        """Rows for the event log: outages, cooling failures, their ends; unit failures, repairs."""
        rows = []
        for hall, windows in zip(halls, self.maintenance, strict=False):
            for start, end in zip(windows.start_s.tolist(), windows.end_s.tolist(), strict=True):
                hours = (end - start) / 3_600.0
                rows.append((start, "maintenance", hall, hours, "h", "hall off"))
                rows.append((end, "maintenance_end", hall, hours, "h", ""))
        orders = zip(
            self.orders.start_s.tolist(),
            self.orders.end_s.tolist(),
            self.order_share.tolist(),
            strict=True,
        )
        for start, end, share in orders:
            rows.append((start, "curtailment_order", "grid", share, "grid share", ""))
            rows.append((end, "curtailment_order_end", "grid", share, "grid share", ""))
        for hall, windows, lost in zip(halls, self.cooling, self.cooling_lost, strict=True):
            for start, end in zip(windows.start_s.tolist(), windows.end_s.tolist(), strict=True):
                detail = f"for {(end - start) / 3_600.0:.2f} h"
                rows.append((start, "cooling_failure", hall, lost, "share lost", detail))
                rows.append((end, "cooling_restored", hall, lost, "share lost", ""))
        for start, end in zip(
            self.outages.start_s.tolist(), self.outages.end_s.tolist(), strict=True
        ):
            hours = (end - start) / 3_600.0
            rows.append((start, "grid_outage", "grid", hours, "h", "no grid power"))
            rows.append((end, "grid_restored", "grid", hours, "h", ""))
        history = self.failures
        for failed, group, repaired in zip(
            history.failed_s.tolist(),
            history.group.tolist(),
            history.repaired_s.tolist(),
            strict=True,
        ):
            rows.append((failed, "hardware_failure", names[group], 1.0, "units", ""))
            if repaired != np.inf:
                hours = (repaired - failed) / 3_600.0
                rows.append((repaired, "repair_done", names[group], hours, "h", "down for"))
        return rows


def planned_windows(
    windows: Sequence[MaintenanceWindowSpec | CurtailmentOrderSpec],
    start_utc: datetime,
    horizon_s: float,
) -> tuple[Outages, np.ndarray]:
    """Scheduled windows in run seconds, cut to the run; and which were kept (in the run)."""
    start = unix_seconds(start_utc)
    spans = [
        (
            max(unix_seconds(w.start_utc) - start, 0.0),
            min(unix_seconds(w.end_utc) - start, horizon_s),
        )
        for w in windows
    ]
    inside = np.array([end > begin for begin, end in spans], dtype=bool)
    kept = np.array(spans, dtype=float).reshape(-1, 2)[inside]
    return Outages(kept[:, 0], kept[:, 1]), inside


def draw_site_faults(
    outages: GridOutagesSpec | None,
    cooling: list[tuple[str, CoolingFailuresSpec | None]],
    crew: RepairCrewSpec,
    units: np.ndarray,
    annual_failure_rate: np.ndarray,
    spares: list[SparesSpec | None],
    weibull_shape: list[float],
    age_s: list[float],
    horizon_s: float,
    streams: RandomStreams,
) -> SiteFaults:
    """The faults of a run: grid outages, each hall's cooling failures and unit failures.

    Streams: ``grid_outages``; ``cooling_failures <hall>`` for each hall of ``cooling``
    ((name, spec) pairs); ``failures``, ``repairs``, ``spares`` (lead times) and
    ``failure_lives`` (groups with a Weibull shape). A stream
    is made only for a fault that is on, so a run without faults has the streams (and the
    manifest) it had before faults existed.
    """
    failures = no_failures(units.size)
    if np.any(np.asarray(annual_failure_rate) * units > 0):
        failures = draw_failures(
            units,
            annual_failure_rate,
            crew,
            horizon_s,
            streams.get("failures"),
            streams.get("repairs"),
            spares,
            streams.get("spares") if any(s is not None for s in spares) else None,
            weibull_shape,
            streams.get("failure_lives") if any(k != 1.0 for k in weibull_shape) else None,
            age_s,
        )
    drawn = NO_OUTAGES
    if outages is not None and outages.rate_per_year > 0:
        drawn = draw_outages(outages, horizon_s, streams.get("grid_outages"))
    plants = [
        draw_windows(
            spec.rate_per_year, spec.duration, horizon_s, streams.get(f"cooling_failures {hall}")
        )
        if spec is not None and spec.rate_per_year > 0
        else NO_OUTAGES
        for hall, spec in cooling
    ]
    lost = [spec.capacity_lost_fraction if spec is not None else 0.0 for _, spec in cooling]
    return SiteFaults(drawn, failures, plants, lost)


def draw_failures(
    units: np.ndarray,
    annual_failure_rate: np.ndarray,
    crew: RepairCrewSpec,
    horizon_s: float,
    failures_rng: np.random.Generator,
    repairs_rng: np.random.Generator,
    spares: list[SparesSpec | None] | None = None,
    lead_rng: np.random.Generator | None = None,
    weibull_shape: list[float] | None = None,
    aging_rng: np.random.Generator | None = None,
    age_s: list[float] | None = None,
) -> FailureHistory:
    """The failures and repairs of groups of ``units`` over the horizon.

    Streams: ``failures`` for when and which group, ``repairs`` for repair times, ``spares``
    for the lead times of reordered parts (groups with ``spares[g]`` wait for a part).
    """
    groups = units.size
    rate = np.asarray(annual_failure_rate, dtype=float) / SECONDS_PER_YEAR
    crew_sim = _Crew(
        np.asarray(units, dtype=int),
        rate,
        crew,
        failures_rng,
        repairs_rng,
        spares if spares is not None else [None] * groups,
        lead_rng,
        weibull_shape if weibull_shape is not None else [1.0] * groups,
        aging_rng,
        age_s if age_s is not None else [0.0] * groups,
    )
    if np.any(rate * units > 0):
        crew_sim.start()
        crew_sim.env.run(until=horizon_s)
    changes = np.array(crew_sim.changes, dtype=float).reshape(-1, 3)
    out = []
    for g in range(groups):
        mine = changes[changes[:, 1] == g]
        times = np.concatenate(([0.0], mine[:, 0]))
        values = np.concatenate(([0.0], mine[:, 2]))
        keep = np.append(times[1:] != times[:-1], True)  # of several at one time, the last
        out.append(StepSeries(times[keep], values[keep]))
    records = np.array(crew_sim.failures, dtype=float).reshape(-1, 3)
    return FailureHistory(out, records[:, 0], records[:, 1].astype(int), records[:, 2])
