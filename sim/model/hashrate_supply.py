"""The world's miners as cohorts by efficiency: who runs at today's hashprice, who enters.

A cohort ``c`` of efficiency ``e_c`` (J/TH) has installed hashrate ``I_c``; its miners' power
costs are lognormal (median ``m``, sigma ``σ``), so the share running at hashprice ``h``
(USD per PH/s per day) is the share whose power cost is covered:
``s_c(h) = Φ((ln(h / (κ_E·e_c)) − ln m) / σ)``, ``κ_E = 0.024`` MWh per PH·day per J/TH.
New machines (efficiency of their order time) are ordered at ``a · I · max(x − 1, 0)`` H/s
per year, ``x = (h − b_new) · P / (1000 · K)`` the value of a new TH/s over its price, and
hash ``L`` later; every cohort loses ``δ`` of its machines a year. All decisions are taken
on the grid of ``update_interval_s``; within an epoch the hashprice depends only on the
epoch's difficulty and the exogenous price and fee paths, so a whole epoch is computed at
once with numpy (steps × cohorts). Equations and calibration: docs/model.md §2.8.
"""

from __future__ import annotations

import numpy as np

from sim.consensus import hashprice_usd_per_ph_day
from sim.economics.inputs import CohortPaths
from sim.errors import SimulationError
from sim.scenario.schema import NetworkHashrateSpec
from sim.steps import StepSeries
from sim.units import SECONDS_PER_DAY, SECONDS_PER_YEAR

# Energy of 1 PH/s running for one day at 1 J/TH: 1e3 TH · 86,400 s · 1 J / 3.6e9 J/MWh.
MWH_PER_PH_DAY_PER_J_PER_TH = 1_000 * SECONDS_PER_DAY / 3.6e9
TH_PER_PH = 1_000.0


# Abramowitz & Stegun 26.2.17: Φ(x) = 1 − φ(x)·Σ b_i·t^i, t = 1/(1 + p·x) for x ≥ 0, with an
# absolute error below 7.5e-8; numpy only, as importing scipy.special adds ≈0.5 s to a run
_NORMAL_P = 0.2316419
_NORMAL_B = (1.330274429, -1.821255978, 1.781477937, -0.356563782, 0.319381530)
# running shares interpolate Φ linearly on a uniform grid of z (a few passes per element
# instead of a dozen); it adds at most h²/8·max|φ'| ≈ 2e-9 to the formula's error
_TABLE_Z0, _TABLE_STEPS = -9.0, 2**16
_TABLE_PER_Z = _TABLE_STEPS / 18.0


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF Φ(x), elementwise (absolute error < 7.5e-8; ±inf give 1 and 0)."""
    z = np.abs(x)
    t = 1.0 / (1.0 + _NORMAL_P * z)
    poly = np.zeros_like(t)
    for coefficient in _NORMAL_B:  # Horner, highest power first
        poly = (poly + coefficient) * t
    upper = 1.0 - np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi) * poly
    return np.where(x >= 0, upper, 1.0 - upper)


_TABLE_CDF = normal_cdf(np.linspace(_TABLE_Z0, -_TABLE_Z0, _TABLE_STEPS + 1))
_TABLE_SLOPE = np.diff(_TABLE_CDF)


def _interpolated_cdf(z: np.ndarray) -> np.ndarray:
    """Φ(z) from the table; Φ(±9) beyond (within 1.2e-19 of the limits)."""
    position = np.clip((z - _TABLE_Z0) * _TABLE_PER_Z, 0.0, _TABLE_STEPS - 1e-6)
    index = position.astype(np.intp)
    return _TABLE_CDF[index] + (position - index) * _TABLE_SLOPE[index]


def running_share(
    hashprice_usd_per_ph_day: np.ndarray, breakeven_usd_per_ph_day: np.ndarray, sigma: float
) -> np.ndarray:
    """Share of miners whose power cost the hashprice covers (broadcasts its arguments).

    ``breakeven_usd_per_ph_day`` is the cohort's breakeven at the median power cost; with
    ``sigma = 0`` every miner pays the median, so a cohort runs wholly or not at all.
    """
    hashprice = np.asarray(hashprice_usd_per_ph_day, dtype=float)
    if sigma == 0.0:
        return (hashprice >= breakeven_usd_per_ph_day).astype(float)
    with np.errstate(divide="ignore"):  # a hashprice of 0 covers nobody: log 0 = −inf
        log_hashprice = np.log(np.maximum(hashprice, 0.0))
    # logs of the two factors apart: one log per step and per cohort, not per pair
    return _interpolated_cdf((log_hashprice - np.log(breakeven_usd_per_ph_day)) * (1.0 / sigma))


class HashrateSupply:
    """Installed hashrate by cohort, and the network hashrate it supplies, epoch by epoch.

    Parameters
    ----------
    spec
        The scenario's ``bitcoin.network_hashrate`` section (model ``economic``).
    start_hs
        Network hashrate running at t = 0 (H/s).
    start_hashprice_usd_per_ph_day
        Hashprice at t = 0 (start difficulty, subsidy, fee level and price).
    btc_price_usd
        The BTC price path.
    fee_level_btc
        Expected fees per block over time (the level miners plan with; spikes are ignored).
    start_unix_s, horizon_s
        Unix time of t = 0 and the run's end (s).
    rng
        The ``network_entry`` stream (one draw per vintage, at construction).
    """

    def __init__(
        self,
        spec: NetworkHashrateSpec,
        start_hs: float,
        start_hashprice_usd_per_ph_day: float,
        btc_price_usd: StepSeries,
        fee_level_btc: StepSeries,
        start_unix_s: float,
        horizon_s: float,
        rng: np.random.Generator,
    ) -> None:
        econ = spec.economic
        self.step_s = float(spec.update_interval_s)
        self.price = btc_price_usd
        self.fee_level = fee_level_btc
        self.sigma = econ.power_cost_sigma
        self.horizon_s = horizon_s
        steps = int(np.ceil(horizon_s / self.step_s)) + 1
        # price and fee level at every decision step, read once: chunks slice them
        grid_s = np.arange(steps) * self.step_s
        self._price_at_step = btc_price_usd.at(grid_s)
        self._fee_at_step = fee_level_btc.at(grid_s)
        self.lag_steps = max(int(round(econ.lag_days * SECONDS_PER_DAY / self.step_s)), 1)
        vintage_steps = max(int(round(econ.vintage_days * SECONDS_PER_DAY / self.step_s)), 1)
        step_years = self.step_s / SECONDS_PER_YEAR
        vintages = (steps - 1) // vintage_steps + 1
        self.vintage_of_step = np.arange(steps) // vintage_steps
        vintage_start_s = np.arange(vintages) * vintage_steps * self.step_s
        starting = len(econ.cohorts)
        self.first_new = starting  # index of the first vintage cohort
        self.names = [c.name for c in econ.cohorts] + [
            "new-" + np.datetime64(int(start_unix_s + t), "s").astype(str)[:10]
            for t in vintage_start_s
        ]
        self.efficiency = np.array(
            [c.efficiency_j_per_th for c in econ.cohorts]
            + list(
                econ.best_efficiency_j_per_th
                * (1 - econ.efficiency_gain_per_year) ** (vintage_start_s / SECONDS_PER_YEAR)
            )
        )
        self.breakeven = (
            MWH_PER_PH_DAY_PER_J_PER_TH * self.efficiency * econ.power_cost_median_usd_per_mwh
        )
        noise = np.exp(
            econ.entry_noise_sigma * rng.standard_normal(vintages) - 0.5 * econ.entry_noise_sigma**2
        )
        # orders (H/s) placed at step k, per unit of installed H/s and of (value / capex − 1)
        self.order_gain = econ.entry_rate_per_year * step_years * noise[self.vintage_of_step]
        self.value_per_usd_margin = econ.payback_days / TH_PER_PH / econ.capex_usd_per_th
        self.decay = np.exp(-econ.retirement_per_year * step_years)
        # decay^1 … decay^lag_steps, the powers a chunk (≤ lag_steps long) uses: each the
        # same number whichever chunk computes it, so computed once, not per draw
        self._decay_powers = self.decay ** np.arange(1, self.lag_steps + 1)
        self.installed = np.zeros((steps, self.efficiency.size))
        # orders (H/s) by the step they arrive at: placed lag_steps before, so the first
        # lag_steps were placed before t = 0 (filled below)
        self.arrivals_hs = np.zeros(steps + self.lag_steps)
        fractions = np.array([c.hashrate_fraction for c in econ.cohorts])
        running = float(
            fractions
            @ running_share(
                np.array(start_hashprice_usd_per_ph_day), self.breakeven[:starting], self.sigma
            )
        )
        if running <= 0.0:
            raise SimulationError(
                "network",
                0.0,
                f"no cohort of bitcoin.network_hashrate.economic.cohorts runs at the start "
                f"hashprice {start_hashprice_usd_per_ph_day:,.2f} USD/PH/day (their median "
                f"breakevens: {', '.join(f'{b:,.2f}' for b in self.breakeven[:starting])})",
            )
        self.installed[0, :starting] = fractions * start_hs / running
        # assumption: the machines in transit at t = 0 are those the start hashprice would
        # have ordered over the lag before it (from the start fleet, as vintage 0)
        start_margin = start_hashprice_usd_per_ph_day - self.breakeven[starting]
        self.arrivals_hs[: self.lag_steps] = (
            self.order_gain[0]
            * self.installed[0].sum()
            * max(start_margin * self.value_per_usd_margin - 1.0, 0.0)
        )
        # per draw: change times, hashprice, row of `installed` in force, hashrate, and the
        # running hashrate by cohort
        self._pieces: list[tuple[np.ndarray, ...]] = []

    def _alive(self, end: int) -> int:
        """Cohorts that can hold machines at steps before ``end`` (later ones stay zero)."""
        return self.first_new + int(self.vintage_of_step[max(end - 1 - self.lag_steps, 0)]) + 1

    def _running(self, hashprice: np.ndarray, installed: np.ndarray) -> np.ndarray:
        """Running hashrate (steps × all cohorts) of ``installed`` (steps × cohorts alive)."""
        alive = installed.shape[1]
        running = np.zeros((hashprice.size, self.efficiency.size))
        share = running_share(hashprice[:, None], self.breakeven[:alive], self.sigma)
        np.multiply(installed, share, out=running[:, :alive])
        return running

    def _hashprice(self, t_s: np.ndarray, difficulty: float, subsidy_btc: float) -> np.ndarray:
        return hashprice_usd_per_ph_day(
            difficulty, subsidy_btc, self.fee_level.at(t_s), self.price.at(t_s)
        )

    def _hashprice_of_steps(
        self, first: int, end: int, difficulty: float, subsidy_btc: float
    ) -> np.ndarray:
        return hashprice_usd_per_ph_day(
            difficulty,
            subsidy_btc,
            self._fee_at_step[first:end],
            self._price_at_step[first:end],
        )

    def _advance(self, first: int, end: int, difficulty: float, subsidy_btc: float) -> np.ndarray:
        """Installed hashrate, orders and hashprice at steps ``first … end − 1``; the hashprice.

        Needs ``end − first ≤ lag_steps``: what arrives in the chunk was ordered before it.
        """
        lo = max(first, 1)  # the start state is given; step 0 only places orders
        if end > lo:
            alive = self._alive(end)
            # I[k] = d·I[k−1] + A[k], summed in closed form: d^j · (I[lo−1] + Σ A[i] d^−i);
            # the arrivals of the chunk go to the one or two vintages ordered lag_steps before
            powers = self._decay_powers[: end - lo]
            block = self.installed[lo:end, :alive]
            np.multiply(powers[:, None], self.installed[lo - 1, :alive], out=block)
            vintage = self.vintage_of_step[np.maximum(np.arange(lo, end) - self.lag_steps, 0)]
            # steps → vintages is non-decreasing without gaps: these are np.unique(vintage)
            for v in range(int(vintage[0]), int(vintage[-1]) + 1):
                arrived = self.arrivals_hs[lo:end]
                if vintage[0] != vintage[-1]:  # two vintages: each takes its own steps'
                    arrived = np.where(vintage == v, arrived, 0.0)
                block[:, self.first_new + v] += powers * np.cumsum(arrived / powers)
        hashprice = self._hashprice_of_steps(first, end, difficulty, subsidy_btc)
        margin = hashprice - self.breakeven[self.first_new + self.vintage_of_step[first:end]]
        excess = np.maximum(margin * self.value_per_usd_margin - 1.0, 0.0)
        total = self.installed[first:end].sum(axis=1)
        self.arrivals_hs[first + self.lag_steps : end + self.lag_steps] = (
            self.order_gain[first:end] * total * excess
        )
        return hashprice

    def path_from(
        self, t0_s: float, work_hashes: float, difficulty: float, subsidy_btc: float
    ) -> StepSeries:
        """Network hashrate from ``t0_s`` on, at this difficulty and subsidy (H/s).

        Decisions on grid steps after ``t0_s`` taken earlier (at the old difficulty) are
        replaced. The path reaches at least ``work_hashes`` of work or the horizon.
        """
        current = int(t0_s // self.step_s)
        first = current if current * self.step_s == t0_s else current + 1
        last_step = self.installed.shape[0]
        times: list[np.ndarray] = []
        prices: list[np.ndarray] = []
        rows: list[np.ndarray] = []  # the step whose installed hashrate holds
        rates: list[np.ndarray] = []
        running: list[np.ndarray] = []
        work = 0.0
        if first != current:  # off the grid: the step in force keeps its machines
            hashprice_0 = self._hashprice(np.array([t0_s]), difficulty, subsidy_btc)
            running_0 = self._running(
                hashprice_0, self.installed[current : current + 1, : self._alive(current + 1)]
            )
            rate_0 = running_0.sum(axis=1)
            times, prices, rows, rates, running = (
                [np.array([t0_s])],
                [hashprice_0],
                [np.array([current])],
                [rate_0],
                [running_0],
            )
            work = float(rate_0[0]) * (first * self.step_s - t0_s)
        end = first
        while work < work_hashes and end < last_step:
            rate_now = float(rates[-1][-1]) if rates else 0.0
            guess = 1.25 * (work_hashes - work) / (rate_now * self.step_s) if rate_now > 0 else 0
            chunk = int(min(max(guess + 2, 24), self.lag_steps))
            start, end = end, min(end + chunk, last_step)
            hashprice = self._advance(start, end, difficulty, subsidy_btc)
            alive = self._alive(end)
            chunk_running = self._running(hashprice, self.installed[start:end, :alive])
            rate = chunk_running.sum(axis=1)
            times.append(np.arange(start, end) * self.step_s)
            prices.append(hashprice)
            rows.append(np.arange(start, end))
            rates.append(rate)
            running.append(chunk_running)
            work += float(rate.sum()) * self.step_s
        piece = tuple(np.concatenate(part) for part in (times, prices, rows, rates, running))
        self._truncate(t0_s)
        self._pieces.append(piece)
        return StepSeries(piece[0], piece[3])

    def _truncate(self, t0_s: float) -> None:
        """Drop what was decided from ``t0_s`` on: a new epoch or subsidy replaces it."""
        if self._pieces:
            keep = int(np.searchsorted(self._pieces[-1][0], t0_s))  # times are sorted
            self._pieces[-1] = tuple(part[:keep] for part in self._pieces[-1])

    def network_hs(self) -> StepSeries:
        """The network hashrate decided so far (H/s), from t = 0."""
        times, rates = self._joined(0, 3)
        return StepSeries(times, rates)

    def _joined(self, *parts: int) -> list[np.ndarray]:
        """These parts of the pieces, each joined into one array.

        Only those asked for: the running hashrate by cohort (≈9 MB over five years) is
        read only by the network table, which a sweep's run never builds.
        """
        return [np.concatenate([piece[part] for piece in self._pieces]) for part in parts]

    def paths(self) -> CohortPaths:
        """The cohorts' state over the run, up to the horizon."""
        times, prices, rows, running = self._joined(0, 1, 2, 4)
        inside = times < self.horizon_s
        installed = self.installed[rows[inside]]
        arrived = installed > 0
        first = np.where(arrived.any(axis=0), times[inside][np.argmax(arrived, axis=0)], np.inf)
        return CohortPaths(
            names=self.names,
            efficiency_j_per_th=self.efficiency,
            breakeven_usd_per_ph_day=self.breakeven,
            first_arrival_s=first,
            times_s=times[inside],
            hashprice_usd_per_ph_day=prices[inside],
            installed_hs=installed,
            running_hs=running[inside],
        )
