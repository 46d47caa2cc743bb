"""The one place errors become HTTP responses, all shaped ``{"error", "detail", "code"}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from voxguard.api.request_context import REQUEST_ID_HEADER, current_request_id
from voxguard.api.security import security_headers
from voxguard.errors import AuthenticationRequired, RateLimited, ServerBusy, VoxGuardError

log = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    """Every error answer: what went wrong and what is accepted (``error``), the facts
    behind it (``detail``: the file, the limit, the field errors) and a stable ``code``."""

    error: str
    detail: dict[str, Any]
    code: str


# Documented on every operation, so that the OpenAPI schema says what errors look like
# (instead of FastAPI's default validation-error shape, which VoxGuard never sends).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "The request was refused; see `error`."},
    "5XX": {"model": ErrorOut, "description": "Busy, a model unavailable, or a failure."},
}


def error_body(message: str, code: str, detail: object = None) -> dict[str, object]:
    return {"error": message, "detail": detail if detail is not None else {}, "code": code}


def voxguard_error_response(exc: VoxGuardError) -> JSONResponse:
    headers = {}
    if isinstance(exc, AuthenticationRequired):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited | ServerBusy):
        headers["Retry-After"] = str(max(1, round(float(exc.detail.get("retry_after_s", 1)))))
    return JSONResponse(jsonable_encoder(exc.to_dict()), exc.http_status, headers=headers)


async def _voxguard_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VoxGuardError)
    return voxguard_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    body = error_body(f"Invalid request: check {fields}.", "validation_error", {"errors": errors})
    return JSONResponse(jsonable_encoder(body), 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = error_body(str(exc.detail), f"http_{exc.status_code}")
    return JSONResponse(body, exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    # Starlette answers this one outside every middleware: the headers they add go here.
    headers = security_headers(request.scope)
    request_id = current_request_id()
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    body = error_body("Internal server error.", "internal_error", {"request_id": request_id})
    return JSONResponse(body, 500, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VoxGuardError, _voxguard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
