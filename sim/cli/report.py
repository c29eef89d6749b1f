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

from sim.cli.compare_text import comparison_text
from sim.cli.format import INTERRUPTED, header
from sim.cli.method import common_method, method_option, run_request
from sim.cli.options import (
    InputError,
    collect_overrides,
    replication_options,
    reports_input_errors,
    scenario_overrides,
)
from sim.cli.progress import scenarios_progress
from sim.cli.selection import run_selection, select_options
from sim.experiment.precision import percent
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.spec import Scenario

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


VARY_HELP = ("Compare variants of one SCENARIO: one per value, e.g. --vary redundancy=2,3 or --vary "
             "tiers.payment.mttr=15m,45m (repeatable: every combination; the first is the baseline).")
VARIANT_HELP = ('Add a variant of SCENARIO: overrides separated by ";", e.g. --variant '
                '"tiers.web.replicas=3" or --variant "redundancy=3; tiers.payment.mttr=15m" (repeatable; '
                "the scenario as it is comes first, as the baseline, unless --vary is given).")


def _split_override(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise InputError(f"{flag} {text!r}: expected KEY=VALUE, e.g. {flag} redundancy=3")
    return key.strip(), value.strip()


def variant_specs(vary: tuple[str, ...], variant: tuple[str, ...]) -> list[list[tuple[str, str]]]:
    """Each variant as its (key, value) overrides: the product of the --vary values (or the
    scenario unchanged), then every --variant."""
    specs: list[list[tuple[str, str]]] = [[]]
    for item in vary:
        key, values = _split_override(item, "--vary")
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if len(choices) < 1:
            raise InputError(f"--vary {item!r}: give values separated by commas, e.g. --vary redundancy=2,3")
        specs = [[*spec, (key, v)] for spec in specs for v in choices]
    for item in variant:
        pairs = [_split_override(part.strip(), "--variant") for part in item.split(";") if part.strip()]
        if not pairs:
            raise InputError(f"--variant {item!r}: expected KEY=VALUE[; KEY=VALUE...]")
        specs.append(pairs)
    return specs


def load_variants(name: str | None, specs: list[list[tuple[str, str]]], shortcuts: list[str],
                  redundancy: int | None, flags: dict[str, str]) -> list[Scenario]:
    """The scenario with each variant's overrides on top of the common ones, named
    "<name> key=value ..." (validated like --set; an error names the variant)."""
    out = []
    for spec in specs:
        sets = [f"{k}={v}" for k, v in spec if k != "redundancy"]
        level = next((v for k, v in spec if k == "redundancy"), None)
        text = " ".join(f"{k}={v}" for k, v in spec)
        try:
            if level is not None and not (level.isdigit() and int(level) >= 1):
                raise InputError(f"redundancy={level}: expected a whole number of replicas >= 1")
            scenario = load_scenario(name, [*shortcuts, *sets], int(level) if level else redundancy)
        except (ScenarioError, InputError) as err:
            flag = flags.get(text, "--variant")
            reason = err.message if isinstance(err, InputError) else err
            raise InputError(f"{flag} {text}: {reason}") from None
        out.append(dataclasses.replace(scenario, name=f"{scenario.name} {text}") if spec else scenario)
    return out


@click.command("compare")
@click.argument("scenarios", nargs=-1, required=False, metavar="SCENARIO...")
@click.option("--vary", multiple=True, metavar="KEY=V1,V2,...", help=VARY_HELP)
@click.option("--variant", multiple=True, metavar="KEY=VALUE[;...]", help=VARIANT_HELP)
@scenario_overrides
@replication_options
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Folder for the results and the report (default: results/compare-<names>-<hash>).")
@dpi_option
@method_option
@click.option("--precision", default=None, metavar="P|off",
              help="Run the baseline until the 95% interval of every target metric is within ±P of its "
                   "mean (e.g. 5%); the other scenarios then run the same replications (paired). Default: "
                   "10% within 60 s unless --replications is given; off: a fixed-size run.")
@click.option("--max-time", default=None, metavar="DURATION",
              help="Wall-clock limit of the baseline's precision-driven run, e.g. 60s or 2m (default: 60s "
                   "with the default precision).")
@click.option("--target", "targets", multiple=True, metavar="METRIC",
              help="A metric whose interval must reach the precision (repeatable; default: lost_checkouts "
                   "and unavailability).")
@select_options
@reports_input_errors
def compare_command(scenarios, vary, variant, overrides, redundancy, replications, horizon, seed, workers,
                    out, dpi, method, precision, max_time, targets, **selection) -> None:
    """Compare architectures: run every SCENARIO (files or built-in names; the first is the
    baseline), or variants of one SCENARIO (--vary, --variant), on the same seed and replications
    (common random numbers), print the key results and the paired differences against the
    baseline, store the JSON results and timelines in DIR, and write DIR/report.html
    (self-contained), DIR/report.md and DIR/figures/*.png|svg. Re-draw later with `sim report DIR`.

    --method windows stays paired: replication i of every scenario draws the same customers, and its
    infrastructure path is the same for every scenario with the same failure laws."""
    # imported here, not at the top: the plotting stack is slow to import (see the module docstring)
    from sim.report.collect import COMPARISON_KIND, default_comparison_dir, store_comparison
    from sim.report.compare import build_compare_report
    from sim.report.comparison import load_comparison
    from sim.report.output import ReportError

    request = run_request(precision, max_time, targets, replications, method)
    wanted = request.run_precision()
    quick = replications == 1
    shortcuts = collect_overrides(overrides, None if quick else replications, horizon, seed)
    if vary or variant:
        if len(scenarios) > 1:
            raise InputError("--vary/--variant make variants of one scenario; give one SCENARIO (or none: "
                             "baseline)")
        specs = variant_specs(vary, variant)
        varied = specs[:len(specs) - len(variant)]
        flags = {" ".join(f"{k}={v}" for k, v in spec): "--vary" for spec in varied}
        base_name = scenarios[0] if scenarios else None
        resolved = load_variants(base_name, specs, shortcuts, redundancy, flags)
        names = [base_name] * len(resolved)
        if len(resolved) < 2:
            raise InputError("--vary with one value and no --variant leaves nothing to compare; give two "
                             "values, e.g. --vary redundancy=2,3")
    else:
        if len(scenarios) < 2:
            raise InputError("give at least two scenarios to compare, or variants of one (--vary "
                             "redundancy=2,3; for one scenario alone: `sim run SCENARIO --plot DIR`)")
        resolved = [load_scenario(s, shortcuts, redundancy) for s in scenarios]
        names = list(scenarios)
    # common random numbers: one seed and one number of replications for all (default: the baseline's)
    reps = 1 if quick else resolved[0].replications if replications is None else replications
    root_seed = resolved[0].seed if seed is None else seed
    resolved = [dataclasses.replace(s, replications=reps, seed=root_seed) for s in resolved]
    if selection["select"]:  # KN++ decides how many replications each scenario needs
        run_selection([s.name for s in resolved], resolved, workers,
                      [header(name, s) for name, s in zip(names, resolved, strict=True)], **selection)
        return
    method, why = common_method(request.method, resolved)
    folder = Path(out) if out else default_comparison_dir(resolved, reps, root_seed, method=method,
                                                          precision=wanted)
    try:
        _prepare_out(folder, COMPARISON_KIND)
    except ReportError as err:
        raise InputError(f"--out {folder}: {err}") from None
    headers = [header(name, s) for name, s in zip(names, resolved, strict=True)]
    if request.driven:  # the baseline's replications are the first look, the others follow its final size
        headers = [h.replace(f", {reps} replications", f", replications from {reps} (precision-driven)", 1)
                   for h in headers]
    for text in headers:
        click.echo(text)
    click.echo(f"method {method} ({why})")
    if request.driven:
        click.echo(f"precision-driven (the baseline; the others on its replications): "
                   f"{request.describe(resolved[0])}")
        for line in request.dropped_lines(resolved[0]):
            click.echo(line)
    command = _command_line("compare", scenarios, overrides, redundancy, replications, horizon, seed,
                            vary, variant)
    for flag, value in (("--method", method),
                        ("--precision", precision), ("--max-time", max_time)):
        command += f" {flag} {shlex.quote(value)}" if value else ""
    command += "".join(f" --target {shlex.quote(t)}" for t in targets)
    progress, show = scenarios_progress(len(resolved), reps, workers, wanted.get("max_time"), request.driven)

    def echo(text: str) -> None:
        progress.clear()
        click.echo(text)

    try:
        with progress:
            store_comparison(resolved, folder, reps, root_seed, workers, command, echo=echo,
                             progress=show, headers=headers, method=method, precision=wanted)
    except KeyboardInterrupt:
        click.echo(f"interrupted: the comparison in {folder} is incomplete; run the same command again",
                   err=True)
        raise SystemExit(INTERRUPTED) from None
    except OSError as err:
        raise InputError(f"--out {folder}: cannot write: {err.strerror}") from None
    manifest, runs = load_comparison(folder)
    click.echo("\n" + comparison_text(manifest, runs, resolved[0].horizon_s))
    stopped = runs[0].result.get("precision")
    if stopped:
        click.echo("\n" + precision_summary(stopped, runs[0].result["replications"]))
    _echo_files(build_compare_report(folder, dpi))


def precision_summary(stored: dict, replications: int) -> str:
    """The baseline's precision-driven run as stored in its JSON: met or not, per target."""
    verdict = "target met" if stored["met"] else "TARGET NOT MET"
    lines = [f"precision (the baseline; every scenario ran its {replications} replications): {verdict}; "
             f"looks at {', '.join(str(n) for n in stored['looks'])}; stopped by {stored['stopped_by']}"]
    for t in stored["targets"]:
        achieved = "undefined" if t["rel_half_width"] is None else f"±{percent(t['rel_half_width'])}"
        lines.append(f"  {t['metric']}: {achieved}, target ±{percent(t['target'])}, "
                     f"{'met' if t['met'] else 'not met'}")
    lines += [f"  no {d['metric']} target: {d['reason']}" for d in stored.get("dropped") or ()]
    return "\n".join(lines)


def _command_line(name: str, scenarios: tuple[str, ...], overrides: tuple[str, ...], redundancy: int | None,
                  replications: int | None, horizon: str | None, seed: int | None,
                  vary: tuple[str, ...] = (), variant: tuple[str, ...] = ()) -> str:
    """The command that reproduces this comparison (for the report)."""
    parts = ["sim", name, *scenarios]
    parts += [x for v in vary for x in ("--vary", v)]
    parts += [x for v in variant for x in ("--variant", v)]
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
         "timeline and a summary figure there (PNG + SVG, and report.html/report.md). DIR must be new or "
         "empty unless --force.",
)
force_option = click.option("--force", is_flag=True, default=False,
                            help="Let --plot write into a folder that is not empty (overwriting its report).")


def write_run_plots(result: RunResult, plot_dir: str, echo: Callable[[str], None] = click.echo) -> None:
    """Store a ``sim run`` result (a :class:`sim.experiment.RunResult`) in ``plot_dir`` and draw it
    (the representative replication's timeline comes from ``result.timelines`` when recorded)."""
    from sim.report.collect import store_run
    from sim.report.single import build_run_report

    try:
        store_run(result, Path(plot_dir))
    except OSError as err:
        raise InputError(f"--plot {plot_dir}: cannot write: {err.strerror}") from None
    files = build_run_report(Path(plot_dir))
    echo(f"wrote {len([p for p in files.figures if p.suffix == '.png'])} figures (PNG + SVG) and "
         f"report.html in {plot_dir}")
