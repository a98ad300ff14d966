"""groups.csv adds up: per-group energy, revenue and cost sum to the site's daily totals."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SCENARIOS

from sim import load_scenario, run_one


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        ("hybrid.yaml", ["end_utc=2024-02-01T00:00:00Z"]),
        ("quick.yaml", ["mining.payout=solo"]),
        ("spot_curtailment.yaml", ["end_utc=2024-03-01T00:00:00Z"]),
    ],
    ids=["hybrid-fpps", "quick-solo", "spot-profit"],
)
def test_groups_sum_to_the_site(scenario: str, overrides: list[str]) -> None:
    result = run_one(load_scenario(SCENARIOS / scenario, overrides))
    groups, daily = result.groups, result.daily.set_index("date")
    asic = groups[groups["kind"] == "asic"].groupby("date").sum(numeric_only=True)
    pairs = [("energy_kwh", "asic_energy_kwh"), ("revenue_usd", "mining_revenue_usd"),
             ("energy_cost_usd", "asic_energy_cost_usd"), ("curtailed_kw", "curtailed_kw"),
             ("hashrate_ths", "site_hashrate_ths")]  # fmt: skip
    for group_column, site_column in pairs:
        np.testing.assert_allclose(asic[group_column], daily[site_column], rtol=1e-9, atol=1e-6)
    gpu = groups[groups["kind"] == "gpu"].groupby("date").sum(numeric_only=True)
    if len(gpu):
        for group_column, site_column in [("energy_kwh", "gpu_energy_kwh"),
                                          ("revenue_usd", "ai_revenue_usd"),
                                          ("gpus_busy", "gpus_busy")]:  # fmt: skip
            np.testing.assert_allclose(gpu[group_column], daily[site_column], rtol=1e-9, atol=1e-6)
    assert (groups["margin_usd"] == groups["revenue_usd"] - groups["energy_cost_usd"]).all()
    assert len(groups) == len(daily) * groups["group"].nunique()
