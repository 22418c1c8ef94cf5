"""`workbench collect CONFIG`: generate and score a run against an OpenAI-compatible endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from workbench.cli._common import echo_json, json_option, progress_bar


class _Bars:
    """One tqdm bar per stage (rate and ETA from tqdm), created when the stage starts."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(stage)
        if bar is None:
            for other in self.bars.values():
                other.close()
            bar = progress_bar(total=total, initial=done, desc=stage, unit="req",
                               dynamic_ncols=True, smoothing=0.05, leave=True)
            self.bars[stage] = bar
            return
        bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


@click.command("collect")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the journals live (default: <out>.work). Rerun to resume.")
@click.option("--dry-run", is_flag=True, help="Validate the config, print the plan, send nothing.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@json_option(help="Print JSON (the plan with --dry-run; else the runs written and the counts); "
                  "no progress bars.")
def collect(config: Path, workdir: Path | None, dry_run: bool, quiet: bool,
            as_json: bool) -> None:
    """Sample, score and cache a run from an OpenAI-compatible endpoint (resumable).

    CONFIG is a TOML file (see `workbench/collect/config.py` and cached_runs/*/collect.toml).
    Interrupt at any time and rerun the same command to resume: finished requests are kept
    in the work directory's journals and never repeated. The result is a canonical run
    directory that `workbench ingest` reads.
    """
    from workbench.collect import collect as run_collection
    from workbench.collect import load_config, plan

    cfg = load_config(config)
    if workdir is not None:
        from dataclasses import replace

        cfg = replace(cfg, workdir=str(workdir))
    if dry_run and as_json:
        echo_json({"config": str(config), "valid": True, "fingerprint": cfg.fingerprint(),
                   "stages": [{"name": s.name, "units": s.total} for s in plan(cfg)],
                   "workdir": str(cfg.workdir_path())})
        return
    if dry_run:
        click.echo(f"config {config}: valid (fingerprint {cfg.fingerprint()})")
        for stage in plan(cfg):
            size = "depends on earlier stages" if stage.total is None else f"{stage.total} units"
            click.echo(f"  {stage.name:<28} {size}")
        click.echo(f"work directory: {cfg.workdir_path()}")
        return
    bars = _Bars(enabled=not (quiet or as_json))
    try:
        result = run_collection(cfg, progress=bars)
    finally:
        bars.close()
    if as_json:
        echo_json({"runs": [{"run_id": r, "dir": str(p)}
                            for r, p in zip(result.run_ids, result.run_dirs, strict=True)],
                   "new_units": result.new_units, "requests": result.requests,
                   "retries": result.retries, "seconds": round(result.elapsed_s, 1),
                   "units": result.units, "judge_fallbacks": result.judge_fallbacks})
        return
    for run_id, path in zip(result.run_ids, result.run_dirs, strict=True):
        click.echo(f"wrote run {run_id} -> {path}")
    click.echo(
        f"{result.new_units} new units, {result.requests} requests, {result.retries} retries, "
        f"{result.elapsed_s:.1f} s; journals: {json.dumps(result.units)}"
    )
    if result.judge_fallbacks:
        click.echo(f"note: {result.judge_fallbacks} judge scores had neither yes nor no in the "
                   "top logprobs (scored 0.5)")


COMMANDS = [collect]
