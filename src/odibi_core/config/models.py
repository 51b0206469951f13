"""The project file as pydantic models (SPEC §2). Unknown keys are errors everywhere.

Connection fields and plugin-owned blocks (``quality``, ``validation``, ``contracts``) are kept as
data here and validated by whoever owns them, so core never needs to know their shape.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StrictStr,
    Tag,
    field_validator,
    model_validator,
)

#: Odibi's rule for pipeline and node names, which become SQL table names, folder names
#: (stories) and catalog partition values.
NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
_NAME = re.compile(NAME_PATTERN)


def _valid_name(value: str) -> str:
    if not _NAME.fullmatch(value):  # fullmatch: '$' alone lets a trailing newline through
        raise ValueError(
            f"name must match {NAME_PATTERN} (letters, digits and _, not starting with a digit)"
        )
    return value


#: A pipeline or node name.
Name = Annotated[StrictStr, AfterValidator(_valid_name)]
#: A name that refers to something (a connection, format, node, transform): never a number
#: made into text, which would hide the mistake until the run (``depends_on: [1.5]``).
Ref = StrictStr

if TYPE_CHECKING:
    from odibi_core.secrets import SecretSet


class _Strict(BaseModel):
    # Numbers are accepted where text is expected (``path: ${vars.year}``), except in
    # names and references (``Name``, ``Ref``).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, coerce_numbers_to_str=True)


class ConnectionConfig(BaseModel):
    """Any connection; its fields are validated by the connection type's own model."""

    model_config = ConfigDict(extra="allow")
    type: str


def _initial_delay_schema(schema: dict[str, Any]) -> None:
    schema.setdefault("properties", {})["initial_delay"] = {
        "type": "number",
        "description": "Odibi's name for backoff_seconds: the first wait, in seconds",
    }


class RetryConfig(_Strict):
    model_config = ConfigDict(json_schema_extra=_initial_delay_schema)

    enabled: bool = True
    max_attempts: int = Field(3, ge=1, le=10)
    backoff: Literal["exponential", "linear", "constant"] = "exponential"
    #: The first wait; Odibi's docs call it ``initial_delay`` (either name, not both).
    backoff_seconds: float = Field(
        1.0, ge=0, le=3600, validation_alias=AliasChoices("backoff_seconds", "initial_delay")
    )
    #: No wait is longer than this (Odibi's docs' ``max_delay``); none: no cap.
    max_delay: float | None = Field(None, ge=0, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _one_first_delay(cls, data: Any) -> Any:
        if isinstance(data, dict) and "initial_delay" in data and "backoff_seconds" in data:
            raise ValueError("give the first delay once: initial_delay or backoff_seconds")
        return data

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if self.backoff == "exponential":
            wait = self.backoff_seconds * 2 ** (attempt - 1)
        elif self.backoff == "linear":
            wait = self.backoff_seconds * attempt
        else:
            wait = self.backoff_seconds
        return wait if self.max_delay is None else min(wait, self.max_delay)


class DocsOutputs(_Strict):
    readme: bool = True
    technical_details: bool = True
    node_cards: bool = True
    run_memo: bool = True


class DocsInclude(_Strict):
    sql: bool = True
    config_snapshot: bool = True
    schema_: bool = Field(True, alias="schema")
    samples: bool = False


class DocsConfig(_Strict):
    """Odibi's ``story.docs`` (Markdown documents made from stories). Its shape is checked;
    generating them is not done here, so ``enabled: true`` is refused rather than ignored."""

    enabled: bool = False
    output_path: str = "docs/generated/"
    outputs: DocsOutputs = Field(default_factory=DocsOutputs)
    include: DocsInclude = Field(default_factory=DocsInclude)

    @field_validator("enabled")
    @classmethod
    def _not_generated(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "generating Markdown docs (README, node cards, run memos) "
                "is not supported; each run's HTML story and `odibi story show` hold the same "
                "facts"
            )
        return value


class StoryConfig(_Strict):
    connection: Ref | None = None
    path: str = "stories"
    max_sample_rows: int = Field(10, ge=0, le=100)
    auto_generate: bool = True
    retention_days: int | None = Field(30, ge=1, le=36_500)
    retention_count: int | None = Field(100, ge=1)
    failure_sample_size: int = Field(100, ge=0, le=1000)
    max_failure_samples: int = Field(500, ge=0, le=5000)
    max_sampled_validations: int = Field(5, ge=1, le=20)
    async_generation: bool = False
    generate_lineage: bool = True
    docs: DocsConfig | None = None


class PerformanceConfig(_Strict):
    """Odibi's ``performance`` keys, where they mean something here (docs/configuration.md)."""

    #: Always on: frames are Arrow data held by DuckDB (pandas, polars) or Spark's own.
    use_arrow: bool = True
    #: Spark settings set on the session before the first node (engine: spark only).
    spark_config: dict[str, str] = Field(default_factory=dict)
    #: No null profiling is done here, so skipping it (true) is what always happens.
    skip_null_profiling: bool = False
    #: Only empty: a default set of table properties for every Delta write is not supported.
    delta_table_properties: dict[str, str] = Field(default_factory=dict)
    #: Odibi's switches that drop catalog writes: the catalog is always written here.
    skip_catalog_writes: bool = False
    skip_run_logging: bool = False

    @field_validator("use_arrow")
    @classmethod
    def _arrow(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "always on here (frames are Arrow data held by DuckDB or Spark); remove it"
            )
        return value

    @field_validator("delta_table_properties")
    @classmethod
    def _properties(cls, value: dict[str, str]) -> dict[str, str]:
        if value:
            raise ValueError(
                "not supported (one set of Delta table properties for every write); remove it"
            )
        return value

    @field_validator("skip_catalog_writes", "skip_run_logging")
    @classmethod
    def _catalog(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "the System Catalog is always written: runs, state and definitions drive "
                "--resume, incremental reads and story history"
            )
        return value


class MaintenanceConfig(_Strict):
    """When the catalog compacts, Z-orders, checkpoints and vacuums itself after a run."""

    enabled: bool = True
    #: Compact a touched partition once it holds more files than this.
    max_files: int = Field(16, ge=1)
    #: Checkpoint once this many commits were made since the last checkpoint.
    max_commits: int = Field(50, ge=1)
    #: Vacuum removes unreferenced files older than this.
    retention_hours: int = Field(168, ge=0)
    vacuum: bool = True


class SystemConfig(_Strict):
    connection: Ref | None = None
    path: str = "_odibi_system"
    environment: str | None = None
    partition_by_date: bool = False
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)


class LoggingConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    structured: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


#: Odibi's alert events: the run's start and outcome, and what quality checks did to a node.
AlertEvent = Literal[
    "on_start",
    "on_success",
    "on_failure",
    "on_quarantine",
    "on_gate_block",
    "on_threshold_breach",
]
#: ``teams_workflow`` is Odibi's other name for ``teams``: both post to a Power Automate
#: workflow (Teams retired the classic incoming webhooks).
AlertType = Literal["webhook", "slack", "teams", "teams_workflow"]
_DEFAULT_EVENTS: list[AlertEvent] = ["on_failure"]
_ALERT_METADATA = ("throttle_minutes", "max_per_hour", "channel", "mention", "mention_on_failure")


class AlertMetadata(BaseModel):
    """Odibi's alert ``metadata``: the keys below shape delivery; any other key is the
    user's own and travels in the payload (a webhook's ``metadata``)."""

    model_config = ConfigDict(extra="allow")
    #: Least minutes between two alerts of one pipeline and event (0: no throttling).
    throttle_minutes: float = Field(15, ge=0)
    #: Most alerts of one pipeline and event in an hour.
    max_per_hour: int = Field(10, ge=1)
    #: Slack channel override.
    channel: str | None = None
    #: Teams users (emails) named on every alert, and on failures only.
    mention: list[str] = Field(default_factory=list)
    mention_on_failure: list[str] = Field(default_factory=list)

    @field_validator("mention", "mention_on_failure", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _near_misses(cls, data: Any) -> Any:
        # Free keys are allowed, but one a letter away from a known key is a typo that
        # would silently turn throttling off.
        import difflib

        if isinstance(data, dict):
            for key in data:
                close = difflib.get_close_matches(str(key), _ALERT_METADATA, n=1, cutoff=0.8)
                if key not in _ALERT_METADATA and close:
                    raise ValueError(f"unknown metadata key '{key}' (did you mean '{close[0]}'?)")
        return data


class AlertConfig(_Strict):
    """One alert channel (Odibi's ``alerts:`` entries), delivered by the alerts plugin."""

    type: AlertType
    url: str
    on_events: list[AlertEvent] = Field(default_factory=lambda: _DEFAULT_EVENTS.copy())
    metadata: AlertMetadata = Field(default_factory=AlertMetadata)

    @field_validator("on_events", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return _http_url(value)


class LineageConfig(_Strict):
    """Odibi's ``lineage:``: where OpenLineage run events go (the lineage plugin sends them)."""

    #: The OpenLineage server (events are posted to ``<url>/api/v1/lineage``); none: off.
    url: str | None = None
    #: The namespace of the jobs (pipelines and nodes).
    namespace: str = "odibi"
    api_key: str | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        return _http_url(value) if value else value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value.strip()):
        raise ValueError("url must be an http:// or https:// URL")
    return value.strip()


class IncrementalConfig(_Strict):
    mode: Literal["rolling_window", "stateful"] = "rolling_window"
    column: str
    fallback_column: str | None = None
    lookback: int | None = Field(None, ge=0)
    unit: Literal["minute", "hour", "day", "week", "month", "year"] | None = None
    state_key: str | None = None
    watermark_lag: str | None = None
    date_format: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _key_column_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "key_column" in data and "column" not in data:
            data = {("column" if k == "key_column" else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _window_in_range(self) -> IncrementalConfig:
        # The window is subtracted from now: a few thousand years would leave the calendar.
        days = (self.lookback or 0) * _UNIT_DAYS[self.unit or "day"]
        if days > _MAX_WINDOW_DAYS:
            raise ValueError("the rolling window (lookback x unit) is longer than 100 years")
        return self


_UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}
_MAX_WINDOW_DAYS = 36_500


class TimeTravelConfig(_Strict):
    """Odibi's ``read.time_travel``: a Delta table as it was at a version or a moment."""

    as_of_version: int | None = Field(None, ge=0)
    #: An ISO date or time; one without a zone is UTC.
    as_of_timestamp: str | None = None

    @field_validator("as_of_timestamp")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        if value is not None:
            from datetime import datetime

            try:
                datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"as_of_timestamp '{value}' is not an ISO date or time "
                    "(2024-01-31 or 2024-01-31T12:00:00Z)"
                ) from None
        return value

    @model_validator(mode="after")
    def _one(self) -> TimeTravelConfig:
        given = [k for k in ("as_of_version", "as_of_timestamp") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("time_travel takes one of 'as_of_version' or 'as_of_timestamp'")
        return self

    @property
    def moment(self) -> Any:
        """``as_of_timestamp`` as an aware datetime (UTC when it names no zone), or None."""
        from datetime import UTC, datetime

        if self.as_of_timestamp is None:
            return None
        moment = datetime.fromisoformat(self.as_of_timestamp.strip())
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: Spellings of a Delta version or moment in a read's ``options`` (``time_travel`` is Odibi's).
DELTA_AS_OF_OPTIONS = ("version", "as_of_version", "versionAsOf", "timestampAsOf")


class ReadConfig(_Strict):
    connection: Ref
    format: Ref
    path: str | None = None
    table: str | None = None
    query: str | None = None
    #: A file of SQL (relative to the project file) run as the query, on a database.
    sql_file: str | None = None
    filter: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    incremental: IncrementalConfig | None = None
    #: Read a Delta table as it was (``format: delta`` only).
    time_travel: TimeTravelConfig | None = None
    #: Set by the runner for a stateful or windowed read: ``(column, bound, inclusive)``, the
    #: rows the incremental filter will keep, for a format that can ask its source for only
    #: those (a database's WHERE). The runner filters what was read all the same.
    _newer_than: tuple[str, Any, bool] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _one_source(self) -> ReadConfig:
        if self.path and self.table:
            raise ValueError("read takes either 'path' or 'table', not both")
        queries = [k for k in ("query", "sql_file") if getattr(self, k)]
        if len(queries) > 1:
            raise ValueError("read takes either 'query' or 'sql_file', not both")
        if not (self.path or self.table or queries or self.options.get("query")):
            raise ValueError("read needs one of 'path', 'table', 'query' or 'sql_file'")
        if self.time_travel is not None:
            if self.format.lower() != "delta":
                raise ValueError(
                    f"time_travel reads an older version of a Delta table; format "
                    f"'{self.format}' keeps no versions (use format: delta)"
                )
            given = [k for k in DELTA_AS_OF_OPTIONS if self.options.get(k) is not None]
            if given:
                raise ValueError(
                    f"give the version once: time_travel or options.{given[0]}, not both"
                )
        return self

    @property
    def newer_than(self) -> tuple[str, Any, bool] | None:
        return self._newer_than

    def with_newer_than(self, column: str, bound: Any, inclusive: bool) -> ReadConfig:
        """A copy asking the source for rows whose ``column`` is past ``bound`` only."""
        copy = self.model_copy()
        copy._newer_than = (column, bound, inclusive)
        return copy


#: ``merge`` is Odibi's name for ``upsert`` (with ``merge_keys``); it is read as ``upsert``.
WriteMode = Literal["overwrite", "append", "upsert", "append_once", "merge"]
#: The formats that write database tables, which alone take ``merge_options``.
TABLE_FORMATS = frozenset({"sql", "postgres", "sql_server", "azure_sql"})
#: Odibi's ``merge_options`` that odibi_core does not do (yet): refused, never ignored.
_UNSUPPORTED_MERGE_OPTIONS = (
    "update_condition",
    "delete_condition",
    "insert_condition",
    "validations",
    "primary_key_on_merge_keys",
    "index_on_merge_keys",
    "schema_evolution",
    "batch_size",
    "incremental",
    "hash_column",
    "change_detection_columns",
)


class AuditColumns(_Strict):
    """Columns a database write stamps with the time: ``created_col`` when a row is inserted,
    ``updated_col`` when it is inserted or updated."""

    created_col: str | None = None
    updated_col: str | None = None


class MergeOptions(_Strict):
    """Odibi's ``merge_options`` that a keyed write into a database table honours."""

    #: Incoming columns left out of the write.
    exclude_columns: list[str] = Field(default_factory=list)
    audit_cols: AuditColumns | None = None
    #: Where SQL Server's staging table goes (a schema); Postgres stages in a temporary table.
    staging_schema: str | None = None
    #: Create the target table when it is missing (the default); false: a missing table fails.
    auto_create_table: bool = True
    #: Create the target's schema when it is missing.
    auto_create_schema: bool = False

    @model_validator(mode="before")
    @classmethod
    def _unsupported(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in _UNSUPPORTED_MERGE_OPTIONS:
                if key in data:
                    raise ValueError(
                        f"merge_options.{key} is Odibi's but odibi_core does not support it "
                        "yet (supported: exclude_columns, audit_cols, staging_schema, "
                        "auto_create_table, auto_create_schema)"
                    )
        return data


#: What a write does with an output of 0 rows (docs/configuration.md, "Empty outputs").
OnEmpty = Literal["fail", "skip", "write"]


class AutoOptimize(_Strict):
    """``write.auto_optimize``: compact the Delta table after each write, then VACUUM it."""

    enabled: bool = True
    #: Files no version of the last this many hours needs are removed; 0: no VACUUM.
    vacuum_retention_hours: int = Field(168, ge=0)


#: ``write.add_metadata`` columns, by Odibi's option name.
METADATA_COLUMNS = {
    "extracted_at": "_extracted_at",
    "source_file": "_source_file",
    "source_connection": "_source_connection",
    "source_table": "_source_table",
}


class WriteMetadata(_Strict):
    """``write.add_metadata`` as a mapping: which lineage columns the write adds (Odibi's
    defaults: ``_extracted_at`` and, for file reads, ``_source_file``)."""

    extracted_at: bool = True
    source_file: bool = True
    source_connection: bool = False
    source_table: bool = False


#: Write keys that only mean something for a Delta table.
DELTA_WRITE_KEYS = (
    "zorder_by",
    "table_properties",
    "merge_schema",
    "overwrite_schema",
    "skip_if_unchanged",
    "auto_optimize",
)


class WriteConfig(_Strict):
    connection: Ref
    format: Ref
    path: str | None = None
    table: str | None = None
    mode: WriteMode = "overwrite"
    partition_by: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    on_empty: OnEmpty = Field(
        "fail",
        description="When the output has 0 rows: 'fail' rather than overwrite a target that "
        "holds rows, 'skip' the write (the target keeps its rows), or 'write' it anyway.",
    )
    #: Odibi's spelling of ``options.keys`` (with ``mode: merge``).
    merge_keys: list[str] | None = None
    merge_options: MergeOptions | None = None
    #: The database query the node's read runs while this target does not exist yet.
    first_run_query: str | None = None
    # Delta tables (DELTA_WRITE_KEYS; docs/configuration.md, "Delta tables"), and add_metadata.
    zorder_by: list[str] = Field(default_factory=list)
    table_properties: dict[str, str] = Field(default_factory=dict)
    merge_schema: bool = False
    overwrite_schema: bool = False
    skip_if_unchanged: bool = False
    skip_hash_columns: list[str] | None = None
    skip_hash_sort_columns: list[str] | None = None
    auto_optimize: bool | AutoOptimize | None = None
    add_metadata: bool | list[str] | WriteMetadata | None = None
    #: The content hash a ``skip_if_unchanged`` write stores with its commit.
    _content_hash: str | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _odibi_merge(cls, data: Any) -> Any:
        """``mode: merge`` with ``merge_keys`` is ``mode: upsert`` with ``options.keys``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        keys = data.get("merge_keys")
        if data.get("mode") == "merge":
            given = data.get("options")
            if not keys and not (isinstance(given, dict) and given.get("keys")):
                raise ValueError("mode 'merge' needs 'merge_keys' (the key columns)")
            data["mode"] = "upsert"
        if isinstance(keys, str):
            keys = data["merge_keys"] = [keys]
        options = data.get("options")
        if keys and isinstance(options, dict | type(None)):
            given = (options or {}).get("keys")
            if given is not None and ([given] if isinstance(given, str) else given) != keys:
                raise ValueError("give the keys once: merge_keys or options.keys")
            data["options"] = {**(options or {}), "keys": keys}
        return data

    @model_validator(mode="after")
    def _target_and_keys(self) -> WriteConfig:
        if self.merge_options is not None and self.format.lower() not in TABLE_FORMATS:
            raise ValueError(
                f"merge_options apply to database tables (format: sql), not format '{self.format}'"
            )
        keys = self.options.get("keys")
        if keys is not None and not (
            isinstance(keys, str)
            or (isinstance(keys, list) and all(isinstance(k, str) for k in keys))
        ):
            raise ValueError("options.keys must be a column name or a list of column names")
        if bool(self.path) == bool(self.table):
            raise ValueError("write needs exactly one of 'path' or 'table'")
        if self.mode in ("upsert", "append_once") and not self.keys:
            raise ValueError(f"mode '{self.mode}' needs 'options.keys' (the key columns)")
        return self

    @property
    def keys(self) -> list[str]:
        keys = self.options.get("keys") or []
        return [keys] if isinstance(keys, str) else list(keys)

    @property
    def target(self) -> str:
        return self.path or self.table or ""

    @model_validator(mode="before")
    @classmethod
    def _delta_shapes(cls, data: Any) -> Any:
        """One column for a list (``zorder_by: id``); YAML booleans as Delta's ``true``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("zorder_by", "skip_hash_columns", "skip_hash_sort_columns"):
            if isinstance(data.get(key), str):
                data[key] = [data[key]]
        props = data.get("table_properties")
        if isinstance(props, dict):
            data["table_properties"] = {
                k: str(v).lower() if isinstance(v, bool) else v for k, v in props.items()
            }
        return data

    @model_validator(mode="after")
    def _delta_keys(self) -> WriteConfig:
        given = [k for k in DELTA_WRITE_KEYS if getattr(self, k)]
        if given and self.format.lower() != "delta":
            raise ValueError(
                f"{given[0]} applies to Delta tables (format: delta), not format '{self.format}'"
            )
        if self.overwrite_schema and self.mode != "overwrite":
            raise ValueError(
                f"overwrite_schema applies to mode 'overwrite', not '{self.mode}' "
                "(merge_schema adds new columns in any mode)"
            )
        if self.overwrite_schema and self.merge_schema:
            raise ValueError("give merge_schema or overwrite_schema, not both")
        hashed = [k for k in ("skip_hash_columns", "skip_hash_sort_columns") if getattr(self, k)]
        if hashed and not self.skip_if_unchanged:
            raise ValueError(f"{hashed[0]} applies with skip_if_unchanged: true")
        both = [c for c in self.zorder_by if c in self.partition_by]
        if both:
            raise ValueError(f"zorder_by: '{both[0]}' is a partition column (Z-order the others)")
        if isinstance(self.add_metadata, list):
            known = set(METADATA_COLUMNS) | set(METADATA_COLUMNS.values())
            wrong = [c for c in self.add_metadata if c not in known]
            if wrong:
                raise ValueError(
                    f"add_metadata: unknown column '{wrong[0]}' "
                    f"(known: {', '.join(METADATA_COLUMNS)})"
                )
        return self

    @property
    def optimize(self) -> AutoOptimize | None:
        """What ``auto_optimize`` asks for after the write (None: nothing)."""
        if isinstance(self.auto_optimize, AutoOptimize):
            return self.auto_optimize if self.auto_optimize.enabled else None
        return AutoOptimize() if self.auto_optimize else None

    @property
    def metadata_columns(self) -> list[str]:
        """The ``add_metadata`` columns asked for (``_extracted_at`` ...), in Odibi's order."""
        chosen = self.add_metadata
        if not chosen:
            return []
        if chosen is True:
            chosen = WriteMetadata()
        if isinstance(chosen, WriteMetadata):
            return [c for k, c in METADATA_COLUMNS.items() if getattr(chosen, k)]
        names = {METADATA_COLUMNS.get(c, c) for c in chosen}
        return [c for c in METADATA_COLUMNS.values() if c in names]

    @property
    def content_hash(self) -> str | None:
        return self._content_hash

    def with_content_hash(self, digest: str) -> WriteConfig:
        """A copy whose write stores ``digest`` with its commit (``skip_if_unchanged``)."""
        copy = self.model_copy()
        copy._content_hash = digest
        return copy


class TransformStep(_Strict):
    """One step: exactly one of ``sql``, ``sql_file``, ``function`` or ``operation``."""

    sql: Ref | None = None
    sql_file: Ref | None = None
    function: Ref | None = None
    operation: Ref | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bare_sql(cls, data: Any) -> Any:
        return {"sql": data} if isinstance(data, str) else data

    @field_validator("sql")
    @classmethod
    def _a_statement(cls, value: str | None) -> str | None:
        if value is not None and not _SQL_NOISE.sub("", value).replace(";", "").strip():
            raise ValueError("the SQL has no statement (only ';', comments or spaces)")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> TransformStep:
        given = [k for k in ("sql", "sql_file", "function", "operation") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "a step needs exactly one of 'sql', 'sql_file', 'function' or 'operation'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        for k in ("sql", "sql_file", "function", "operation"):
            if getattr(self, k):
                return k
        raise AssertionError("validated step without a kind")


# Comments, for telling an empty statement from a real one (a '--' inside a string literal
# leaves the quote behind, so nothing real is ever taken for empty).
_SQL_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


class TransformConfig(_Strict):
    steps: list[TransformStep] = Field(default_factory=list)


class ColumnConfig(_Strict):
    description: str | None = None
    pii: bool = False
    sensitive: bool = False
    tags: list[str] = Field(default_factory=list)
    type: str | None = None


PrivacyMethod = Literal["hash", "mask", "redact"]


class PrivacyConfig(_Strict):
    """Odibi's ``privacy``: how the node's PII columns (``columns.<c>.pii``, and those its
    dependencies marked) are anonymized in its output."""

    method: PrivacyMethod
    #: Appended to each value before hashing (a secret: never shown).
    salt: str | None = None
    #: Columns taken out of PII protection here and downstream.
    declassify: list[str] = Field(default_factory=list)

    @field_validator("declassify", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _per_column_rules(cls, data: Any) -> Any:
        # A shape one of Odibi's doc pages shows, which Odibi's own config refuses too.
        if isinstance(data, dict) and "rules" in data:
            raise ValueError(
                "privacy takes no 'rules': give one 'method' (hash, mask or redact) and mark "
                "the columns with columns.<c>.pii: true"
            )
        return data


class SchemaPolicyConfig(_Strict):
    """Odibi's ``schema_policy``: the node's output measured against its write target's
    existing columns before the write."""

    mode: Literal["enforce", "evolve"] = "enforce"
    #: Default: ``ignore`` (drop them) under enforce, ``add_nullable`` under evolve.
    on_new_columns: Literal["ignore", "fail", "add_nullable"] | None = None
    on_missing_columns: Literal["fail", "fill_null"] = "fill_null"

    @model_validator(mode="after")
    def _defaults(self) -> SchemaPolicyConfig:
        if self.on_new_columns is None:
            self.on_new_columns = "add_nullable" if self.mode == "evolve" else "ignore"
        elif self.mode == "enforce" and self.on_new_columns == "add_nullable":
            raise ValueError(
                "on_new_columns: add_nullable adds columns to the target, which mode: enforce "
                "forbids; use mode: evolve"
            )
        return self


class PatternConfig(_Strict):
    """Odibi's ``pattern: {type, params}``: the same as ``transformer: type`` + ``params``."""

    type: Ref
    params: dict[str, Any] = Field(default_factory=dict)


OnError = Literal["fail_fast", "fail_later", "ignore"]

#: An ``inputs`` entry naming another node's output: ``$pipeline.node``.
_REFERENCE = re.compile(r"^\$([a-zA-Z_][a-zA-Z0-9_]*)\.([a-zA-Z_][a-zA-Z0-9_]*)$")


def input_reference(value: Any) -> tuple[str, str] | None:
    """``(pipeline, node)`` of an ``inputs`` reference (``$pipeline.node``), or None."""
    match = _REFERENCE.fullmatch(value.strip()) if isinstance(value, str) else None
    return (match.group(1), match.group(2)) if match else None


def _source_kind(value: Any) -> str:
    return INPUT_TAGS[1] if isinstance(value, str) else INPUT_TAGS[0]


#: The labels pydantic puts in an error's location inside an ``inputs`` entry (dropped from
#: messages): a read block's errors then read as the block's own, not a union's.
INPUT_TAGS = ("(read block)", "(reference)")
InputSource = Annotated[
    Annotated[ReadConfig, Tag(INPUT_TAGS[0])] | Annotated[StrictStr, Tag(INPUT_TAGS[1])],
    Discriminator(_source_kind),
]


def _check_inputs(value: Any) -> Any:
    """Odibi's ``inputs``: each entry a ``$pipeline.node`` reference or a read block."""
    if not isinstance(value, dict):
        return value  # the field's type reports it
    if not value:
        raise ValueError("inputs needs at least one entry (name: $pipeline.node or a read block)")
    for name, source in value.items():
        if isinstance(source, str) and input_reference(source) is None:
            raise ValueError(
                f"input '{name}': '{source}' is not a reference like $pipeline.node "
                "(or give a read block)"
            )
        if isinstance(source, dict) and source.get("incremental") is not None:
            raise ValueError(
                f"input '{name}': incremental reads keep their mark per node; give the node "
                "a 'read' with incremental instead of an input"
            )
    return value


#: Stands for "every column" in :attr:`NodeConfig.masked_columns` (``sensitive: true``).
ALL_COLUMNS = "*"


class NodeConfig(_Strict):
    name: Name
    description: str | None = None
    #: Markdown shown in the node's story section (or ``explanation_file``, read at load).
    explanation: str | None = None
    runbook_url: str | None = None
    enabled: bool = True
    tags: list[str] = Field(default_factory=list)
    depends_on: list[Ref] = Field(default_factory=list)
    columns: dict[str, ColumnConfig] = Field(default_factory=dict)
    read: ReadConfig | None = None
    transformer: Ref | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    pattern: PatternConfig | None = None
    transform: TransformConfig | None = None
    write: WriteConfig | None = None
    # Owned by quality plugins; core passes them through untouched.
    quality: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    contracts: list[Any] = Field(default_factory=list)
    on_error: OnError = "fail_later"
    cache: bool = False
    sensitive: bool | list[str] = False
    retry: RetryConfig | None = None
    #: A Markdown file (relative to the project file) holding the explanation.
    explanation_file: str | None = None
    #: Odibi's ``inputs``: name → ``$pipeline.node`` or a read block, each a SQL table of that
    #: name (the first, or the one named ``df``, is the current frame); instead of ``read``.
    inputs: Annotated[dict[Name, InputSource] | None, BeforeValidator(_check_inputs)] = None
    privacy: PrivacyConfig | None = None
    schema_policy: SchemaPolicyConfig | None = None
    #: SQL statements run before the read and after the write (see ``runner.node_sql``).
    pre_sql: list[str] = Field(default_factory=list)
    post_sql: list[str] = Field(default_factory=list)

    @field_validator("pre_sql", "post_sql", mode="before")
    @classmethod
    def _statements(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _policy_has_a_target(self) -> NodeConfig:
        if self.schema_policy is not None and self.write is None:
            raise ValueError("schema_policy compares the output with the write target: add 'write'")
        return self

    #: Substituted strings of this node → what the project file said there (see ``templates``).
    _templates: dict[str, str] = PrivateAttr(default_factory=dict)
    #: What ``explanation_file`` holds, read when the project loads.
    _explanation_text: str | None = PrivateAttr(None)

    @property
    def explanation_markdown(self) -> str | None:
        """The node's explanation (inline or from its file), Markdown."""
        return self.explanation or self._explanation_text

    @property
    def templates(self) -> dict[str, str]:
        """This node's substituted strings → as written (``${env:DB_PASSWORD}``), so its
        definition is stored as the user wrote it."""
        return self._templates

    @field_validator("depends_on", "tags", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("runbook_url")
    @classmethod
    def _runbook_http(cls, value: str | None) -> str | None:
        return _http_url(value) if value else value

    @model_validator(mode="after")
    def _one_explanation(self) -> NodeConfig:
        if self.explanation and self.explanation_file:
            raise ValueError("give either 'explanation' or 'explanation_file', not both")
        return self

    @model_validator(mode="after")
    def _pattern_is_a_transformer(self) -> NodeConfig:
        # The runner knows transformers only; a pattern is one by another spelling.
        if self.pattern is not None:
            if self.transformer or self.params:
                raise ValueError("give either 'pattern' or 'transformer' + 'params', not both")
            self.transformer = self.pattern.type
            self.params = dict(self.pattern.params)
        return self

    @model_validator(mode="after")
    def _read_or_inputs(self) -> NodeConfig:
        if self.read is not None and self.inputs:
            raise ValueError(
                "give either 'read' (one source) or 'inputs' (named sources), not both"
            )
        if self.write is not None and self.write.first_run_query:
            fmt = self.read.format.lower() if self.read is not None else None
            if fmt not in TABLE_FORMATS:
                raise ValueError(
                    "write.first_run_query replaces the query of a database read "
                    "(read.format: sql) on the first run; "
                    + (f"this node reads format '{fmt}'" if fmt else "this node has no read")
                )
        return self

    @property
    def masked_columns(self) -> set[str]:
        """Columns whose values never appear in stories (``ALL_COLUMNS`` for every column)."""
        cols = {c for c, meta in self.columns.items() if meta.pii or meta.sensitive}
        if isinstance(self.sensitive, list):
            cols.update(self.sensitive)
        elif self.sensitive:
            cols.add(ALL_COLUMNS)
        return cols


class PipelineConfig(_Strict):
    pipeline: Name
    description: str | None = None
    layer: str | None = None
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    nodes: list[NodeConfig]
    #: How old the last successful run may be (``30m``, ``6h``, ``1d``): see ``freshness``.
    freshness_sla: str | None = None
    #: What the age is measured from; only the run's end is (as in Odibi).
    freshness_anchor: str = "run_completion"

    _templates: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def templates(self) -> dict[str, str]:
        """The pipeline's own substituted strings (not its nodes') → as written."""
        return self._templates

    def node(self, name: str) -> NodeConfig:
        return next(n for n in self.nodes if n.name == name)

    @model_validator(mode="after")
    def _inputs_are_dependencies(self) -> PipelineConfig:
        # An input naming a node of this pipeline is a dependency: the DAG orders it and its
        # output is handed over in memory (or read back from its write, like any dependency).
        names = {n.name for n in self.nodes}
        for node in self.nodes:
            for source in (node.inputs or {}).values():
                ref = input_reference(source)
                if ref is None or ref[0] != self.pipeline or ref[1] not in names:
                    continue  # another pipeline's, or an unknown node (validate names it)
                if ref[1] not in node.depends_on:
                    node.depends_on.append(ref[1])
        return self

    @field_validator("tags", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("freshness_sla")
    @classmethod
    def _sla(cls, value: str | None) -> str | None:
        if value is not None:
            sla_seconds(value)
        return value

    @field_validator("freshness_anchor")
    @classmethod
    def _anchor(cls, value: str) -> str:
        if value in ("table_max_timestamp", "watermark_state"):
            raise ValueError(
                "not supported; freshness is measured from the end of the last successful "
                "run (run_completion)"
            )
        if value != "run_completion":
            raise ValueError("must be 'run_completion'")
        return value

    @property
    def freshness_seconds(self) -> float | None:
        return sla_seconds(self.freshness_sla) if self.freshness_sla else None


_SLA = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_SLA_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def sla_seconds(text: str) -> float:
    """``6h`` → 21600.0: a number and a unit, s, m, h or d (Odibi's freshness_sla)."""
    match = _SLA.fullmatch(str(text).strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError("must be a number and a unit, s, m, h or d (30m, 6h, 1d)")
    return float(match.group(1)) * _SLA_UNITS[match.group(2)]


class ProjectConfig(_Strict):
    project: str
    engine: Ref = "pandas"
    description: str | None = None
    owner: str | None = None
    version: str | int | float | None = None
    connections: dict[str, ConnectionConfig] = Field(default_factory=dict)
    story: StoryConfig = Field(default_factory=StoryConfig)
    system: SystemConfig | None = None
    pipelines: list[PipelineConfig] = Field(default_factory=list)
    vars: dict[str, Any] = Field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = Field(default_factory=dict)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    alerts: list[AlertConfig] = Field(default_factory=list)
    lineage: LineageConfig | None = None
    #: Environment variables (``DB_PASS``) or vars (``vars.pw``) whose values are secrets
    #: whatever their names say (see ``odibi_core.secrets``).
    secrets: list[str] = Field(default_factory=list)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)

    _path: Path = PrivateAttr(default=Path("odibi.yaml"))
    _environment: str | None = PrivateAttr(default=None)
    _secrets: SecretSet | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path:
        """The project file this configuration came from."""
        return self._path

    @property
    def root(self) -> Path:
        """The directory relative paths resolve against."""
        return self._path.parent

    @property
    def environment(self) -> str | None:
        return self._environment

    @property
    def secret_set(self) -> SecretSet:
        """The project's secrets, decided once (at load; from the model if built in code)."""
        if self._secrets is None:
            from odibi_core.secrets import SecretSet

            self._secrets = SecretSet.for_project(self.model_dump(), self.secrets)
        return self._secrets

    def pipeline(self, name: str) -> PipelineConfig:
        return next(p for p in self.pipelines if p.pipeline == name)
