"""Database connections as data, without a server: Odibi's YAML spellings, what pyodbc and
psycopg would be handed (an Azure AD token included), and the T-SQL a keyed write sends to
SQL Server, compiled with SQLAlchemy's mssql dialect and checked as text."""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from odibi_core.config.models import AuditColumns, ReadConfig, WriteConfig
from odibi_core.connections.sql import (
    SQL_COPT_SS_ACCESS_TOKEN,
    AzureSqlConnection,
    PostgresConnection,
    SqlConfig,
    SqlServerConnection,
    connect_args,
)
from odibi_core.io.format import Location
from odibi_core.io.sql import SqlFormat
from odibi_core.io.sql_dialects import TableName
from odibi_core.io.sql_mssql import MssqlDialect
from odibi_core.io.sql_postgres import PostgresDialect

pytest.importorskip("sqlalchemy")


def _sql_server(cls=SqlServerConnection, **fields):
    return cls("warehouse", SqlConfig.model_validate(fields), Path("."))


@pytest.mark.parametrize(
    ("fields", "mode"),
    [
        ({"auth": {"mode": "sql_login", "username": "u", "password": "p"}}, "sql_login"),
        ({"auth_mode": "sql", "auth": {"username": "u", "password": "p"}}, "sql_login"),
        ({"username": "u", "password": "p"}, "sql_login"),
        ({"auth": {"mode": "aad_msi"}}, "managed_identity"),
        ({}, "managed_identity"),
        (
            {
                "auth": {
                    "mode": "aad_password",
                    "tenant_id": "t",
                    "client_id": "c",
                    "client_secret": "s",
                }
            },
            "service_principal",
        ),
        (
            {"auth": {"username": "admin", "key_vault_name": "kv", "secret_name": "sql-password"}},
            "key_vault",
        ),
    ],
)
def test_odibis_spellings_of_auth_are_read_as_one_mode(fields, mode):
    config = SqlConfig.model_validate(
        {"server": "s.database.windows.net", "database": "db", **fields}
    )
    assert config.auth_mode == mode
    assert config.host == "s.database.windows.net"


def test_a_mode_without_its_fields_is_refused():
    with pytest.raises(
        ValueError, match="auth mode 'service_principal' needs tenant_id, client_secret"
    ):
        SqlConfig.model_validate(
            {"host": "h", "database": "d", "auth": {"mode": "service_principal", "client_id": "c"}}
        )


def test_the_odbc_connection_string_of_a_sql_login():
    conn = _sql_server(
        host="s.database.windows.net",
        database="sales",
        auth={"mode": "sql_login", "username": "loader", "password": "p;w}d"},
        timeout=12,
    )
    assert conn.odbc_connection_string() == (
        "DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:s.database.windows.net,1433;"
        "DATABASE=sales;Encrypt=yes;TrustServerCertificate=no;Connection Timeout=12;"
        "UID=loader;PWD={p;w}}d};"
    )
    assert conn.secrets() == ["p;w}d"]
    assert "p;w}d" not in str(conn.describe())


class _Credential:
    def __init__(self):
        self.scopes = []

    def get_token(self, scope):
        self.scopes.append(scope)
        return SimpleNamespace(token="eyJ-access-token-for-azure-sql")


def test_an_azure_ad_identity_reaches_the_driver_as_an_access_token():
    conn = _sql_server(
        AzureSqlConnection,
        host="s.database.windows.net",
        database="sales",
        auth={"mode": "aad_msi", "client_id": "user-assigned-id"},
    )
    text = conn.odbc_connection_string()
    assert "UID=" not in text and "PWD=" not in text  # the token goes separately
    assert conn.uses_token()
    credential = _Credential()
    token = conn.access_token(credential)
    assert credential.scopes == ["https://database.windows.net/.default"]
    args = connect_args(token)
    packed = args["attrs_before"][SQL_COPT_SS_ACCESS_TOKEN]
    assert SQL_COPT_SS_ACCESS_TOKEN == 1256
    raw = "eyJ-access-token-for-azure-sql".encode("utf-16-le")
    assert packed == struct.pack("<I", len(raw)) + raw
    assert token in conn.secrets()  # tokens obtained are scrubbed from outputs too
    cparams: dict = {}
    conn.token_hook(credential)(None, None, [], cparams)  # as SQLAlchemy calls it
    assert cparams == args and len(credential.scopes) == 2  # a token per new connection


def test_the_credential_of_each_azure_ad_mode():
    pytest.importorskip("azure.identity")
    from azure.identity import ClientSecretCredential, ManagedIdentityCredential

    principal = _sql_server(
        host="h", database="d", tenant_id="t", client_id="c", client_secret="s3cret-value"
    )
    assert isinstance(principal.credential(), ClientSecretCredential)
    identity = _sql_server(host="h", database="d", auth={"mode": "managed_identity"})
    assert isinstance(identity.credential(), ManagedIdentityCredential)


def test_the_postgres_url_hides_its_password():
    conn = PostgresConnection(
        "pg",
        SqlConfig.model_validate(
            {
                "host": "db",
                "database": "w",
                "sslmode": "require",
                "auth": {"username": "u", "password": "pw-1234"},
            }
        ),
        Path("."),
    )
    url = conn.url()
    assert url.drivername == "postgresql+psycopg"
    assert url.port == 5432 and url.query["sslmode"] == "require"
    assert url.query["options"] == "-c TimeZone=UTC"
    assert "pw-1234" not in str(url)


def test_the_t_sql_merge_from_a_staging_table():
    dialect = MssqlDialect()
    target = TableName.parse("[sales].[fact_orders]")
    staging, create = dialect.stage(target, ["DateId", "store_id", "value"], "staging")
    assert staging.schema == "staging" and staging.name.startswith("fact_orders_staging_")
    assert create == (
        f"SELECT TOP 0 [DateId], [store_id], [value] INTO [staging].[{staging.name}] "
        "FROM [sales].[fact_orders]"
    )
    (merge,) = dialect.keyed(
        target,
        TableName("staging", "s1"),
        ["DateId", "store_id", "value"],
        ["DateId", "store_id"],
        {"store_id"},
        True,
        AuditColumns(created_col="created_ts", updated_col="updated_ts"),
    )
    assert merge.splitlines() == [
        "MERGE INTO [sales].[fact_orders] WITH (HOLDLOCK) AS t",
        "USING [staging].[s1] AS s",
        "ON t.[DateId] = s.[DateId] AND (t.[store_id] = s.[store_id] OR "
        "(t.[store_id] IS NULL AND s.[store_id] IS NULL))",
        "WHEN MATCHED THEN UPDATE SET t.[value] = s.[value], t.[updated_ts] = SYSUTCDATETIME()",
        "WHEN NOT MATCHED BY TARGET THEN INSERT ([DateId], [store_id], [value], [created_ts], "
        "[updated_ts]) VALUES (s.[DateId], s.[store_id], s.[value], SYSUTCDATETIME(), "
        "SYSUTCDATETIME());",
    ]
    (insert_only,) = dialect.keyed(
        target, staging, ["DateId", "value"], ["DateId"], set(), False, None
    )
    assert "WHEN MATCHED" not in insert_only
    assert dialect.drop(staging) == [f"DROP TABLE [staging].[{staging.name}]"]
    temp, _ = dialect.stage(target, ["DateId"], None)
    assert temp.name.startswith("#odibi_stage_")


def test_a_new_sql_server_table_gets_t_sqls_types():
    created = MssqlDialect().create_table(
        TableName.parse("dbo.orders"),
        [
            pa.field("id", pa.int64()),
            pa.field("at", pa.timestamp("us", tz="UTC")),
            pa.field("local", pa.timestamp("us")),
            pa.field("price", pa.decimal128(12, 2)),
            pa.field("name", pa.string()),
            pa.field("ok", pa.bool_()),
            pa.field("raw", pa.binary()),
        ],
    )
    assert [line.strip().rstrip(",").strip() for line in created.splitlines()] == [
        "CREATE TABLE dbo.orders (",
        "id BIGINT NULL",
        "at DATETIMEOFFSET NULL",
        "local DATETIME2 NULL",
        "price NUMERIC(12, 2) NULL",
        "name NVARCHAR(max) NULL",
        "ok BIT NULL",
        "raw VARBINARY(max) NULL",
        ")",
    ]


def test_postgres_keyed_writes_update_then_insert_from_staging():
    statements = PostgresDialect().keyed(
        TableName("public", "orders"),
        TableName(None, "stage"),
        ["id", "amount"],
        ["id"],
        {"id"},
        True,
        None,
    )
    assert statements == [
        'UPDATE "public"."orders" AS t SET "amount" = s."amount" FROM "stage" AS s '
        'WHERE t."id" IS NOT DISTINCT FROM s."id"',
        'INSERT INTO "public"."orders" ("id", "amount") SELECT s."id", s."amount" FROM "stage" '
        'AS s WHERE NOT EXISTS (SELECT 1 FROM "public"."orders" AS t WHERE t."id" IS NOT '
        'DISTINCT FROM s."id")',
    ]


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (
            SqlServerConnection,
            "SELECT * FROM (SELECT * FROM dbo.Orders) AS odibi_source WHERE (region = 'EU') "
            "AND [updated_at] > CAST('2026-01-02T00:00:00+00:00' AS DATETIMEOFFSET)",
        ),
        (
            PostgresConnection,
            "SELECT * FROM (SELECT * FROM dbo.Orders) AS odibi_source WHERE (region = 'EU') "
            "AND \"updated_at\" > TIMESTAMPTZ '2026-01-02T00:00:00+00:00'",
        ),
    ],
)
def test_a_filter_and_a_mark_go_into_the_query(cls, expected):
    from odibi_core.io.sql_dialects import for_connection

    conn = cls("db", SqlConfig(host="h", database="d", username="u"), Path("."))
    spec = ReadConfig(
        connection="db", format="sql", query="SELECT * FROM dbo.Orders;", filter="region = 'EU'"
    ).with_newer_than("updated_at", "2026-01-02T00:00:00+00:00", False)
    where = Location.of("sql", conn, "")
    assert where.table is None and where.uri == ""
    assert SqlFormat().query(where, spec, for_connection(conn)) == expected
    plain = ReadConfig(
        connection="db", format="sql", table="sales.orders", options={"push_down": False}
    )
    plain = plain.with_newer_than("id", 7, False)
    assert SqlFormat().query(
        Location.of("sql", conn, "sales.orders"), plain, for_connection(conn)
    ) == (f"SELECT * FROM {for_connection(conn).table(TableName('sales', 'orders'))}")


def test_merge_is_upsert_with_merge_keys():
    spec = WriteConfig.model_validate(
        {
            "connection": "db",
            "format": "sql_server",
            "table": "dbo.t",
            "mode": "merge",
            "merge_keys": ["id"],
        }
    )
    assert spec.mode == "upsert" and spec.keys == ["id"]
    with pytest.raises(ValueError, match="merge_options apply to database tables"):
        WriteConfig.model_validate(
            {
                "connection": "d",
                "format": "delta",
                "path": "t",
                "mode": "merge",
                "merge_keys": "id",
                "merge_options": {"exclude_columns": ["x"]},
            }
        )


def test_a_database_connection_has_no_uri():
    conn = PostgresConnection("pg", SqlConfig(host="h", database="d", username="u"), Path("."))
    assert conn.stores == "tables"
    with pytest.raises(NotImplementedError, match="holds tables, not files"):
        conn.uri("x")


def test_a_file_format_on_a_database_is_named_as_such():
    from odibi_core import io
    from odibi_core.errors import NodeError
    from odibi_core.io.builtin import FORMATS

    conn = PostgresConnection("pg", SqlConfig(host="h", database="d", username="u"), Path("."))
    spec = ReadConfig(connection="pg", format="csv", path="orders.csv")
    with pytest.raises(
        NodeError,
        match=r"format 'csv' reads files, but connection 'pg' "
        r"\(postgres\) holds tables: use format: sql",
    ):
        io.read({f.name: f for f in FORMATS}, spec, conn)


def test_sql_servers_datetimeoffset_reads_as_an_aware_time():
    from datetime import datetime, timedelta, timezone

    from odibi_core.connections.sql import datetimeoffset

    raw = struct.pack("<6hI2h", 2026, 1, 2, 3, 4, 5, 123456000, -5, -30)
    assert datetimeoffset(raw) == datetime(
        2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(-timedelta(hours=5, minutes=30))
    )


def test_times_with_a_zone_go_to_sql_server_as_iso_text():
    from datetime import UTC, datetime

    from odibi_core.io.sql_mssql import _offsets_as_text

    data = pa.table(
        {
            "at": pa.array(
                [datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")
            )
        }
    )
    assert _offsets_as_text(data).column("at").to_pylist() == [
        "2026-01-02T03:04:05.000006+00:00",
        None,
    ]


def test_spark_reaches_sql_server_with_a_jdbc_url_and_the_login():
    conn = _sql_server(
        host="s.database.windows.net",
        database="sales;eu",
        auth={"mode": "sql_login", "username": "loader", "password": "p;w}d"},
        timeout=12,
        trust_server_certificate=True,
    )
    url, properties = conn.jdbc()
    assert url == (
        "jdbc:sqlserver://s.database.windows.net:1433;databaseName={sales;eu};encrypt=true;"
        "trustServerCertificate=true;loginTimeout=12;"
    )
    assert properties == {
        "driver": "com.microsoft.sqlserver.jdbc.SQLServerDriver",
        "user": "loader",
        "password": "p;w}d",
    }


def test_spark_reaches_postgres_in_utc_with_batched_inserts():
    conn = PostgresConnection(
        "pg",
        SqlConfig.model_validate(
            {
                "host": "db",
                "port": 6432,
                "database": "w",
                "sslmode": "require",
                "auth": {"username": "u", "password": "pw-1234"},
            }
        ),
        Path("."),
    )
    url, properties = conn.jdbc()
    assert url == "jdbc:postgresql://db:6432/w"
    assert properties["options"] == "-c TimeZone=UTC"
    assert properties["reWriteBatchedInserts"] == "true"
    assert (properties["user"], properties["password"], properties["sslmode"]) == (
        "u",
        "pw-1234",
        "require",
    )


def test_spark_hands_sql_server_a_token_of_the_service_principal(azure_ad, monkeypatch):
    """The real ClientSecretCredential asks the authority the connection names (the local
    token service) for an Azure SQL token, which goes to the JDBC driver as accessToken."""
    import azure_ad_services as aad

    services = azure_ad["services"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure_ad["ca"]))
    monkeypatch.setenv("SSL_CERT_FILE", str(azure_ad["ca"]))
    conn = _sql_server(
        AzureSqlConnection,
        host="s.database.windows.net",
        database="sales",
        authority_host=services.authority,
        auth={
            "mode": "service_principal",
            "tenant_id": aad.TENANT,
            "client_id": aad.CLIENT_ID,
            "client_secret": aad.CLIENT_SECRET,
        },
    )
    before = len(services.requests)
    _url, properties = conn.jdbc()
    assert "user" not in properties and "password" not in properties
    assert properties["accessToken"] in services.tokens
    assert properties["accessToken"] in conn.secrets()
    grants = [f for s, m, p, f in services.requests[before:] if m == "POST"]
    assert [g["scope"] for g in grants] == ["https://database.windows.net/.default"]
