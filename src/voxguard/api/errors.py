"""The one place errors become HTTP responses, all shaped ``{"error", "detail", "code"}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voxguard.errors import AuthenticationRequired, RateLimited, ServerBusy, VoxGuardError

log = logging.getLogger(__name__)


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


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("Internal server error.", "internal_error"), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VoxGuardError, _voxguard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
