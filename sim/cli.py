"""Command line: ``dcsim run | sweep | validate | catalog`` (also ``python -m sim``).

Exit codes: 0 success, 2 invalid input (every problem listed, nothing written), 1 a failure
inside the simulation (``sweep``: some run failed; the others' results are written), 130
interrupted (Ctrl-C), 141 output pipe closed, 143 terminated.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Self

from sim.errors import Issue, ScenarioError, SimulationError
from sim.units import SECONDS_PER_YEAR

if TYPE_CHECKING:
    import pandas as pd

    from sim.result import RunResult
    from sim.scenario.schema import Scenario

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED = 130, 141, 143
PROGRESS_DELAY_S = 3.0  # shorter runs print no progress bar
MEMORY_SHARE = 0.8  # of the machine's memory that one run may be estimated to need


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so every ``finally`` and cleanup runs."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dcsim",
        description="Simulate datacenter sites that mine Bitcoin and host AI/HPC.",
    )
    parser.add_argument("--version", action="version", version=f"dcsim {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run one scenario and write its tables")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    _add_out(run, "scenario")
    run.add_argument("--seed", type=int, help="root seed (default: the scenario's seed)")
    run.add_argument(
        "--tables",
        metavar="NAME[,NAME...]",
        help="tables to write, e.g. daily,summary (default: output.tables, all of them)",
    )
    run.add_argument(
        "--format", choices=("csv", "parquet"), help="file format (default: output.format)"
    )
    _add_set(run)

    sweep = commands.add_parser(
        "sweep", help="run a scenario's variants and replications, write KPI tables"
    )
    sweep.add_argument("sweep", type=Path, help="sweep YAML file (docs/sweeps.md)")
    _add_out(sweep, "sweep")
    sweep.add_argument(
        "--workers",
        type=int,
        help="runs at once, one process each (default: CPU count; with --dask local, the "
        "LocalCluster's workers)",
    )
    sweep.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on the Dask scheduler at ADDRESS (tcp://HOST:PORT), or 'local' for a new "
        "LocalCluster (needs the sweep extra: pip install 'dcsim[sweep]')",
    )
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted sweep into the same --out: keep its finished runs",
    )
    sweep.add_argument(
        "--run",
        type=int,
        metavar="RUN_ID",
        help="instead of sweeping, run the sweep's run RUN_ID (runs.csv) again and write "
        "every table of it, as dcsim run does (default --out outputs/<sweep name>/run-RUN_ID)",
    )

    validate = commands.add_parser("validate", help="check scenario files, list every problem")
    validate.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    _add_set(validate)

    commands.add_parser("catalog", help="print the built-in hardware models")
    return parser


def _add_out(command: argparse.ArgumentParser, named: str) -> None:
    command.add_argument(
        "--out",
        type=Path,
        help=f"output folder (default outputs/<{named} name>); new, empty or an earlier "
        "run's, whose files alone are replaced",
    )


def _add_set(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field, e.g. --set mining.groups[0].count=500 (repeatable)",
    )


def _version() -> str:
    try:
        return metadata.version("dcsim")
    except metadata.PackageNotFoundError:
        return "unknown"


def _run_overrides(args: argparse.Namespace) -> list[str]:
    """The command's options as overrides, so the schema checks them like file values."""
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.tables is not None:
        names = [name.strip() for name in args.tables.split(",")]
        overrides.append(f"output.tables=[{', '.join(repr(name) for name in names)}]")
    if args.format is not None:
        overrides.append(f"output.format={args.format}")
    return overrides


@contextlib.contextmanager
def _output_errors(out: Path) -> Iterator[None]:
    """A refused output folder is bad input (exit 2); failing to write is a failure (exit 1)."""
    from sim.record.outdir import OutDirError

    try:
        yield
    except OutDirError as exc:
        raise ScenarioError("command line", [Issue("--out", str(exc))]) from exc
    except OSError as exc:  # e.g. the disk filled up while writing
        raise SimulationError("output", None, f"writing {out}: {exc.strerror or exc}") from exc


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, _run_overrides(args))
    _check_workload(scenario, str(args.scenario))
    return _run_and_write(scenario, args.out or Path("outputs") / scenario.name, argv)


def _run_and_write(scenario: Scenario, out: Path, argv: list[str]) -> int:
    """Run ``scenario`` into the output folder ``out`` and print its summary."""
    from sim.record.outdir import OutputFolder
    from sim.record.writer import output_files, write_into
    from sim.runner import run_one

    # the folder is held from before the run, so a bad --out or a second run costs nothing
    with (
        _output_errors(out),
        OutputFolder(out, output_files(scenario)) as folder,
        _ProgressBar() as bar,
    ):
        result = run_one(scenario, progress=bar.update)
        bar.update("writing", 1.0)
        out_dir = write_into(folder, result, ["dcsim", *argv])
    print(f"dcsim: wrote {out_dir}")
    print(summary_text(result))
    return EXIT_OK


def _sweep(args: argparse.Namespace, argv: list[str]) -> int:
    from sim.sweep import plan_sweep, read_sweep, run_plan

    if args.workers is not None and args.workers < 1:
        raise ScenarioError("command line", [Issue("--workers", "must be at least 1")])
    spec = read_sweep(args.sweep)
    plan = plan_sweep(spec, str(args.sweep))  # every variant checked before anything runs
    if args.run is not None:
        if args.resume or args.dask is not None or args.workers is not None:
            issue = Issue("--run", "runs one run here: without --resume, --dask or --workers")
            raise ScenarioError("command line", [issue])
        try:
            scenario = plan.run_scenario(args.run)
        except ScenarioError as exc:
            raise ScenarioError("command line", [Issue("--run", exc.issues[0].message)]) from exc
        _check_workload(scenario, str(args.sweep))
        out = args.out or Path("outputs") / spec.name / f"run-{args.run}"
        return _run_and_write(scenario, out, argv)
    out = args.out or Path("outputs") / spec.name
    with _output_errors(out), _SweepBar() as bar:
        result = run_plan(
            plan,
            out,
            workers=args.workers,
            progress=bar.update,
            command=["dcsim", *argv],
            dask=args.dask,
            resume=args.resume,
        )
    total = len(result.runs)
    resumed = f", {result.resumed} taken from the journal" if result.resumed else ""
    print(
        f"dcsim: wrote {result.out_dir} ({total} runs of {len(result.plan.variants)} "
        f"variant(s) × {spec.replications} replication(s){resumed}, "
        f"{result.wall_time_s:.1f} s)"
    )
    if result.failed:
        first = result.runs[result.runs["status"] != "ok"].iloc[0]
        print(
            f"dcsim: {result.failed} of {total} runs failed (runs.csv, manifest.json); first: "
            f"{first['variant']} replication {first['replication']}: {first['error']}; "
            "--resume runs the failed runs again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


class _Bar:
    """A tqdm bar on stderr, shown only when stderr is a terminal, closed on leaving."""

    def __init__(self, **options: Any) -> None:
        from tqdm import tqdm

        self._bar = tqdm(disable=not sys.stderr.isatty(), file=sys.stderr, leave=False, **options)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


class _SweepBar(_Bar):
    """A sweep's progress (runs done, failures, ETA)."""

    def __init__(self) -> None:
        super().__init__(
            desc="sweeping",
            unit="run",
            bar_format="{desc} {n_fmt}/{total_fmt}|{bar}| {elapsed}<{remaining}{postfix}",
        )

    def update(self, done: int, total: int, failed: int) -> None:
        """Show ``done`` of ``total`` runs finished, ``failed`` of them failed."""
        if self._bar.disable:
            return
        self._bar.total = total
        if failed:
            self._bar.set_postfix_str(f"{failed} failed", refresh=False)
        self._bar.update(done - self._bar.n)


def _check_workload(scenario: Scenario, source: str) -> None:
    """Refuse a run that cannot fit in memory; announce a large one."""
    from sim.workload import estimate, machine_memory_bytes

    work = estimate(scenario)
    memory = machine_memory_bytes()
    if memory is not None and work.memory_bytes > MEMORY_SHARE * memory:
        raise ScenarioError(
            source,
            [
                Issue(
                    "end_utc",
                    f"a run of {scenario.horizon_s / SECONDS_PER_YEAR:,.0f} years would need "
                    f"≈{work.memory_bytes / 1e9:,.1f} GB of memory ({work.describe()}); this "
                    f"machine has {memory / 1e9:,.1f} GB: shorten the horizon",
                )
            ],
        )
    if work.large:
        print(f"dcsim: a large run: {work.describe()}", file=sys.stderr)


class _ProgressBar(_Bar):
    """A run's progress, for runs longer than a few seconds."""

    def __init__(self) -> None:
        super().__init__(
            total=100,
            desc="simulating",
            delay=PROGRESS_DELAY_S,
            bar_format="{desc:<10} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
        )

    def update(self, phase: str, share: float) -> None:
        """Show ``phase`` with ``share`` of it done."""
        if self._bar.disable:
            return
        if phase == "simulating":
            self._bar.update(round(100 * share) - self._bar.n)
            return
        self._bar.set_description_str(phase, refresh=False)
        if self._bar.format_dict["elapsed"] >= PROGRESS_DELAY_S:  # else still hidden
            self._bar.refresh()


def _money(value: float, decimals: int = 0) -> str:
    """``-$604,800`` rather than ``$-604,800``."""
    text = f"${abs(value):,.{decimals}f}"
    return f"-{text}" if value < 0 else text


def _utc(moment: pd.Timestamp) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tera(value: float) -> str:
    return f"{value / 1e12:,.2f} T"


def _cents(value: float) -> str:
    return _money(value, 2)


def _start_mean_end(series: pd.Series, weights: pd.Series, fmt: Callable[[float], str]) -> str:
    import numpy as np

    mean = float(np.average(series, weights=weights))
    return f"{fmt(float(series.iloc[0]))} → {fmt(float(series.iloc[-1]))} (mean {fmt(mean)})"


def summary_text(result: RunResult) -> str:
    """The run's KPIs as a few readable lines."""
    kpi = result.summary.iloc[0].to_dict()
    ts = result.timeseries
    weights = ts["duration_s"]
    lines = [
        f"  scenario        {kpi['scenario']} (seed {kpi['seed']}), "
        f"{_utc(kpi['start_utc'])} → {_utc(kpi['end_utc'])}",
        f"  network         {kpi['blocks_found']:,} blocks, {kpi['halvings']} halving(s)"
        + (f", first at {_utc(kpi['first_halving_utc'])}" if kpi["halvings"] else ""),
        f"  difficulty      {_start_mean_end(ts['difficulty'], weights, _tera)}",
        f"  BTC price       {_start_mean_end(ts['btc_price_usd'], weights, _money)}",
        f"  hashprice       {_start_mean_end(ts['hashprice_usd_per_ph_day'], weights, _cents)}"
        " per PH/s per day",
    ]
    grid_money = float(kpi["dr_credit_usd"]) or float(kpi["four_cp_charge_usd"])
    if int(kpi["installed_asic_units"]):
        lines += [
            f"  fleet           {kpi['installed_asic_units']:,} ASICs, "
            f"{float(kpi['installed_hashrate_ths']) / 1e3:,.1f} PH/s, "
            f"{float(kpi['installed_asic_power_kw']) / 1e3:,.1f} MW ({kpi['payout']})",
            f"  mined           {float(kpi['btc_mined']):,.2f} BTC, "
            f"revenue {_money(kpi['mining_revenue_usd'])}",
            f"  mining margin   {_money(kpi['mining_margin_usd'])} after ASIC energy"
            + (" (grid-program credits and 4CP charges not included)" if grid_money else ""),
        ]
        if float(kpi["curtailed_mwh"]) > 0:
            lines.append(
                f"  curtailment     {float(kpi['curtailed_mwh']):,.0f} MWh kept off over "
                f"{float(kpi['curtailment_hours']):,.0f} h ({kpi['policy']} policy)"
            )
    if int(kpi["gpus_installed"]):
        jobs = int(kpi["jobs_submitted"])
        usage = f"utilisation {float(kpi['gpu_utilization']):.1%}, " + (
            f"abandoned {float(kpi['abandonment_rate']):.1%}" if jobs else "no jobs"
        )
        lines += [
            f"  AI hosting      {kpi['gpus_installed']:,} GPUs, {jobs:,} jobs, {usage}",
            f"  AI revenue      {_money(kpi['ai_revenue_usd'])}, "
            f"margin {_money(kpi['ai_margin_usd'])} after penalties and GPU energy"
            + (" (grid-program money not included)" if grid_money else ""),
        ]
    if int(kpi["halls"]):
        lines.append(
            f"  facility        {kpi['halls']} hall(s), mean PUE {float(kpi['mean_pue']):.3f}, "
            f"ambient {float(kpi['mean_ambient_temp_c']):.1f} °C mean, "
            f"throttled {float(kpi['hours_throttled']):,.0f} h, "
            f"{kpi['thermal_trips']} trip(s), {_money(kpi['heat_lost_revenue_usd'])} lost to heat"
        )
    if int(kpi["grid_outages"]) or int(kpi["hardware_failures"]) or int(kpi["cooling_failures"]):
        shares = [
            f"{label} {float(kpi[column]):.2%}"
            for label, column in (
                ("ASICs", "asic_availability"),
                ("GPU nodes", "gpu_node_availability"),
            )
            if math.isfinite(float(kpi[column]))
        ]
        lines.append(
            f"  faults          {kpi['grid_outages']} grid outage(s), "
            f"{float(kpi['grid_outage_hours']):,.1f} h without grid; "
            f"{kpi['cooling_failures']} cooling failure(s); "
            f"generators {float(kpi['generator_energy_mwh']):,.1f} MWh, "
            f"fuel {_money(kpi['generator_fuel_cost_usd'])}; "
            f"{kpi['hardware_failures']:,} hardware failure(s); in service "
            + ", ".join(shares)
            + f"; {float(kpi['energy_not_served_mwh']):,.1f} MWh not served, "
            f"{_money(kpi['fault_lost_revenue_usd'])} mining revenue and "
            f"{float(kpi['fault_lost_gpu_hours']):,.0f} GPU-hours of work lost"
        )
    if grid_money:
        lines.append(
            f"  grid programs   demand-response credits {_money(kpi['dr_credit_usd'])}, "
            f"4CP charges {_money(kpi['four_cp_charge_usd'])}"
        )
    lines += [
        f"  energy          {float(kpi['energy_mwh']):,.0f} MWh, "
        f"cost {_money(kpi['energy_cost_usd'])}",
        f"  wall time       {result.wall_time_s:.2f} s (simulation)",
    ]
    return "\n".join(lines)


def _validate(args: argparse.Namespace, _: list[str]) -> int:
    from sim.scenario import load_scenario

    status = EXIT_OK
    for path in args.scenarios:
        try:
            load_scenario(path, args.overrides)
            print(f"{path}: ok")
        except ScenarioError as exc:
            print(exc.render(), file=sys.stderr)
            status = EXIT_BAD_INPUT
    return status


def _catalog(_: argparse.Namespace, __: list[str]) -> int:
    from sim.scenario.catalog import BUILTIN_ASICS, BUILTIN_GPU_NODES

    print("ASIC miners (nominal; docs/sources.md#asic-catalog)")
    print(f"  {'model':<24}{'hashrate_ths':>14}{'power_w':>10}{'efficiency_j_per_th':>21}  cooling")
    for spec in BUILTIN_ASICS.values():
        print(
            f"  {spec.name:<24}{spec.hashrate_ths:>14,.0f}{spec.power_w:>10,.0f}"
            f"{spec.efficiency_j_per_th:>21.1f}  {spec.cooling}"
        )
    print()
    print("GPU node types (board power: docs/sources.md#gpu-power; host and idle: docs/model.md)")
    print(
        f"  {'node_type':<18}{'gpu':<16}{'gpus_per_node':>14}{'gpu_power_w':>13}"
        f"{'host_power_w':>14}{'idle_power_w':>14}{'peak_power_w':>14}"
    )
    for node in BUILTIN_GPU_NODES.values():
        print(
            f"  {node.name:<18}{node.gpu:<16}{node.gpus_per_node:>14}{node.gpu_power_w:>13,.0f}"
            f"{node.host_power_w:>14,.0f}{node.idle_power_w:>14,.0f}{node.peak_power_w:>14,.0f}"
        )
    return EXIT_OK


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dcsim`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    handlers = {"run": _run, "sweep": _sweep, "validate": _validate, "catalog": _catalog}
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        status = handlers[args.command](args, argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except ScenarioError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimulationError as exc:
        print(f"dcsim: simulation failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # the reader (e.g. `head`) has gone: drop what is left of stdout, exit quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("dcsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("dcsim: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
