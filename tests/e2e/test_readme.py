"""The README's examples work: its notebook snippet runs and every ``dcsim`` line of its
Usage block is accepted (``run`` lines are checked with ``dcsim validate``, not run)."""

from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

from sim.cli import EXIT_OK, main

README = (REPO / "README.md").read_text(encoding="utf-8")
# run options checked by the schema, as the overrides `dcsim run` turns them into
RUN_OPTIONS_AS_SET = {
    "--seed": "seed={}",
    "--tables": "output.tables=[{}]",
    "--format": "output.format={}",
}


def code_block(after: str, language: str) -> str:
    """The first ``language`` fenced block after the text ``after``."""
    start = README.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, start)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


USAGE = [
    line.split("#")[0].strip()
    for line in code_block("## Usage", "sh").splitlines()
    if line.startswith("dcsim ")
]


def test_notebook_snippet_runs(tmp_path: Path) -> None:
    # The README's code, on the two-month scenario and writing into tmp_path.
    snippet = code_block("In a notebook", "python")
    out = tmp_path / "run"
    for old, new in (
        ("scenarios/baseline.yaml", "scenarios/quick.yaml"),
        ('"outputs/baseline-seed1"', repr(str(out))),
    ):
        assert snippet.count(old) == 1, f"README snippet no longer has {old}; update this test"
        snippet = snippet.replace(old, new)
    plot = tmp_path / "plot.png"
    snippet += f"\nimport matplotlib.pyplot as plt\nplt.gcf().savefig({str(plot)!r})\n"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", snippet], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert plot.stat().st_size > 0
    assert (out / "daily.csv").is_file() and (out / "manifest.json").is_file()


def as_validate(line: str) -> list[str]:
    """A README ``dcsim run|validate`` line as ``dcsim validate`` arguments, globs expanded."""
    command, *tokens = shlex.split(line)[1:]
    args = ["validate"]
    while tokens:
        token = tokens.pop(0)
        if token == "--set":
            args += [token, tokens.pop(0)]
        elif command == "run" and token == "--out":
            tokens.pop(0)
        elif command == "run" and token in RUN_OPTIONS_AS_SET:
            args += ["--set", RUN_OPTIONS_AS_SET[token].format(tokens.pop(0))]
        else:
            assert not token.startswith("-"), f"unknown option {token} in {line!r}"
            paths = sorted(glob.glob(token, root_dir=REPO))
            assert paths, f"{token} matches no file"
            args += [str(REPO / path) for path in paths]
    return args


def test_usage_block_has_the_commands() -> None:
    commands = {shlex.split(line)[1] for line in USAGE}
    assert {"run", "validate", "catalog", "--version"} <= commands


@pytest.mark.parametrize("line", USAGE)
def test_usage_line_is_accepted(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(line)[1:]
    if argv[0] in ("run", "validate"):
        argv = as_validate(line)
    try:
        code = main(argv)
    except SystemExit as exc:  # --version exits from argparse
        code = exc.code
    assert code == EXIT_OK, capsys.readouterr().err
