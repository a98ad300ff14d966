"""Transaction fees per block: a level that changes over time, noise, and spikes by height."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import FeeSpec
from sim.steps import StepSeries
from sim.units import unix_seconds


class FeeModel:
    """Fees of each block: ``level(t) · exp(σZ − σ²/2)``, or a spike's fixed value by height.

    The noise has mean one, so ``level(t)`` is the expected fee of a block found at ``t``.

    Parameters
    ----------
    spec
        The scenario's fee section.
    start_unix_s
        Unix time of the simulation's t = 0.
    rng
        The ``block_fees`` stream.
    """

    def __init__(self, spec: FeeSpec, start_unix_s: float, rng: np.random.Generator) -> None:
        change_s = [unix_seconds(level.from_utc) - start_unix_s for level in spec.schedule]
        times = np.array([0.0, *(max(t, 0.0) for t in change_s)])
        values = np.array([spec.btc_per_block, *(level.btc_per_block for level in spec.schedule)])
        # A later entry taking effect at or before t = 0 replaces the earlier ones.
        last_at = {t: i for i, t in enumerate(times)}
        keep = sorted(last_at.values())
        self.level = StepSeries(times[keep], values[keep])
        self.noise_sigma = spec.noise_sigma
        self._spike_starts = np.array([s.start_height for s in spec.spikes], dtype=np.int64)
        self._spike_ends = self._spike_starts + [s.blocks for s in spec.spikes]
        self._spike_fees = np.array([s.btc_per_block for s in spec.spikes], dtype=float)
        self._rng = rng

    def _spike(self, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(is in a spike, spike fee) per height; a later spike wins where two overlap.

        None when no spike meets the heights, as for most draws.
        """
        if not heights.size:
            return None
        lowest, highest = heights.min(), heights.max()
        met = [
            (start, end, fee)
            for start, end, fee in zip(
                self._spike_starts, self._spike_ends, self._spike_fees, strict=True
            )
            if end > lowest and start <= highest
        ]
        if not met:
            return None
        hit = np.zeros(heights.shape, dtype=bool)
        fees = np.zeros(heights.shape)
        for start, end, fee in met:
            inside = (heights >= start) & (heights < end)
            hit |= inside
            fees[inside] = fee
        return hit, fees

    def expected(self, heights: np.ndarray, times_s: np.ndarray) -> np.ndarray:
        """Expected fees (BTC) of blocks at ``heights`` found at ``times_s``."""
        spike = self._spike(np.asarray(heights))
        level = self.level.at(times_s)
        return level if spike is None else np.where(*spike, level)

    def draw(self, heights: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Realised and expected fees (BTC) of the given blocks; one normal draw per block."""
        sigma = self.noise_sigma
        noise = np.exp(sigma * self._rng.standard_normal(len(heights)) - 0.5 * sigma**2)
        spike = self._spike(np.asarray(heights))
        level = self.level.at(times_s)
        if spike is None:
            return level * noise, level
        return np.where(*spike, level * noise), np.where(*spike, level)
