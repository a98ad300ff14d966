"""The economics stage's money rules, on small hand-built run records with known answers.

Mining — the chain: blocks at heights 840,000 (subsidy 3.125 BTC) and on, difficulty 2^10, expected
fees 0.875 then 1.875 BTC, so a hash is worth 4·2^-42 BTC on [0, 100) s and 5·2^-42 after.
The site hashes 2^42 H/s at $1,000 per BTC: 4 BTC/s ($4,000/s), then 5 BTC/s ($5,000/s).

AI hosting, facility and grid: see :func:`ai_record` and :func:`facility_record`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim.economics.ai import ai_money, gpu_hours_usd, reserved_usd_per_hour, sla_penalties_usd
from sim.economics.energy import energy_cost_usd, usd_rate
from sim.economics.facility import facility_money
from sim.economics.grid import FourCpCharge, dr_credit_rate, four_cp_charges
from sim.economics.inputs import (
    AiRecord,
    AsicGroups,
    BillingSpans,
    BlockColumns,
    ContractPeriods,
    FacilityRecord,
    FourCpPeak,
    GpuGroup,
    JobColumns,
    MiningRecord,
)
from sim.economics.mining import (
    expected_keep,
    fpps_cash_share,
    group_rewards,
    heat_lost_usd_rate,
    mining_money,
    site_found,
    solo_reward_btc,
    value_per_hash,
)
from sim.scenario.ai import ReservedContractSpec
from sim.scenario.grid import FourCpSpec
from sim.scenario.schema import MiningSpec
from sim.steps import StepSeries, product

FPPS = MiningSpec(payout="fpps", pool_fee_fraction=0.25)
SOLO = MiningSpec(payout="solo", pool_fee_fraction=0.25)
RUN = np.array([0.0, 200.0])  # the whole run as one bin


def steps(times: list[float], values: list[float]) -> StepSeries:
    return StepSeries(np.array(times, dtype=float), np.array(values, dtype=float))


def const(value: float) -> StepSeries:
    return StepSeries.constant(value)


def chain() -> dict[str, StepSeries]:
    return {
        "height": steps([0, 100], [840_000, 840_001]),
        "difficulty": steps([0, 100], [2**10, 2**10]),
        "subsidy_btc": steps([0, 100], [3.125, 3.125]),
        "expected_fees_btc": steps([0, 100], [0.875, 1.875]),
    }


def blocks(times: list[float], luck: list[float], network_hs: float = 4e15) -> BlockColumns:
    n = len(times)
    return BlockColumns(
        times_s=np.array(times, dtype=float),
        heights=np.arange(840_000, 840_000 + n, dtype=np.int64),
        bits=np.zeros(n, dtype=np.int64),
        fees_btc=np.array([0.5, 0.25, 1.0][:n]),
        network_hashrate_hs=np.full(n, network_hs),
        luck=np.array(luck, dtype=float),
    )


def two_groups() -> AsicGroups:
    """1,000 units of 1 TH/s from t = 0; a second group's 2,000 join at t = 100."""
    running = np.array([[1_000.0, 0.0], [1_000.0, 2_000.0]])
    return AsicGroups(
        names=["a", "b"],
        models=["m", "m"],
        units_installed=np.array([1_000.0, 2_000.0]),
        unit_hashrate_ths=np.array([1.0, 1.0]),
        unit_power_w=np.array([1_000.0, 1_000.0]),
        times_s=np.array([0.0, 100.0]),
        running=running,
        effective=running,
    )


def record(mining: MiningSpec) -> MiningRecord:
    """A site hashing 2^42 H/s for 200 s, no block of its own, nothing throttled."""
    return MiningRecord(
        mining=mining,
        chain=chain(),
        blocks=blocks([], []),
        network_hashrate_hs=const(4e15),
        groups=two_groups(),
        hashrate_hs=const(2.0**42),
        throttled_hashrate_hs=const(0.0),
        power_kw=const(1_000.0),
        curtailed_kw=const(0.0),
        units=const(1_000.0),
        btc_price_usd=const(1_000.0),
        energy_price_usd_per_mwh=const(36.0),
        dr_credit_usd_per_mwh=const(0.0),
        paid_energy_price_usd_per_mwh=const(36.0),  # no grid outages
        network_cohorts=lambda: None,
    )


def test_keep_rules_per_payout() -> None:
    """A hash is worth 1 − fee in expectation under FPPS and all of it solo; FPPS pays cash
    of 1 − fee, solo none (its money comes as blocks)."""
    assert expected_keep(FPPS) == 0.75
    assert expected_keep(SOLO) == 1.0
    assert fpps_cash_share(FPPS) == 0.75
    assert fpps_cash_share(SOLO) == 0.0


def test_value_per_hash_is_subsidy_plus_expected_fees_over_work() -> None:
    per_hash = value_per_hash(chain())
    np.testing.assert_array_equal(per_hash.times_s, [0.0, 100.0])
    np.testing.assert_array_equal(per_hash.values, [4 * 2.0**-42, 5 * 2.0**-42])


def test_fpps_income_net_of_fee_and_the_fee() -> None:
    """900 BTC of expected value over the run ($900,000): 3/4 paid, 1/4 the pool's fee."""
    money = mining_money(record(FPPS))
    assert money.fpps_btc_rate.integrate(RUN)[0] == 675.0
    assert money.fpps_usd_rate.integrate(RUN)[0] == 675_000.0
    assert money.pool_fee_usd(RUN)[0] == 225_000.0
    np.testing.assert_array_equal(money.pool_fee_usd(np.array([0.0, 100.0, 200.0])), [1e5, 1.25e5])
    # $4,000/s is 4·2^-42 · 1,000 USD per hash: × 86,400 s × 10^15 H/s per PH/s
    assert money.hashprice.at(0.0) == pytest.approx(4e18 * 86_400 * 2.0**-42, rel=1e-15)
    assert not money.site_reward_btc.size


def test_solo_pays_no_fpps_and_no_fee() -> None:
    money = mining_money(record(SOLO))
    assert money.fpps_btc_rate.integrate(RUN)[0] == 0.0
    assert money.fpps_usd_rate.integrate(RUN)[0] == 0.0
    assert money.pool_fee_usd(RUN)[0] == 0.0


def test_site_finds_block_k_iff_luck_below_its_share() -> None:
    """Shares 1/4, 1/4, 3/4 at the blocks (1, 1, 3 PH/s of 4): lucks 0.2, 0.3, 0.7 give
    yes, no, yes; a share above 1 counts as 1."""
    site_hs = steps([0, 100], [1e15, 3e15])
    found = site_found(blocks([10, 50, 150], [0.2, 0.3, 0.7]), site_hs)
    np.testing.assert_array_equal(found, [True, False, True])
    assert site_found(blocks([10], [0.999], network_hs=5e14), site_hs)[0]


def test_solo_reward_is_subsidy_plus_realised_fees_of_the_sites_blocks() -> None:
    chain_blocks = blocks([10, 50, 150], [0.2, 0.3, 0.7])
    found = np.array([True, False, True])
    np.testing.assert_array_equal(
        solo_reward_btc(chain_blocks, found, SOLO), [3.125 + 0.5, 0.0, 3.125 + 1.0]
    )
    np.testing.assert_array_equal(solo_reward_btc(chain_blocks, found, FPPS), [0.0, 0.0, 0.0])


def test_solo_money_values_each_block_when_found_and_splits_it_by_group() -> None:
    """Block 1 at t = 10 (group a alone) and block 3 at t = 150 (a : b = 1 : 2) are paid."""
    solo = replace(
        record(SOLO),
        blocks=blocks([10, 50, 150], [0.2, 0.3, 0.7]),
        hashrate_hs=steps([0, 100], [1e15, 3e15]),
        btc_price_usd=steps([0, 100], [1_000.0, 2_000.0]),
    )
    money = mining_money(solo)
    np.testing.assert_array_equal(money.site_found, [True, False, True])
    np.testing.assert_array_equal(money.site_reward_btc, [3.625, 0.0, 4.125])
    np.testing.assert_array_equal(money.site_reward_usd, [3_625.0, 0.0, 8_250.0])
    np.testing.assert_array_equal(money.group_reward_times_s, [10.0, 150.0])
    np.testing.assert_allclose(money.group_reward_usd, [[3_625.0, 0.0], [2_750.0, 5_500.0]])
    at, usd = group_rewards(two_groups(), np.array([10.0]), np.array([0.0]))
    assert at.size == 0 and usd.shape == (0, 2)  # nothing paid, nothing split


def test_heat_lost_revenue_is_the_expected_value_the_site_would_have_kept() -> None:
    """2^42 H/s throttled on [0, 100): $400,000 of expected value, of which FPPS keeps 3/4."""
    throttled = steps([0, 100], [2.0**42, 0.0])
    usd_per_hash = mining_money(record(FPPS)).usd_per_hash
    assert heat_lost_usd_rate(throttled, usd_per_hash, FPPS).integrate(RUN)[0] == 300_000.0
    assert heat_lost_usd_rate(throttled, usd_per_hash, SOLO).integrate(RUN)[0] == 400_000.0
    assert heat_lost_usd_rate(const(0.0), usd_per_hash, FPPS).integrate(RUN)[0] == 0.0


def test_energy_cost_of_power_at_the_energy_price() -> None:
    """1 MW for an hour at $36/MWh is $36; half an hour at $72/MWh as much again."""
    power, price = const(1_000.0), steps([0, 3_600], [36.0, 72.0])
    edges = np.array([0.0, 3_600.0, 5_400.0])
    binned = energy_cost_usd(product(power, price).integrate(edges))
    np.testing.assert_array_equal(binned, [36.0, 36.0])
    np.testing.assert_allclose(usd_rate(power, price).integrate(edges), [36.0, 36.0])
    asic_cost = mining_money(record(FPPS)).energy_cost_rate.integrate(np.array([0.0, 3_600.0]))
    assert asic_cost[0] == pytest.approx(36.0, rel=1e-15)


def test_dr_credit_is_curtailed_kw_times_the_paid_credit() -> None:
    """2 MW kept off for half an hour while $100/MWh is paid, then nothing paid: $100."""
    curtailed = steps([0, 1_800], [2_000.0, 2_000.0])
    credit = steps([0, 1_800], [100.0, 0.0])
    rate = dr_credit_rate(curtailed, credit)
    np.testing.assert_allclose(rate.integrate(np.array([0.0, 1_800.0, 3_600.0])), [100.0, 0.0])


# --------------------------------------------------------------------------- AI hosting

HOURS = np.array([0.0, 3_600.0, 7_200.0])  # two one-hour bins


def contract(
    name: str, gpus: int, price: float, target: float, penalty: float
) -> ReservedContractSpec:
    return ReservedContractSpec(
        name=name,
        gpus=gpus,
        price_usd_per_gpu_hour=price,
        sla_availability=target,
        penalty_usd_per_gpu_hour=penalty,
    )


def gpu_group(name: str, power_kw: float, billing: BillingSpans) -> GpuGroup:
    return GpuGroup(
        name=name,
        hardware="node",
        nodes=4,
        node_peak_power_w=10_000.0,
        nodes_powered=const(4.0),
        busy_gpus=const(8.0),
        queue=const(0.0),
        power_kw=const(power_kw),
        billing=billing,
        preempt_t=np.empty(0),
        preempt_lost_gpu_s=np.empty(0),
    )


def ai_record() -> AiRecord:
    """Group g (1 MW) bills two spans: 8 GPUs × 1 h of work kept on [0, 1 h) at $2/GPU-h
    ($16) and 4 GPUs × 1 h on [0.5 h, 1.5 h) at $3 ($12). Group h (0.5 MW) bills nothing.

    Contracts, listed C, A, B: C (h) 4 GPUs × $1/h; A (g) 16 × $1.5; B (g) 8 × $2. Their SLA
    periods end at 1 h and 2 h: A short 0.5, 0 GPU-h (availability 0.96875 < 0.99, 1);
    B short 0.2, 1 GPU-h (0.975 ≥ 0.95, 0.875 < 0.95); C short 2, 0 (0.5 < 0.9, 1).
    """
    spans = BillingSpans(
        start_s=np.array([0.0, 1_800.0]),
        end_s=np.array([3_600.0, 5_400.0]),
        gpu_s=np.array([28_800.0, 14_400.0]),
        usd_per_gpu_hour=np.array([2.0, 3.0]),
    )
    nothing = BillingSpans(*(np.empty(0) for _ in range(4)))
    ends = np.array([3_600.0, 7_200.0])

    def periods(spec: ReservedContractSpec, group: int, short: list[float]) -> ContractPeriods:
        shortfall = np.array(short)
        return ContractPeriods(spec, group, ends, shortfall, 1.0 - shortfall / spec.gpus)

    n = 3
    jobs = JobColumns(
        job_id=np.arange(n),
        job_class=np.array(["x"] * n, dtype=object),
        group=np.array(["g", "g", "g"], dtype=object),
        contract=np.array(["", "", "A"], dtype=object),
        submit_s=np.zeros(n),
        first_start_s=np.array([0.0, 1_800.0, 0.0]),
        end_s=np.array([3_600.0, 5_400.0, 3_600.0]),
        gpus=np.array([8, 4, 16]),
        allocated_gpus=np.array([8, 4, 16]),
        nodes=np.array([1, 1, 2]),
        run_s=np.full(n, 3_600.0),
        lost_work_s=np.zeros(n),
        preemptions=np.zeros(n, dtype=np.int64),
        status=np.array(["completed"] * n, dtype=object),
        billed_gpu_s=np.array([28_800.0, 14_400.0, 0.0]),  # reserved work is not billed
        price_usd_per_gpu_hour=np.array([2.0, 3.0, 2.5]),
    )
    return AiRecord(
        jobs=jobs,
        groups=[gpu_group("g", 1_000.0, spans), gpu_group("h", 500.0, nothing)],
        contracts=[
            periods(contract("C", 4, 1.0, 0.9, 1.0), 1, [2.0, 0.0]),
            periods(contract("A", 16, 1.5, 0.99, 5.0), 0, [0.5, 0.0]),
            periods(contract("B", 8, 2.0, 0.95, 10.0), 0, [0.2, 1.0]),
        ],
        installed_gpus=64,
        peak_power_kw=80.0,
        nodes_powered=const(8.0),
        busy_gpus=const(16.0),
        queue=const(0.0),
        power_kw=const(1_500.0),
    )


def test_on_demand_billing_is_gpu_hours_of_work_kept_times_price() -> None:
    """Per job: GPU-hours billed × its price; per bin: each span's money spread over it."""
    money = ai_money(ai_record(), const(36.0))
    np.testing.assert_array_equal(money.job_revenue_usd, [16.0, 12.0, 0.0])
    np.testing.assert_array_equal(gpu_hours_usd(np.array([5_400.0]), np.array([4.0])), [6.0])
    # $16 in the first hour; $12 over [0.5 h, 1.5 h), half in each hour
    np.testing.assert_allclose(money.on_demand_usd_rate.integrate(HOURS), [22.0, 6.0])
    np.testing.assert_allclose(money.billed_gpu_rate.integrate(HOURS), [36_000.0, 7_200.0])
    np.testing.assert_allclose(money.groups[0].on_demand_usd_rate.integrate(HOURS), [22.0, 6.0])
    assert money.groups[1].on_demand_usd_rate.integrate(HOURS).tolist() == [0.0, 0.0]


def test_reserved_revenue_is_take_or_pay() -> None:
    """Every contracted GPU-hour is paid, used or not: $44/h at the site, $40 of it group g's."""
    record = ai_record()
    assert reserved_usd_per_hour([c.spec for c in record.contracts]) == 44.0
    assert reserved_usd_per_hour([]) == 0
    money = ai_money(record, const(36.0))
    np.testing.assert_allclose(money.reserved_usd_rate.integrate(HOURS), [44.0, 44.0])
    assert [g.reserved_usd_per_hour for g in money.groups] == [40.0, 4.0]
    np.testing.assert_allclose(money.groups[0].revenue_usd(HOURS), [62.0, 46.0])
    np.testing.assert_array_equal(money.groups[1].revenue_usd(HOURS), [4.0, 4.0])


def test_sla_penalty_per_period_of_two_contracts_in_one_group() -> None:
    """A misses its target in the first hour (0.5 GPU-h × $5), B in the second (1 × $10);
    C, in the other group, in the first (2 × $1). Booked at the periods' ends, group by
    group, each group's contracts as listed; periods that met the target pay nothing."""
    money = ai_money(ai_record(), const(36.0))
    np.testing.assert_array_equal(money.penalty_t, [3_600.0, 7_200.0, 3_600.0])
    np.testing.assert_array_equal(money.penalty_usd, [2.5, 10.0, 2.0])
    spec = contract("B", 8, 2.0, 0.95, 10.0)
    at_target = sla_penalties_usd(spec, np.array([0.4, 0.41]), np.array([0.95, 1 - 0.41 / 8]))
    np.testing.assert_array_equal(at_target, [0.0, 4.1])  # the target itself is met


def test_gpu_energy_cost_per_group_and_site() -> None:
    """1.5 MW for an hour at $36/MWh: $54, of which group g's 1 MW $36."""
    money = ai_money(ai_record(), const(36.0))
    np.testing.assert_array_equal(money.energy_cost_usd(HOURS), [54.0, 54.0])
    np.testing.assert_array_equal(money.groups[0].energy_cost_usd(HOURS), [36.0, 36.0])
    np.testing.assert_array_equal(money.groups[1].energy_cost_usd(HOURS), [18.0, 18.0])


# --------------------------------------------------------------------------- facility and 4CP


def facility_record(four_cp: FourCpSpec | None) -> FacilityRecord:
    """1 MW of IT; cooling 200 kW on [0, 0.5 h), 400 kW after; 4CP peaks at [900, 1800) s in
    June and [1350, 2250) s in July (half at 1,200 kW of site power, half at 1,400)."""
    return FacilityRecord(
        ambient_c=const(30.0),
        it_power_kw=const(1_000.0),
        cooling_power_kw=steps([0, 1_800], [200.0, 400.0]),
        halls=[],
        throttled=const(0.0),
        four_cp=four_cp,
        four_cp_peaks=[
            FourCpPeak("2024-06", 900.0, 1_800.0),
            FourCpPeak("2024-07", 1_350.0, 2_250.0),
        ],
    )


def test_cooling_cost_is_cooling_power_at_the_energy_price() -> None:
    """200 kW for half an hour at $50/MWh is $5; 400 kW for the next half hour $10."""
    money = facility_money(facility_record(None), const(50.0))
    edges = np.array([0.0, 1_800.0, 3_600.0])
    np.testing.assert_array_equal(money.cooling_energy_cost_usd(edges), [5.0, 10.0])
    assert money.four_cp == []  # no 4CP program, no charge


def test_four_cp_charge_is_mean_site_power_in_the_peak_times_rate_over_months() -> None:
    """$120/kW-year over two months is $60/kW a month: 1,200 kW in June's peak, a mean of
    1,300 kW (IT + cooling) in July's."""
    spec = FourCpSpec(months=[6, 7], rate_usd_per_kw_year=120.0)
    record = facility_record(spec)
    expected = [
        FourCpCharge("2024-06", 900.0, 1_200.0, 72_000.0),
        FourCpCharge("2024-07", 1_350.0, 1_300.0, 78_000.0),
    ]
    assert facility_money(record, const(50.0)).four_cp == expected
    assert four_cp_charges(spec, record.site_power_kw(), record.four_cp_peaks) == expected
    assert four_cp_charges(spec, record.site_power_kw(), []) == []
