"""``dcsim sweep --dask``: a real Dask scheduler and two real workers on 127.0.0.1.

The scheduler and the workers are ``python -m dask scheduler|worker`` processes started here
(random free ports, no dashboard) and stopped at the end; the workers import this
checkout's ``sim`` through PYTHONPATH, as a cluster's workers import the installed dcsim.
The same sweep on the cluster, on a LocalCluster and on local processes must write the same
files, byte for byte (runs.csv but for its measured wall times).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO, SCENARIOS, assert_same_sweep_files

from sim.cli import EXIT_BAD_INPUT, main

distributed = pytest.importorskip("distributed")  # the sweep extra; CI installs it

START_S = 60


def short_base(folder: Path) -> Path:
    """scenarios/quick.yaml cut to three days (as in test_sweep.py), written into ``folder``."""
    text = (SCENARIOS / "quick.yaml").read_text(encoding="utf-8")
    path = folder / "base.yaml"
    path.write_text(text.replace("end_utc: 2024-04-30", "end_utc: 2024-03-04"), encoding="utf-8")
    return path


def write_sweep(folder: Path) -> Path:
    short_base(folder)
    sweep: dict[str, Any] = {
        "name": "dask",
        "base": "base.yaml",
        "variants": {"grid": {"site.energy.price_usd_per_mwh": [30]}},
        "replications": 3,
        "seed": 8,
        "kpis": ["btc_mined", "energy_cost_usd", "ai_revenue_usd"],
        "bands": ["btc_mined"],
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-thread workers; yields the scheduler's address."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    dask = [sys.executable, "-m", "dask"]
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)],
            **quiet,  # type: ignore[call-overload]
        )
    ]
    try:
        deadline = time.monotonic() + START_S
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [*dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                     "--nworkers", "1", "--no-dashboard", "--no-nanny"],
                    **quiet,  # type: ignore[call-overload]
                )
            )
        with distributed.Client(address, timeout=START_S) as client:
            client.wait_for_workers(2, timeout=START_S)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("local")
    out = folder / "out"
    assert main(["sweep", str(write_sweep(folder)), "--out", str(out), "--workers", "2"]) == 0
    return out


def test_a_dask_cluster_gives_the_local_files(
    tmp_path: Path, scheduler: str, local: Path
) -> None:
    out = tmp_path / "out"
    assert main(["sweep", str(write_sweep(tmp_path)), "--out", str(out), "--dask", scheduler]) == 0
    assert_same_sweep_files(out, local)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["executor"] == scheduler
    assert manifest["workers"] == 2


def test_a_local_dask_cluster_gives_the_local_files(tmp_path: Path, local: Path) -> None:
    out = tmp_path / "out"
    sweep = write_sweep(tmp_path)
    assert main(["sweep", str(sweep), "--out", str(out), "--dask", "local", "--workers", "2"]) == 0
    assert_same_sweep_files(out, local)
    assert json.loads((out / "manifest.json").read_text())["workers"] == 2


def test_a_bad_address_exits_2_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    sweep = write_sweep(tmp_path)
    assert main(["sweep", str(sweep), "--out", str(out), "--dask", "nowhere"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--dask: cannot connect to a Dask scheduler at 'nowhere'" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "sweep.yaml"]


def test_missing_extras_give_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dask or SALib absent (None in sys.modules: importing them fails): exit 2, how to fix."""
    sweep = write_sweep(tmp_path)
    data = yaml.safe_load(sweep.read_text())
    data["variants"] = {
        "sensitivity": {
            "method": "sobol",
            "n": 2,
            "parameters": {
                "site.energy.price_usd_per_mwh": {"low": 20, "high": 60},
                "bitcoin.fees.btc_per_block": {"low": 0.1, "high": 0.5},
            },
        }
    }
    sobol = tmp_path / "sobol.yaml"
    sobol.write_text(yaml.safe_dump(data))
    for module in ("distributed", "SALib.sample", "SALib.analyze"):
        monkeypatch.setitem(sys.modules, module, None)
    out = str(tmp_path / "o")
    for args, message in (
        ([str(sweep), "--dask", "local"], "--dask: needs Dask distributed"),
        ([str(sobol)], "variants.sensitivity: needs SALib"),
    ):
        assert main(["sweep", *args, "--out", out]) == EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert message in err and "pip install 'dcsim[sweep]'" in err
        assert "Traceback" not in err
    assert not (tmp_path / "o").exists()
