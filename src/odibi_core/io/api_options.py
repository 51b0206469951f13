"""The ``options`` of ``format: api``, in Odibi's spelling, checked by ``odibi validate``.

Odibi documents two spellings of retries and rate limits: ``http.retries`` /
``http.rate_limit`` (its guide) and top-level ``retry`` / ``rate_limit`` (its schema); both
are taken and mean the same. Everything is bounded: pages (``max_pages``), attempts per
request, seconds per request (``http.timeout_s``) and seconds for the whole read
(``http.max_total_s``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Odibi's statuses worth another attempt.
RETRY_STATUS = (429, 500, 502, 503, 504)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pagination(_Strict):
    type: Literal["none", "offset_limit", "page_number", "cursor", "link_header"] = "none"
    #: offset_limit
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(100, ge=1)
    start_offset: int = 0
    #: page_number
    page_param: str = "page"
    page_size_param: str = "per_page"
    page_size: int = Field(100, ge=1)
    start_page: int = 1
    #: cursor
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    stop_when_cursor_missing: bool = True
    #: link_header
    link_rel: str = "next"
    #: every type: pages at most (null: no bound but the time bound), and whether a page
    #: without records ends an offset or page-number read.
    max_pages: int | None = Field(100, ge=1)
    stop_on_empty: bool = True


class Response(_Strict):
    items_path: str = ""
    add_fields: dict[str, Any] = Field(default_factory=dict)
    dict_to_list: bool = False
    wrap_single: bool = False
    array_row_fields: list[str] | None = None


class Backoff(_Strict):
    base_s: float = Field(1.0, ge=0)
    max_s: float = Field(60.0, ge=0)
    exponential_base: float = Field(2.0, ge=1)


class Retries(_Strict):
    max_attempts: int = Field(3, ge=1, le=20)
    backoff: Backoff = Field(default_factory=Backoff)
    retry_on_status: list[int] = Field(default_factory=lambda: list(RETRY_STATUS))


class RateLimit(_Strict):
    type: Literal["auto", "fixed", "off"] = "auto"
    requests_per_second: float | None = Field(None, gt=0)


class HttpSettings(_Strict):
    timeout_s: float = Field(30.0, gt=0)
    #: Seconds the whole read may take, waits for rate limits included.
    max_total_s: float = Field(1800.0, gt=0)
    retries: Retries = Field(default_factory=Retries)
    rate_limit: RateLimit = Field(default_factory=RateLimit)


class RetryShort(_Strict):
    """Odibi's top-level ``retry`` block."""

    max_retries: int = Field(3, ge=1, le=20)
    backoff_factor: float = Field(2.0, ge=1)
    retry_codes: list[int] = Field(default_factory=lambda: list(RETRY_STATUS))


class RateLimitShort(_Strict):
    """Odibi's top-level ``rate_limit`` block."""

    requests_per_second: float | None = Field(None, gt=0)


class ApiOptions(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    params: dict[str, Any] = Field(default_factory=dict)
    request_body: dict[str, Any] | None = None
    json_body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    max_records: int | None = Field(None, ge=1)
    pagination: Pagination = Field(default_factory=Pagination)
    response: Response = Field(default_factory=Response)
    http: HttpSettings = Field(default_factory=HttpSettings)
    retry: RetryShort | None = None
    rate_limit: RateLimitShort | None = None

    @model_validator(mode="before")
    @classmethod
    def _upper_method(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            data = {**data, "method": data["method"].upper()}
        return data

    @model_validator(mode="after")
    def _one_body(self) -> ApiOptions:
        if self.request_body is not None and self.json_body is not None:
            raise ValueError("give request_body or json_body, not both")
        return self

    @property
    def body(self) -> dict[str, Any] | None:
        return self.request_body if self.request_body is not None else self.json_body

    @property
    def retries(self) -> Retries:
        """``http.retries``, or Odibi's top-level ``retry`` block when that is given."""
        if self.retry is None:
            return self.http.retries
        backoff = self.http.retries.backoff.model_copy(
            update={"exponential_base": self.retry.backoff_factor}
        )
        return Retries(
            max_attempts=self.retry.max_retries,
            backoff=backoff,
            retry_on_status=self.retry.retry_codes,
        )

    @property
    def requests_per_second(self) -> float | None:
        if self.rate_limit is not None and self.rate_limit.requests_per_second:
            return self.rate_limit.requests_per_second
        limit = self.http.rate_limit
        return limit.requests_per_second if limit.type == "fixed" else None

    @property
    def auto_rate_limit(self) -> bool:
        return self.http.rate_limit.type != "off"


def option_problems(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """``(option, message)`` for what ``ApiOptions`` refuses in ``spec['options']``."""
    from pydantic import ValidationError

    from odibi_core.config.errors import did_you_mean

    options = spec.get("options")
    if not isinstance(options, dict):
        return []
    try:
        ApiOptions.model_validate(options)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc)
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown api option '{where}'" + did_you_mean(
                    str(loc[-1]), _keys_at(loc[:-1])
                )
            elif err["type"] == "missing":
                message = f"api option '{where}' is required"
            else:
                message = f"api option '{where or 'options'}': {msg}"
            problems.append((str(loc[0]) if loc else "options", message))
        return problems
    return []


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The option names valid where ``loc`` points (``("pagination",)`` ...)."""
    model: Any = ApiOptions
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        inner = getattr(field, "annotation", None)
        candidates = [inner, *getattr(inner, "__args__", ())]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if model is None:
            return []
    return list(model.model_fields)
