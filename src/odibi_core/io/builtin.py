"""The built-in formats, registered through the same hook as any plugin's."""

from __future__ import annotations

from odibi_core import hookimpl
from odibi_core.io.api import ApiFormat
from odibi_core.io.csv import CsvFormat
from odibi_core.io.delta import DeltaFormat
from odibi_core.io.format import Format
from odibi_core.io.json import JsonFormat
from odibi_core.io.parquet import ParquetFormat
from odibi_core.io.sql import AzureSqlFormat, PostgresFormat, SqlFormat, SqlServerFormat

FORMATS: tuple[Format, ...] = (
    CsvFormat(),
    ParquetFormat(),
    JsonFormat(),
    DeltaFormat(),
    SqlFormat(),
    PostgresFormat(),
    AzureSqlFormat(),
    SqlServerFormat(),
    ApiFormat(),
)


@hookimpl
def odibi_register_formats() -> list[Format]:
    return list(FORMATS)
