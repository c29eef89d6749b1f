"""The ``sim`` command line: thin commands over the library (parse options, call, print/write)."""

from __future__ import annotations

import click

from sim import __version__
from sim.cli.fit import fit_command
from sim.cli.gameday import gameday_command
from sim.cli.map import map_command
from sim.cli.report import compare_command, report_command
from sim.cli.run import run_command, validate_command
from sim.cli.stress import stress_command
from sim.cli.sweep import sweep_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="outagesim")
def cli() -> None:
    """outagesim: simulate checkout outages and compare architectures.

    Start with `sim run --redundancy 2` (the built-in baseline scenario).
    """


cli.add_command(run_command)
cli.add_command(validate_command)
cli.add_command(sweep_command)
cli.add_command(compare_command)
cli.add_command(report_command)
cli.add_command(stress_command)
cli.add_command(gameday_command)
cli.add_command(map_command)
cli.add_command(fit_command)


def main() -> None:
    """Entry point of the ``sim`` script."""
    cli(prog_name="sim")
