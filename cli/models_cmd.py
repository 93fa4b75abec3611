"""``attrib models`` and ``attrib explain MODEL``: the attribution models and their
definitions (the models package is imported only when a command runs).
"""

from __future__ import annotations

import click

from attrib.config import toml_value
from cli._errors import handle_errors


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
