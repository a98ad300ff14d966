"""Interrupted, crashed and resumed sweeps: real ``dcsim sweep`` processes, real signals.

A sweep is started as a subprocess and really stopped — SIGTERM to the command, or SIGKILL
to one of its worker processes — once its journal holds a few finished runs. The finished
runs must survive in the journal, the output folder must not exist half-written, and
``--resume`` must end with the same files as an uninterrupted sweep (runs.csv but for its
measured wall times), running only the runs that were missing or failed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from helpers import REPO, SCENARIOS, assert_same_sweep_files

from sim.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_TERMINATED, main

REPLICATIONS = 5  # × 2 variants: 10 runs of about 0.2 s each
WAIT_S = 120


def short_base(folder: Path) -> Path:
    """scenarios/quick.yaml cut to three days (as in test_sweep.py), written into ``folder``."""
    text = (SCENARIOS / "quick.yaml").read_text(encoding="utf-8")
    path = folder / "base.yaml"
    path.write_text(text.replace("end_utc: 2024-04-30", "end_utc: 2024-03-04"), encoding="utf-8")
    return path


def write_sweep(folder: Path, **fields: Any) -> Path:
    short_base(folder)
    sweep: dict[str, Any] = {
        "name": "resumable",
        "base": "base.yaml",
        "variants": {"grid": {"site.energy.price_usd_per_mwh": [30]}},
        "replications": REPLICATIONS,
        "seed": 21,
        "kpis": ["btc_mined", "energy_cost_usd"],
        "bands": ["btc_mined"],
    }
    sweep.update(fields)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


def journal(out: Path) -> Path:
    return out.with_name(f".{out.name}.journal.jsonl")


def finished_lines(out: Path) -> list[dict[str, Any]]:
    """The journal's complete run records."""
    lines = journal(out).read_text(encoding="utf-8").splitlines()[1:]
    return [json.loads(line) for line in lines]


def start_sweep(sweep: Path, out: Path, workers: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "sim", "sweep", str(sweep), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_runs(process: subprocess.Popen[str], out: Path, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if journal(out).exists() and len(journal(out).read_text().splitlines()) > count:
            return
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"no {count} finished runs within {WAIT_S} s")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def worker_pids(pid: int) -> list[int]:
    """The pool's workers: children of the forkserver, itself a child of the sweep."""
    servers = [
        child
        for child in children(pid)
        if b"forkserver" in (Path("/proc") / str(child) / "cmdline").read_bytes()
    ]
    return [worker for server in servers for worker in children(server)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("whole")
    out = folder / "out"
    assert main(["sweep", str(write_sweep(folder)), "--out", str(out), "--workers", "2"]) == 0
    assert not journal(out).exists()  # every run ok: the journal is gone
    return out


def test_sigterm_keeps_finished_runs_and_resume_ends_identical(
    tmp_path: Path, uninterrupted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(tmp_path)
    out = tmp_path / "out"
    process = start_sweep(sweep, out, workers=1)
    wait_for_runs(process, out, 3)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == EXIT_TERMINATED, err
    assert "dcsim: terminated" in err and "Traceback" not in err
    assert not out.exists()  # nothing half-written: the tables come at the end
    assert not list(tmp_path.glob(".out.tmp-*"))  # nor a staging folder left behind
    kept = finished_lines(out)
    assert 3 <= len(kept) < 2 * REPLICATIONS
    assert all(line["status"] == "ok" for line in kept)

    # a plain re-run would start over: refused, the finished runs stay
    assert main(["sweep", str(sweep), "--out", str(out)]) == EXIT_BAD_INPUT
    assert "--resume" in capsys.readouterr().err
    assert len(finished_lines(out)) == len(kept)

    assert main(["sweep", str(sweep), "--out", str(out), "--resume", "--workers", "2"]) == 0
    assert f"{len(kept)} taken from the journal" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["resumed"] == len(kept)
    assert_same_sweep_files(out, uninterrupted)
    assert not journal(out).exists()
    # the resumed runs kept their measured wall times from the journal
    runs = pd.read_csv(out / "runs.csv").set_index("run_id")
    for line in kept:
        assert runs.loc[line["run_id"], "wall_s"] == round(line["wall_s"], 3)


def test_a_killed_worker_fails_runs_the_sweep_exits_1_and_resume_reruns_them(
    tmp_path: Path, uninterrupted: Path
) -> None:
    sweep = write_sweep(tmp_path)
    out = tmp_path / "out"
    process = start_sweep(sweep, out, workers=2)
    wait_for_runs(process, out, 2)
    workers = worker_pids(process.pid)
    assert workers, "no worker process found"
    os.kill(workers[0], signal.SIGKILL)
    _, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == EXIT_FAILED, err
    assert "runs failed" in err and "--resume runs the failed runs again" in err
    runs = pd.read_csv(out / "runs.csv")  # written: the failures are rows
    failed = runs[runs["status"] == "failed"]
    assert len(failed) >= 1
    assert failed["error"].str.contains("BrokenProcessPool").all()
    assert runs[runs["status"] == "ok"][["btc_mined"]].notna().all().all()
    assert journal(out).exists()  # kept for --resume

    assert main(["sweep", str(sweep), "--out", str(out), "--resume"]) == EXIT_OK
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {
        "runs": 2 * REPLICATIONS,
        "ok": 2 * REPLICATIONS,
        "failed": 0,
        "resumed": 2 * REPLICATIONS - len(failed),
    }
    assert_same_sweep_files(out, uninterrupted)
    assert not journal(out).exists()


def test_resume_refuses_another_sweeps_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    journal(out).write_text('{"kind": "dcsim sweep journal", "plan": "0"}\n')
    sweep = write_sweep(tmp_path)
    assert main(["sweep", str(sweep), "--out", str(out), "--resume"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "the journal of another sweep" in err and "Traceback" not in err
    journal(out).write_text("not a journal\n")
    assert main(["sweep", str(sweep), "--out", str(out), "--resume"]) == EXIT_BAD_INPUT
    assert "is not a dcsim sweep journal" in capsys.readouterr().err
    assert not out.exists()
