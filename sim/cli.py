"""Command line: ``dcsim run | validate | catalog`` (also ``python -m sim``).

Exit codes: 0 success, 2 invalid input (every problem listed, nothing written), 1 a failure
inside the simulation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import Issue, ScenarioError, SimulationError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dcsim",
        description="Simulate datacenter sites that mine Bitcoin and host AI/HPC.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run one scenario and write its CSVs")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="output folder (default outputs/<scenario name>)")
    run.add_argument("--seed", type=int, help="root seed (default: the scenario's seed)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field, e.g. --set mining.groups[0].count=500 (repeatable)",
    )

    validate = commands.add_parser("validate", help="check scenario files, list every problem")
    validate.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    validate.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE"
    )

    commands.add_parser("catalog", help="print the built-in hardware models")
    return parser


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from sim.record.writer import out_dir_problem
    from sim.runner import run_one
    from sim.scenario import load_scenario

    if args.seed is not None and args.seed < 0:
        raise ScenarioError("command line", [Issue("--seed", f"must be >= 0 (got {args.seed})")])
    scenario = load_scenario(args.scenario, args.overrides)
    out = args.out or Path("outputs") / scenario.name
    problem = out_dir_problem(out.resolve())
    if problem:  # checked before the run, so a bad --out costs nothing
        raise ScenarioError("command line", [Issue("--out", problem)])
    result = run_one(scenario, args.seed)
    out_dir = result.write(out, ["dcsim", *argv])
    print(f"dcsim: wrote {out_dir}")
    print(_summary_text(result.summary.iloc[0].to_dict(), result.wall_time_s))
    return EXIT_OK


def _summary_text(kpi: dict[str, Any], wall_time_s: float) -> str:
    def money(key: str) -> str:
        value = kpi[key]
        return f"${value:,.0f}" if isinstance(value, float) else str(value)

    lines = [
        f"  scenario        {kpi['scenario']} (seed {kpi['seed']}), "
        f"{kpi['start_utc']} → {kpi['end_utc']}",
        f"  network         {kpi['blocks_found']:,} blocks, {kpi['halvings']} halving(s)"
        + (f", first at {kpi['first_halving_utc']}" if kpi["first_halving_utc"] else ""),
    ]
    if int(kpi["installed_asic_units"]):
        lines += [
            f"  fleet           {kpi['installed_asic_units']:,} ASICs, "
            f"{float(kpi['installed_hashrate_ths']) / 1e3:,.1f} PH/s, "
            f"{float(kpi['installed_asic_power_kw']) / 1e3:,.1f} MW ({kpi['payout']})",
            f"  mined           {float(kpi['btc_mined']):,.2f} BTC, "
            f"revenue {money('mining_revenue_usd')}",
            f"  mining margin   {money('mining_margin_usd')} after ASIC energy",
        ]
        if float(kpi["curtailed_mwh"]) > 0:
            lines.append(
                f"  curtailment     {float(kpi['curtailed_mwh']):,.0f} MWh kept off over "
                f"{float(kpi['curtailment_hours']):,.0f} h ({kpi['policy']} policy)"
            )
    if int(kpi["gpus_installed"]):
        lines += [
            f"  AI hosting      {kpi['gpus_installed']:,} GPUs, {kpi['jobs_submitted']:,} jobs, "
            f"utilisation {float(kpi['gpu_utilization']):.1%}, "
            f"abandoned {float(kpi['abandonment_rate']):.1%}",
            f"  AI revenue      {money('ai_revenue_usd')}, "
            f"margin {money('ai_margin_usd')} after penalties and GPU energy",
        ]
    if int(kpi["halls"]):
        lines.append(
            f"  facility        {kpi['halls']} hall(s), mean PUE {float(kpi['mean_pue']):.3f}, "
            f"ambient {float(kpi['mean_ambient_temp_c']):.1f} °C mean, "
            f"throttled {float(kpi['hours_throttled']):,.0f} h, "
            f"{kpi['thermal_trips']} trip(s), {money('heat_lost_revenue_usd')} lost to heat"
        )
    if float(kpi["dr_credit_usd"]) or float(kpi["four_cp_charge_usd"]):
        lines.append(
            f"  grid programs   credits {money('dr_credit_usd')}, "
            f"4CP charges {money('four_cp_charge_usd')}"
        )
    lines += [
        f"  energy          {float(kpi['energy_mwh']):,.0f} MWh, cost {money('energy_cost_usd')}",
        f"  wall time       {wall_time_s:.2f} s (simulation)",
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

    print("ASIC miners (nominal; REFERENCE.md §3)")
    print(f"  {'model':<24}{'hashrate_ths':>14}{'power_w':>10}{'efficiency_j_per_th':>21}  cooling")
    for spec in BUILTIN_ASICS.values():
        print(
            f"  {spec.name:<24}{spec.hashrate_ths:>14,.0f}{spec.power_w:>10,.0f}"
            f"{spec.efficiency_j_per_th:>21.1f}  {spec.cooling}"
        )
    print()
    print("GPU node types (GPU board power REFERENCE.md §3; host and idle power: see docs)")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dcsim`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    handlers = {"run": _run, "validate": _validate, "catalog": _catalog}
    try:
        return handlers[args.command](args, argv)
    except ScenarioError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimulationError as exc:
        print(f"dcsim: simulation failed: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
