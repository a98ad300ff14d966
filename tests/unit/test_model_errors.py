"""Model errors name the component and the simulated time, and the checks behind them are
real checks that still run under ``python -O``."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import simpy
from helpers import REPO, SCENARIOS, make_scenario

from sim.errors import SimulationError
from sim.eventlog import EventLog
from sim.model.cluster import GpuCluster
from sim.model.markets import btc_price_path
from sim.model.paths import csv_series
from sim.model.scheduling.scheduler import Scheduler
from sim.model.site import Site
from sim.record.columns import JOB_COLUMNS, check_columns
from sim.rng import RandomStreams
from sim.scenario import load_scenario
from sim.scenario.ai import GpuGroupSpec
from sim.scenario.catalog import BUILTIN_GPU_NODES
from sim.scenario.inputs import InputFiles

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_message_names_component_time_and_utc_on_one_line() -> None:
    error = SimulationError("thermal", 12_345.0, "hall 'A' temperature is NaN", START)
    text = "thermal at t=12,345 s (2024-01-01T03:25:45Z): hall 'A' temperature is NaN"
    assert str(error) == text
    assert (error.component, error.t_s, error.message) == ("thermal", 12_345.0, error.message)
    assert str(pickle.loads(pickle.dumps(error))) == text  # crosses process pools intact


def test_message_without_calendar_or_simulated_time() -> None:
    assert str(SimulationError("scheduler", 475.25, "x")) == "scheduler at t=475.25 s: x"
    assert str(SimulationError("scheduler", math.nan, "x", START)) == "scheduler at t=nan s: x"
    assert str(SimulationError("writer", None, "disk full")) == "writer: disk full"
    # a component that works in seconds raises undated; whoever knows the calendar dates it
    dated = SimulationError("cluster", 86_400.0, "x").dated(START)
    assert str(dated) == "cluster at t=86,400 s (2024-01-02T00:00:00Z): x"
    assert dated.dated(datetime(2030, 1, 1, tzinfo=UTC)).start_utc == START


def test_scheduler_errors_carry_the_time_of_the_call() -> None:
    scheduler = Scheduler(2, 8)
    with pytest.raises(SimulationError) as caught:
        scheduler.set_speed(math.nan, 3_600.0)
    assert str(caught.value) == "scheduler at t=3,600 s: speed must be in (0, 1] (got nan)"
    scheduler.set_speed(0.5, 7_200.0)
    backwards = r"^scheduler at t=5 s: time went backwards: 5.0 after 7200.0$"
    with pytest.raises(SimulationError, match=backwards):
        scheduler.set_speed(0.5, 5.0)


def test_a_nan_gpu_speed_names_the_group_and_the_time() -> None:
    env = simpy.Environment()
    group = GpuGroupSpec(node_type="HGX H100 8-GPU", nodes=1)
    cluster = GpuCluster(env, group, BUILTIN_GPU_NODES["HGX H100 8-GPU"], 100, EventLog())
    env.run(until=60.0)
    with pytest.raises(SimulationError) as caught:
        cluster.set_speed(math.nan)
    assert caught.value.component == "cluster"
    assert str(caught.value).startswith("cluster at t=60 s: GPU group '")


def test_schema_check_names_missing_and_extra_columns() -> None:
    columns = [*list(JOB_COLUMNS)[1:], "surprise"]
    with pytest.raises(SimulationError) as caught:
        check_columns("jobs.csv", columns, JOB_COLUMNS, 5_184_000.0, START)
    assert str(caught.value) == (
        "tables at t=5,184,000 s (2024-03-01T00:00:00Z): jobs.csv does not match its schema: "
        "missing ['job_id'], extra ['surprise']"
    )
    with pytest.raises(SimulationError, match="columns out of order"):
        check_columns("jobs.csv", reversed(JOB_COLUMNS), JOB_COLUMNS, 0.0)
    check_columns("jobs.csv", JOB_COLUMNS, JOB_COLUMNS, 0.0)  # a match passes


def test_csv_input_without_a_path_is_a_clear_error() -> None:
    scenario = make_scenario()
    price = scenario.bitcoin.price.model_copy(update={"model": "csv", "csv_path": None})
    broken = scenario.model_copy(
        update={"bitcoin": scenario.bitcoin.model_copy(update={"price": price})}
    )
    with pytest.raises(SimulationError) as caught:
        btc_price_path(broken, RandomStreams(1))
    assert str(caught.value) == (
        "markets at t=0 s (2024-01-01T00:00:00Z): "
        "bitcoin.price.model is csv but bitcoin.price.csv_path is not set"
    )


def test_checks_still_run_under_python_O() -> None:
    """Asserts vanish under -O; these checks must not."""
    code = (
        "import sys\n"
        "from sim.errors import SimulationError\n"
        "from sim.model.paths import csv_series\n"
        "from sim.scenario.inputs import InputFiles\n"
        "from sim.record.columns import JOB_COLUMNS, check_columns\n"
        "assert False, 'asserts are on'\n"
        "for check in (lambda: check_columns('jobs.csv', ['job_id'], JOB_COLUMNS, 0.0),\n"
        "              lambda: csv_series(\n"
        "                  InputFiles(), 'site.ambient', None, 'c', 'ambient', None)):\n"
        "    try:\n"
        "        check()\n"
        "    except SimulationError as exc:\n"
        "        print(exc)\n"
        "    else:\n"
        "        sys.exit('check skipped')\n"
    )
    done = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "tables at t=0 s: jobs.csv does not match its schema: missing "
        f"{list(JOB_COLUMNS)[1:]}, extra []",
        "ambient at t=0 s: site.ambient.model is csv but site.ambient.csv_path is not set",
    ]


def test_an_unreadable_csv_of_a_scenario_built_without_the_loader_is_a_simulation_error(
    tmp_path,
) -> None:
    with pytest.raises(SimulationError, match="markets at t=0 s .*cannot read"):
        csv_series(
            InputFiles(), "site.energy", str(tmp_path / "gone.csv"), "price", "markets", START
        )


def test_a_failure_during_a_run_is_dated_in_utc() -> None:
    scenario = load_scenario(SCENARIOS / "quick.yaml", ["end_utc=2024-03-02T00:00:00Z"])
    site = Site.build(scenario, scenario.seed)
    cluster = site.hosting.clusters[0]
    site.env.timeout(3_600.0).callbacks.append(lambda _: cluster.set_speed(math.nan))
    with pytest.raises(SimulationError) as caught:
        site.run()
    assert str(caught.value) == (
        f"cluster at t=3,600 s (2024-03-01T01:00:00Z): GPU group '{cluster.name}': "
        "speed factor must be in (0, 1] (got nan)"
    )
