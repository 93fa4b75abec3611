"""Turn attrib errors into a one-screen message and a distinct exit code (never a traceback)."""

from __future__ import annotations

import json
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
#: what an internal error (exit 5) asks of the user, on stderr and in its JSON document
INTERNAL_HINT = "this is a bug in attrib; rerun with ATTRIB_DEBUG=1 for the traceback and report it"


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
        message = f"{type(exc).__name__}: {exc}"
        if json_output:  # in the keys of every other error's document
            click.echo(json.dumps({"ok": False, **_internal_error(message)}))
        click.secho(f"Internal error: {message}\n  {INTERNAL_HINT}", fg="red", err=True)
        sys.exit(EXIT_INTERNAL)


def _internal_error(message: str) -> dict[str, object]:
    """An internal error (a bug, exit 5) in the keys of ``AttribError.to_dict``."""
    return {
        "error": "InternalError",
        "message": message,
        "file": None,
        "row": None,
        "column": None,
        "hint": INTERNAL_HINT,
        "exit_code": EXIT_INTERNAL,
    }
