"""The Spark engine's session: the one a run uses (given, active or new), what it says of
itself (its master, its default parallelism), and Spark's failures turned into attrib's errors.
pyspark is imported only inside functions, so importing this module does not import it."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlparse

from attrib.errors import AttribError, ComputationError, InputError, UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")


def spark_session(spark: SparkSession | None = None, master: str | None = None) -> SparkSession:
    """The session to use: the one given, the active one, or a new one on ``master``.

    A new local session runs its Python workers on this interpreter and gets small-data
    settings (few shuffle partitions, no UI, Arrow on, UTC session time zone).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError(
            "the Spark engine needs pyspark, which is not installed",
            hint="pip install 'attrib[spark]' (and Java 17+ for a local Spark)",
        ) from None
    if spark is not None:
        return spark
    active = SparkSession.getActiveSession()
    if active is not None:  # (one per JVM: the builder would return it, its settings changed)
        return active
    master = master or _submitted_master() or "local[*]"
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("attrib")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "8").config(
            "spark.driver.memory", os.environ.get("ATTRIB_SPARK_DRIVER_MEMORY", "4g")
        )
        logging = Path(__file__).with_name("spark-log4j2.properties")
        if not os.environ.get("ATTRIB_DEBUG") and logging.is_file():  # (the JVM starts here)
            builder = builder.config(
                "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={logging.as_uri()}"
            )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing, bad master URL, port clash ...
        raise UsageError(
            f"cannot start Spark on {master!r}: {str(exc).strip().splitlines()[0][:300]}",
            hint="check that Java 17+ is installed (java -version, JAVA_HOME) and the master URL",
        ) from None
    # a failed task's ERROR lines carry Java stack traces: on a local session the run's own
    # error says what failed (ATTRIB_DEBUG=1 keeps them); a cluster's logs keep them
    quiet = master.startswith("local") and not os.environ.get("ATTRIB_DEBUG")
    session.sparkContext.setLogLevel("FATAL" if quiet else "ERROR")
    return session


def _submitted_master() -> str | None:
    """The master spark-submit gave (``--master yarn``), when this driver was launched by it
    (its JVM is running: ``PYSPARK_GATEWAY_PORT``), else None. A new session's builder
    would otherwise set ``local[*]`` over it: the job ran on the driver alone."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # (reading SparkConf would start a JVM)
        return None
    try:
        from pyspark import SparkConf, SparkContext

        SparkContext._ensure_initialized()  # (connects to spark-submit's JVM)
        return SparkConf(_jvm=SparkContext._jvm).get("spark.master", None)
    except Exception:  # (no gateway after all: a new local session)
        return None


@contextmanager
def utc_session(spark: SparkSession) -> Iterator[None]:
    """The session's time zone set to UTC for a run, then set back: Spark reads the deals'
    and stages' naive UTC times shipped from the driver as wall-clock times of the session's
    zone, so a session in America/Los_Angeles moved every close by 8 hours (a given or active
    session: a new one is UTC already)."""
    key = "spark.sql.session.timeZone"
    before = _spark_call("reading the session's time zone", lambda: spark.conf.get(key, None))
    if before == "UTC":
        yield
        return
    _spark_call("setting the session's time zone", lambda: spark.conf.set(key, "UTC"))
    try:
        yield
    finally:
        if before is None:
            _spark_call("setting the session's time zone back", lambda: spark.conf.unset(key))
        else:
            _spark_call("setting the session's time zone back", lambda: spark.conf.set(key, before))


def _spark_call(what: str, fn: Callable[[], T]) -> T:
    """Run one Spark action; translate Spark/Py4J failures into attrib's ComputationError."""
    try:
        return fn()
    except AttribError:
        raise
    except Exception as exc:
        from pyspark.errors import PySparkException

        try:
            from py4j.protocol import Py4JError
        except ImportError:  # pragma: no cover - py4j ships with pyspark
            Py4JError = RuntimeError
        if not isinstance(exc, PySparkException | Py4JError):
            raise
        if "TIMESTAMP(NANOS" in str(exc):
            raise InputError(
                f"Spark cannot read nanosecond Parquet timestamps (while {what})",
                hint="write them in microseconds: pandas df.to_parquet(..., "
                "coerce_timestamps='us'), polars .cast(pl.Datetime('us'))",
            ) from None
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        if missing := re.search(
            r"\[PATH_NOT_FOUND\] Path does not exist: (.+?)\.?(?: SQLSTATE|$)", str(exc)
        ):
            # (a path the local reader cannot see is handed to Spark: it may be on the
            # cluster's default file system; not found there either, it is the input's error)
            raise InputError(
                f"file not found (while {what})",
                file=uri_path(missing.group(1)),
                hint="check the path; on a cluster, a path without a scheme (s3a://, dbfs:/)"
                " is on the cluster's default file system",
            ) from None
        if (
            damaged := re.search(
                r"\[FAILED_READ_FILE[.\w]*\] .*? reading file (\S+?)\.?\s", str(exc)
            )
        ) and (
            "EOFException" in str(exc) or "Unexpected end of input" in str(exc)
        ):  # (a file cut short: the local reader names it an input error too)
            raise InputError(
                f"the file ends before its data does (while {what}): cut short, as a"
                " truncated download or .gz",
                file=uri_path(damaged.group(1)),
                hint="export or download the file again",
            ) from None
        if any(  # (NDJSON read in FAILFAST mode: a broken line, a line of a string or NaN)
            f"[{kind}" in str(exc)
            for kind in ("MALFORMED_RECORD_IN_PARSING", "INVALID_JSON_RECORD_TYPE")
        ):
            causes = [ln for ln in lines if ln.startswith("Caused by:")]
            why = (causes[-1].split(": ", 2)[-1] if causes else lines[0]).split(": enable")[0]
            why = why[:300]  # (less Jackson's advice to enable its lenient reading)
            raise InputError(
                f"a line is not a JSON object (while {what}): {why}",
                hint="each line of an NDJSON file must be one JSON object, with numbers as"
                " numbers (no NaN); the local engine (no --engine spark) names the line",
            ) from None
        if "[CANNOT_MERGE_" in str(exc):  # (a URI's files: local ones are read by type)
            merge = [ln for ln in lines if "[CANNOT_MERGE_" in ln]
            raise InputError(
                f"Spark cannot read one column with two types (while {what}): the files'"
                f" column types differ: {merge[-1].split('] ', 1)[-1][:300]}",
                hint="write the column with one type in every file, or read the files from"
                " a local folder or glob: attrib then reads such a column as text in every"
                " file, as the local engines do",
            ) from None
        errors = [ln for ln in lines if "Error:" in ln or "Exception:" in ln]
        detail = (errors[-1] if errors else lines[0] if lines else type(exc).__name__)[:400]
        raise ComputationError(
            f"Spark failed while {what}: {detail}",
            hint="set ATTRIB_DEBUG=1 for the traceback; executors need attrib installed"
            " (pip install 'attrib[spark]' or --py-files, see docs/SPARK.md)",
        ) from exc


def uri_path(uri: str) -> str:
    """A local file's path from Spark's URI of it (``file:///a%20b/c.csv`` -> ``/a b/c.csv``),
    as the local engine names files; any other URI as it is."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


def _default_buckets(spark: SparkSession) -> int:
    try:
        return max(1, int(spark.sparkContext.defaultParallelism))
    except Exception:  # Spark Connect has no SparkContext
        return max(1, int(spark.conf.get("spark.sql.shuffle.partitions") or 8))


def _master(spark: SparkSession) -> str | None:
    try:
        return spark.sparkContext.master
    except Exception:
        return None
