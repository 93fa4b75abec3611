"""Run configuration: column mapping, channel rules and flags, journey and model options.

Everything comes from one TOML file (``channels.toml`` in the data folder, or ``--config``)
plus command-line overrides. The file's tables:

``[columns.<table>]``   canonical name = "source column" (one source may feed two names)
``[constants.<table>]`` canonical name = value, for columns an export lacks (e.g. status)
``[[rules]]``           ordered channel rules: ``channel`` plus regexes on source/medium/campaign
``[channels."Name"]``   ``marketing = true|false`` and ``direct = true|false``
``[stages]``            source stage name = canonical stage (lead, mql, sql, opportunity, ...)
``[statuses]``          source deal status = open, won or lost (e.g. "Engaging" = "open")
``[options]``           lookback_days, level, revenue_window, models, strict
``[models.<name>]``     model parameters, e.g. ``[models.time_decay] half_life_days = 3``
``[metrics]``           ROI/KPI settings (gross margin, sales cost, ...)
``[event_log]``         ``--event-log``: role = the log's column name (cookie, time, ...)
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from numbers import Integral
from pathlib import Path
from typing import Any

from attrib.columns import (
    CANONICAL_STAGES,
    DEAL_STATUSES,
    NONE_CHANNEL,
    RESERVED_COLUMNS,
    TABLE_COLUMNS,
    TABLES,
)
from attrib.errors import ConfigError, UsageError

LEVELS = ("customer", "account")
REVENUE_WINDOWS = ("closed_at", "created_at")
_TOP_KEYS = {
    "columns",
    "constants",
    "rules",
    "channels",
    "stages",
    "statuses",
    "options",
    "models",
    "metrics",
    "event_log",
}
#: an event log's columns by role (``attrib.adapters.event_log_tables``), under their default
#: names: ``[event_log] cookie = "distinct_id"`` names a log's own
EVENT_LOG_COLUMNS = ("cookie", "time", "channel", "conversion", "conversion_value")
_OPTION_KEYS = {"lookback_days", "level", "revenue_window", "models", "strict"}


@dataclass(frozen=True)
class ChannelRule:
    """One ordered rule: all given regexes (case-insensitive) must match for ``channel``."""

    channel: str
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None


#: the channel of touches no ``[[rules]]`` entry matched (``attrib.channels``)
UNASSIGNED = "(unassigned)"


def _plain(value: Any) -> Any:
    """A numpy or pandas integer (``np.int64(90)``, a Series' ``.iloc[0]``) as the int it
    is, so that the checks that take ints take it; anything else as given."""
    if isinstance(value, Integral) and not isinstance(value, bool | int):
        return int(value)
    return value


@dataclass(frozen=True)
class ChannelFlags:
    """Whether a channel counts as marketing and whether it is 'direct' (last-non-direct)."""

    marketing: bool = True
    direct: bool = False


@dataclass(frozen=True)
class RunConfig:
    """The complete, validated configuration of one run."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: tuple[ChannelRule, ...] = ()
    channels: dict[str, ChannelFlags] = field(default_factory=dict)
    stage_names: dict[str, str] = field(default_factory=dict)
    status_names: dict[str, str] = field(default_factory=dict)
    lookback_days: int = 365
    level: str = "customer"
    revenue_window: str = "closed_at"
    models: tuple[str, ...] | None = None
    model_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    strict: bool = False
    #: ``[event_log]``: an event log's column per role (``EVENT_LOG_COLUMNS``), where not the
    #: default name
    event_log: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    def flags(self, channel: str) -> ChannelFlags:
        """Flags of a channel; unlisted channels are marketing and not direct, except
        ``(unassigned)`` (touches no rule classified: no evidence of marketing)."""
        if channel == UNASSIGNED and channel not in self.channels:
            return ChannelFlags(marketing=False)
        return self.channels.get(channel, ChannelFlags())

    def source_column(self, table: str, column: str) -> str:
        """The file column a table's canonical ``column`` is read from (``[columns]``)."""
        return self.columns.get(table, {}).get(column, column)

    def stage_mapping(self) -> dict[str, str]:
        """Stage name (stripped, lower-cased) -> canonical stage, from ``[metrics]
        stage_names`` and ``[stages]`` (a name in both maps to one stage: ``check``);
        validation maps every stage row through it, so both match names in any case."""
        names = self.metrics.get("stage_names")
        merged = {**(names if isinstance(names, Mapping) else {}), **self.stage_names}
        return {str(k).strip().lower(): str(v).strip().lower() for k, v in merged.items()}

    def declared_marketing(self) -> dict[str, bool]:
        """``[channels]``' marketing flag of every channel listed there, and ``(unassigned)``'s
        (not marketing unless listed, as ``flags`` says): a cost row on it with no touch on
        it is not marketing spend either."""
        return {UNASSIGNED: False} | {
            name: flags.marketing for name, flags in self.channels.items()
        }

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A copy with command-line overrides applied (``None`` values are ignored)."""
        given = {k: _plain(v) for k, v in overrides.items() if v is not None}
        return self._checked_with(sorted(given), **given)

    def with_metrics(self, overrides: Mapping[str, Any] | None) -> RunConfig:
        """A copy whose ``[metrics]`` table carries the command line's settings (``--from``,
        ``--gross-margin``, ...; ``None`` values are ignored), so that every step reading the
        config (the journeys' reporting window too) sees them."""
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        if not given:
            return self
        return self._checked_with(sorted(given), metrics={**self.metrics, **given})

    def _checked_with(self, given: list[str], **changes: Any) -> RunConfig:
        """A copy with ``changes`` (a run's own arguments, named ``given``), checked. The file
        was checked as it was read: an error now comes of the arguments (alone, or with the
        file's values), and says so (``lookback_days=0`` given to ``run`` was said to be in a
        channels.toml that sets none)."""
        cfg = replace(self, **changes)
        try:
            cfg.check()
        except ConfigError as exc:
            if exc.file is None or exc.file != self.source or not given:
                raise

            # an argument's own value is wrong (the message names it, and no setting the
            # file gives beside it; a list of the known keys aside): the file is not where
            # it is
            said = re.sub(r"\(known keys are [^)]*\)", "", exc.message)

            def named(key: str) -> bool:
                return re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", said) is not None

            in_file = [k for k in self.metrics if k not in given]
            own = any(map(named, given)) and not any(map(named, in_file))
            raise ConfigError(
                f"{exc.message} (checked with the run's arguments: {', '.join(given)})",
                file=None if own else exc.file,
                hint=exc.hint,
            ) from None
        return cfg

    def check(self) -> None:
        """Validate option values; raise ConfigError with a hint."""
        where = self.source
        days = self.lookback_days  # (a TOML true is an int to Python: not a count of days)
        if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
            raise ConfigError(
                f"lookback_days must be a whole number of days, 1 or more, got {days!r}",
                file=where,
                hint="e.g. --lookback-days 180 or [options] lookback_days = 180",
            )
        expect_bool(self.strict, "strict", "options", file=where)
        if self.level not in LEVELS:
            raise ConfigError(
                f"level must be one of {LEVELS}, got {self.level!r}",
                file=where,
                hint="use --level customer or --level account (level= in Python)",
            )
        if self.revenue_window not in REVENUE_WINDOWS:
            raise ConfigError(
                f"revenue_window must be one of {REVENUE_WINDOWS}, got {self.revenue_window!r}",
                file=where,
                hint='e.g. [options] revenue_window = "created_at" (credit at deal creation)',
            )
        from attrib.parsing import status_key  # (polars: not on the CLI's light paths)

        matched: dict[str, str] = {}
        for raw, canon in self.status_names.items():
            key = status_key(raw)
            other = matched.get(key)
            if not key or (other is not None and self.status_names[other] != canon):
                raise ConfigError(
                    f"[statuses] key {raw!r} "
                    + (
                        f"matches the same statuses as {other!r}, which maps elsewhere"
                        if key
                        else "has no letter or digit"
                    ),
                    file=where,
                    hint="statuses are matched by their letters and digits only (case, spaces "
                    "and punctuation ignored): map each one once",
                )
            matched[key] = raw
            if canon not in DEAL_STATUSES:
                raise ConfigError(
                    f"[statuses] maps {raw!r} to {canon!r}, not to open, won or lost",
                    file=where,
                    hint=f'e.g. [statuses] "{raw}" = "open"',
                )
        from attrib.metrics.settings import MetricsSettings  # (polars: loaded lazily)

        # [metrics] now, not after the inputs are read (a bad one would quarantine rows first)
        try:
            metric_names = MetricsSettings.from_mapping(self.metrics).stage_names
        except ConfigError as exc:  # name the file the settings came from
            raise ConfigError(exc.message, file=where, hint=exc.hint) from None
        for table, names in (
            ("[stages]", self.stage_names),
            ("[metrics] stage_names", metric_names),
        ):
            _check_stage_names(table, names, where)
        # a name both tables map, to different stages, is a contradiction, not an override
        stages = {k.strip().lower(): v.strip().lower() for k, v in self.stage_names.items()}
        for raw, canon in metric_names.items():
            other = stages.get(raw.strip().lower())
            if other is not None and other != canon.strip().lower():
                raise ConfigError(
                    f"stage {raw!r} maps to {other!r} in [stages] and to {canon!r} in "
                    "[metrics] stage_names",
                    file=where,
                    hint="map each stage name once, in [stages]",
                )


def _check_stage_names(table: str, names: Mapping[str, str], where: str | None) -> None:
    """Stage names map to canonical stages, and no two keys that match the same names (they
    are matched by their stripped, lower-case text) map to different stages."""
    seen: dict[str, str] = {}
    for raw, canon in names.items():
        if canon.strip().lower() not in CANONICAL_STAGES:
            raise ConfigError(
                f"{table} maps to unknown stage {canon!r}",
                file=where,
                hint=f"canonical stages are {', '.join(CANONICAL_STAGES)}",
            )
        key = raw.strip().lower()
        other = seen.get(key)
        if other is not None and names[other].strip().lower() != canon.strip().lower():
            raise ConfigError(
                f"{table} key {raw!r} differs from {other!r} only in case or spaces, "
                "and maps elsewhere",
                file=where,
                hint="stage names are matched case-insensitively: map each one once",
            )
        seen[key] = raw


def _check_canonical(mapping: dict[str, Any], kind: str, table: str, source: str | None) -> None:
    """Keys of ``[columns.<table>]`` / ``[constants.<table>]`` must be the table's canonical
    column names: a misspelt one would otherwise be ignored without a word."""
    required, optional = TABLE_COLUMNS[table]
    known = (*required, *optional)
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            example = (
                'customer_id = "user_id" (canonical name = your column)'
                if kind == "columns"
                else 'status = "won" (canonical name = value)'
            )
            raise ConfigError(
                f"[{kind}.{table}] {key!r} is not a column of {table}",
                file=source,
                column=key,
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"keys are the canonical names: {', '.join(known)}; e.g. {example}",
            )


def expect_bool(value: Any, key: str, table: str, *, file: str | None = None) -> bool:
    """A setting documented as true/false (``[options] strict``, ``[channels."X"] direct``, a
    model's flag parameter): a TOML boolean, not a string or a number (``"false"`` is a
    non-empty string, which Python's ``bool`` reads as true)."""
    if isinstance(value, bool):
        return value
    said = value.strip().lower() if isinstance(value, str) else None
    write = f"{key} = {said}" if said in ("true", "false") else f"{key} = true or {key} = false"
    raise ConfigError(
        f"[{table}] {key} is not true/false: got {value!r}",
        file=file,
        column=key,
        hint=f"write {write}, without quotes (TOML booleans are true and false)",
    )


def _expect_table(value: Any, name: str, where: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"[{name}] must be a table",
            file=where,
            hint=f"write it as a TOML table: [{name}] on a line of its own, then key = value lines",
        )
    return value


def parse_model_list(names: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Model names from a comma list ("linear, markov") or a list, blanks dropped."""
    if isinstance(names, str):
        return tuple(n.strip() for n in names.split(",") if n.strip())
    if bad := [n for n in names if not isinstance(n, str)]:
        raise UsageError(
            f"model names must be text, got {bad[0]!r} in {list(names)!r}",
            hint='e.g. models=["linear", "markov"] or models="linear,markov"',
        )
    return tuple(names)


def _options_models(value: Any, source: str | None) -> tuple[str, ...]:
    """``[options] models``: a comma list or a list of model names, at least one, each a
    registered model's (else ConfigError naming the file, with a did-you-mean)."""
    from attrib.models import check_names, model_names  # lazy: the registry imports polars

    choices = f"choose from: {', '.join(model_names())}"
    texts = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not (isinstance(value, str) or texts):
        raise ConfigError(
            f"[options] models must be a comma list or a list of model names, got {value!r}",
            file=source,
            hint=f'e.g. models = "first_touch,linear" or ["first_touch", "linear"]; {choices}',
        )
    names = parse_model_list(value)
    if not names:
        raise ConfigError(
            "[options] models names no model",
            file=source,
            hint=f"{choices}; or remove the key to run every model",
        )
    try:
        check_names(names)
    except UsageError as exc:
        raise ConfigError(f"[options] {exc.message}", file=source, hint=exc.hint) from None
    return names


def _table_sections(
    data: dict[str, Any], kind: str, source: str | None
) -> dict[str, dict[str, Any]]:
    """``[columns.<table>]`` or ``[constants.<table>]``: per input table, canonical keys."""
    out: dict[str, dict[str, Any]] = {}
    for table, mapping in _expect_table(data.get(kind, {}), kind, source).items():
        if table not in TABLES:
            close = difflib.get_close_matches(table.lower(), TABLES, n=1)
            raise ConfigError(
                f"[{kind}.{table}] names an unknown table",
                file=source,
                hint=(f"did you mean [{kind}.{close[0]}]? " if close else "")
                + f"tables are {', '.join(TABLES)}",
            )
        mapping = dict(_expect_table(mapping, f"{kind}.{table}", source))
        _check_canonical(mapping, kind, table, source)
        if kind == "columns":
            for canon, src in mapping.items():
                if not isinstance(src, str):
                    raise ConfigError(
                        f"[columns.{table}] {canon} must be a column name (string), got {src!r}",
                        file=source,
                        hint=f'quote your column\'s name, e.g. {canon} = "my_column"',
                    )
                if src in RESERVED_COLUMNS:
                    raise ConfigError(
                        f"[columns.{table}] {canon} = {src!r}: attrib names each input row's"
                        f" file and row {' and '.join(RESERVED_COLUMNS)}, and does not read a"
                        " file's own column of those names",
                        file=source,
                        hint=f"rename that column in the export (e.g. to {src.strip('_')}) and"
                        " map the new name",
                    )
        else:
            for canon, value in mapping.items():
                if isinstance(value, (dict, list)):  # a TOML table or array: no single value
                    raise ConfigError(
                        f"[constants.{table}] {canon} must be one value, got {value!r}",
                        file=source,
                        column=f"constants.{table}",
                        hint=f'every row of the table gets it, e.g. {canon} = "won"'
                        if canon == "status"
                        else "every row of the table gets it: give one text or number",
                    )
        out[table] = mapping
    return out


_RULE_EXAMPLES = {
    "channel": "Paid Search",
    "source": "google|bing",
    "medium": "^(cpc|ppc)$",
    "campaign": "^brand",
}


def _check_pattern(pattern: str, rule: int, key: str, source: str | None) -> None:
    """A rule's pattern must compile in the engine that runs it: Polars' ``str.contains``
    (Rust's ``regex`` crate, which has no look-around or back-references but has ``\\p{L}``),
    not Python's ``re``, which accepts and refuses other patterns."""
    from attrib.channels import pattern_error  # (polars: only when there are rules)

    reason = pattern_error(pattern)
    if reason is not None:
        raise ConfigError(
            f"rule #{rule} {key} pattern {pattern!r} is not a valid regex: {reason}",
            file=source,
            column=key,
            hint="patterns are regular expressions in Rust regex syntax (not Python's: no "
            "look-around such as (?!...), no back-references such as \\1), matched anywhere "
            "in the value (case-insensitive): close every '(' and '[', escape a literal '.', "
            "'+' or '(' with a backslash ('\\\\.' in TOML)",
        )


def _rules_section(data: dict[str, Any], source: str | None) -> tuple[ChannelRule, ...]:
    """``[[rules]]``: ordered channel rules, each a non-empty channel name (text) and patterns
    that are valid regular expressions for the engine that runs them."""
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ConfigError(
            "rules must be an array of tables ([[rules]])",
            file=source,
            hint='write each rule as [[rules]] then channel = "Paid Search", medium = "^cpc$"',
        )
    rules = []
    for i, rule in enumerate(raw_rules, start=1):
        rule = _expect_table(rule, f"rules #{i}", source)
        extra = set(rule) - {"channel", "source", "medium", "campaign"}
        if "channel" not in rule or extra:
            raise ConfigError(
                f"rule #{i} must have 'channel' and only source/medium/campaign patterns",
                file=source,
                hint='e.g. [[rules]] channel = "Paid Search" medium = "^(cpc|ppc)$"',
            )
        for key, example in _RULE_EXAMPLES.items():
            if key in rule and not isinstance(rule[key], str):
                raise ConfigError(
                    f"rule #{i} {key} must be text, got {rule[key]!r}",
                    file=source,
                    column=key,
                    hint=f'write it in quotes, e.g. {key} = "{example}"',
                )
        if not rule["channel"].strip():
            raise ConfigError(
                f"rule #{i} channel is empty: the rule needs the name of the channel it assigns",
                file=source,
                column="channel",
                hint=f'e.g. channel = "{_RULE_EXAMPLES["channel"]}"',
            )
        if rule["channel"].strip() == NONE_CHANNEL:
            raise ConfigError(
                f"rule #{i} channel {NONE_CHANNEL!r} is reserved for deals without touches",
                file=source,
                column="channel",
                hint='name the channel, e.g. channel = "Direct" for GA\'s (none) medium',
            )
        for key in ("source", "medium", "campaign"):
            if key in rule:
                _check_pattern(rule[key], i, key, source)
        rules.append(ChannelRule(**rule))
    return tuple(rules)


def _channels_section(data: dict[str, Any], source: str | None) -> dict[str, ChannelFlags]:
    """``[channels."Name"]``: marketing and direct flags, TOML booleans only."""
    channels = {}
    for name, flags in _expect_table(data.get("channels", {}), "channels", source).items():
        flags = _expect_table(flags, f'channels."{name}"', source)
        extra = sorted(set(flags) - {"marketing", "direct"})
        if extra:
            close = difflib.get_close_matches(extra[0], ["marketing", "direct"], n=1)
            raise ConfigError(
                f'[channels."{name}"] unknown key {extra[0]!r}: it accepts only marketing and '
                "direct",
                file=source,
                column=extra[0],
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f'e.g. [channels."{name}"] marketing = false, direct = true (TOML booleans)',
            )
        for key in sorted(flags):
            expect_bool(flags[key], key, f'channels."{name}"', file=source)
        # (unassigned) is not marketing unless the table says so, whatever else it sets
        marketing = flags.get("marketing", name != UNASSIGNED)
        channels[name] = ChannelFlags(marketing=marketing, direct=flags.get("direct", False))
    return channels


def _model_params(data: dict[str, Any], source: str | None) -> dict[str, dict[str, Any]]:
    """``[models.<name>]``: each table names a registered model."""
    raw_params = _expect_table(data.get("models", {}), "models", source)
    if raw_params:
        from attrib.models import model_names  # lazy: the registry imports numpy/polars

        unknown_models = sorted(set(raw_params) - set(model_names()))
        if unknown_models:
            raise ConfigError(
                f"[models.{unknown_models[0]}] names no model",
                file=source,
                hint=f"models are {', '.join(model_names())}",
            )
    return {k: dict(_expect_table(v, f"models.{k}", source)) for k, v in raw_params.items()}


def _refuse_unknown(
    table: dict[str, Any], known: set[str], what: str, listed: str, source: str | None
) -> None:
    """A table's keys must be known ones: a misspelt one would be ignored without a word."""
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"unknown {what} {sorted(unknown)}",
            file=source,
            hint=f"{listed}: {', '.join(sorted(known))}",
        )


def config_from_mapping(data: dict[str, Any], *, source: str | None = None) -> RunConfig:
    """Build and validate a RunConfig from a parsed TOML mapping (one section at a time;
    an unset option keeps ``RunConfig``'s default)."""
    _refuse_unknown(data, _TOP_KEYS, "top-level key(s)", "known tables", source)
    options = _expect_table(data.get("options", {}), "options", source)
    _refuse_unknown(options, _OPTION_KEYS, "[options] key(s)", "known options", source)
    defaults = RunConfig()
    models = options.get("models")
    cfg = RunConfig(
        columns=_table_sections(data, "columns", source),
        constants=_table_sections(data, "constants", source),
        rules=_rules_section(data, source),
        channels=_channels_section(data, source),
        stage_names={
            str(k): str(v)
            for k, v in _expect_table(data.get("stages", {}), "stages", source).items()
        },
        status_names={
            str(k): str(v).strip().lower()
            for k, v in _expect_table(data.get("statuses", {}), "statuses", source).items()
        },
        lookback_days=_plain(options.get("lookback_days", defaults.lookback_days)),
        level=options.get("level", defaults.level),
        revenue_window=options.get("revenue_window", defaults.revenue_window),
        models=_options_models(models, source) if models is not None else None,
        model_params=_model_params(data, source),
        metrics=dict(_expect_table(data.get("metrics", {}), "metrics", source)),
        strict=options.get("strict", defaults.strict),
        event_log=_event_log_section(data, source),
        source=source,
    )
    cfg.check()
    return cfg


def _event_log_section(data: dict[str, Any], source: str | None) -> dict[str, str]:
    """``[event_log]``: role = the log's column name, for ``--event-log``."""
    section = _expect_table(data.get("event_log", {}), "event_log", source)
    _refuse_unknown(section, set(EVENT_LOG_COLUMNS), "[event_log] key(s)", "roles", source)
    for role, column in section.items():
        if not isinstance(column, str) or not column:
            raise ConfigError(
                f"[event_log] {role} must be a column name (string), got {column!r}",
                file=source,
                hint=f'quote your column\'s name, e.g. {role} = "my_column"',
            )
    return dict(section)


def load_config(path: str | Path | None) -> RunConfig:
    """Read a TOML run configuration; ``None`` gives the defaults."""
    if path is None:
        return RunConfig()
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(
            f"config= takes a RunConfig or a TOML file's path; got {type(path).__name__}",
            hint="build a RunConfig from a mapping with attrib.api.config_from_mapping(...)"
            if isinstance(path, Mapping)
            else "pass a path to a TOML file or a RunConfig",
        )
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # (a BOM, as Notepad writes, is skipped)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset {exc.start}",
            file=str(path),
            hint="save the file as UTF-8 (in Notepad: Save As, Encoding UTF-8)",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config: {exc.strerror}",
            file=str(path),
            hint="check the path given to --config",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}", file=str(path), hint="see the README's config example"
        ) from None
    return config_from_mapping(data, source=str(path))


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
