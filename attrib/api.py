"""The Python API, mirroring the CLI: load -> build journeys -> attribute -> summarise.

Example::

    import attrib.api as at
    inputs = at.load_inputs("exports/")
    journeys = at.build_journeys(inputs.touches, inputs.deals, inputs.config, stages=inputs.stages)
    result = at.attribute(journeys, ["first_touch", "linear", "markov"])
    result.channel_summary
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attrib.adapters import event_log_tables
from attrib.config import RunConfig, config_from_mapping, load_config
from attrib.credit import Attribution
from attrib.encoded import Journeys
from attrib.errors import (
    AttribError,
    ChecksFailedError,
    ComputationError,
    ConfigError,
    InputError,
    OutputError,
    SchemaError,
    UsageError,
)
from attrib.inputs import Inputs, load_inputs
from attrib.journeys import build_journeys
from attrib.models import get_model, model_names
from attrib.run import RunResult, attribute, resolve_models, run, run_paths

if TYPE_CHECKING:  # imported on first use: see __getattr__
    from attrib.engines.local import run_bucketed
    from attrib.engines.spark import run_spark
    from attrib.metrics.plan import Plan, plan_from_inputs, plan_from_run
    from attrib.report import build_report

__all__ = [
    "AttribError",
    "Attribution",
    "ChecksFailedError",
    "ComputationError",
    "ConfigError",
    "InputError",
    "Inputs",
    "Journeys",
    "OutputError",
    "Plan",
    "RunConfig",
    "RunResult",
    "SchemaError",
    "UsageError",
    "attribute",
    "build_journeys",
    "build_report",
    "config_from_mapping",
    "event_log_tables",
    "get_model",
    "load_config",
    "load_inputs",
    "model_names",
    "plan_from_inputs",
    "plan_from_run",
    "resolve_models",
    "run",
    "run_bucketed",
    "run_paths",
    "run_spark",
]


def __getattr__(name: str) -> Any:
    """``build_report``, ``run_bucketed``, ``run_spark``, the plans and ``Plan``, imported on
    first use (the report and the other engines cost imports most callers never need;
    ``run_spark`` needs pyspark, the ``spark`` extra)."""
    if name == "build_report":
        from attrib.report import build_report

        return build_report
    if name == "run_bucketed":
        from attrib.engines.local import run_bucketed

        return run_bucketed
    if name == "run_spark":
        from attrib.engines.spark import run_spark

        return run_spark
    if name == "plan_from_run":
        from attrib.metrics.plan import plan_from_run

        return plan_from_run
    if name == "plan_from_inputs":
        from attrib.metrics.plan import plan_from_inputs

        return plan_from_inputs
    if name == "Plan":
        from attrib.metrics.plan import Plan

        return Plan
    raise AttributeError(f"module 'attrib.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    """What ``dir(attrib.api)`` lists: the module's names, the lazily imported ones included."""
    return sorted(set(globals()) | set(__all__))
