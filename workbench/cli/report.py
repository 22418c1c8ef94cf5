"""Report commands: `workbench demo` (the main command) and `workbench report RUN`.

A thin layer over `workbench.report`: parse options, open the store, run the analysis with a
progress bar (stderr, only on a terminal), write the HTML report (and chart images), print a
short summary with the file path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from workbench.cli._common import echo_json, json_option, open_store, progress_bar, store_option

if TYPE_CHECKING:  # the report stack (altair, scipy) is imported inside the commands
    from workbench.analysis.settings import Settings
    from workbench.report.html import Report
    from workbench.store import RunStore

DEMO_OUT = Path("reports") / "demo.html"


@contextmanager
def _progress(desc: str, total: int) -> Iterator[Callable[[str], None]]:
    """A step bar on stderr: each call names the step starting; the total grows if needed."""
    with progress_bar(total=total, desc=desc, unit="step",
                      bar_format="{desc}: {n_fmt}/{total_fmt} [{elapsed}] {postfix}") as bar:
        first = [True]

        def step(text: str) -> None:
            if not first[0]:
                bar.update()
            first[0] = False
            if bar.n >= bar.total:
                bar.total = bar.n + 1
            bar.set_postfix_str(text)

        yield step
        bar.update(bar.total - bar.n)


def _settings(seed: int, bootstrap: int | None, quick: bool) -> Settings:
    from workbench.analysis.settings import Settings

    settings = Settings.quick(seed) if quick else Settings(seed=seed)
    if bootstrap is not None:
        if bootstrap < 100:
            raise click.BadParameter("must be at least 100", param_hint="--n-boot")
        settings = replace(settings, n_boot=bootstrap, policy_boot=max(100, bootstrap // 2))
    return settings


def _open_store(path: Path | None, own_runs: Path | None) -> RunStore:
    """Read-only when the store already holds everything (other readers may be open);
    read-write only when something has to be ingested."""
    from workbench.analysis.ingest import missing_runs
    from workbench.store import default_store_path

    if (path or default_store_path()).exists():
        store = open_store(path)
        if not any(missing_runs(store, own_runs=own_runs)):
            return store
        store.close()
    return open_store(path, read_only=False)


def _write(report: Report, out: Path, png: bool, svg: bool) -> list[Path]:
    report.write(out)
    images: list[Path] = []
    folder = out.with_name(out.stem + "_charts")
    for fmt, wanted in (("png", png), ("svg", svg)):
        if wanted:
            images += report.export_images(folder, fmt=fmt)
    return images


def _report_options(f: Callable[..., object]) -> Callable[..., object]:
    for opt in reversed([
        store_option,
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Root seed of every random step (results are reproducible)."),
        click.option("--n-boot", "bootstrap", type=int, default=None,
                     help="Bootstrap resamples per curve (default 2000; --quick 200)."),
        click.option("--quick", is_flag=True,
                     help="Small bootstrap and Monte-Carlo sizes: a fast preview."),
        click.option("--png", is_flag=True, help="Also write every chart as PNG (vl-convert)."),
        click.option("--svg", is_flag=True, help="Also write every chart as SVG (vl-convert)."),
        json_option(help="Print a JSON summary (report path, charts, images, notes) instead of "
                         "text."),
    ]):
        f = opt(f)
    return f


@click.command("demo")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEMO_OUT,
              show_default=True, help="Where to write the HTML report.")
@_report_options
def demo(out: Path, store_path: Path | None, seed: int, bootstrap: int | None, quick: bool,
         png: bool, svg: bool, as_json: bool) -> None:
    """The main job on the default real data, in one command.

    Ingests the registered datasets (and this project's own runs under cached_runs/) if the
    store lacks them, runs the paper-style analysis (strategy curves with CIs, difficulty bins,
    per-bin compute-optimal policy, efficiency ratios, exchange table, a budget plan, scaling
    laws checked on held-out data), writes a self-contained HTML report and prints a summary.

    \b
    Examples:
      workbench demo
      workbench demo --quick --out /tmp/demo.html
      WORKBENCH_DATA_MIRROR=/path/to/mirror workbench demo --png
    """
    from workbench.analysis.demo import DEMO_STEPS, run_demo
    from workbench.analysis.ingest import OWN_RUNS_DIR, own_run_dirs
    from workbench.report.render import demo_report

    settings = _settings(seed, bootstrap, quick)
    start = time.perf_counter()
    with _open_store(store_path, OWN_RUNS_DIR) as store:
        with _progress("demo", DEMO_STEPS + len(own_run_dirs())) as step:
            result = run_demo(store, settings, progress=step)
            step("write the report")
            report = demo_report(result)
            images = _write(report, out, png, svg)
    if as_json:
        echo_json({"report": str(out), "charts": len(report.charts),
                   "images": [str(p) for p in images], "store": result.store_path,
                   "created": list(result.created), "summary": result.summary(),
                   "seconds": round(time.perf_counter() - start, 1)})
        return
    click.echo("workbench demo: test-time compute on cached real generations")
    if result.created:
        click.echo(f"ingested {len(result.created)} run(s) into {result.store_path}")
    for line in result.summary():
        click.echo(f"  - {line}")
    click.echo(f"report: {out} ({len(report.charts)} charts; opens offline)")
    if images:
        click.echo(f"images: {len(images)} files in {images[0].parent}")
    click.echo(f"took {time.perf_counter() - start:.0f} s")


@click.command("report")
@click.argument("run_id", metavar="RUN")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the HTML report (default: reports/<run id>.html).")
@click.option("--examples/--no-examples", default=None,
              help="Quote example generations (default: only for runs that are not "
                   "third-party registered data).")
@_report_options
def report(run_id: str, out: Path | None, examples: bool | None, store_path: Path | None,
           seed: int, bootstrap: int | None, quick: bool, png: bool, svg: bool,
           as_json: bool) -> None:
    """A self-contained HTML report on one stored run.

    Data summary and provenance, difficulty bins, accuracy-vs-budget curves per strategy with
    CIs, per-bin curves, the compute-optimal policy with efficiency ratios, budget plans,
    scaling-law fits, the exchange with a larger model when the store has one, and (for runs
    that are not third-party data) a few example generations, escaped.

    \b
    Examples:
      workbench report qwen25-math-rm/math-cot-100
      workbench report tot-game24/gpt-4-cot --out reports/game24.html --png
    """
    from workbench.analysis.pipeline import analyse_run
    from workbench.report.render import run_report

    settings = _settings(seed, bootstrap, quick)
    target = out or Path("reports") / (run_id.replace("/", "__") + ".html")
    start = time.perf_counter()
    with open_store(store_path) as store:
        with _progress("report", 9) as step:
            analysis = analyse_run(store, run_id, settings, show_examples=examples,
                                   progress=step)
            step("write the report")
            rep = run_report(analysis, seconds=time.perf_counter() - start)
            images = _write(rep, target, png, svg)
    if as_json:
        echo_json({"run": run_id, "report": str(target), "charts": len(rep.charts),
                   "images": [str(p) for p in images], "notes": list(analysis.notes),
                   "seconds": round(time.perf_counter() - start, 1)})
        return
    click.echo(f"report: {target} ({len(rep.charts)} charts; opens offline)")
    if images:
        click.echo(f"images: {len(images)} files in {images[0].parent}")
    if analysis.notes:
        click.echo(f"{len(analysis.notes)} note(s) and caveats are listed in the report")


COMMANDS: list[click.Command] = [demo, report]
