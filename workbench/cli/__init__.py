"""The `workbench` command: a thin layer over the library.

Each area's commands live in a module of this package (data, engine, analysis, report,
collect) so the layer stays small per file; progress bars and printing live here only.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from workbench import __version__
from workbench.cli._errors import cli_words, debug, is_user_error, one_line, show_warning

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


DEPRECATED_FLAGS: dict[str, dict[str, str]] = {
    "simulate": {"--bootstrap": "--n-boot", "--param": "--params"},
    "fit": {"--bootstrap": "--n-boot", "--alpha": "--confidence"},
    "exchange": {"--kind": "--bins", "--alpha": "--confidence"},
    "bins": {"--kind": "--bins"},
    "optimize": {"--bootstrap": "--n-boot"},
    "plan": {"--bootstrap": "--n-boot"},
    "demo": {"--bootstrap": "--n-boot"},
    "report": {"--bootstrap": "--n-boot"},
}
"""Old spellings still accepted (hidden from --help, with a warning): command -> old -> new."""


def upgrade_flags(args: list[str]) -> list[str]:
    """`args` with deprecated flag spellings replaced (`--alpha A` becomes `--confidence 1-A`);
    each replacement prints a one-line warning on stderr.

    >>> upgrade_flags(["fit", "RUN", "--alpha", "0.1", "--bootstrap=50"])
    ['fit', 'RUN', '--confidence', '0.9', '--n-boot=50']
    """
    command = next((a for a in args if not a.startswith("-")), None)
    table = DEPRECATED_FLAGS.get(command or "", {})
    out: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--":
            out += [arg, *it]
            break
        old, eq, value = arg.partition("=")
        new = table.get(old)
        if new is None:
            out.append(arg)
            continue
        click.echo(f"warning: {old} is deprecated; use {new}", err=True)
        if old == "--alpha":
            value = value if eq else next(it, "")
            try:
                value = f"{1 - float(value):g}"
            except ValueError:
                pass  # click names --confidence's bad value
            out += [new, value]
        else:
            out.append(f"{new}={value}" if eq else new)
    return out


def main() -> None:
    """Entry point: a user's mistake (a bad option, a library error) becomes one line on stderr
    and exit status 2, never a traceback; `WORKBENCH_DEBUG=1` shows the traceback."""
    with warnings.catch_warnings():  # restores Python's showwarning when main returns
        warnings.showwarning = show_warning
        _main()


def _main() -> None:
    try:
        cli.main(upgrade_flags(sys.argv[1:]), prog_name="workbench", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        from workbench.cli._common import interrupted

        line, status = interrupted()
        click.echo(line, err=True)
        sys.exit(status)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `workbench`: the help text
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {cli_words(exc.format_message())}{where}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug() or not is_user_error(exc):
            raise
        click.echo(one_line(exc), err=True)
        sys.exit(2)
