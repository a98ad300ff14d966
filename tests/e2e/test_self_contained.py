"""A loaded scenario carries its input files: a run touches no file and can move elsewhere."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sim import load_scenario, run_one

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHORT = {"history_2024_2025": "2024-01-15T00:00:00Z", "ai_trace": "2025-06-04T00:00:00Z"}
RUN_PICKLED = """
import pickle, sys
from sim import run_one
scenario = pickle.loads(sys.stdin.buffer.read())
sys.stdout.buffer.write(pickle.dumps(run_one(scenario).summary))
"""


def copied(name: str, folder: Path) -> Path:
    """The shipped scenario and its data files, copied where they can be deleted."""
    shutil.copytree(SCENARIOS / "data", folder / "data")
    return Path(shutil.copy(SCENARIOS / f"{name}.yaml", folder))


def test_a_run_in_another_process_needs_no_input_file(tmp_path: Path) -> None:
    for name, end in SHORT.items():
        scenario = load_scenario(copied(name, tmp_path / name), [f"end_utc={end}"])
        here = run_one(scenario).summary
        shutil.rmtree(tmp_path / name / "data")  # as on a worker without the user's files
        proc = subprocess.run(
            [sys.executable, "-c", RUN_PICKLED],
            input=pickle.dumps(scenario),
            capture_output=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        there = pickle.loads(proc.stdout)
        pd.testing.assert_frame_equal(here, there)


def test_the_manifest_records_each_input_files_digest(tmp_path: Path) -> None:
    path = copied("history_2024_2025", tmp_path)
    scenario = load_scenario(path, ["end_utc=2024-02-01T00:00:00Z"])
    out = run_one(scenario).write(tmp_path / "out")
    inputs = json.loads((out / "manifest.json").read_text())["inputs"]
    assert sorted(inputs) == ["bitcoin.network_hashrate.csv_path", "bitcoin.price.csv_path"]
    for entry in inputs.values():
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()


def test_a_scenario_is_equal_to_another_only_with_the_same_input_data(tmp_path: Path) -> None:
    path = copied("history_2024_2025", tmp_path)
    first = load_scenario(path)
    assert load_scenario(path) == first
    price = tmp_path / "data" / "btc_price_2024_2025.csv"
    header, row, *rest = price.read_text().splitlines()
    moment, value = row.split(",")
    price.write_text("\n".join([header, f"{moment},{float(value) + 1}", *rest]) + "\n")
    assert load_scenario(path) != first  # same fields, same path, other prices
