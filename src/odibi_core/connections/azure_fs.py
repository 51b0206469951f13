"""adlfs with the Azure SDK's own retries and timeouts bounded (the ``odibi-az`` protocol).

adlfs builds its blob client with the SDK's defaults: a request is retried 3 times, 15 s, 18 s
and 24 s apart, waiting up to 20 s to connect and 60 s for each read, so an unreachable or
silent endpoint takes minutes to fail whatever Odibi's own ``retry`` says. This subclass
builds the same client with the connection's ``connect_timeout``, ``read_timeout`` and
``max_retries``. ``AzureAdlsConnection.fsspec_options`` selects it with fsspec's
``protocol`` option, so the ``az://`` URIs stay the same. ``blob_endpoint`` is the service's
full URL, for a token credential on an endpoint with the account in its path. Imported by
fsspec on first use only.
"""

from __future__ import annotations

from typing import Any

from adlfs import AzureBlobFileSystem, __version__
from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry

PROTOCOL = "odibi-az"


class BoundedBlobFileSystem(AzureBlobFileSystem):  # type: ignore[misc]
    def __init__(
        self,
        *args: Any,
        max_retries: int = 2,
        connection_timeout: float | None = None,
        read_timeout: float | None = None,
        blob_endpoint: str | None = None,
        **kwargs: Any,
    ):
        # adlfs's ``account_host`` keeps only a host, so an endpoint with the account in its
        # path (Azurite, some private endpoints) is reached with a token through this URL.
        self._blob_endpoint = blob_endpoint
        self._bounds: dict[str, Any] = {
            # Retries 1 s, then 3 s, later (the SDK's default starts at 15 s).
            "retry_policy": ExponentialRetry(
                initial_backoff=1, increment_base=2, retry_total=max_retries
            ),
            **({"connection_timeout": connection_timeout} if connection_timeout else {}),
            **({"read_timeout": read_timeout} if read_timeout else {}),
        }
        # adlfs also passes the timeouts to each upload and download itself.
        super().__init__(
            *args, connection_timeout=connection_timeout, read_timeout=read_timeout, **kwargs
        )

    def do_connect(self) -> None:
        """adlfs's client (its URL and credential, whichever way they were given), rebuilt
        with the bounds; clients made from it (containers, blobs) share its pipeline."""
        super().do_connect()
        made: BlobServiceClient = self.service_client  # type: ignore[has-type]
        self.service_client = BlobServiceClient(
            account_url=self._blob_endpoint or made.url,
            credential=made.credential,
            user_agent=f"adlfs/{__version__}",
            **self._bounds,
        )
