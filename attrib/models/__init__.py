"""Model registry: one contract (``AttributionModel``), looked up by name.

Data-driven models are registered by import path so that listing models stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from typing import Any

from attrib.errors import UsageError
from attrib.models.base import AttributionModel

_REGISTRY: dict[str, str] = {
    "first_touch": "attrib.models.heuristic:FirstTouchAttribution",
    "last_touch": "attrib.models.heuristic:LastTouchAttribution",
    "last_non_direct": "attrib.models.heuristic:LastNonDirectAttribution",
    "linear": "attrib.models.heuristic:LinearAttribution",
    "time_decay": "attrib.models.heuristic:TimeDecayAttribution",
    "position_based": "attrib.models.heuristic:PositionBasedAttribution",
    "w_shaped": "attrib.models.heuristic:WShapedAttribution",
    "full_path": "attrib.models.heuristic:FullPathAttribution",
    "markov": "attrib.models.markov:MarkovAttribution",
    "shapley": "attrib.models.shapley:ShapleyAttribution",
}


def _available() -> list[str]:
    names = []
    for name, target in _REGISTRY.items():
        module = target.split(":")[0]
        if importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def model_names() -> list[str]:
    """Names of every registered model, in the order they are documented."""
    return _available()


def model_class(name: str) -> type[AttributionModel]:
    """The class registered under ``name`` (UsageError listing the choices if unknown)."""
    if name not in _REGISTRY or name not in _available():
        check_names([name])  # the UsageError, with a did-you-mean as `run --models` gives
    module, attr = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), attr)


def check_names(names: Iterable[str]) -> None:
    """UsageError for the first unknown model name, without importing any model: a run
    checks ``--models`` before it reads its inputs."""
    import difflib

    known = model_names()
    for name in names:
        if not isinstance(name, str):
            raise UsageError(
                f"a model name must be text, got {name!r}",
                hint=f"choose from: {', '.join(known)}",
            )
        if name not in known:
            close = difflib.get_close_matches(name.lower(), known, n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError(
                f"unknown model {name!r}", hint=f"{guess}choose from: {', '.join(known)}"
            )


def import_models(names: Iterable[str]) -> None:
    """Import the modules of the known models among ``names`` (unknown names are left for
    ``model_class`` to report): run in a worker thread while the inputs are read, the
    Markov/Shapley modules' imports (scipy.sparse, ~0.3 s) leave the critical path."""
    for name in names:
        if name in _REGISTRY:
            importlib.import_module(_REGISTRY[name].split(":")[0])


def get_model(name: str, **params: Any) -> AttributionModel:
    """Instantiate a model by name with its parameters."""
    return model_class(name)(**params)
