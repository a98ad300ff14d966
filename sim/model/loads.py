"""The site's loads: every ASIC group and every GPU cluster, as the policy and halls see them.

A load is a number of identical units of one kind with a unit power, in one hall or none,
and the units *available* over time: installed, less what is planned off (a GPU cluster's
node-cap schedule) or limited by a driver (a hall shut down; later failed, converted or in
maintenance). The policy, the halls' heat classes and the thermal model index loads through
these arrays and through :meth:`Loads.of_kind`, never by where a load sits in the list, so
a new kind of load (a battery, a backup-fed hall) is a new :class:`LoadKind`, not a change
to the budget arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.steps import StepSeries, piece_over


@dataclass(frozen=True)
class LoadKind:
    """What the site's policy and halls need to know of a kind of hardware."""

    name: str
    label: str  # plural, for a hall's class of it ("hall-a ASICs")
    serves_tenants: bool  # runs customers' work: never curtailed for price, first under ai_first


ASIC = LoadKind("asic", "ASICs", serves_tenants=False)
GPU = LoadKind("gpu", "GPUs", serves_tenants=True)


@dataclass(frozen=True)
class Load:
    """One group of identical units the policy grants power to."""

    name: str
    kind: LoadKind
    hall: str | None
    unit_power_kw: float  # an ASIC, or a GPU node at peak
    available: StepSeries  # units that may run over time


@dataclass(frozen=True)
class _Limit:
    """At most ``units`` of each load in ``which`` may run on ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    which: np.ndarray
    units: float


class Loads:
    """The site's loads, with the per-load arrays the policy reads.

    The order is the scenario's (ASIC groups, then GPU groups): it breaks the policies'
    ties, so it is kept, but nothing else depends on it.
    """

    def __init__(self, loads: list[Load], hall_names: list[str]) -> None:
        self.items = loads
        self.names = [load.name for load in loads]
        self.unit_kw = np.array([load.unit_power_kw for load in loads], dtype=float)
        # loads without a hall point one past the last hall
        self.hall = np.array(
            [hall_names.index(h) if h is not None else len(hall_names) for h in self.halls()],
            dtype=int,
        )
        self.serves_tenants = np.array([load.kind.serves_tenants for load in loads], dtype=bool)
        times = [load.available.times_s for load in loads]
        self._times = np.unique(np.concatenate(times)) if loads else np.zeros(1)
        self._units = np.empty((self._times.size, len(loads)), order="F")
        for i, load in enumerate(loads):
            self._units[:, i] = load.available.at(self._times)
        self._limits: list[_Limit] = []

    def __len__(self) -> int:
        return len(self.items)

    def halls(self) -> list[str | None]:
        """Each load's hall name (None outside halls)."""
        return [load.hall for load in self.items]

    def of_kind(self, kind: LoadKind) -> np.ndarray:
        """Indices of the loads of ``kind``, in order."""
        return np.array([i for i, load in enumerate(self.items) if load.kind == kind], dtype=int)

    def kinds(self) -> list[LoadKind]:
        """Each load's kind."""
        return [load.kind for load in self.items]

    def limit(self, start_s: float, end_s: float, which: np.ndarray, units: float) -> None:
        """From ``start_s`` until ``end_s``, at most ``units`` of each load in ``which`` run.

        Drivers call this before they announce the change (``Driver.change_times``), so the
        control loop reads it when it decides the ticks it covers.
        """
        self._limits.append(_Limit(start_s, end_s, np.asarray(which, dtype=int), units))

    def changes(self, load: int, start_s: float, end_s: float) -> tuple[list[float], list[float]]:
        """(times, units available) of ``load``'s own series in ``[start_s, end_s)``.

        What happens between control's ticks (a unit failing); the drivers' limits are
        decided at their own instants and are not included.
        """
        first, last = np.searchsorted(self._times, [start_s, end_s])
        return self._times[first:last].tolist(), self._units[first:last, load].tolist()

    def available_series(self, load: int) -> StepSeries:
        """``load``'s units available over the run, its drivers' limits included."""
        edges = [
            [lim.start_s, lim.end_s] for lim in self._limits if np.any(lim.which == load)
        ]
        times = np.union1d(self._times, np.ravel(edges)) if edges else self._times
        times = times[times < np.inf]
        return StepSeries(times, np.array(self.available_at(times, np.array([load]))[:, 0]))

    def varies(self, load: int) -> bool:
        """Whether ``load``'s availability ever changes (a plan, a failure or a limit)."""
        column = self._units[:, load]
        limited = any(np.any(lim.which == load) for lim in self._limits)
        return limited or bool(np.any(column != column[0]))

    def steady_row(self, first_s: float, last_s: float) -> int | None:
        """Which availability holds over ``[first_s, last_s]``, if one and no limit meets it.

        An identifier of the row :meth:`available_at` repeats at every tick in that span
        (None when a series changes or a limit starts or ends inside it).
        """
        if any(lim.start_s <= last_s and lim.end_s > first_s for lim in self._limits):
            return None
        return piece_over(self._times, first_s, last_s)

    def available_at(self, ticks_s: np.ndarray, loads: np.ndarray | None = None) -> np.ndarray:
        """Units available of every load (or of ``loads``) at each tick (T, L).

        Each load's ticks are contiguous. A read-only broadcast view when nothing changes
        over the ticks (the usual batch).
        """
        rows = np.searchsorted(self._times, ticks_s, side="right") - 1
        units = self._units if loads is None else self._units[:, loads]
        out: np.ndarray
        if rows[0] == rows[-1]:
            out = np.broadcast_to(units[rows[0]], (ticks_s.size, units.shape[1]))
        else:
            out = np.asfortranarray(units[rows])
        for lim in self._limits:
            # the limit's loads as columns of ``out``
            which = lim.which if loads is None else np.flatnonzero(np.isin(loads, lim.which))
            hit = (ticks_s >= lim.start_s) & (ticks_s < lim.end_s)
            if hit.any() and which.size:
                out = np.array(out, order="F")  # writable
                rows_hit = np.flatnonzero(hit)[:, None]
                out[rows_hit, which] = np.minimum(out[rows_hit, which], lim.units)
        return out


def as_slice(indices: np.ndarray) -> slice | np.ndarray:
    """``indices`` as a slice when they are consecutive (a view instead of a copy)."""
    if indices.size and indices[-1] - indices[0] == indices.size - 1:
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices
