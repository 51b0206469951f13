"""``azure_adls`` connections (SPEC §8) against a real Blob service: Azurite, started by the
tests on 127.0.0.1. Data, Delta tables and the System Catalog live in the container; the
project reaches them through the real CLI with each way of giving credentials."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import azure_ad_services as aad
import external_tools as tools

pytest.importorskip("adlfs", reason="the azure extra is part of the dev install")

KEY = tools.AZURITE_KEY
ACCOUNT = tools.AZURITE_ACCOUNT
ORDERS = "id,k,amount\n" + "\n".join(f"{i},{'ab'[i % 2]},{i * 5}" for i in range(1, 9)) + "\n"


def _connection_string(endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint={endpoint};"
    )


@pytest.fixture
def container(azurite, request):
    """A fresh container holding two CSV files of orders under ``bronze/in/``."""
    from azure.storage.blob import BlobServiceClient

    name = "t" + format(abs(hash(request.node.nodeid)), "x")[:20]
    service = BlobServiceClient.from_connection_string(_connection_string(azurite))
    client = service.create_container(name)
    lines = ORDERS.splitlines()
    client.upload_blob("bronze/in/orders1.csv", "\n".join(lines[:5]) + "\n")
    client.upload_blob("bronze/in/orders2.csv", "\n".join([lines[0], *lines[5:]]) + "\n")
    yield name
    service.delete_container(name)


def _delta_options(endpoint: str) -> dict[str, str]:
    return {
        "account_name": ACCOUNT,
        "account_key": KEY,
        "endpoint": endpoint,
        "allow_http": "true",
    }


def _project(odibi_project, connection: str, env: dict[str, str] | None = None):
    return odibi_project(
        {
            "odibi.yaml": f"""
                project: lakehouse
                connections:
                  lake:
{connection}
                system: {{connection: lake, path: _odibi_system}}
                pipelines:
                  - pipeline: orders
                    nodes:
                      - name: raw
                        read: {{connection: lake, format: csv, path: in/orders*.csv}}
                      - name: big
                        depends_on: [raw]
                        transform: {{steps: ["SELECT * FROM df WHERE amount > 10"]}}
                        write: {{connection: lake, format: delta, path: out/big, mode: append}}
                      - name: by_k
                        depends_on: [raw]
                        transform:
                          steps: ["SELECT k, SUM(amount) AS total FROM df GROUP BY k ORDER BY k"]
                        write: {{connection: lake, format: parquet, path: out/by_k.parquet}}
                      - name: again
                        depends_on: [by_k]
                        read: {{connection: lake, format: parquet, path: out/by_k.parquet}}
                        write: {{connection: lake, format: csv, path: out/by_k.csv}}
            """,
        }
    )


def _indent(text: str) -> str:
    return "\n".join(" " * 20 + line for line in text.strip().splitlines())


def _check_outputs(project, container: str, endpoint: str) -> None:
    import pandas as pd
    from deltalake import DeltaTable

    options = _delta_options(endpoint)
    big = DeltaTable(f"az://{container}/bronze/out/big", storage_options=options).to_pandas()
    assert sorted(big["id"]) == [3, 4, 5, 6, 7, 8]
    fs_options = {"connection_string": _connection_string(endpoint)}
    by_k = pd.read_csv(f"az://{container}/bronze/out/by_k.csv", storage_options=fs_options)
    assert by_k.to_dict("records") == [{"k": "a", "total": 100}, {"k": "b", "total": 80}]
    runs = DeltaTable(
        f"az://{container}/bronze/_odibi_system/meta_runs", storage_options=options
    ).to_pandas()
    pipeline_rows = runs[runs["scope"] == "pipeline"]
    assert list(pipeline_rows["status"]) == ["SUCCESS"]
    assert set(runs[runs["scope"] == "node"]["node_name"]) == {"raw", "big", "by_k", "again"}


def test_a_project_reads_writes_and_keeps_its_catalog_in_a_container_with_an_account_key(
    odibi_project, container, azurite, monkeypatch
):
    monkeypatch.setenv("LAKE_KEY", KEY)
    project = _project(
        odibi_project,
        _indent(
            f"""
type: azure_adls
account_name: {ACCOUNT}
container: {container}
path_prefix: bronze
endpoint: {azurite}
auth:
  mode: direct_key
  account_key: ${{env:LAKE_KEY}}
"""
        ),
    )
    run = project.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    _check_outputs(project, container, azurite)

    # The catalog commands read the remote catalog.
    shown = project.odibi("catalog", "runs", "{config}", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert [r["status"] for r in json.loads(shown.stdout)["rows"]] == ["SUCCESS"]
    stats = project.odibi("catalog", "stats", "{config}", "--format", "json")
    assert stats.exit_code == 0, stats.output

    # A second run: the Delta table gets a second commit, the CSV is replaced.
    assert project.odibi("run", "{config}").exit_code == 0
    from deltalake import DeltaTable

    big = DeltaTable(f"az://{container}/bronze/out/big", storage_options=_delta_options(azurite))
    assert big.version() == 1 and len(big.to_pandas()) == 12

    # The key never lands in what the run leaves behind.
    for path in Path(project.root).rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="ignore"), path
    assert KEY not in run.output


def test_a_connection_in_odibis_own_spelling_runs_the_same_project(
    odibi_project, container, azurite, monkeypatch
):
    """``type: azure_blob``, ``account``, ``auth: {mode: account_key}`` as Odibi's docs write
    them."""
    monkeypatch.setenv("AZURE_STORAGE_KEY", KEY)
    project = _project(
        odibi_project,
        _indent(
            f"""
type: azure_blob
account: {ACCOUNT}
container: {container}
path_prefix: bronze
endpoint: {azurite}
auth:
  mode: account_key
  account_key: "${{AZURE_STORAGE_KEY}}"
"""
        ),
    )
    assert project.odibi("validate", "{config}").exit_code == 0
    run = project.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    _check_outputs(project, container, azurite)
    assert KEY not in run.output


def test_sas_token_and_connection_string_modes_are_inferred_from_their_fields(
    odibi_project, container, azurite
):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(
            read=True, write=True, delete=True, list=True, add=True, create=True
        ),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    with_sas = _project(
        odibi_project,
        _indent(
            f"""
type: azure_adls
account_name: {ACCOUNT}
container: {container}
path_prefix: bronze
endpoint: {azurite}
sas_token: "{sas}"
"""
        ),
    )
    run = with_sas.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    _check_outputs(with_sas, container, azurite)
    shown = with_sas.odibi("validate", "{config}", "--format", "json")
    assert shown.exit_code == 0, shown.output

    with_string = _project(
        odibi_project,
        _indent(
            f"""
type: azure_blob
container: {container}
path_prefix: bronze
connection_string: "{_connection_string(azurite)}"
"""
        ),
    )
    run = with_string.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    from deltalake import DeltaTable

    big = DeltaTable(f"az://{container}/bronze/out/big", storage_options=_delta_options(azurite))
    assert big.version() == 1  # the second project appended to the first one's table


def test_a_failing_read_names_the_file_and_never_the_key(odibi_project, container, azurite):
    project = odibi_project(
        {
            "odibi.yaml": f"""
                project: lakehouse
                retry: {{enabled: false}}
                connections:
                  lake:
                    type: azure_adls
                    account_name: {ACCOUNT}
                    container: {container}
                    endpoint: {azurite}
                    account_key: "{KEY}"
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: gone
                        read: {{connection: lake, format: csv, path: nowhere/x.csv}}
            """,
        }
    )
    run = project.odibi("run", "{config}")
    assert run.exit_code == 1
    assert "nowhere/x.csv" in run.output and KEY not in run.output
    runs = project.catalog("meta_runs")
    failed = [r for r in runs if r["node_name"] == "gone"]
    assert failed and "nowhere/x.csv" in failed[0]["error_message"]
    # Neither in the catalog (rows read back, every table) nor in the story or anything else.
    system = Path(project.root) / ".odibi" / "system"
    tables = [p.name for p in system.iterdir() if (p / "_delta_log").is_dir()]
    assert {"meta_runs", "meta_metrics"} <= set(tables)
    for table in tables:
        assert KEY not in json.dumps(project.catalog(table), default=str), table
    for path in Path(project.root).rglob("*"):
        if path.is_file() and path.suffix != ".parquet" and path.name != "odibi.yaml":
            assert KEY not in path.read_text(errors="ignore"), path


@contextlib.contextmanager
def _silent_endpoint() -> Iterator[str]:
    """A blob endpoint on 127.0.0.1 that accepts connections and never answers (a stalled
    service, or a proxy that swallows requests)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # and say nothing
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/{ACCOUNT}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def test_a_silent_endpoint_fails_within_the_connections_bounds_in_one_line(odibi_project):
    with _silent_endpoint() as endpoint:
        project = odibi_project(
            {
                "odibi.yaml": f"""
                    project: p
                    retry: {{enabled: false}}
                    connections:
                      lake:
                        type: azure_adls
                        account_name: {ACCOUNT}
                        container: c
                        endpoint: {endpoint}
                        account_key: "{KEY}"
                        connect_timeout: 1
                        read_timeout: 1
                        max_retries: 0
                    pipelines:
                      - pipeline: p
                        nodes:
                          - name: files
                            read: {{connection: lake, format: csv, path: in/x.csv}}
                          - name: table
                            read: {{connection: lake, format: delta, path: t}}
                """,
            }
        )
        started = time.monotonic()
        run = project.odibi("run", "{config}")
        took = time.monotonic() - started
    assert run.exit_code == 1, run.output
    # The SDKs' own defaults (3 retries 15 s+ apart, 60 s reads) take minutes here.
    assert took < 15, took
    rows = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    files, table = rows["files"]["error_message"], rows["table"]["error_message"]
    assert (
        files.startswith("cannot read csv 'in/x.csv' on connection 'lake': ") and "\n" not in files
    )
    assert "imeout" in files  # the SDK's "Timeout on reading data from socket"
    assert table.startswith("cannot read delta 't' on connection 'lake': ") and "\n" not in table
    assert "timed out" in table and KEY not in run.output


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("auth_mode: service_principal\n    tenant_id: t", "needs client_id, client_secret"),
        ("auth: {mode: key_vault, key_vault_name: kv}", "needs secret_name"),
        ("auth_mode: direct_key", "needs account_key"),
        ("auth_mode: api_key\n    account_key: k", "auth_mode"),
    ],
)
def test_incomplete_credentials_are_reported_by_validate(odibi_project, fields, message):
    project = odibi_project(
        {
            "odibi.yaml": f"""
project: p
connections:
  lake:
    type: azure_adls
    account_name: acct
    container: lake
    {fields}
pipelines:
  - pipeline: p
    nodes:
      - {{name: a, read: {{connection: lake, format: csv, path: x.csv}}}}
""",
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert message in run.output and "lake" in run.output


def test_remote_files_append_partition_and_survive_a_failed_write(
    odibi_project, container, azurite
):
    import pandas as pd

    project = odibi_project(
        {
            "odibi.yaml": f"""
                project: files
                retry: {{enabled: false}}
                connections:
                  lake:
                    type: azure_adls
                    account_name: {ACCOUNT}
                    container: {container}
                    path_prefix: bronze
                    endpoint: {azurite}
                    account_key: "{KEY}"
                system: {{connection: lake}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: raw
                        read: {{connection: lake, format: csv, path: in/orders1.csv}}
                      - name: log
                        depends_on: [raw]
                        write: {{connection: lake, format: csv, path: out/log.csv, mode: append}}
                      - name: by_k
                        depends_on: [raw]
                        write: {{connection: lake, format: parquet, path: out/by_k,
                                partition_by: [k]}}
                      - name: names
                        depends_on: [raw]
                        transform: {{steps: ["SELECT id, k || '${{vars.suffix}}' AS k FROM df"]}}
                        write: {{connection: lake, format: csv, path: out/names.csv,
                                options: {{encoding: ascii}}}}
                vars: {{suffix: ""}}
            """,
        }
    )
    fs_options = {"connection_string": _connection_string(azurite)}
    root = f"az://{container}/bronze/out"
    for _ in range(2):
        run = project.odibi("run", "{config}")
        assert run.exit_code == 0, run.output
    log = pd.read_csv(f"{root}/log.csv", storage_options=fs_options)
    assert sorted(log["id"]) == [1, 1, 2, 2, 3, 3, 4, 4]  # appended by the second run
    by_k = pd.read_parquet(f"{root}/by_k", storage_options=fs_options)
    assert sorted(by_k["id"]) == [1, 2, 3, 4]  # replaced, not appended
    import adlfs

    fs = adlfs.AzureBlobFileSystem(connection_string=_connection_string(azurite))
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{container}/bronze/out/by_k")) == [
        "k=a",
        "k=b",
    ]
    assert not [p for p in fs.ls(f"{container}/bronze/out") if ".tmp" in p]

    # A write that fails while the file is made (a name ASCII cannot encode) leaves the
    # previous file as it was.
    before = fs.cat(f"{container}/bronze/out/names.csv")
    project.write(
        {"odibi.yaml": project.path("odibi.yaml").read_text().replace('suffix: ""', 'suffix: "é"')}
    )
    failing = project.odibi("run", "{config}")
    assert failing.exit_code == 1
    assert "names.csv" in failing.output and "ascii" in failing.output
    assert fs.cat(f"{container}/bronze/out/names.csv") == before

    # The remote catalog lists every table, plugin tables included.
    stats = project.odibi("catalog", "stats", "{config}", "--format", "json")
    assert stats.exit_code == 0, stats.output
    assert "meta_metrics" in stats.stdout


def test_a_catalog_the_run_cannot_reach_is_reported_in_one_line_without_the_key(
    odibi_project, container, azurite
):
    wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleQ=="
    project = odibi_project(
        {
            "odibi.yaml": f"""
                project: p
                connections:
                  d: {{type: local, base_path: .}}
                  lake:
                    type: azure_adls
                    account_name: {ACCOUNT}
                    container: {container}
                    endpoint: {azurite}
                    account_key: "{wrong}"
                system: {{connection: lake}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: a
                        read: {{connection: d, format: csv, path: in.csv}}
            """,
            "in.csv": "x\n1\n",
        }
    )
    run = project.odibi("run", "{config}", subprocess_=True)  # the console script's logs too
    assert run.exit_code == 1
    assert "SUCCESS a" in run.stdout  # the data work is done; only recording it failed
    problem = [line for line in run.output.splitlines() if "catalog write failed" in line]
    assert problem, run.output
    assert wrong not in run.output and "\x1b[" not in run.output
    assert "<?xml" not in run.output


# ---------------------------------------------------------------- Azure AD, on 127.0.0.1
# Azurite over HTTPS checks bearer tokens (``--oauth basic``); a local token service stands in
# for Microsoft Entra ID and for an App Service managed identity, a local vault for Key Vault
# (tests/azure_ad_services.py). The CLI runs in a fresh process so that aiohttp (adlfs) and
# object_store (deltalake) trust the test CA from ``SSL_CERT_FILE`` when they start.


@pytest.fixture
def aad_container(azure_ad, request):
    """A fresh container on the token-checking Azurite with the two CSV files of orders."""
    from azure.storage.blob import BlobServiceClient

    name = "a" + format(abs(hash(request.node.nodeid)), "x")[:20]
    service = BlobServiceClient(
        azure_ad["endpoint"], credential=KEY_CREDENTIAL, connection_verify=str(azure_ad["ca"])
    )
    client = service.create_container(name)
    lines = ORDERS.splitlines()
    client.upload_blob("bronze/in/orders1.csv", "\n".join(lines[:5]) + "\n")
    client.upload_blob("bronze/in/orders2.csv", "\n".join([lines[0], *lines[5:]]) + "\n")
    yield name
    service.delete_container(name)


KEY_CREDENTIAL = {"account_name": ACCOUNT, "account_key": KEY}


def _aad_env(azure_ad, managed_identity: bool | str) -> dict[str, str]:
    """The console script's environment: the test CA, the client secret, and a managed
    identity as App Service announces it (``True``) or the metadata service moved to the
    token service (``"imds"``)."""
    ca = str(azure_ad["ca"])
    env = {
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "AAD_SECRET": aad.CLIENT_SECRET,
        "IDENTITY_ENDPOINT": "",
        "IDENTITY_HEADER": "",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": "",
        # A request for anywhere but 127.0.0.1 goes to a proxy that refuses it (in the
        # clients that honour these variables: requests, reqwest), so it fails, not leaves.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
    }
    if managed_identity == "imds":
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = azure_ad["services"].authority
    elif managed_identity:
        env["IDENTITY_ENDPOINT"] = azure_ad["services"].identity_endpoint
        env["IDENTITY_HEADER"] = aad.IDENTITY_HEADER
    return env


def _aad_run(odibi_project, azure_ad, container, fields: str, managed_identity: bool | str):
    """The project on the container, run twice through the console script; the outputs, the
    remote catalog and what the stand-ins saw are checked, and every secret is looked for in
    what the runs printed and left behind."""
    services = azure_ad["services"]
    before = len(services.requests)
    connection = f"""
type: azure_adls
account_name: {ACCOUNT}
container: {container}
path_prefix: bronze
endpoint: {azure_ad["endpoint"]}
{fields}
"""
    project = _project(odibi_project, _indent(connection))
    env = _aad_env(azure_ad, managed_identity)
    runs = [project.odibi("run", "{config}", subprocess_=True, env=env) for _ in range(2)]
    for run in runs:
        assert run.exit_code == 0, run.output
    shown = project.odibi(
        "catalog", "runs", "{config}", "--format", "json", subprocess_=True, env=env
    )
    assert shown.exit_code == 0, shown.output
    assert [r["status"] for r in json.loads(shown.stdout)["rows"]] == ["SUCCESS", "SUCCESS"]

    import os

    os.environ["SSL_CERT_FILE"] = str(azure_ad["ca"])  # for deltalake in this process
    from deltalake import DeltaTable

    options = {**KEY_CREDENTIAL, "endpoint": azure_ad["endpoint"]}
    big = DeltaTable(f"az://{container}/bronze/out/big", storage_options=options)
    assert big.version() == 1 and sorted(big.to_pandas()["id"]) == sorted([3, 4, 5, 6, 7, 8] * 2)
    runs_table = DeltaTable(
        f"az://{container}/bronze/_odibi_system/meta_runs", storage_options=options
    ).to_pandas()
    assert list(runs_table[runs_table["scope"] == "pipeline"]["status"]) == ["SUCCESS"] * 2
    nodes = set(runs_table[runs_table["scope"] == "node"]["node_name"])
    assert nodes == {"raw", "big", "by_k", "again"}
    from azure.storage.blob import BlobServiceClient

    blobs = BlobServiceClient(
        azure_ad["endpoint"], credential=KEY_CREDENTIAL, connection_verify=str(azure_ad["ca"])
    ).get_container_client(container)
    import io

    import pandas as pd

    by_k = pd.read_csv(io.BytesIO(blobs.download_blob("bronze/out/by_k.csv").readall()))
    assert by_k.to_dict("records") == [{"k": "a", "total": 100}, {"k": "b", "total": 80}]

    secrets = [aad.CLIENT_SECRET, aad.IDENTITY_HEADER, KEY, *services.tokens]
    printed = "".join(r.output for r in [*runs, shown])
    texts = [printed, json.dumps(runs_table.to_dict("records"), default=str)]
    texts += [p.read_text(errors="ignore") for p in Path(project.root).rglob("*") if p.is_file()]
    for secret in secrets:
        assert not [t for t in texts if secret in t], secret[:12]
    return services.requests[before:]


def test_a_service_principal_gets_its_tokens_from_the_authority_it_names(
    odibi_project, azure_ad, aad_container
):
    """Files through adlfs, Delta tables and the catalog through deltalake: each asks the
    local authority for a storage token with the client secret; Azurite checks them."""
    seen = _aad_run(
        odibi_project,
        azure_ad,
        aad_container,
        f"""authority_host: {azure_ad["services"].authority}
auth:
  mode: service_principal
  tenant_id: {aad.TENANT}
  client_id: {aad.CLIENT_ID}
  client_secret: ${{env:AAD_SECRET}}""",
        managed_identity=False,
    )
    grants = [form for service, method, path, form in seen if method == "POST"]
    assert grants and all(g["grant_type"] == "client_credentials" for g in grants)
    assert {g["scope"] for g in grants} == {"https://storage.azure.com/.default"}
    # Python's MSAL (adlfs) and object_store (deltalake) both asked, in each of the 3 runs.
    assert len(grants) >= 6, grants


def test_a_wrong_client_secret_fails_the_run_in_one_line_without_the_secret(
    odibi_project, azure_ad, aad_container
):
    wrong = "sp-Wrong-0b7c1f2e-Never-Shown"
    project = odibi_project(
        {
            "odibi.yaml": f"""
                project: p
                retry: {{enabled: false}}
                connections:
                  lake:
                    type: azure_adls
                    account_name: {ACCOUNT}
                    container: {aad_container}
                    endpoint: {azure_ad["endpoint"]}
                    authority_host: {azure_ad["services"].authority}
                    tenant_id: {aad.TENANT}
                    client_id: {aad.CLIENT_ID}
                    client_secret: {wrong}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: files
                        read: {{connection: lake, format: csv, path: bronze/in/orders1.csv}}
                      - name: table
                        read: {{connection: lake, format: delta, path: bronze/none}}
            """,
        }
    )
    run = project.odibi("run", "{config}", subprocess_=True, env=_aad_env(azure_ad, False))
    assert run.exit_code == 1
    assert wrong not in run.output
    rows = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    for node in ("files", "table"):
        message = rows[node]["error_message"]
        assert "on connection 'lake'" in message and "\n" not in message, message
        assert wrong not in message


def test_a_managed_identity_gets_its_tokens_from_the_hosts_identity_endpoint(
    odibi_project, azure_ad, aad_container
):
    """``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` as App Service sets them: azure-identity reads
    them, and Odibi hands the endpoint to deltalake, which sends the header itself."""
    seen = _aad_run(
        odibi_project,
        azure_ad,
        aad_container,
        "auth_mode: managed_identity",
        managed_identity=True,
    )
    asked = [form for service, method, path, form in seen if path.startswith("/msi/token")]
    assert asked and {a["resource"].rstrip("/") for a in asked} == {"https://storage.azure.com"}
    assert len(asked) >= 6, asked  # adlfs and deltalake, in each of the 3 runs
    assert not [form for service, method, path, form in seen if method == "POST"]


def test_key_vault_mode_reads_the_account_key_from_the_vault_it_names(
    odibi_project, azure_ad, aad_container
):
    """The vault is asked once per run, with a token of the ambient identity (a managed
    identity here) after its challenge; the key it returns reaches storage and nowhere else."""
    services = azure_ad["services"]
    services.secrets["lake-key"] = KEY
    seen = _aad_run(
        odibi_project,
        azure_ad,
        aad_container,
        f"""auth:
  mode: key_vault
  key_vault_url: {services.vault_url}
  secret_name: lake-key""",
        managed_identity=True,
    )
    reads = [path for service, method, path, form in seen if service == "vault"]
    assert reads and all(p.startswith("/secrets/lake-key") for p in reads)
    vault_tokens = [f for s, m, p, f in seen if p.startswith("/msi/token")]
    assert {f["resource"].rstrip("/") for f in vault_tokens} == {services.vault_url}


def test_key_vault_mode_reads_the_key_as_the_service_principal_the_connection_names(
    odibi_project, azure_ad, aad_container
):
    """With a tenant, client id and secret beside the vault, that app reads the vault (a
    client credentials grant for the vault's audience, from the authority named), not the
    ambient identity; the key it returns reaches storage."""
    services = azure_ad["services"]
    services.secrets["lake-key-sp"] = KEY
    seen = _aad_run(
        odibi_project,
        azure_ad,
        aad_container,
        f"""authority_host: {services.authority}
auth:
  mode: key_vault
  key_vault_url: {services.vault_url}
  secret_name: lake-key-sp
  tenant_id: {aad.TENANT}
  client_id: {aad.CLIENT_ID}
  client_secret: ${{env:AAD_SECRET}}""",
        managed_identity=False,
    )
    reads = [path for service, method, path, form in seen if service == "vault"]
    assert reads and all(p.startswith("/secrets/lake-key-sp") for p in reads)
    grants = [form for service, method, path, form in seen if method == "POST"]
    assert grants and {g["grant_type"] for g in grants} == {"client_credentials"}
    assert {g["scope"] for g in grants} == {f"{services.vault_url}/.default"}
    assert not [p for s, m, p, f in seen if p.startswith("/msi/token")]


def test_a_user_assigned_identity_gets_its_tokens_from_the_metadata_service(
    odibi_project, azure_ad, aad_container
):
    """A VM's metadata service (IMDS), moved to the token service with
    ``AZURE_POD_IDENTITY_AUTHORITY_HOST``: both libraries ask it for the ``client_id`` given."""
    user_assigned = "0d1e0d1e-0000-4000-8000-a55194edc1d0"
    seen = _aad_run(
        odibi_project,
        azure_ad,
        aad_container,
        f"auth: {{mode: managed_identity, client_id: {user_assigned}}}",
        managed_identity="imds",
    )
    asked = [form for service, method, path, form in seen if path.startswith(aad.IMDS_PATH)]
    assert len(asked) >= 6, asked  # adlfs and deltalake, in each of the 3 runs
    assert {a.get("client_id") for a in asked} == {user_assigned}
    # azure-identity (adlfs) and object_store (deltalake) each asked, in their own versions.
    assert {a["api-version"] for a in asked} == {"2018-02-01", "2019-08-01"}
    assert not [p for s, m, p, f in seen if p.startswith("/msi/token")]


def test_a_secret_the_vault_does_not_hold_fails_the_run_naming_it(
    odibi_project, azure_ad, aad_container
):
    services = azure_ad["services"]
    project = odibi_project(
        {
            "odibi.yaml": f"""
                project: p
                retry: {{enabled: false}}
                connections:
                  lake:
                    type: azure_adls
                    account_name: {ACCOUNT}
                    container: {aad_container}
                    endpoint: {azure_ad["endpoint"]}
                    auth: {{mode: key_vault, key_vault_url: "{services.vault_url}",
                            secret_name: gone}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: files
                        read: {{connection: lake, format: csv, path: bronze/in/orders1.csv}}
            """,
        }
    )
    run = project.odibi("run", "{config}", subprocess_=True, env=_aad_env(azure_ad, True))
    assert run.exit_code == 1
    message = next(r for r in project.catalog("meta_runs") if r["node_name"] == "files")[
        "error_message"
    ]
    assert f"cannot read secret 'gone' of Key Vault '{services.vault_url}'" in message, message
    assert "\n" not in message
    assert not [t for t in services.tokens if t in run.output]
