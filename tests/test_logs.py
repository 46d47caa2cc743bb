"""Structured log lines: JSON with the bound context, and no secret in any of them."""

from __future__ import annotations

import io
import json
import logging

import jwt
import pytest
import structlog

from voxguard.logs import REDACTED, formatter, redact_text

KEY = "vg_Zx81-abc_DEF0123456789ghijklmnopqrstuvwxyzAB"
TOKEN = jwt.encode({"sub": "key-1", "exp": 4102444800}, "s" * 32, algorithm="HS256")


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {KEY}",
        f"authorization: bearer {TOKEN}",
        f'"WebSocket /v1/stream?token={TOKEN}" [accepted]',
        f"GET /v1/speakers?api_key={KEY}&limit=5",
        f"X-API-Key: {KEY}",
        f"rejected credential {KEY} for key-1",
        f"token {TOKEN} expired",
        "connecting to postgresql://voxguard:hunter2secret@db:5432/voxguard",
        "password=hunter2secret user=admin",
        '{"password": "hunter2secret"}',
    ],
)
def test_secrets_are_redacted_from_text(text: str) -> None:
    redacted = redact_text(text)
    assert REDACTED in redacted
    for secret in (KEY, TOKEN, "hunter2secret", KEY[3:]):
        assert secret not in redacted


def test_ordinary_text_is_left_alone() -> None:
    for text in (
        "token verification failed: signature expired",
        "basic checks passed for 3 files",
        "GET /v1/speakers?limit=5&offset=10",
        "monkey=banana",
    ):
        assert redact_text(text) == text


def _capture(fmt: str = "json") -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(fmt))  # type: ignore[arg-type]
    logger = logging.getLogger(f"voxguard.test.{fmt}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_stdlib_lines_are_json_with_the_bound_request_id() -> None:
    logger, stream = _capture()
    structlog.contextvars.bind_contextvars(request_id="req-42")
    try:
        logger.info("enrolled %s", "alice", extra={"speaker_id": "s-1", "authorization": KEY})
        try:
            raise ValueError(f"bad credential {KEY}")
        except ValueError:
            logger.exception("failed with %s", TOKEN)
    finally:
        structlog.contextvars.clear_contextvars()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["event"] == "enrolled alice" and first["request_id"] == "req-42"
    assert first["speaker_id"] == "s-1" and first["authorization"] == REDACTED
    assert first["level"] == "info" and first["logger"] == "voxguard.test.json"
    assert "timestamp" in first
    assert second["request_id"] == "req-42" and "ValueError" in second["exception"]
    assert KEY not in stream.getvalue() and TOKEN not in stream.getvalue()


def test_structlog_loggers_render_through_the_same_formatter() -> None:
    _, stream = _capture()
    log = structlog.get_logger("voxguard.test.json")
    log.info("key created", api_key=KEY, role="admin")
    line = json.loads(stream.getvalue())
    assert line == {
        **line,
        "event": "key created",
        "api_key": REDACTED,
        "role": "admin",
        "level": "info",
    }


def test_console_format_is_readable_and_redacted() -> None:
    logger, stream = _capture("console")
    logger.warning("login with %s", KEY)
    out = stream.getvalue()
    assert "login with vg_" in out and KEY not in out and "warning" in out
