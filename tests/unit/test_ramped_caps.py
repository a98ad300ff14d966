"""GPU node caps after the switch-on ramp (pure bookkeeping of the control loop)."""

from __future__ import annotations

from sim.model.control import RampedCaps


def test_increases_wait_for_the_ramp_and_decreases_are_immediate() -> None:
    caps = RampedCaps(nodes=10.0, ramp_s=300.0)
    caps.want(900.0, 4.0)  # cut: at once
    caps.want(1_800.0, 10.0)  # back up: after the ramp
    assert caps.due(2_700.0) == [(900.0, 4.0), (2_100.0, 10.0)]


def test_a_ramp_that_runs_into_the_next_batch_is_decided_with_it() -> None:
    caps = RampedCaps(nodes=10.0, ramp_s=300.0)
    caps.want(0.0, 2.0)
    caps.want(800.0, 8.0)  # would arrive at 1,100 s, after this batch ends at 900 s
    assert caps.due(900.0) == [(0.0, 2.0)]
    caps.want(1_000.0, 0.0)  # a trip before the ramp ends: the nodes never come on
    assert caps.due(1_800.0) == [(1_000.0, 0.0)]


def test_a_node_runs_only_if_wanted_throughout_the_ramp() -> None:
    caps = RampedCaps(nodes=10.0, ramp_s=300.0)
    caps.want(900.0, 0.0)  # a tick cuts every node
    caps.want(1_000.0, 6.0)  # a restart wants 6 back …
    caps.want(1_100.0, 3.0)  # … then only 3, before the ramp ended
    # 3 nodes have been wanted throughout [t − 300, t] from 1,300 s on
    assert caps.due(1_800.0) == [(900.0, 0.0), (1_300.0, 3.0)]
