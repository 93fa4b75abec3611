"""How a run reports its progress: stages with counts. The CLI plugs in a rich display."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Reporter:
    """Collects stage timings; subclasses also show them (terminal, log lines)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        """Time one stage of the run."""
        self.started(name, detail)
        t0 = time.perf_counter()
        failed = False
        try:
            yield
        except BaseException:  # (sys.exc_info() would also see an error the caller handles)
            failed = True
            raise
        finally:
            elapsed = time.perf_counter() - t0
            self.add_time(name, elapsed)
            self.finished(name, elapsed, failed=failed)

    def add_time(self, name: str, seconds: float) -> None:
        """Count ``seconds`` towards ``name`` (for work timed without a display, e.g. in a
        worker thread beside other stages)."""
        self.timings[name] = self.timings.get(name, 0.0) + seconds

    def started(self, name: str, detail: str) -> None:
        """Hook: a stage began."""

    def finished(self, name: str, seconds: float, *, failed: bool = False) -> None:
        """Hook: a stage ended (``failed``: by an exception, which the caller reports)."""

    def note(self, message: str) -> None:
        """Hook: a counted fact worth telling (rows read, rows rejected, ...)."""

    def warn(self, message: str) -> None:
        """A fact about the data the user should look at (kept for the manifest)."""
        self.warnings.append(message)
