"""Facility and grid-program terms that the rest of the suite zeroes out or never exercises.

Each test checks an exact result of docs/model.md on a run's full-precision DataFrames, on
a site built so that the term is on: a cold ambient below the free-cooling temperature
(§6.2), a hall above its design ambient (§6.2), 4CP on a site with cooling (§5.4), and
paid versus weighed credits (§5.4). Ambient CSVs are hourly and rows are hourly (or
quarter-hourly for 4CP), so every input is constant within a row and the expected values
are products of row values: they hold to float rounding (rtol 1e-12, or 1e-9 where a row
is a difference of running integrals over a month).

Mutations killed (each planted alone in a private worktree; the test fails with it and
passes without):

- survivor 4, ``sim/model/facility.py`` ``Facility.cooling_kw_per_kw``:
  ``np.maximum(ambient_c[:, None] - self._free_c, 0.0)`` → ``(ambient_c[:, None] -
  self._free_c)`` (free-cooling clamp removed: negative cooling in the cold);
- survivor 10, ``sim/model/facility.py`` ``Facility.capacity_kw``:
  ``1.0 - self._derate * excess`` → ``1.0 + self._derate * excess`` (derate sign flipped),
  and the line before, ``ambient_c[:, None] - self._design_c`` → ``self._design_c -
  ambient_c[:, None]`` (the excess flipped);
- survivor 8, first planted in ``sim/record/facility_tables.py`` ``facility_series``, now
  ``sim/economics/inputs.py`` ``FacilityRecord.site_power_kw``:
  ``total(self.it_power_kw, self.cooling_power_kw)`` → ``self.it_power_kw`` (4CP on IT
  power, cooling left out);
- survivor 7, ``sim/model/site.py`` ``Site.build``:
  ``dr_credit_usd_per_mwh=paid_credit(programs, scheduled, plan.price_windows)`` →
  ``curtail_credit(programs, scheduled, plan.price_windows, plan.alerts)`` (the 4CP alert's
  expected saving also paid as a demand-response credit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SCENARIOS, make_scenario

from sim import load_scenario, run_one
from sim.scenario.facility import COOLING_DEFAULTS

START = pd.Timestamp("2024-01-08T00:00:00Z")
S21_KW = 3.5
EXACT = {"rtol": 1e-12, "atol": 1e-9}


def ambient_csv(tmp_path: Path, temps: list[float]) -> str:
    """An hourly ambient CSV from START, one value per hour."""
    stamps = pd.date_range(START, periods=len(temps), freq="h").strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "ambient.csv"
    pd.DataFrame({"timestamp_utc": stamps, "ambient_temp_c": temps}).to_csv(path, index=False)
    return str(path)


def csv_hall_site(tmp_path: Path, temps: list[float], halls: list[dict]):
    """1,000 S21s per hall on an hourly CSV ambient, static policy, fixed price."""
    return make_scenario(
        start_utc=START.isoformat(),
        end_utc=(START + pd.Timedelta(hours=len(temps))).isoformat(),
        site={
            "grid_capacity_kw": 50_000,
            "ambient": {"model": "csv", "csv_path": ambient_csv(tmp_path, temps)},
            "halls": halls,
        },
        mining={
            "groups": [
                {
                    "name": f"s21-{h['name']}",
                    "model": "Antminer S21",
                    "count": 1000,
                    "hall": h["name"],
                }
                for h in halls
            ]
        },
    )


def hall_defaults(cooling: str, chilled: bool = False) -> dict[str, float]:
    return COOLING_DEFAULTS[(cooling, chilled)]


# --------------------------------------------------------------------------- survivor 4


COLD_HALLS = [
    {"name": "air", "cooling": "air", "heat_rejection_kw": 7_000.0},
    {"name": "imm", "cooling": "immersion", "heat_rejection_kw": 7_000.0},
    {"name": "chill", "cooling": "air", "chilled": True, "heat_rejection_kw": 7_000.0},
]


@pytest.mark.parametrize("preset", ["nordic", "quebec"])
def test_cooling_is_never_negative_and_pue_never_below_one_in_a_cold_january(
    preset: str,
) -> None:
    """Two January weeks of a cold preset (mean ≈ −9 to −11 °C, far below every free-cooling
    limit, 15–30 °C): in every hour each hall's cooling is k_free × heat ≥ 0, PUE ≥ 1."""
    scenario = make_scenario(
        start_utc="2024-01-08T00:00:00Z",
        end_utc="2024-01-22T00:00:00Z",
        seed=11,
        site={"grid_capacity_kw": 50_000, "ambient": {"preset": preset}, "halls": COLD_HALLS},
        mining={
            "groups": [
                {
                    "name": f"s21-{h['name']}",
                    "model": "Antminer S21",
                    "count": 1000,
                    "hall": h["name"],
                }
                for h in COLD_HALLS
            ]
        },
    )
    ts = run_one(scenario).timeseries
    assert ts["ambient_temp_c"].max() < 15.0  # below every hall's free-cooling limit
    assert (ts["cooling_power_kw"] >= 0).all() and (ts["cooling_energy_kwh"] >= 0).all()
    assert (ts["pue"] >= 1.0).all()
    for hall in COLD_HALLS:
        name = hall["name"]
        k_free = hall_defaults(hall["cooling"], hall.get("chilled", False))["cooling_kw_per_kw"]
        assert (ts[f"{name}_cooling_power_kw"] >= 0).all(), name
        # all free cooling: exactly the free-cooling factor times the heat, hour by hour
        np.testing.assert_allclose(
            ts[f"{name}_cooling_power_kw"], k_free * ts[f"{name}_heat_kw"], **EXACT
        )


def test_cooling_power_is_the_model_formula_in_cold_and_warm_hours(tmp_path: Path) -> None:
    """k(T_a) = k_free + k_slope·(T_a − T_free)⁺ and P_cool = k·Q (docs/model.md §6.2), for
    each hall and hourly CSV ambient from −30 °C to above the free-cooling limits; site PUE
    = 1 + Σ k_h·Q_h / Σ Q_h."""
    temps = [-30.0, -30.0, -5.0, 0.0, 14.9, 15.0, 19.0, 20.0, 22.5, 26.0, 29.0, 31.0]
    result = run_one(csv_hall_site(tmp_path, temps, COLD_HALLS))
    ts = result.timeseries
    np.testing.assert_array_equal(ts["ambient_temp_c"], temps)
    total_cooling = np.zeros(len(ts))
    for hall in COLD_HALLS:
        name = hall["name"]
        d = hall_defaults(hall["cooling"], hall.get("chilled", False))
        excess = np.maximum(np.array(temps) - d["free_cooling_max_c"], 0.0)
        k = d["cooling_kw_per_kw"] + d["cooling_kw_per_kw_per_c"] * excess
        heat = ts[f"{name}_heat_kw"].to_numpy()
        assert (heat > 0).all()
        np.testing.assert_allclose(ts[f"{name}_cooling_power_kw"], k * heat, **EXACT)
        total_cooling += k * heat
    # a cold hour by hand: air hall at −30 °C draws its free-cooling 5 % of the heat
    assert ts["air_cooling_power_kw"].iloc[0] == pytest.approx(0.05 * ts["air_heat_kw"].iloc[0])
    np.testing.assert_allclose(ts["cooling_power_kw"], total_cooling, **EXACT)
    np.testing.assert_allclose(ts["pue"], 1 + total_cooling / ts["it_power_kw"], **EXACT)
    assert (ts["pue"] >= 1.0).all()


# --------------------------------------------------------------------------- survivor 10


def test_cooling_capacity_derates_above_the_design_ambient_exactly(tmp_path: Path) -> None:
    """Q_cap(T_a) = Q·clip(1 − derate·(T_a − T_design)⁺, 0, 1) (docs/model.md §6.2), for a
    hall with set design ambient and derate and for the air and immersion defaults, at ambients
    below, at and above the design ambient, up to the clip at 0; capacity never rises with
    the ambient and the policy keeps each hall's heat within it."""
    temps = [10.0, 25.0, 30.0, 33.0, 35.0, 38.0, 42.0, 47.5, 55.0, 58.0, 60.0, 20.0]
    halls = [
        {
            "name": "set",
            "cooling": "air",
            "heat_rejection_kw": 8_000.0,
            "design_ambient_c": 28.0,
            "derate_per_c": 0.05,
        },
        {"name": "air", "cooling": "air", "heat_rejection_kw": 8_000.0},
        {"name": "imm", "cooling": "immersion", "heat_rejection_kw": 8_000.0},
    ]
    ts = run_one(csv_hall_site(tmp_path, temps, halls)).timeseries
    t = np.array(temps)
    for hall in halls:
        name = hall["name"]
        d = {**hall_defaults(hall["cooling"]), **hall}
        expected = hall["heat_rejection_kw"] * np.clip(
            1 - d["derate_per_c"] * np.maximum(t - d["design_ambient_c"], 0.0), 0.0, 1.0
        )
        capacity = ts[f"{name}_cooling_capacity_kw"].to_numpy()
        np.testing.assert_allclose(capacity, expected, **EXACT)
        assert (capacity[t <= d["design_ambient_c"]] == hall["heat_rejection_kw"]).all()
        hot = t > d["design_ambient_c"]
        assert (capacity[hot] < hall["heat_rejection_kw"]).all(), name
        order = np.argsort(t, kind="stable")
        assert (np.diff(capacity[order]) <= 0).all(), name  # falls as the ambient rises
        assert (ts[f"{name}_heat_kw"] <= capacity * (1 + 1e-12) + 1e-9).all(), name
    # by hand: 'set' at 38 °C keeps 1 − 0.05·10 = 50 % and nothing from 48 °C (the clip);
    # air (30 °C, 2 %/°C) at 55 °C keeps 50 %; immersion (35 °C, 1.5 %/°C) at 60 °C 62.5 %
    assert ts["set_cooling_capacity_kw"].iloc[5] == pytest.approx(0.5 * 8_000.0, rel=1e-12)
    assert (ts["set_cooling_capacity_kw"].iloc[8:11] == 0.0).all()
    assert ts["air_cooling_capacity_kw"].iloc[8] == pytest.approx(0.5 * 8_000.0, rel=1e-12)
    assert ts["imm_cooling_capacity_kw"].iloc[10] == pytest.approx(0.625 * 8_000.0, rel=1e-12)


# --------------------------------------------------------------------------- survivor 8


def test_four_cp_charge_is_site_power_with_cooling_in_the_peak_times_rate_over_months() -> None:
    """charge_m = R/n · P̄_m with P̄_m the mean site power (IT + cooling) over the 15-minute
    peak (docs/model.md §5.4), on a site whose ASICs stand in cooled halls in a west Texas
    June–July. Rows are 900 s from a midnight start, so each peak is exactly one row."""
    rate, months = 120.0, [6, 7]
    scenario = make_scenario(
        start_utc="2024-06-01T00:00:00Z",
        end_utc="2024-08-01T00:00:00Z",
        seed=5,
        output={"sample_interval_s": 900},
        site={
            "grid_capacity_kw": 50_000,
            "ambient": {"preset": "west_texas"},
            "halls": [
                {"name": "air", "cooling": "air", "heat_rejection_kw": 9_000.0},
                {"name": "chill", "cooling": "air", "chilled": True, "heat_rejection_kw": 9_000.0},
            ],
            "grid_programs": {"four_cp": {"rate_usd_per_kw_year": rate, "months": months}},
        },
        mining={
            "groups": [
                {"name": "a", "model": "Antminer S21", "count": 2000, "hall": "air"},
                {"name": "c", "model": "Antminer S21", "count": 2000, "hall": "chill"},
            ]
        },
    )
    result = run_one(scenario)
    ts = result.timeseries.set_index("time_s")
    peaks = result.events[result.events["event"] == "four_cp_peak"]
    assert len(peaks) == len(months)
    charged = ts[ts["four_cp_charge_usd"] != 0]
    np.testing.assert_array_equal(charged.index, peaks["time_s"])  # booked at the peak's start
    rows = ts.loc[peaks["time_s"]]
    assert (rows["duration_s"] == 900).all()
    assert (rows["cooling_power_kw"] > 0.05 * rows["it_power_kw"]).all()  # cooling counts
    expected = rows["site_power_kw"] * rate / len(months)
    np.testing.assert_allclose(rows["four_cp_charge_usd"], expected, rtol=1e-9)
    np.testing.assert_allclose(peaks["value"], rows["site_power_kw"], rtol=1e-9)
    assert result.summary["four_cp_charge_usd"].iloc[0] == pytest.approx(expected.sum(), rel=1e-9)


# --------------------------------------------------------------------------- survivor 7


def test_dr_credit_is_exactly_the_paid_programs_and_4cp_alerts_pay_nothing() -> None:
    """dr_credit_usd = ∫ curtailed_kw · c_paid dt (docs/model.md §5.4), with c_paid rebuilt
    independently: a scheduled event (from events.csv, on whole hours) plus price-triggered
    DR in every hour at or above the trigger (with hourly prices and a 1 h minimum duration
    the events are exactly the maximal runs of such hours). 4CP alert windows, where the
    profit policy curtails for a $4,000/MWh expected saving, earn no credit.

    The spot_curtailment site in January 2024, with its 4CP month moved to January and its
    DR trigger lowered to $60/MWh so that both programs are called in the month."""
    trigger, dr_credit = 60.0, 50.0
    event = (
        "site.demand_response=[{start_utc: 2024-01-16T14:00:00Z, "
        "end_utc: 2024-01-16T19:00:00Z, credit_usd_per_mwh: 700}]"
    )
    overrides = [
        "end_utc=2024-02-01T00:00:00Z",
        "site.grid_programs.four_cp.months=[1]",
        f"site.grid_programs.price_triggered_dr.trigger_usd_per_mwh={trigger:g}",
        event,
    ]
    result = run_one(load_scenario(SCENARIOS / "spot_curtailment.yaml", overrides))
    ts, events = result.timeseries, result.events
    assert (ts["duration_s"] == 3600).all() and (ts["time_s"] % 3600 == 0).all()
    # the credit in force in each hourly row, from the events and the row's price
    credit = np.where(ts["energy_price_usd_per_mwh"] >= trigger, dr_credit, 0.0)
    scheduled = events[
        (events["event"] == "demand_response") & (events["detail"] != "price-triggered")
    ]
    assert len(scheduled) == 1
    for start, value, detail in scheduled[["time_s", "value", "detail"]].itertuples(index=False):
        end = start + float(detail.removesuffix(" h")) * 3600
        credit = credit + np.where((ts["time_s"] >= start) & (ts["time_s"] < end), value, 0.0)
    expected = ts["curtailed_kw"] * ts["duration_s"] / 3600 * credit / 1_000
    np.testing.assert_allclose(ts["dr_credit_usd"], expected, rtol=1e-9, atol=1e-9)
    total = float(expected.sum())
    assert result.summary["dr_credit_usd"].iloc[0] == pytest.approx(total, rel=1e-9)
    assert (credit == dr_credit).sum() >= 3 and total > 0  # both programs were called
    # 4CP alerts: ASICs curtailed (the policy weighs the saving), nothing paid
    alerts = events[events["event"] == "four_cp_alert"]
    assert len(alerts) == 5 and (alerts["value"] == 100 * 0.8 / 5 / 2 * 1_000).all()
    in_alert = np.zeros(len(ts), dtype=bool)
    for start in alerts["time_s"]:
        in_alert |= (ts["time_s"] >= start) & (ts["time_s"] < start + 2 * 3600)
    unpaid = in_alert & (credit == 0)
    assert unpaid.sum() >= 6
    assert (ts.loc[unpaid, "curtailed_kw"] > 0).all()
    assert (ts.loc[unpaid, "dr_credit_usd"] == 0).all()
