"""Validation of the GPU cluster against queueing theory (docs/sources.md#erlang-c).

Single-GPU jobs with Poisson arrivals and exponential run times on c GPUs form an M/M/c
queue; with exponential patience an M/M/c+M (Erlang-A) queue. Estimates come from
independent replications (seeds) after a warm-up; each tolerance is 4 standard errors of
the replication mean. With 8 replications the estimated SE has 7 degrees of freedom, so a
correct model still misses one assertion with probability ≈0.5 % (Student t); the seeds are
fixed, so the outcome is deterministic and only a change of the random draws can flip it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import make_scenario

from sim import run_one

HOUR = 3_600.0


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) for M/M/c with offered load a (docs/sources.md#erlang-c), in log space."""
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    log_last = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
    top = math.exp(log_last - max(log_terms + [log_last]))
    rest = sum(math.exp(t - max(log_terms + [log_last])) for t in log_terms)
    return top / (rest + top)


def erlang_a(c: int, lam: float, mu: float, theta: float, cutoff: int = 4_000) -> dict:
    """M/M/c+M: stationary birth-death chain (truncated far in the tail)."""
    log_p = [0.0]
    for n in range(1, cutoff):
        death = min(n, c) * mu + max(n - c, 0) * theta
        log_p.append(log_p[-1] + math.log(lam / death))
    p = np.exp(np.array(log_p) - max(log_p))
    p /= p.sum()
    n = np.arange(cutoff)
    queue = np.maximum(n - c, 0)
    return {"p_abandon": theta * float((queue * p).sum()) / lam, "lq": float((queue * p).sum())}


def test_erlang_c_reference_checks() -> None:
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def cluster_scenario(
    nodes: int, gpus_per_node: int, lam_per_h: float, hours: float, seed: int, patience_s=None
):
    job_class = {
        "name": "single",
        "arrivals_per_hour": lam_per_h,
        "gpus": {"values": [1]},
        "duration": {"distribution": "exponential", "mean_s": HOUR},
        "price_usd_per_gpu_hour": 1.0,
    }
    if patience_s is not None:
        job_class["patience"] = {"distribution": "exponential", "mean_s": patience_s}
    end = np.datetime64("2024-01-01T00:00:00") + np.timedelta64(int(hours * HOUR), "s")
    return make_scenario(
        end_utc=f"{end}Z",
        seed=seed,
        mining={"groups": []},
        gpu_node_types=[
            {
                "name": "test node",
                "gpus_per_node": gpus_per_node,
                "gpu_power_w": 500,
                "host_power_w": 1000,
                "idle_power_w": 1000,
            }
        ],
        ai={"groups": [{"node_type": "test node", "nodes": nodes}], "job_classes": [job_class]},
    )


def replicate(nodes, gpus_per_node, lam, hours, warmup_h, reps, patience_s=None):
    stats = []
    for seed in range(reps):
        result = run_one(cluster_scenario(nodes, gpus_per_node, lam, hours, seed, patience_s))
        jobs = result.jobs[result.jobs["submit_time_s"] >= warmup_h * HOUR]
        left = jobs[jobs["status"].isin(["completed", "running", "abandoned"])]
        started = jobs[jobs["start_time_s"].notna()]
        ts = result.timeseries[result.timeseries["time_s"] >= warmup_h * HOUR]
        stats.append(
            {
                "p_wait": float((started["wait_s"] > 0).mean()),
                "wq_h": float(started["wait_s"].mean()) / HOUR,
                "lq": float(ts["queue_length"].mean()),
                "lam_hat": len(jobs) / (hours - warmup_h),
                "util": float(ts["gpu_utilization"].mean()),
                "p_abandon": float((left["status"] == "abandoned").mean()),
            }
        )
    return {k: np.array([s[k] for s in stats]) for k in stats[0]}


def within(sample: np.ndarray, expected: float, z: float = 4.0) -> bool:
    se = sample.std(ddof=1) / np.sqrt(sample.size)
    return abs(sample.mean() - expected) <= z * se


@pytest.mark.parametrize(
    ("nodes", "gpus_per_node", "rho", "hours", "reps"),
    [(1, 8, 0.7, 1_500, 8), (8, 8, 0.85, 700, 8)],
    ids=["c8-rho0.70", "c64-rho0.85"],
)
def test_mmc_matches_erlang_c_and_littles_law(nodes, gpus_per_node, rho, hours, reps) -> None:
    c = nodes * gpus_per_node
    lam = rho * c  # per hour, with a mean run time of one hour: offered load a = λS = ρc
    s = replicate(nodes, gpus_per_node, lam, hours, warmup_h=50, reps=reps)
    p_wait = erlang_c(c, lam)
    wq_h = p_wait / (c - lam)  # W_q = C·S/(c − a) with S = 1 h
    assert within(s["p_wait"], p_wait), (s["p_wait"].mean(), p_wait)
    assert within(s["wq_h"], wq_h), (s["wq_h"].mean(), wq_h)
    assert within(s["util"], rho), (s["util"].mean(), rho)
    # Little's law on the outputs: time-average queue = arrival rate × mean wait
    assert within(s["lq"] - s["lam_hat"] * s["wq_h"], 0.0)
    assert within(s["lq"], lam * wq_h)


def test_abandonment_matches_erlang_a() -> None:
    c, lam, patience_h = 8, 7.5, 0.5  # ρ = 0.94, mean patience 30 min
    s = replicate(1, c, lam, 1_000, warmup_h=50, reps=8, patience_s=patience_h * HOUR)
    theory = erlang_a(c, lam, 1.0, 1.0 / patience_h)
    assert within(s["p_abandon"], theory["p_abandon"]), (s["p_abandon"].mean(), theory)
    assert within(s["lq"], theory["lq"]), (s["lq"].mean(), theory)


def test_abandonment_grows_with_load_and_impatience() -> None:
    def rate(lam: float, patience_h: float) -> float:
        return replicate(1, 8, lam, 400, 20, 3, patience_s=patience_h * HOUR)["p_abandon"].mean()

    light, heavy = rate(5.0, 0.5), rate(9.0, 0.5)
    patient = rate(9.0, 4.0)
    assert light < heavy
    assert patient < heavy
    assert erlang_a(8, 5.0, 1.0, 2.0)["p_abandon"] < erlang_a(8, 9.0, 1.0, 2.0)["p_abandon"]
