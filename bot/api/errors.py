"""One error shape for every endpoint: `{"error": {"code", "message", "field"?}}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketing.errors import PaymentTimeout, RateLimited, TicketingError


class ApiError(Exception):
    """An error answered to the client with `status` and a JSON body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, field), status_code=status, headers=dict(headers or {})
    )


_VALIDATION_CODES = {
    "missing": "missing",
    "string_type": "invalid_type",
    "int_type": "invalid_type",
    "int_parsing": "invalid_type",
    "dict_type": "invalid_type",
    "model_type": "invalid_type",
    "literal_error": "invalid_value",
    "enum": "invalid_value",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "string_pattern_mismatch": "invalid_format",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "extra_forbidden": "unknown_field",
    "value_error": "invalid_value",
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0]
    kind = str(first.get("type", ""))
    location = [
        str(part)
        for part in first.get("loc", ())
        if part not in ("body", "path", "query", "header")
    ]
    if kind == "json_invalid":
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    if kind == "missing" and not location:
        return error_response(400, "missing_body", "The request needs a JSON object body.")
    if kind in ("model_attributes_type", "dict_type") and not location:
        return error_response(400, "invalid_json", "The request body must be a JSON object.")
    field = ".".join(location) or None
    code = _VALIDATION_CODES.get(kind, "invalid_value")
    message = str(first.get("msg", "Invalid value"))
    if field:
        message = f"{field}: {message}"
    return error_response(422, code, message, field)


# Engine errors and the HTTP status they answer with; the code and message pass through.
_ENGINE_STATUS = {
    "not_found": 404,
    "invalid_request": 422,
    "invalid_quantity": 422,
    "sale_closed": 409,
    "seat_unavailable": 409,
    "sold_out": 409,
    "purchase_limit_reached": 409,
    "rate_limited": 429,
    "address_budget": 429,
    "origin_budget": 429,
    "key_budget": 429,
    "hold_expired": 409,
    "hold_already_ordered": 409,
    "idempotency_conflict": 409,
    "payment_declined": 402,
    "payment_timeout": 504,
    "order_not_paid": 409,
    "already_refunded": 409,
    "ticket_used": 409,
    "not_refundable": 409,
    "not_transferable": 409,
    "quote_expired": 409,
}


def domain_error(exc: TicketingError) -> ApiError:
    """The HTTP answer to an engine error (unknown codes are server errors)."""
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, PaymentTimeout) and exc.order_ref:
        headers = {"X-Order-Id": exc.order_ref}
    return ApiError(_ENGINE_STATUS.get(exc.code, 500), exc.code, exc.message, exc.field, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, expected or not, answer in the project's error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(TicketingError)
    async def _engine_error(_request: Request, exc: TicketingError) -> JSONResponse:
        error = domain_error(exc)
        return error_response(error.status, error.code, error.message, error.field, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        if exc.status_code == 400 and "parsing the body" in message:
            code, message = "invalid_body", "The request body could not be read as UTF-8 JSON."
        return error_response(exc.status_code, code, message, headers=exc.headers)
