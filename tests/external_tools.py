"""External tools some tests drive, installed on first use (Debian packages, npm packages).

Tests that need a tool ask for it through a fixture in ``conftest.py``; the first worker to
get there installs it under a file lock while the others wait. A tool that cannot be
installed fails the test loudly: a browser test that silently skipped would prove nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "odibi-tests"
MERMAID_VERSION = "11.12.0"


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], timeout: int = 600) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def debian_tool(binary: str, package: str) -> str:
    """Path of ``binary``, installing Debian's ``package`` first if it is missing."""
    found = shutil.which(binary)
    if found:
        return found
    with _locked("apt"):
        found = shutil.which(binary)
        if found:
            return found
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.fail(f"{binary} is missing: install Debian's '{package}' (tests do, as root)")
        _run(["apt-get", "update", "-q"])
        _run(["apt-get", "install", "-y", "-q", package])
    found = shutil.which(binary)
    if not found:
        pytest.fail(f"installing '{package}' did not provide {binary}")
    return found


def npm_file(package: str, version: str, rel: str) -> Path:
    """A file of an npm package, installed into the test cache on first use."""
    root = CACHE / "npm" / f"{package}-{version}"
    target = root / "node_modules" / package / rel
    if target.exists():
        return target
    with _locked("npm"):
        if not target.exists():
            npm = shutil.which("npm")
            if not npm:
                pytest.fail("npm is missing: it is needed to install " + package)
            root.mkdir(parents=True, exist_ok=True)
            (root / "package.json").write_text(json.dumps({"private": True}))
            _run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(root),
                    "--no-audit",
                    "--no-fund",
                    f"{package}@{version}",
                ]
            )
    if not target.exists():
        pytest.fail(f"npm installed {package}@{version} but {rel} is not in it")
    return target


AZURITE_VERSION = "3.37.0"
#: Azurite's documented development account (public, the same in every installation).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@contextlib.contextmanager
def azurite_blob(extra: list[str] | None = None) -> Iterator[str]:
    """Azurite's Blob service on 127.0.0.1 (a free port, in memory), for the block; yields
    the account's blob endpoint URL. ``extra`` arguments are passed on (HTTPS, OAuth)."""
    import re
    import time

    main = npm_file("azurite", AZURITE_VERSION, "dist/src/blob/main.js")
    node = shutil.which("node")
    if not node:
        pytest.fail("node is missing: it is needed to run Azurite")
    proc = subprocess.Popen(
        [
            node,
            str(main),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",  # no access log: nobody reads the pipe once it has started
            *(extra or []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        seen = []
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"listens on (https?://127\.0\.0\.1:\d+)", line)
            if found:
                yield f"{found.group(1)}/{AZURITE_ACCOUNT}"
                return
        pytest.fail("Azurite did not start:\n" + "".join(seen))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


POSTGRES_USER = "odibi"
#: The test server's password: long and unusual, so the secret scans find any leak of it.
POSTGRES_PASSWORD = "pg-Secret-7f3a9c2e-Never-Shown"


def _postgres_bin() -> Path:
    """Debian's PostgreSQL server programs (``initdb``, ``pg_ctl``), installed if missing."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        with _locked("apt"):
            found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
            if not found:
                if os.geteuid() != 0 or not shutil.which("apt-get"):
                    pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
                try:
                    _run(["apt-get", "update", "-q"])
                    _run(["apt-get", "install", "-y", "-q", "postgresql"])
                except BaseException as exc:  # pytest.fail's exception is no Exception
                    pytest.skip(f"PostgreSQL could not be installed: {exc}")
                found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.skip("installing postgresql gave no initdb")
    return found[-1].parent


@contextlib.contextmanager
def postgres_server() -> Iterator[dict[str, object]]:
    """A PostgreSQL server of its own (``initdb`` in a temp dir) on 127.0.0.1 and a free
    port, password login for ``POSTGRES_USER``, for the block; yields host, port, user,
    password and database. As root, the server runs as the ``postgres`` user (it refuses
    root)."""
    import socket
    import tempfile

    bin_dir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="odibi-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    data, pwfile = root / "data", root / "pw"
    pwfile.write_text(POSTGRES_PASSWORD + "\n")
    if as_user:
        shutil.chown(pwfile, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _run(
        [
            *as_user,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            POSTGRES_USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        timeout=120,
    )
    settings = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50 "
        "-c log_statement=all"
    )
    pg_ctl = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data)]
    _run([*pg_ctl, "-o", settings, "-l", str(root / "log"), "-w", "-t", "60", "start"])
    try:
        yield {
            "host": "127.0.0.1",
            "port": port,
            "user": POSTGRES_USER,
            "password": POSTGRES_PASSWORD,
            "database": "postgres",
            "log": root / "log",  # every statement the server ran
        }
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_certificates(folder: Path) -> dict[str, Path]:
    """A CA and a certificate it signed for 127.0.0.1 (``openssl``, in ``folder``): ``ca``,
    ``cert`` and ``key`` files. Clients that refuse a self-signed CA as a server's own
    certificate (rustls) accept this pair once they trust ``ca``."""
    openssl = debian_tool("openssl", "openssl")
    ca, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    cert, key, csr = folder / "cert.pem", folder / "key.pem", folder / "cert.csr"
    ext = folder / "ext.cnf"
    ext.write_text(
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    for cmd in (
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=odibi test CA",
        ],
        [
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            "/CN=127.0.0.1",
        ],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    ):
        _run([openssl, *map(str, cmd)], timeout=60)
    return {"ca": ca, "cert": cert, "key": key}


@contextlib.contextmanager
def azurite_blob_oauth(cert: Path, key: Path) -> Iterator[str]:
    """Azurite's Blob service over HTTPS with ``--oauth basic`` (bearer tokens are checked
    for issuer, audience and expiry, not signature; account keys still work); yields the
    account's blob endpoint URL."""
    with azurite_blob(["--oauth", "basic", "--cert", str(cert), "--key", str(key)]) as url:
        yield url
