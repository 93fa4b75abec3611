"""The one exception hierarchy of attrib.

Every error a user can cause carries *what* was wrong, *where* (file, row, column) and a
*hint* on how to fix it. The CLI maps each family to its own exit code (see ``exit_code``).
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_INPUT = 2
EXIT_COMPUTATION = 3
EXIT_OUTPUT = 4
EXIT_INTERNAL = 5


class AttribError(Exception):
    """Base class of every attrib error; ``exit_code`` is what the CLI exits with."""

    exit_code: int = EXIT_INTERNAL

    @classmethod
    def label(cls) -> str:
        """What the CLI's message starts with: the class's name ("Input error")."""
        return f"{cls.__name__.removesuffix('Error') or 'Attrib'} error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self.render())

    def __str__(self) -> str:
        """``render()`` as the error stands now: a caller that adds the file it read (or
        a hint) after the error was raised changes what ``str(error)`` says too."""
        return self.render()

    def render(self) -> str:
        """The full user-facing message: location, what was wrong, and the hint."""
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly form (for ``--format json`` and the manifest)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class UsageError(AttribError, ValueError):
    """A bad argument or option value."""

    exit_code = EXIT_INPUT


class ConfigError(AttribError, ValueError):
    """The run configuration (TOML or options) is invalid."""

    exit_code = EXIT_INPUT


class InputError(AttribError, ValueError):
    """An input file is missing, unreadable or violates the data contract."""

    exit_code = EXIT_INPUT


class SchemaError(InputError):
    """A required column is missing or has a type that cannot be used."""


class ChecksFailedError(AttribError):
    """Rows were rejected and ``--strict`` asked for that to fail the run; ``details``
    (the rejections per table, ...) go into its JSON document beside the message, so that a
    CI job reading ``--format json`` sees what failed."""

    exit_code = EXIT_CHECKS_FAILED

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, object] | None = None,
        file: str | None = None,
        hint: str | None = None,
        quarantine: dict[str, Any] | None = None,
    ) -> None:
        self.details = dict(details or {})
        #: the rejected rows by table (polars frames with ``file, row, column, reason``): a
        #: Python caller with no ``out`` has no quarantine files to read them in
        self.quarantine = dict(quarantine or {})
        super().__init__(message, file=file, hint=hint)

    def to_dict(self) -> dict[str, object]:
        return {**self.details, **super().to_dict()}

    @classmethod
    def label(cls) -> str:
        return "Checks failed"  # (not "ChecksFailed error")


class ComputationError(AttribError, ArithmeticError):
    """A model or metric could not be computed from otherwise valid input."""

    exit_code = EXIT_COMPUTATION


class OutputError(AttribError, OSError):
    """An output could not be written; nothing already written was replaced."""

    exit_code = EXIT_OUTPUT
