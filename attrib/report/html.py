"""Assemble report.html: one self-contained page (styles, data, Vega JavaScript all inline).

The Vega, Vega-Lite and vega-embed JavaScript comes from ``vl_convert.javascript_bundle``
(the vl-convert-python wheel ships it), so the page loads nothing from the network.
"""

from __future__ import annotations

import contextlib
import functools
import os
from importlib.metadata import version
from pathlib import Path

from attrib import __version__
from attrib.errors import OutputError, UsageError
from attrib.outputs import check_out_folder
from attrib.report._data import OutFolder
from attrib.report._format import esc, json_for_script
from attrib.report._style import CSS, RUNTIME_JS
from attrib.report.sections import SECTION_IDS, SECTIONS, Context, Section, prepare_models
from attrib.writers import write_text

REPORT_NAME = "report.html"


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one classic script, for the Vega-Lite altair targets."""
    try:
        import altair as alt
        import vl_convert as vlc
    except ImportError as exc:  # pragma: no cover - both are dependencies of attrib
        raise UsageError(
            f"the HTML report needs {exc.name}",
            hint="pip install 'altair>=5.4' 'vl-convert-python>=1.6'",
        ) from None
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = list(vlc.get_vegalite_versions())
    if major_minor not in available:
        # the newest bundled Vega-Lite of the same major version reads altair's specs
        same_major = [v for v in available if v.split(".")[0] == major_minor.split(".")[0]]
        if not same_major:
            raise UsageError(
                f"vl-convert-python {version('vl-convert-python')} has no Vega-Lite "
                f"{major_minor} for altair {version('altair')}",
                hint="pip install -U vl-convert-python",
            )
        major_minor = same_major[-1]
    cached = _bundle_cache_file(version("vl-convert-python"), major_minor)
    if cached is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):  # not kept yet: bundle it
            if kept := cached.read_text(encoding="utf-8"):
                return kept
    # the package's stub marks the snippet required; at run time it defaults to the bundle's own
    js = vlc.javascript_bundle(vl_version=major_minor)  # type: ignore[call-arg]
    # a literal "</script" would end the element early; "<\/" means the same in JS strings,
    # template literals and regular expressions
    js = js.replace("</script", "<\\/script")
    if cached is not None:
        with contextlib.suppress(OSError):  # (an OutputError too) the report does not need it
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_text(js, cached)  # whole or not at all: a report beside this one reads it
    return js


def cache_dir() -> Path | None:
    """Where attrib keeps what is slow to make and the same for one installed version:
    ``ATTRIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/attrib`` or ``~/.cache/attrib``;
    ``ATTRIB_CACHE_DIR=0`` keeps nothing (None)."""
    chosen = os.environ.get("ATTRIB_CACHE_DIR")
    if chosen == "0":
        return None
    if chosen:
        return Path(chosen).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "attrib"


def _bundle_cache_file(vl_convert_version: str, vega_lite: str) -> Path | None:
    """The kept JavaScript bundle of one vl-convert and Vega-Lite version: bundling takes
    ~1 s, most of a small report's time."""
    folder = cache_dir()
    return None if folder is None else folder / f"vega-{vl_convert_version}-{vega_lite}.js"


def render_sections(ctx: Context) -> list[Section]:
    """Every section; one that fails renders an error note instead of stopping the report."""
    prepare_models(ctx)
    out = []
    for build in SECTIONS:
        try:
            out.append(build(ctx))
        except Exception as exc:  # a surprising file must not cost the analyst the whole page
            sid, nav = SECTION_IDS.get(build.__name__, (build.__name__, build.__name__))
            out.append(
                Section(
                    sid,
                    nav,
                    nav,
                    f'<p class="na error">This section could not be rendered: '
                    f"{esc(type(exc).__name__)}: {esc(exc)}</p>",
                )
            )
    return out


def _subtitle(ctx: Context) -> str:
    parts = []
    j = ctx.out.table("journeys")
    window = ctx.window()
    if window is not None:  # what the KPIs and the credit cover
        what = "Reporting window" if window.given else "Data from"
        parts.append(f"{what} {esc(window.start.isoformat())} to {esc(window.end.isoformat())}")
    elif j is not None and j.height and "first_touch_at" in j.columns:
        ends = [c for c in ("closed_at", "created_at", "last_touch_at") if c in j.columns]
        start = j.get_column("first_touch_at").min()
        end = max((v for c in ends if (v := j.get_column(c).max()) is not None), default=None)
        if start is not None and end is not None:
            parts.append(f"Data from {esc(str(start)[:10])} to {esc(str(end)[:10])}")
    # a manifest edited by hand must not stop the page: a count that is no number is left out
    counts, rejected = (_mapping(ctx.out.manifest.get(k)) for k in ("row_counts", "rejected"))
    if (journeys := _count(counts.get("journeys"))) is not None:
        parts.append(f"{journeys:,} journeys")
    read, bad = _count(counts.get("deals_read")), _count(rejected.get("deals", 0))
    if read is not None and bad is not None:  # the valid ones: rejected rows are in quality
        parts.append(f"{read - bad:,} valid deals")
    if ctx.models:
        n = len(ctx.models)
        parts.append(f"{n} model{'s' if n != 1 else ''}")
    return " · ".join(parts)


def _mapping(value: object) -> dict:
    """A manifest entry that should be a JSON object, or {} where it is not."""
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int | None:
    """A manifest count as a whole number, or None where it is none."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def render_page(ctx: Context, sections: list[Section]) -> str:
    """The whole HTML document."""
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.nav)}</a>' for s in sections)
    select = ""
    if ctx.models:
        options = "".join(
            f'<option value="{esc(m)}"{" selected" if m == ctx.default_model else ""}>'
            f"{esc(m)}</option>"
            for m in ctx.models
        )
        select = f'<label>Model <select id="model-select">{options}</select></label>'
    blocks = "".join(
        f'<section class="block" id="{esc(s.id)}"><h2>{esc(s.title)}</h2>'
        + (f'<p class="sub">{esc(s.lead)}</p>' if s.lead else "")
        + s.body
        + "</section>"
        for s in sections
    )
    specs = json_for_script(ctx.charts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="attrib">'
        "<title>attrib · attribution report</title>"
        f"<style>{CSS}</style></head><body>"
        f'<header class="top"><div class="wrap"><div class="brand">attrib</div>'
        f"<nav>{nav}</nav>{select}</div></header>"
        '<main class="wrap">'
        '<div class="hero"><h1>Attribution report</h1>'
        f'<p class="meta">{_subtitle(ctx)}</p></div>'
        f"{blocks}"
        f"<footer>Made by attrib {esc(__version__)} from {esc(ctx.out.path.name or '.')}/ · "
        "charts: Vega-Lite, embedded · opens offline.</footer>"
        "</main>"
        '<div id="attrib-status" hidden></div>'
        f'<script type="application/json" id="attrib-specs">{specs}</script>'
        f"<script>{vega_bundle()}</script>"
        f"<script>{RUNTIME_JS}</script>"
        "</body></html>\n"
    )


def _check_target(target: Path) -> None:
    """The page's path must name a file in a folder that can be made and written to."""
    if target.is_dir():
        raise OutputError(
            "the report's path is a folder",
            file=str(target),
            hint=f"name the page's file, e.g. -o {target / REPORT_NAME}",
        )
    check_out_folder(target.parent, "-o a file in")


def build_report(
    out_dir: str | Path,
    *,
    target: Path | None = None,
    validate: bool = False,
    problems: list[str] | None = None,
) -> Path:
    """Write ``report.html`` for a run's out folder (default: inside it); return its path.

    ``validate`` checks every chart spec against the Vega-Lite schema (slower; for tests).
    ``problems``: a list that gets what could not be read (a damaged table, an unreadable
    manifest, an output the manifest lists that is gone), which the page notes too.
    """
    folder = OutFolder.open(out_dir)
    if target is not None:  # found before the page is built, as a run checks its --out
        _check_target(Path(target))
    ctx = Context(folder, validate=validate)
    sections = render_sections(ctx)
    page = render_page(ctx, sections)
    path = Path(target) if target is not None else folder.path / REPORT_NAME
    write_text(page, path)
    if problems is not None:
        problems.extend(folder.problems)
    return path
