"""Keep secrets out of the catalog, stories, logs and error messages (SPEC §7)."""

from __future__ import annotations

import re
from typing import Any

_SECRET_KEY = re.compile(
    r"(password|passwd|pwd|secret|token|account_key|access_key|api_key|apikey|"
    r"connection_string|conn_str|credential|private_key|sas)$",
    re.IGNORECASE,
)
MASK = "***"


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact(data: Any) -> Any:
    """A copy of ``data`` with the values of secret-looking keys replaced by ``***``."""
    if isinstance(data, dict):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) and v else redact(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def secret_values(data: Any) -> list[str]:
    """Every non-empty string under a secret-looking key, at any depth (``auth.account_key``)."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and is_secret_key(key) and isinstance(value, str) and value:
                found.append(value)
            else:
                found.extend(secret_values(value))
    elif isinstance(data, list):
        for value in data:
            found.extend(secret_values(value))
    return found


def scrub(text: str, secrets: list[str]) -> str:
    """Remove known secret values from free text (error messages from drivers echo them)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text
