"""The Bitcoin network: block arrivals, difficulty retargets, subsidy and fees.

Blocks arrive as a non-homogeneous Poisson process with rate ``H(t) / (D · 2^32)``, where
``H`` is the network hashrate (a step series) and ``D`` the difficulty of the epoch. By time
rescaling, block ``k`` of an epoch is found when the network's cumulative work since the
epoch's draw reaches ``D · 2^32 · (E_1 + … + E_k)`` with ``E_i ~ Exp(1)``; inverting the
piecewise-linear cumulative work gives arrival times that are exact for a piecewise-constant
rate. A whole epoch (≤ 2016 blocks) is drawn at once with numpy, so the SimPy process wakes
once per epoch to retarget, not once per block. With ``model: economic`` the hashrate of each
draw comes from :class:`~sim.model.hashrate_supply.HashrateSupply` at the draw's difficulty
and subsidy, so it answers the hashprice epoch by epoch.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import simpy

from sim import consensus as rules
from sim.economics.inputs import CohortPaths
from sim.eventlog import EventLog
from sim.model.fees import FeeModel
from sim.model.hashrate_supply import HashrateSupply
from sim.model.paths import csv_series, csv_steps, gbm_steps
from sim.rng import RandomStreams
from sim.scenario.schema import BitcoinSpec, Scenario, input_files
from sim.steps import StepSeries
from sim.units import HASHES_PER_EHS, SECONDS_PER_DAY, unix_seconds


def network_hashrate_path(scenario: Scenario, streams: RandomStreams) -> StepSeries | None:
    """Network hashrate (H/s) over the horizon (stream ``network_hashrate``).

    None for ``model: economic``: the network's miners decide it as the run goes.
    """
    spec = scenario.bitcoin.network_hashrate
    if spec.model == "economic":
        return None
    if spec.model == "csv":
        series = csv_series(
            input_files(scenario),
            "bitcoin.network_hashrate",
            spec.csv_path,
            "network_hashrate_ehs",
            "network",
            scenario.start_utc,
        )
        return csv_steps(series, scenario.start_utc, scenario.horizon_s, HASHES_PER_EHS)
    start_hs = (
        spec.start_ehs * HASHES_PER_EHS
        if spec.start_ehs is not None
        else rules.implied_hashrate_hs(scenario.bitcoin.start_difficulty)
    )
    return gbm_steps(
        start_hs,
        float(np.log1p(spec.growth_per_year)),
        spec.volatility_per_year,
        spec.update_interval_s,
        scenario.horizon_s,
        streams.get("network_hashrate"),
    )


@dataclass
class BlockLog:
    """Columns of every block found, appended one epoch at a time."""

    heights: list[np.ndarray]
    times_s: list[np.ndarray]
    bits: list[np.ndarray]
    difficulty: list[np.ndarray]  # of the bits, computed once per draw
    fees_btc: list[np.ndarray]
    expected_fees_btc: list[np.ndarray]
    network_hashrate_hs: list[np.ndarray]
    luck: list[np.ndarray]

    @classmethod
    def empty(cls) -> BlockLog:
        """A log with no blocks."""
        return cls([], [], [], [], [], [], [], [])

    def column(self, name: str, dtype: type = float) -> np.ndarray:
        """One column over all epochs as a single array."""
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _multiples(first_height: int, count: int, interval: int) -> range:
    """Indices i < count whose height ``first_height + i`` is a multiple of ``interval``.

    Found by arithmetic, not by a modulo of each block's height at every draw.
    """
    return range(-first_height % interval, count, interval)


class BitcoinNetwork:
    """The network's chain state and its block-finding process.

    Parameters
    ----------
    env
        The SimPy environment (time in seconds since start_utc).
    spec
        The scenario's bitcoin section.
    start_utc
        Calendar time of t = 0.
    horizon_s
        End of the run; blocks after it are not recorded.
    hashrate
        Network hashrate step series (H/s); None: the economic model's miners decide it.
    streams
        Source of the ``block_arrivals``, ``block_fees``, ``solo_luck`` and (economic)
        ``network_entry`` streams.
    events
        Log for halvings and difficulty adjustments.
    btc_price_usd
        The BTC price path, which the economic model's miners answer.
    """

    def __init__(
        self,
        env: simpy.Environment,
        spec: BitcoinSpec,
        start_utc: datetime,
        horizon_s: float,
        hashrate: StepSeries | None,
        streams: RandomStreams,
        events: EventLog,
        btc_price_usd: StepSeries,
    ) -> None:
        self.env = env
        self.horizon_s = horizon_s
        self.start_unix_s = unix_seconds(start_utc)
        self.fees = FeeModel(spec.fees, self.start_unix_s, streams.get("block_fees"))
        self._supply = (
            None if hashrate is not None else self._economic(spec, btc_price_usd, streams)
        )
        # the path blocks are drawn on: the whole run's, or (economic) the current draw's
        self._path = hashrate if hashrate is not None else StepSeries.constant(0.0)
        self.blocks = BlockLog.empty()
        self.height = spec.start_height  # the next block to be found
        self.bits = rules.bits_for_difficulty(spec.start_difficulty)
        self.start_bits = self.bits
        self._epoch_first_unix_s = int(unix_seconds(spec.epoch_start_utc))
        self._last_block_s = 0.0
        # what the site's control may know: the chain up to the last block drawn so far
        self.drawn_until_s = 0.0
        self.progress = env.event()
        # the latest draw's blocks: times, heights, expected fees and difficulty, which
        # value_per_hash_at prices only if the policy asks (static and ai_first never do)
        self._draw_times_s = np.empty(0)
        self._draw_heights = np.empty(0, dtype=np.int64)
        self._draw_expected_fees = np.empty(0)
        self._draw_difficulty = self.difficulty
        self._halving_drop = spec.network_hashrate.halving_drop_fraction
        self._halving_recovery_s = spec.network_hashrate.halving_recovery_days * SECONDS_PER_DAY
        self._arrivals = streams.get("block_arrivals")
        self._luck = streams.get("solo_luck")
        self._events = events
        self._grid_work = self._path.cumulative_at_knots()

    def _economic(
        self, spec: BitcoinSpec, btc_price_usd: StepSeries, streams: RandomStreams
    ) -> HashrateSupply:
        """The economic model's miners, sized to run the start hashrate at the start state."""
        start_ehs = spec.network_hashrate.start_ehs
        start_hs = (
            start_ehs * HASHES_PER_EHS
            if start_ehs is not None
            else rules.implied_hashrate_hs(spec.start_difficulty)
        )
        hashprice = rules.hashprice_usd_per_ph_day(
            spec.start_difficulty,
            rules.subsidy_sat(spec.start_height) / 1e8,
            self.fees.level.at(0.0),
            btc_price_usd.at(0.0),
        )
        return HashrateSupply(
            spec.network_hashrate,
            start_hs,
            float(hashprice),
            btc_price_usd,
            self.fees.level,
            self.start_unix_s,
            self.horizon_s,
            streams.get("network_entry"),
        )

    @property
    def hashrate(self) -> StepSeries:
        """Network hashrate over the run so far (H/s)."""
        return self._path if self._supply is None else self._supply.network_hs()

    def cohorts(self) -> CohortPaths | None:
        """The economic model's cohorts over the run (None for other models)."""
        return None if self._supply is None else self._supply.paths()

    @property
    def difficulty(self) -> float:
        """Difficulty of the next block."""
        return rules.difficulty_of(self.bits)

    def _time_of_work(self, work: np.ndarray) -> np.ndarray:
        """Invert cumulative network work (hashes since the path's start) to time (s)."""
        idx = np.searchsorted(self._grid_work, work, side="right") - 1
        rate = self._path.values[idx]
        # a network that stopped hashing (economic, every cohort off) finds no more blocks
        late = np.divide(
            work - self._grid_work[idx], rate, out=np.full(work.shape, np.inf), where=rate > 0
        )
        return self._path.times_s[idx] + late

    def _draw_epoch(self) -> np.ndarray:
        """Arrival times of the rest of the current epoch's blocks, found from now on."""
        n = rules.RETARGET_INTERVAL_BLOCKS - self.height % rules.RETARGET_INTERVAL_BLOCKS
        work_per_block = self.difficulty * rules.HASHES_PER_DIFFICULTY
        cumulative = np.cumsum(self._arrivals.standard_exponential(n))
        if self._supply is None:
            start_work = self._path.cumulative_at(np.array([self.env.now]))[0]
            return self._time_of_work(start_work + work_per_block * cumulative)
        # the miners' path starts now: no work on it yet (adding that 0.0 changes no bit)
        self._follow_supply(work_per_block * float(cumulative[-1]))
        return self._time_of_work(work_per_block * cumulative)

    def _follow_supply(self, work_hashes: float) -> None:
        """Ask the miners for the hashrate from now on, at this epoch's difficulty and subsidy."""
        self._path = self._supply.path_from(  # type: ignore[union-attr]
            self.env.now, work_hashes, self.difficulty, float(rules.subsidy_sat(self.height)) / 1e8
        )
        self._grid_work = self._path.cumulative_at_knots()

    def _record(self, times_s: np.ndarray) -> None:
        heights = self.height + np.arange(times_s.size, dtype=np.int64)
        fees, expected = self.fees.draw(heights, times_s)
        log = self.blocks
        log.heights.append(heights)
        log.times_s.append(times_s)
        log.bits.append(np.full(times_s.size, self.bits, dtype=np.int64))
        log.difficulty.append(np.full(times_s.size, self.difficulty))
        log.fees_btc.append(fees)
        log.expected_fees_btc.append(expected)
        log.network_hashrate_hs.append(self._path.at(times_s))
        log.luck.append(self._luck.random(times_s.size))
        epoch_firsts = _multiples(self.height, times_s.size, rules.RETARGET_INTERVAL_BLOCKS)
        if epoch_firsts:
            first_s = times_s[epoch_firsts[-1]]
            self._epoch_first_unix_s = int(np.floor(self.start_unix_s + first_s))
        for i in _multiples(self.height, times_s.size, rules.HALVING_INTERVAL_BLOCKS):
            height, t_s = heights[i], times_s[i]
            subsidy = rules.subsidy_sat(height) / 1e8
            self._events.add(t_s, "halving", "bitcoin", float(subsidy), "btc", f"height {height}")
        self.height += times_s.size
        if times_s.size:
            self._last_block_s = float(times_s[-1])
        self._draw_times_s = times_s
        self._draw_heights, self._draw_expected_fees = heights, expected
        self._draw_difficulty = self.difficulty

    def _retarget(self) -> None:
        """Apply the retarget rule after the last block of an epoch."""
        last_unix = int(np.floor(self.start_unix_s + self._last_block_s))
        old = self.difficulty
        self.bits = rules.next_bits(self.bits, self._epoch_first_unix_s, last_unix)
        change = self.difficulty / old - 1
        self._events.add(
            self._last_block_s,
            "difficulty_adjustment",
            "bitcoin",
            self.difficulty,
            "difficulty",
            f"height {self.height}, {change:+.2%}",
        )

    def _next_halving_index(self, count: int) -> int | None:
        """Index, among the next ``count`` blocks, of the first halving block (if it responds)."""
        if self._halving_drop == 0.0 and self._supply is None:
            return None
        to_halving = -self.height % rules.HALVING_INTERVAL_BLOCKS
        return to_halving if to_halving < count else None

    def _respond_to_halving(self, t_s: float) -> None:
        """Miners unplug at the halving: H falls by the drop fraction and recovers.

        The multiplier ``1 − drop · exp(−τ / recovery)`` (τ since the halving) is applied on
        the hashrate grid from ``t_s`` on; draws after this point use the new path, which is
        exact for a Poisson process because it is memoryless.
        """
        times = self._path.times_s
        times = np.unique(np.append(times[times < self.horizon_s], t_s))
        values = self._path.at(times)
        tau = np.maximum(times - t_s, 0.0)
        dip = self._halving_drop * np.exp(-tau / self._halving_recovery_s)
        self._path = StepSeries(times, values * np.where(times >= t_s, 1.0 - dip, 1.0))
        self._grid_work = self._path.cumulative_at_knots()

    def find_blocks(self) -> Generator[simpy.Event, None, None]:
        """SimPy process: find blocks epoch by epoch and retarget, until the horizon.

        A draw stops early at a halving block when the network responds to halvings (a
        scheduled drop, or economic miners facing the new subsidy), so the rest of the epoch
        is drawn on the changed hashrate path.
        """
        while True:
            times_s = self._draw_epoch()
            halving = self._next_halving_index(times_s.size)
            if halving is not None:
                times_s = times_s[: halving + 1]
            inside = times_s[times_s < self.horizon_s]
            self._record(inside)
            finished = inside.size < times_s.size  # the rest lies beyond the horizon
            self._announce(self.horizon_s if finished else float(times_s[-1]))
            if finished:
                return
            # wait for the last block of this draw to be found
            yield self.env.timeout(times_s[-1] - self.env.now)
            if self.height % rules.RETARGET_INTERVAL_BLOCKS == 0:
                self._retarget()
            if halving is not None and self._supply is None:
                self._respond_to_halving(self._last_block_s)

    def _announce(self, until_s: float) -> None:
        """Tell waiting processes that the chain is now known up to ``until_s``."""
        self.drawn_until_s = until_s
        event, self.progress = self.progress, self.env.event()
        event.succeed()

    def value_per_hash_at(self, t_s: np.ndarray) -> np.ndarray:
        """Expected BTC per hash (before pool fees) at times within the latest draw.

        Valid for ``t_s`` after the previous draw's last block and before ``drawn_until_s``;
        after the horizon's last block it is the value of the block still being worked on.
        """
        idx = np.searchsorted(self._draw_times_s, t_s, side="right")
        drawn = rules.value_per_hash_btc(
            self._draw_heights, self._draw_expected_fees, self._draw_difficulty
        )
        tail = rules.value_per_hash_btc(self.height, self._pending_fee(), self.difficulty)
        return np.append(drawn, tail)[idx]

    def _pending_fee(self) -> float:
        """Expected fees of the next block, the one still being worked on."""
        heights, times = np.array([self.height]), np.array([self._last_block_s])
        return float(self.fees.expected(heights, times)[0])

    def chain_steps(self) -> dict[str, StepSeries]:
        """State of the block being worked on, as step series over the run.

        Between blocks ``k−1`` and ``k`` every hash works on block ``k``; the last piece is
        the block still being worked on at the horizon. Keys: ``height`` (of that block),
        ``difficulty``, ``subsidy_btc``, ``expected_fees_btc``.
        """
        heights = np.append(self.blocks.column("heights", np.int64), self.height)
        difficulty = np.append(self.blocks.column("difficulty"), self.difficulty)
        expected = np.append(self.blocks.column("expected_fees_btc"), self._pending_fee())
        starts = np.append(0.0, self.blocks.column("times_s"))
        return {
            "height": StepSeries(starts, heights.astype(float)),
            "difficulty": StepSeries(starts, difficulty),
            "subsidy_btc": StepSeries(starts, rules.subsidy_sat(heights) / 1e8),
            "expected_fees_btc": StepSeries(starts, expected),
        }
