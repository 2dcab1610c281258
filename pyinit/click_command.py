"""The click command generated from `options.OPTIONS`: the authority for help, version and every
usage error. The only module that imports click."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from pyinit import __version__, exit_codes, options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

EPILOG = """\b
Examples:
  ENTRYPOINT ["pyinit", "--"]                  as a container's PID 1
  pyinit --grace-period 25s -- gunicorn app:app
  pyinit --stop-delay 5s --rewrite TERM:QUIT -- nginx -g 'daemon off;'
  pyinit --timeout 30m --report report.json -- pytest
  pyinit -p SIGTERM -- ./job                   stop gracefully if the parent dies
  PYINIT_GRACE_PERIOD=25s pyinit -- ./server

\b
Stop signals (TERM,INT unless --stop-signals) are forwarded and, by default,
never followed by a SIGKILL from pyinit: the runtime's own SIGKILL is the
backstop, as under tini. --timeout and processes left behind by the main
child get 10s, then SIGKILL. --grace-period sets one for every cause.
SIGQUIT is only forwarded (a JVM thread dump). Signals ignored when pyinit
started stay ignored for the command.

\b
Durations: 500ms, 2, 2s, 1.5m, 1h. Signals: TERM, SIGTERM, term, 15, RTMIN+1.
Every option can also be set as PYINIT_<NAME>, e.g. PYINIT_STOP_DELAY=5s;
the command line wins.

\b
Exit codes: the child's own code; 128+N if it was killed by signal N;
124 time limit reached; 125 pyinit failed; 126 cannot execute; 127 not found.
"""


class CommaSeparated(click.ParamType):  # type: ignore[type-arg]
    """A repeatable option whose PYINIT_* variable is a comma-separated list."""

    name = "text"
    envvar_list_splitter = ","


def parse_with_click(args: list[str], fail: Callable[[str], NoReturn]) -> options.Parsed:
    """Parse with click; help/version print and exit 0, errors go to `fail` as one line."""
    captured: list[options.Parsed] = []
    command = build_command(captured)
    try:
        command.main(args, prog_name="pyinit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        fail(" ".join(exc.format_message().split()))
    except click.exceptions.Abort:
        fail("aborted")
    if not captured:  # --help or --version ran and returned without invoking the callback
        sys.exit(exit_codes.SUCCESS)
    return captured[0]


def build_command(captured: list[options.Parsed]) -> click.Command:
    def callback(command: tuple[str, ...], **raw: object) -> None:
        context = click.get_current_context()
        given = {
            name
            for name in raw
            if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        }
        plain = {name: _plain(value) for name, value in raw.items()}
        options.drop_overridden(plain, given)
        captured.append((command, plain))

    params: list[click.Parameter] = [
        click.Argument(["command"], nargs=-1, required=True, type=click.UNPROCESSED)
    ]
    params.extend(_option(opt) for opt in options.OPTIONS)
    params.append(
        click.Option(
            ["--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_print_version,
            help="Show the version and exit.",
        )
    )
    return click.Command(
        "pyinit",
        callback=callback,
        params=params,
        help="Run COMMAND as the main child: forward signals to it, reap every zombie, and stop "
        "the whole process tree gracefully, with SIGKILL after a grace period where one applies.",
        epilog=EPILOG,
        context_settings={
            "help_option_names": ["-h", "--help"],
            "allow_interspersed_args": False,
            "max_content_width": 100,
        },
        options_metavar="[OPTIONS] [--]",
    )


def _option(opt: options.Option) -> click.Option:
    decls = [opt.long, *([opt.short] if opt.short else []), opt.name]
    if opt.kind == options.FLAG:
        return click.Option(
            decls, is_flag=True, default=None, help=opt.help, envvar=opt.env, show_envvar=True
        )
    if opt.kind == options.COUNT:
        return click.Option(decls, count=True, help=opt.help, envvar=opt.env, show_envvar=True)
    if opt.kind == options.MULTI:
        return click.Option(
            decls,
            multiple=True,
            type=CommaSeparated(),
            metavar=opt.metavar,
            help=opt.help,
            envvar=opt.env,
            show_envvar=True,
        )
    return click.Option(decls, metavar=opt.metavar, help=opt.help, envvar=opt.env, show_envvar=True)


def _print_version(ctx: click.Context, _param: click.Parameter, value: object) -> None:
    if value:
        click.echo(f"pyinit {__version__}")
        ctx.exit(exit_codes.SUCCESS)


def _plain(value: object) -> object:
    """click gives () for an absent repeatable option; the fast path gives nothing."""
    if isinstance(value, tuple):
        return list(value) or None
    return value
