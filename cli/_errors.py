"""Turn attrib errors into a one-screen message and a distinct exit code (never a traceback)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from attrib.errors import EXIT_INTERNAL, AttribError

#: stdout's reader went away: the shell's code for a process ended by SIGPIPE
EXIT_BROKEN_PIPE = 141


def exit_broken_pipe() -> NoReturn:
    """The reader of stdout stopped (``attrib models | head -1``): exit 141, nothing to report.
    stdout goes to /dev/null first, so that the exit's own flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_BROKEN_PIPE)


@contextmanager
def handle_errors(*, json_output: bool = False) -> Iterator[None]:
    """Map AttribError to its exit code; anything else is an internal bug (exit 5)."""
    try:
        yield
    except AttribError as exc:
        if json_output:
            import json

            click.echo(json.dumps({"ok": False, **exc.to_dict()}))
        label = type(exc).__name__.removesuffix("Error") or "Error"
        click.secho(f"{label} error: {exc.render()}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.secho("interrupted", fg="red", err=True)
        sys.exit(130)
    except BrokenPipeError:  # the reader stopped (attrib models | head): nothing to report
        exit_broken_pipe()
    except Exception as exc:
        if os.environ.get("ATTRIB_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        click.secho(
            f"Internal error: {type(exc).__name__}: {exc}\n"
            "  this is a bug in attrib; rerun with ATTRIB_DEBUG=1 for the traceback and report it",
            fg="red",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
