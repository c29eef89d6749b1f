"""``sim compare``, ``sim report`` and the ``--plot`` option of ``sim run``.

Thin: options are parsed here; :mod:`sim.report` simulates and stores (``collect``) and then draws
from what is stored (``compare``, ``sweep_report``, ``single``). The plotting modules are imported
only when a command needs them, so ``sim run`` without ``--plot`` stays quick to start.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.cli.options import (
    InputError,
    collect_overrides,
    replication_options,
    reports_input_errors,
    scenario_overrides,
)
from sim.scenario import describe, load_scenario

if TYPE_CHECKING:
    from sim.experiment import RunResult
    from sim.report.output import ReportFiles

_OWNED = {"results": ".json", "timelines": ".json", "figures": (".png", ".svg")}
dpi_option = click.option("--dpi", type=click.IntRange(50, 600), default=160, show_default=True,
                          metavar="DPI",
                          help="Resolution of the PNG figures (160: sharp on slides; 100: small files).")


def _echo_files(files: ReportFiles) -> None:
    pngs = [p for p in files.figures if p.suffix == ".png"]
    click.echo(f"wrote {files.html} (self-contained), {files.markdown} and {len(pngs)} figures "
               f"(PNG + SVG) in {pngs[0].parent if pngs else files.html.parent}")


def _prepare_out(out: Path, kind: str) -> None:
    """Refuse a non-empty folder that is not ours; clear our own stale files from an old report."""
    from sim.report.output import read_json

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    manifest = out / "manifest.json"
    if not manifest.is_file() or read_json(manifest).get("kind") != kind:
        raise InputError(f"--out {out}: exists and is not a comparison folder; choose a new or empty folder")
    for sub, suffix in _OWNED.items():
        for path in (out / sub).glob("*"):
            if path.is_file() and path.suffix in (suffix if isinstance(suffix, tuple) else (suffix,)):
                path.unlink()


@click.command("compare")
@click.argument("scenarios", nargs=-1, required=True, metavar="SCENARIO...")
@scenario_overrides
@replication_options
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Folder for the results and the report (default: results/compare-<names>-<hash>).")
@dpi_option
@reports_input_errors
def compare_command(scenarios, overrides, redundancy, replications, horizon, seed, workers, out,
                    dpi) -> None:
    """Compare architectures: run every SCENARIO (files or built-in names; the first is the
    baseline) on the same seed and replications (common random numbers), store the JSON results
    and timelines in DIR, and write DIR/report.html (self-contained), DIR/report.md and
    DIR/figures/*.png|svg from them. Re-draw later with `sim report DIR`."""
    # imported here, not at the top: the plotting stack is slow to import (see the module docstring)
    from sim.report.collect import COMPARISON_KIND, default_comparison_dir, store_comparison
    from sim.report.compare import build_compare_report
    from sim.report.output import ReportError

    if len(scenarios) < 2:
        raise InputError("give at least two scenarios to compare (for one: `sim run SCENARIO --plot DIR`)")
    shortcuts = collect_overrides(overrides, replications, horizon, seed)
    resolved = [load_scenario(s, shortcuts, redundancy) for s in scenarios]
    # common random numbers: one seed and one number of replications for all (default: the baseline's)
    reps = resolved[0].replications if replications is None else replications
    root_seed = resolved[0].seed if seed is None else seed
    resolved = [dataclasses.replace(s, replications=reps, seed=root_seed) for s in resolved]
    folder = Path(out) if out else default_comparison_dir(resolved, reps, root_seed)
    try:
        _prepare_out(folder, COMPARISON_KIND)
    except ReportError as err:
        raise InputError(f"--out {folder}: {err}") from None
    for s in resolved:
        click.echo(describe(s))
    command = _command_line("compare", scenarios, overrides, redundancy, replications, horizon, seed)
    try:
        store_comparison(resolved, folder, reps, root_seed, workers, command, echo=click.echo)
    except OSError as err:
        raise InputError(f"--out {folder}: cannot write: {err.strerror}") from None
    _echo_files(build_compare_report(folder, dpi))


def _command_line(name: str, scenarios: tuple[str, ...], overrides: tuple[str, ...], redundancy: int | None,
                  replications: int | None, horizon: str | None, seed: int | None) -> str:
    """The command that reproduces this comparison (for the report)."""
    parts = ["sim", name, *scenarios]
    parts += [x for o in overrides for x in ("--set", o)]
    for option, value in (("--redundancy", redundancy), ("--replications", replications),
                          ("--horizon", horizon), ("--seed", seed)):
        if value is not None:
            parts += [option, str(value)]
    return shlex.join(parts)


@click.command("report")
@click.argument("folder", type=click.Path(exists=True, file_okay=False), metavar="DIR")
@click.option("--objective", default=None, metavar="CONDITION",
              help='Sweeps: what the cost frontier must meet, e.g. "lost_fraction<0.001" or '
                   '"lost_fraction<0.001 and latency_p95_s<2" (on each point\'s mean; '
                   "default: lost_fraction<0.001).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Sweeps: a metric to draw against the swept keys (repeatable; default: the main ones).")
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="OUT",
              help="Sweeps: where to write the report (default: DIR/report).")
@dpi_option
@reports_input_errors
def report_command(folder, objective, metrics, out, dpi) -> None:
    """Re-draw a report from stored results, without simulating: a comparison folder (from `sim
    compare`), a `sim run --plot` folder, or a sweep folder (from `sim sweep`: metrics against
    each swept key, heatmaps and a cost frontier, written to DIR/report)."""
    from sim.report import build_report
    from sim.report.output import ReportError

    try:
        files = build_report(Path(folder), objective=objective, metrics=metrics,
                             out=Path(out) if out else None, dpi=dpi)
    except ReportError as err:
        raise InputError(str(err)) from None
    _echo_files(files)


# -- `sim run --plot DIR` ---------------------------------------------------------------------

plot_option = click.option(
    "--plot", "plot_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
    help="Also store the result and one representative replication's timeline in DIR and draw a "
         "timeline and a summary figure there (PNG + SVG, and report.html/report.md).",
)


def write_run_plots(result: RunResult, plot_dir: str, echo: Callable[[str], None] = click.echo) -> None:
    """Store a ``sim run`` result (a :class:`sim.experiment.RunResult`) in ``plot_dir`` and draw it."""
    from sim.report.collect import store_run
    from sim.report.single import build_run_report

    try:
        store_run(result, Path(plot_dir))
    except OSError as err:
        raise InputError(f"--plot {plot_dir}: cannot write: {err.strerror}") from None
    files = build_run_report(Path(plot_dir))
    echo(f"wrote {len([p for p in files.figures if p.suffix == '.png'])} figures (PNG + SVG) and "
         f"report.html in {plot_dir}")
