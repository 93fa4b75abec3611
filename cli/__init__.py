"""The ``attrib`` command line: the click app is ``cli.main``; this package's ``main`` is the
console script's entry point."""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def main() -> None:  # pragma: no cover - console entry point
    """The ``attrib`` console script: imports the CLI, then runs it (``cli.main.main``).

    The import is where the first ~50 ms of a command go (click and the command modules);
    a Ctrl-C there exits 130 with "interrupted", as one during the command does, not with
    a traceback. (One during the interpreter's own start, before this runs, cannot be
    caught.)
    """
    try:
        from cli.main import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run_cli()
