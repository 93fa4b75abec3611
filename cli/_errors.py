"""Turn attrib errors into a one-screen message and a distinct exit code (never a traceback)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from attrib.errors import EXIT_INTERNAL, AttribError, ComputationError, OutputError
from cli import EXIT_INTERRUPTED

#: stdout's reader went away: the shell's code for a process ended by SIGPIPE
EXIT_BROKEN_PIPE = 141
#: what an internal error (exit 5) asks of the user, on stderr and in its JSON document
INTERNAL_HINT = "this is a bug in attrib; rerun with ATTRIB_DEBUG=1 for the traceback and report it"
#: what running out of memory (exit 3) suggests
MEMORY_HINT = (
    "the input or arguments need more memory than this machine has: `attrib run` can run out "
    "of core (--memory-limit 4GB) or on Spark (--engine spark); `attrib generate` takes fewer "
    "--customers"
)


def _save_traceback() -> str | None:
    """Write the exception being handled, with its traceback, to a file of its own in the
    temp folder and return its path (None if it cannot be written): a rare error (a race)
    may not come back when rerun with ATTRIB_DEBUG=1."""
    import tempfile

    try:
        fd, path = tempfile.mkstemp(prefix="attrib-internal-error-", suffix=".txt")
        with os.fdopen(fd, "w") as fh:
            fh.write(f"attrib {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}")
    except OSError:
        return None
    return path


def exit_broken_pipe() -> NoReturn:
    """The reader of stdout stopped (``attrib models | head -1``): exit 141, nothing to report.
    stdout goes to /dev/null first, so that the exit's own flush cannot fail again."""
    _quiet_stdout()
    sys.exit(EXIT_BROKEN_PIPE)


#: a write the machine refused for want of room (a full disk, a quota): an output error
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def no_room_error(exc: OSError) -> OutputError | None:
    """The output error (exit 4) of a write refused for want of room, else None: stdout
    redirected to a full disk (``attrib models >/dev/full``) was an internal error."""
    if exc.errno not in _NO_ROOM:
        return None
    return OutputError(
        f"cannot write the output: {exc.strerror or exc}",
        hint="free space on the disk that stdout (or --out) writes to",
    )


def exit_without_room(exc: OSError) -> NoReturn:
    """Exit 4 for a write refused for want of room (click's own ``--help`` into a full
    disk); any other OSError is raised on as it came."""
    if (full := no_room_error(exc)) is None:
        raise exc
    _exit_no_room(full)


def _exit_no_room(full: OutputError) -> NoReturn:
    """Exit with ``full`` (``no_room_error``), stdout quieted first: its disk may be the
    full one, so no JSON document is tried."""
    _quiet_stdout()
    _exit_with(full, json_output=False)


@contextmanager
def handle_errors(*, json_output: bool = False) -> Iterator[None]:
    """Map AttribError to its exit code; anything else is an internal bug (exit 5)."""
    try:
        yield
        sys.stdout.flush()  # (a full disk fails here, not in the exit's flush: a traceback)
    except AttribError as exc:
        _exit_with(exc, json_output)
    except MemoryError as exc:  # too large an input or argument for this machine, not a bug
        why = str(exc).strip() or "an allocation failed"
        _exit_with(ComputationError(f"out of memory: {why}", hint=MEMORY_HINT), json_output)
    except KeyboardInterrupt:
        click.secho("interrupted", fg="red", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # the reader stopped (attrib models | head): nothing to report
        exit_broken_pipe()
    except OSError as exc:
        if (full := no_room_error(exc)) is None:
            _exit_internal(exc, json_output)
        _exit_no_room(full)
    except Exception as exc:
        _exit_internal(exc, json_output)
    except BaseException as exc:
        # a panic in Rust code (Polars' PanicException) derives from BaseException only
        if type(exc).__name__ != "PanicException":
            raise
        _exit_internal(exc, json_output)


def _exit_internal(exc: BaseException, json_output: bool) -> NoReturn:
    """Report an internal error (a bug, exit 5): its traceback saved to a file, on stderr
    only with ATTRIB_DEBUG=1."""
    if os.environ.get("ATTRIB_DEBUG", "") not in ("", "0"):
        traceback.print_exc()
    message = f"{type(exc).__name__}: {exc}"
    saved = _save_traceback()
    hint = INTERNAL_HINT + (f" (the traceback is in {saved})" if saved else "")
    say_while_failing(f"Internal error: {message}\n  {hint}", err=True, color="red")
    if json_output:  # in the keys of every other error's document
        say_while_failing(json.dumps({"ok": False, **_internal_error(message, hint)}), err=False)
    sys.exit(EXIT_INTERNAL)


def say_while_failing(text: str, *, err: bool, color: str | None = None) -> None:
    """Write an error's report, which nothing may stop: a stream whose reader quit or whose
    disk is full (``>/dev/full``) or that is closed (``2>&-``) loses the text, and the exit
    keeps the error's own code (a failed write raised from here was a traceback, exit 1)."""
    try:
        click.secho(text, fg=color, err=err)
    except (OSError, ValueError, AttributeError):  # (closed: None, or a closed file)
        if not err:  # stdout: the exit's own flush must not fail again
            _quiet_stdout()


def flush_or_drop_stderr() -> None:
    """Flush stderr before the process exits; one that takes nothing more (a full disk,
    ``2>/dev/full``) is pointed at /dev/null, or the interpreter's own last flush failed and
    turned the command's exit code into 120. (Its progress lines and warnings are lost; the
    manifest keeps the warnings.)"""
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stderr.fileno())


def _quiet_stdout() -> None:
    """Point stdout at /dev/null (its reader went away, or its disk is full)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _exit_with(exc: AttribError, json_output: bool) -> NoReturn:
    """Report an attrib error (and its JSON document) and exit with its code. The message
    goes to stderr first: a JSON reader that quit must not take it along."""
    say_while_failing(f"{exc.label()}: {exc.render()}", err=True, color="red")
    if json_output:
        say_while_failing(json.dumps({"ok": False, **exc.to_dict()}, default=str), err=False)
    sys.exit(exc.exit_code)


def _internal_error(message: str, hint: str = INTERNAL_HINT) -> dict[str, object]:
    """An internal error (a bug, exit 5) in the keys of ``AttribError.to_dict``."""
    return {
        "error": "InternalError",
        "message": message,
        "file": None,
        "row": None,
        "column": None,
        "hint": hint,
        "exit_code": EXIT_INTERNAL,
    }
