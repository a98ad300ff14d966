"""The output folder and the process: never lose a user's file, never answer with a traceback.

Real processes, real files, real signals: each test reproduces what a user did.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import EXIT_BAD_INPUT, EXIT_OK, main

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "scenarios" / "quick.yaml"
HYBRID = REPO / "scenarios" / "hybrid.yaml"
TINY = """\
name: tiny
start_utc: 2024-01-01T00:00:00Z
end_utc: 2024-01-03T00:00:00Z
seed: 11
mining:
  groups:
    - {model: Antminer S21, count: 100}
"""
# long enough to be interrupted mid-run (several seconds), short enough to finish if not
LONG = TINY.replace("2024-01-03", "2034-01-03")


def scenario(folder: Path, text: str = TINY) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _interruptible() -> None:
    """In the child: Ctrl-C as at a terminal, even when the tests run in the background.

    A shell starts background jobs with SIGINT ignored, and Python then keeps ignoring it
    (as it should for ``nohup dcsim run … &``), so the interrupt tests would not interrupt.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args: str | Path, cwd: Path, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
        **kwargs,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- the folder rule


def test_a_foreign_manifest_does_not_make_a_folder_ours(tmp_path, capsys) -> None:
    """Reproduction 1: `{}` in manifest.json and the user's app.js; both must survive."""
    out = tmp_path / "x"
    out.mkdir()
    (out / "manifest.json").write_text("{}\n")
    (out / "app.js").write_text("code\n")
    assert main(["run", str(scenario(tmp_path)), "--out", str(out)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--out" in err and "manifest.json dcsim did not write" in err
    assert sorted(p.name for p in out.iterdir()) == ["app.js", "manifest.json"]
    assert (out / "app.js").read_text() == "code\n"
    assert (out / "manifest.json").read_text() == "{}\n"
    assert leftovers(tmp_path) == []


def test_rerun_keeps_a_notebook_saved_in_an_earlier_output_folder(tmp_path, capsys) -> None:
    path = scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == EXIT_OK
    (out / "analysis.ipynb").write_text("{}")
    (out / "plot.png").write_bytes(b"\x89PNG")
    assert main(["run", str(path), "--out", str(out), "--seed", "12"]) == EXIT_OK
    capsys.readouterr()
    assert (out / "analysis.ipynb").read_text() == "{}"
    assert (out / "plot.png").read_bytes() == b"\x89PNG"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 12 and manifest["complete"] is True
    assert leftovers(tmp_path) == []


def test_a_user_file_named_like_an_output_is_never_overwritten(tmp_path, capsys) -> None:
    path = scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--tables", "summary"]) == EXIT_OK
    (out / "daily.csv").write_text("the user's own daily.csv\n")  # not in the manifest
    assert main(["run", str(path), "--out", str(out)]) == EXIT_BAD_INPUT
    assert "daily.csv" in capsys.readouterr().err
    assert (out / "daily.csv").read_text() == "the user's own daily.csv\n"


def test_a_narrower_rerun_removes_only_the_earlier_runs_files(tmp_path, capsys) -> None:
    path = scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == EXIT_OK
    (out / "mine.txt").write_text("keep")
    argv = ["run", str(path), "--out", str(out), "--tables", "daily,summary", "--format", "parquet"]
    assert main(argv) == EXIT_OK
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == [
        "daily.parquet",
        "manifest.json",
        "mine.txt",
        "summary.parquet",
    ]
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(daily) == 2
    assert json.loads((out / "manifest.json").read_text())["files"] == {
        "daily.parquet": 2,
        "summary.parquet": 1,
    }


def test_tables_option_is_checked_like_a_scenario_field(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    argv = ["run", str(scenario(tmp_path)), "--out", str(out), "--tables", "daily,dialy"]
    assert main(argv) == EXIT_BAD_INPUT
    assert "output.tables[1]" in capsys.readouterr().err
    assert not out.exists()


# --------------------------------------------------------------------------- bad --out


@pytest.mark.parametrize("where", ["/proc/dcsim-test/out", "below-a-file/out"])
def test_an_unwritable_out_is_refused_before_the_simulation(where, tmp_path) -> None:
    """Reproduction 6: refused in well under the time the run would take, no traceback."""
    (tmp_path / "below-a-file").write_text("a file\n")
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "run", scenario(tmp_path, LONG), "--out", where],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in proc.stderr
    assert "--out" in proc.stderr
    assert time.perf_counter() - began < 10  # the 10-year run itself takes longer
    assert sorted(p.name for p in tmp_path.iterdir()) == ["below-a-file", "tiny.yaml"]


def test_new_folders_follow_the_umask(tmp_path) -> None:
    out = tmp_path / "made" / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os, sys; os.umask(0o027); from sim.cli import main; "
            f"sys.exit(main(['run', {str(scenario(tmp_path))!r}, '--out', {str(out)!r}]))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    assert out.stat().st_mode & 0o777 == 0o750
    assert out.parent.stat().st_mode & 0o777 == 0o750
    assert (out / "daily.csv").stat().st_mode & 0o777 == 0o640


# --------------------------------------------------------------------------- lock, kill, signals


def test_a_second_run_into_a_held_folder_is_refused(tmp_path, capsys) -> None:
    """The lock a running dcsim holds, held here by the test: exit 2, folder untouched."""
    out = tmp_path / "out"
    fd = os.open(tmp_path / ".out.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert main(["run", str(scenario(tmp_path)), "--out", str(out)]) == EXIT_BAD_INPUT
    finally:
        os.close(fd)
    assert "another dcsim run is writing" in capsys.readouterr().err
    assert not out.exists()


def test_two_real_runs_into_one_folder_the_second_refuses(tmp_path) -> None:
    path = scenario(tmp_path, LONG)
    first = start("run", path, "--out", "out", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not (tmp_path / ".out.lock").exists():
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    second = subprocess.run(
        [sys.executable, "-m", "sim", "run", path, "--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == EXIT_BAD_INPUT
    assert "another dcsim run is writing" in second.stderr
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == EXIT_OK, stderr
    assert (tmp_path / "out" / "manifest.json").is_file()
    assert leftovers(tmp_path) == []


def test_staging_left_by_a_killed_run_is_removed_by_the_next(tmp_path, capsys) -> None:
    """Reproduction 7: a SIGKILLed run cannot clean up; the next run into the place does."""
    stale = tmp_path / ".out.tmp-deadbeef"
    stale.mkdir()
    (stale / "blocks.csv").write_text("half written")
    unrelated = tmp_path / ".other.tmp-cafe"  # another folder's staging: not ours to touch
    unrelated.mkdir()
    assert main(["run", str(scenario(tmp_path)), "--out", str(tmp_path / "out")]) == EXIT_OK
    capsys.readouterr()
    assert leftovers(tmp_path) == [".other.tmp-cafe"]


@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [(signal.SIGINT, 130, "dcsim: interrupted"), (signal.SIGTERM, 143, "dcsim: terminated")],
)
def test_ctrl_c_and_sigterm_end_quietly_and_leave_nothing(signum, code, line, tmp_path) -> None:
    """Reproductions 7 and 8: one line, the conventional exit code, no staging, no lock."""
    proc = start("run", scenario(tmp_path, LONG), "--out", "out", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not (tmp_path / ".out.lock").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert stderr.strip() == line
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


@pytest.mark.parametrize(
    "args", [["catalog"], ["run", "{scenario}", "--out", "out"]], ids=["catalog", "run"]
)
def test_a_closed_pipe_ends_quietly(args, tmp_path) -> None:
    """Reproduction 8: `dcsim catalog | head -1` and `dcsim run ... | head -1`."""
    path = scenario(tmp_path)
    argv = [a.replace("{scenario}", str(path)) for a in args]
    read, write = os.pipe()
    os.close(read)  # the reader has gone before dcsim writes
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *argv],
        cwd=tmp_path,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write)
    assert proc.returncode == 141
    assert proc.stderr == ""


def test_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("dcsim ")


# --------------------------------------------------------------------------- printed summary


def test_summary_prints_markets_and_negative_money_readably(tmp_path, capsys) -> None:
    """Section 7: hashprice, difficulty, BTC price (start, mean, end); -$ not $-."""
    path = scenario(tmp_path)
    argv = [
        "run",
        str(path),
        "--out",
        str(tmp_path / "o"),
        "--set",
        "site.energy.price_usd_per_mwh=900",
    ]
    assert main(argv) == EXIT_OK
    text = capsys.readouterr().out
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    for key in ("difficulty", "BTC", "hashprice"):
        assert "→" in lines[key] and "(mean " in lines[key], lines[key]
    margin = json.loads((tmp_path / "o" / "manifest.json").read_text())  # run happened
    assert margin["complete"]
    summary = pd.read_csv(tmp_path / "o" / "summary.csv").iloc[0]
    assert summary["mining_margin_usd"] < 0  # at $900/MWh mining loses money
    assert f"-${-summary['mining_margin_usd']:,.0f}" in lines["mining"]
    assert "$-" not in text


def test_a_long_run_on_a_terminal_shows_a_progress_bar_and_leaves_it(tmp_path) -> None:
    """Section 4: on a TTY, a run of more than a few seconds shows its progress and ETA."""
    import fcntl as fc
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fc.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    # twelve years of the hybrid site: ≈8 s here with the compiled AI loop, so the bar's
    # 3 s delay passes while it simulates on a machine twice as fast too
    twelve_years = "end_utc=2036-01-01T00:00:00Z"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", HYBRID, "--out", "out", "--tables", "summary",
         "--set", twelve_years],  # fmt: skip
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    seen = b""
    while True:  # read as it comes: a full terminal buffer would block the writer
        try:
            chunk = os.read(master, 65536)
        except OSError:  # every writer has closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    stdout, _ = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_OK
    text = seen.decode()
    assert "simulating" in text and "%|" in text
    assert stdout.startswith("dcsim: wrote")  # stdout, not a TTY here, carries no bar


def test_summary_says_no_jobs_and_which_margins_leave_grid_money_out(tmp_path, capsys) -> None:
    """Section 7: "no jobs" instead of nan %; margins say grid-program money is not in them."""
    sets = [f"ai.job_classes[{i}].arrivals_per_hour=0" for i in range(2)]
    sets += [
        "end_utc=2024-03-03T00:00:00Z",
        "site.demand_response=[{start_utc: 2024-03-01T18:00:00Z, end_utc: 2024-03-01T20:00:00Z,"
        " credit_usd_per_mwh: 100000}]",
        "site.policy.name=profit",
    ]
    argv = ["run", str(QUICK), "--out", str(tmp_path / "o")]
    for text in sets:
        argv += ["--set", text]
    assert main(argv) == EXIT_OK
    text = capsys.readouterr().out
    assert "nan" not in text
    ai = next(line for line in text.splitlines() if line.startswith("  AI hosting"))
    assert ai.endswith("0 jobs, utilisation 0.0%, no jobs")
    mining = next(line for line in text.splitlines() if line.startswith("  mining margin"))
    assert mining.endswith("(grid-program credits and 4CP charges not included)")
    assert "demand-response credits $" in text
