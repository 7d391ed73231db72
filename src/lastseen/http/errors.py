"""Clerk's error body for every failure, so that no client ever sees FastAPI's own shapes."""

import logging
import secrets
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lastseen.errors import ServiceError

logger = logging.getLogger("lastseen.http")

_HTTP_CODES = {
    400: ("request_invalid", "Bad request"),
    401: ("authentication_invalid", "Invalid authentication"),
    404: ("resource_not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("request_body_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def error_body(
    code: str, message: str, long_message: str = "", meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "errors": [
            {"message": message, "long_message": long_message, "code": code, "meta": meta or {}}
        ],
        "meta": {},
        "clerk_trace_id": secrets.token_hex(8),
    }


def error_response(
    status_code: int,
    code: str,
    message: str,
    long_message: str = "",
    meta: dict[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, long_message, meta), status_code=status_code)


async def handle_service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc.status_code, exc.code, exc.message, exc.long_message, exc.meta)


async def handle_http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("request_invalid", "Request failed"))
    detail = exc.detail if isinstance(exc.detail, str) else message
    response = error_response(exc.status_code, code, message, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """Turn FastAPI's validation errors into Clerk's 422 with the parameter named."""
    assert isinstance(exc, RequestValidationError)
    if any(error.get("type") == "json_invalid" for error in exc.errors()):
        return error_response(
            400,
            "request_body_invalid",
            "Invalid request body",
            "The body must be a UTF-8 JSON object.",
        )

    errors = []
    for error in exc.errors():
        location = [
            str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")
        ]
        name = ".".join(location) or "body"
        missing = error.get("type") == "missing"
        errors.append(
            {
                "message": "is missing" if missing else "is invalid",
                "long_message": f"{name} {'must be included' if missing else error.get('msg', '')}",
                "code": "form_param_missing" if missing else "form_param_value_invalid",
                "meta": {"param_name": name},
            }
        )
    body = {"errors": errors, "meta": {}, "clerk_trace_id": secrets.token_hex(8)}
    return JSONResponse(body, status_code=422)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("request failed method=%s path=%s", request.method, request.url.path)
    return error_response(
        500, "internal_clerk_error", "Something went wrong", "The server failed; see its log."
    )
