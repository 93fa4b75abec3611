"""``attrib models`` and ``attrib explain MODEL``: the attribution models and their
definitions (the models package is imported only when a command runs).
"""

from __future__ import annotations

import json

import click

from cli._errors import handle_errors


def toml_value(value: object) -> str:
    """A default as the config writes it (``true``, ``"dalessandro"``, ``0.4``), so that a
    line of ``attrib explain`` pastes into ``[models.NAME]``; a parameter with no default
    reads ``(not set)``."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


@click.command()
def models() -> None:
    """List the attribution models and their parameters."""
    with handle_errors():
        from attrib.models import model_class, model_names

        for name in model_names():
            cls = model_class(name)
            params = ", ".join(f"{p.name} = {toml_value(p.default)}" for p in cls.params_doc)
            click.echo(f"{name:16s} {cls.summary}" + (f"  [{params}]" if params else ""))


@click.command(epilog="Example:\n  attrib explain time_decay")
@click.argument("model")
def explain(model: str) -> None:
    """Print a model's exact definition and parameters."""
    with handle_errors():
        from attrib.models import model_class

        cls = model_class(model)
        click.echo(f"{cls.title} ({cls.name})\n\n{cls.summary}\n\nDefinition:\n  {cls.definition}")
        if cls.params_doc:
            click.echo("\nParameters (set in the config as [models." + cls.name + "]):")
            for p in cls.params_doc:
                click.echo(f"  {p.name} = {toml_value(p.default)}    {p.doc}")
