"""The `workbench` command: a thin layer over the library.

Each area's commands live in a module of this package (data, engine, analysis, report,
collect) so the layer stays small per file; progress bars and printing live here only.
"""

from __future__ import annotations

import importlib
import sys

import click

from workbench import __version__
from workbench.errors import WorkbenchError

# modules of this package that define commands; each exposes `COMMANDS: list[click.Command]`
_COMMAND_MODULES = ("data", "engine", "analysis", "report", "collect", "twin")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="workbench")
def cli() -> None:
    """ttc-workbench: test-time compute analysis on cached real generations, offline.

    \b
    Start here:
      workbench demo                 ingest the real runs, analyse, write reports/demo.html
      workbench datasets list        the registered public datasets (licence, citation)
      workbench ingest --defaults    load every registered dataset into the store
      workbench runs                 what the store holds
      workbench simulate RUN ...     accuracy of a strategy at each budget, with CIs
    """


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"workbench.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"workbench.cli.{name}":
                continue  # area not built yet
            raise
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Entry point: library errors become one clear line on stderr and exit status 2."""
    try:
        cli.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        from workbench.cli._common import interrupted

        line, status = interrupted()
        click.echo(line, err=True)
        sys.exit(status)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except WorkbenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
